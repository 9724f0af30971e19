/**
 * What a gate's drop-rate series costs its monitor: storage per bucket and per gate at the MAX_SERIES_BUCKETS cap,
 * the GET /v1/monitor/series answer for 30 days, and the time to record a batch and to read the series.
 *
 *   npm run bench:series          (bundles this file with esbuild, runs it on Node 24)
 *
 * It runs the monitor's own code (src/monitoring/gate-monitor/series.ts and its migrations) on Node's SQLite
 * (node:sqlite) through a small adapter with the two calls of the Durable Object SQL API it uses (`exec` with
 * bindings, `toArray`/`one`). SQLite's page layout is the same file format as a SQLite-backed Durable Object's, so
 * the byte counts carry over; workerd adds no per-row overhead of its own. It records 40 days of hourly batches for
 * three calibrations served in turn (so retention and the row cap both prune), then measures the database's pages
 * (page_count minus freelist_count, times page_size) against the same database with no series row: the baseline of
 * this same run. Nothing is held in memory between calls: a read materialises at most MAX_SERIES_BUCKETS rows.
 */
import { writeFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { migrate } from "../src/monitoring/gate-monitor/migrations";
import { Series } from "../src/monitoring/gate-monitor/series";
import { MAX_SERIES_BUCKETS, SERIES_BUCKET_MS, SERIES_RETENTION_MS } from "../src/platform/limits";

const OUT = "bench/results/series-memory.md";
const DAYS = 40;
/** Batches per hour (each adds to its hour's bucket: the bucket count, not the batch count, sets the size). */
const BATCHES_PER_HOUR = 4;
const CALIBRATIONS = ["cal_01a23904180000000000000001", "cal_01a23904180000000000000002", "cal_01a23904180000000000000003"];

/** The slice of the Durable Object SQL API series.ts and migrations.ts use, over node:sqlite. */
function sqlStorage(db: DatabaseSync): SqlStorage {
  const exec = (query: string, ...bindings: unknown[]) => {
    let rows: Record<string, unknown>[];
    if (bindings.length === 0 && query.trim().replace(/;\s*$/u, "").includes(";")) {
      db.exec(query); // several statements (a migration)
      rows = [];
    } else {
      rows = db.prepare(query).all(...(bindings as (string | number | null)[])) as Record<string, unknown>[];
    }
    return {
      toArray: () => rows,
      one: () => {
        if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}`);
        return rows[0];
      },
      [Symbol.iterator]: () => rows[Symbol.iterator](),
    };
  };
  return { exec } as unknown as SqlStorage;
}

/** Bytes of the database's pages in use. */
function usedBytes(db: DatabaseSync): number {
  const one = (pragma: string) => Number(Object.values(db.prepare(`PRAGMA ${pragma}`).get() as Record<string, number>)[0]);
  return (one("page_count") - one("freelist_count")) * one("page_size");
}

const db = new DatabaseSync(":memory:");
const sql = sqlStorage(db);
migrate({ sql, transactionSync: <T>(fn: () => T): T => fn() }, () => 0);
const baseline = usedBytes(db);
const series = new Series(sql);

const start = Date.UTC(2026, 10, 1);
const hours = DAYS * 24;
let batches = 0;
const recordStart = performance.now();
for (let h = 0; h < hours; h++) {
  // A new calibration every 10 days; the previous one keeps reporting for a day (blue/green), so up to two write at once.
  const current = Math.min(CALIBRATIONS.length - 1, Math.floor(h / (10 * 24)));
  const writers = h % (10 * 24) < 24 && current > 0 ? [current - 1, current] : [current];
  for (const c of writers) {
    for (let b = 0; b < BATCHES_PER_HOUR; b++) {
      series.record({
        calibration_id: CALIBRATIONS[c]!,
        traffic: "served",
        index_version: `v${c + 1}`,
        now_ms: start + h * SERIES_BUCKET_MS + b * (SERIES_BUCKET_MS / BATCHES_PER_HOUR),
        queries: [
          [20, 4 + (b % 3)],
          [20, 5],
          [0, 0],
          [10, 10],
        ],
        expected: 0.22,
        band: { lo: 0.2, hi: 0.24 },
        log_evidence: (h % 50) / 3,
        log_threshold: 17.5,
        empty_context_log_evidence: 0.5,
        drop_rate_alarm: h % 97 === 0 && b === 0,
        empty_context_alarm: false,
        abstention_alarm: false,
        min_keep: 1,
      });
      batches++;
    }
  }
}
const recordMs = performance.now() - recordStart;
const nowMs = start + hours * SERIES_BUCKET_MS;
const rows = Number((db.prepare("SELECT COUNT(*) AS n FROM series").get() as { n: number }).n);
const bytes = usedBytes(db) - baseline;

const reads: number[] = [];
let answer = "";
for (let r = 0; r < 9; r++) {
  const t = performance.now();
  const buckets = series.read(nowMs - SERIES_RETENTION_MS, nowMs);
  answer = JSON.stringify({ buckets });
  reads.push(performance.now() - t);
}
reads.sort((a, b) => a - b);
const thirtyDays = JSON.parse(answer).buckets.length as number;

// A gate at the cap: MAX_SERIES_BUCKETS rows (three calibrations writing for 30 days), the worst case per object.
const capDb = new DatabaseSync(":memory:");
const capSql = sqlStorage(capDb);
migrate({ sql: capSql, transactionSync: <T>(fn: () => T): T => fn() }, () => 0);
const capBase = usedBytes(capDb);
const capSeries = new Series(capSql);
for (let h = 0; h < SERIES_RETENTION_MS / SERIES_BUCKET_MS; h++) {
  for (const [c, id] of CALIBRATIONS.entries()) {
    capSeries.record({
      calibration_id: id,
      traffic: "served",
      index_version: `v${c + 1}`,
      now_ms: start + h * SERIES_BUCKET_MS,
      // [m, d, below, abstained] from a guarded, abstaining client: every counter of the row is written.
      queries: [[20, 5, 18, 1]],
      expected: 0.22,
      band: { lo: 0.2, hi: 0.24 },
      log_evidence: 1.25,
      log_threshold: 17.5,
      empty_context_log_evidence: null,
      drop_rate_alarm: false,
      empty_context_alarm: false,
      abstention_alarm: false,
      min_keep: 3,
    });
  }
}
const capRows = Number((capDb.prepare("SELECT COUNT(*) AS n FROM series").get() as { n: number }).n);
const capBytes = usedBytes(capDb) - capBase;
const capAnswer = JSON.stringify({ buckets: capSeries.read(start, start + SERIES_RETENTION_MS) });

const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`;
const lines = [
  "# Series storage per gate (GateMonitor `series` table)",
  "",
  `Command: \`npm run bench:series\` (Node ${process.version}, SQLite ${(db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v} through node:sqlite).`,
  "",
  `${DAYS} days of hourly batches (${BATCHES_PER_HOUR} an hour, ${batches} batches), three calibrations in turn: ${rows} buckets kept`,
  `(retention ${SERIES_RETENTION_MS / 86_400_000} days), ${kb(bytes)} of pages over the empty table (${(bytes / rows).toFixed(0)} bytes a bucket, its index included).`,
  `At the cap (MAX_SERIES_BUCKETS = ${MAX_SERIES_BUCKETS}, three calibrations for 30 days): ${capRows} buckets, ${kb(capBytes)} (${(capBytes / capRows).toFixed(0)} bytes a bucket).`,
  "",
  "| measure | value |",
  "| --- | ---: |",
  `| storage per gate, typical (one calibration, 30 days: ${thirtyDays} buckets read) | ${kb((bytes / rows) * 720)} |`,
  `| storage per gate at the cap (${capRows} buckets) | ${kb(capBytes)} |`,
  `| GET /v1/monitor/series JSON, 30 days, typical (${thirtyDays} buckets) | ${kb(Buffer.byteLength(answer))} |`,
  `| GET /v1/monitor/series JSON at the cap (${capRows} buckets) | ${kb(Buffer.byteLength(capAnswer))} |`,
  `| record one batch (mean over ${batches}) | ${((recordMs / batches) * 1000).toFixed(0)} µs |`,
  `| read 30 days (${thirtyDays} buckets, median of ${reads.length}) | ${reads[Math.floor(reads.length / 2)]!.toFixed(1)} ms |`,
  "",
];
writeFileSync(OUT, lines.join("\n"));
console.log(lines.join("\n"));
