/**
 * The GateMonitor's numbered migrations (src/monitoring/gate-monitor/migrations.ts) on objects that already hold
 * production data: one created by the schema before batches had a content hash, and one created by the schema of
 * the object before migrations were numbered (no ledger). Their data survives, their batch ids still deduplicate,
 * and a migrated object runs no migration twice.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { MONITOR_MIGRATIONS } from "../../src/monitoring/gate-monitor/migrations";
import type { JudgeInput } from "../../src/monitoring/monitor-contract";
import type { GateMonitor } from "../../src/worker/gate-monitor";
import { batch, steady, T0 } from "../support/monitor-batches";
import { type MonitorStub, monitorStubs } from "../support/monitor-stubs";

const { monitor, drain } = monitorStubs("migrate");
afterEach(drain);

/** A judged batch of a recall calibration, for the object's judgment ledger. */
const judgment = (gateId: string, batchId: string, nowMs: number, hash: string): JudgeInput => ({
  gate: { gate_id: gateId, index: "docs", embedding: "e5", reranker: "bge" },
  calibration: { id: `cal_${gateId}_recall`, index_version: "v1", coverage: "any_relevant", target: 0.9, bound: 0.9, n: 500, miss_mass: 50 },
  batch_id: batchId,
  batch_hash: hash,
  covered: [1, 1, 0, 1],
  without_relevant: 0,
  now_ms: nowMs,
  config: batch(gateId, "x", nowMs, []).config,
});

const ALL_IDS = MONITOR_MIGRATIONS.map((m) => m.id);

/** The object's SQLite as the test sees it: tables, the columns of `batches`, the migration ledger. */
const schemaOf = (stub: MonitorStub) =>
  runInDurableObject(stub, (_: GateMonitor, state) => {
    const sql = state.storage.sql;
    const tables = sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
      )
      .toArray()
      .map((r) => r.name);
    return {
      tables,
      batchColumns: sql
        .exec<{ name: string }>("SELECT name FROM pragma_table_info('batches')")
        .toArray()
        .map((r) => r.name),
      judgmentColumns: sql
        .exec<{ name: string }>("SELECT name FROM pragma_table_info('judgment_batches')")
        .toArray()
        .map((r) => r.name),
      ledger: tables.includes("schema_migrations")
        ? sql.exec<{ id: number; applied_at: number }>("SELECT id, applied_at FROM schema_migrations ORDER BY id").toArray()
        : [],
    };
  });

/** Turns the object back into what an older Worker left: the tables as they were, without the migration ledger. */
const rewind = (stub: MonitorStub, to: "before-batch-hash" | "before-numbered-migrations") =>
  runInDurableObject(stub, (_: GateMonitor, state) => {
    const sql = state.storage.sql;
    sql.exec("DROP TABLE schema_migrations");
    // The series (migration 4), the hub's event log (migration 5) and the live evidence (migration 6) came after
    // migrations were numbered: no older object has them.
    sql.exec("DROP TABLE series");
    sql.exec("DROP TABLE gate_events");
    sql.exec("DROP TABLE evidence");
    if (to === "before-batch-hash") {
      // The first schema: batches without a hash, and none of the tables added later (judgments, queued ingest).
      sql.exec("CREATE TABLE batches_then (batch_id TEXT PRIMARY KEY, received_at INTEGER NOT NULL)");
      sql.exec("INSERT INTO batches_then (batch_id, received_at) SELECT batch_id, received_at FROM batches");
      sql.exec("DROP TABLE batches");
      sql.exec("ALTER TABLE batches_then RENAME TO batches");
      sql.exec("CREATE INDEX batches_by_time ON batches (received_at)");
      for (const table of ["judgment_batches", "coverage", "queued_ingest"]) sql.exec(`DROP TABLE ${table}`);
    } else {
      // Before judgment batches had a content hash (migration 3).
      sql.exec("ALTER TABLE judgment_batches DROP COLUMN hash");
    }
  });

const ALL_TABLES = [
  "batches",
  "coverage",
  "detectors",
  "evidence",
  "gate_events",
  "history",
  "judgment_batches",
  "pending_alerts",
  "queued_ingest",
  "schema_migrations",
  "series",
  "windows",
];

describe("GateMonitor migrations", () => {
  it("a new object gets every table and the ledger of every migration, and runs none of them again after a restart", async () => {
    const { gateId, stub, rpc } = monitor("new");
    await rpc.observe(batch(gateId, "n1", T0, steady(10)));
    const first = await schemaOf(stub);
    expect(first.tables).toEqual(ALL_TABLES);
    expect(first.batchColumns).toEqual(["batch_id", "received_at", "hash"]);
    expect(first.judgmentColumns).toEqual(["batch_id", "received_at", "hash"]);
    expect(first.ledger.map((m) => m.id)).toEqual(ALL_IDS);
    await evictDurableObject(stub);
    await rpc.observe(batch(gateId, "n2", T0 + 1_000, steady(10)));
    expect((await schemaOf(stub)).ledger).toEqual(first.ledger);
  });

  it("an object created before batches had a hash keeps its window and batch ids; an old id is a duplicate, never a mismatch", async () => {
    const { gateId, stub, rpc } = monitor("before-hash");
    await rpc.observe(batch(gateId, "old-1", T0, steady(30)));
    await rewind(stub, "before-batch-hash");
    expect(await schemaOf(stub)).toMatchObject({ batchColumns: ["batch_id", "received_at"], ledger: [] });
    await evictDurableObject(stub); // the next request starts the object on the new code

    const again = await rpc.observe({ ...batch(gateId, "old-1", T0 + 1_000, steady(30)), batch_hash: "a body hashed by the new code" });
    expect(again).toMatchObject({ duplicate: true, mismatch: false, window: { queries: 30, batches: 1 } });
    const next = await rpc.observe(batch(gateId, "new-1", T0 + 2_000, steady(10)));
    expect(next).toMatchObject({ duplicate: false, window: { queries: 40, batches: 2 } });
    const reused = await rpc.observe({ ...batch(gateId, "new-1", T0 + 3_000, steady(12)), batch_hash: "another body" });
    expect(reused).toMatchObject({ duplicate: true, mismatch: true });

    const schema = await schemaOf(stub);
    expect(schema.tables).toEqual(ALL_TABLES);
    expect(schema.batchColumns).toEqual(["batch_id", "received_at", "hash"]);
    expect(schema.ledger.map((m) => m.id)).toEqual(ALL_IDS);
  });

  it("an object whose series predates migration 7 keeps its hours, reads 0 for the new counts and counts them from then on", async () => {
    const { gateId, stub, rpc } = monitor("series-7");
    const HOUR = 3_600_000;
    // A min_keep 2 gate's batches ([m, d] or [m, d, below, abstained] per query).
    const guarded = (batchId: string, nowMs: number, queries: number[][]) => {
      const b = batch(gateId, batchId, nowMs, []);
      const expectation = { ...b.calibration.expectation, guards: { min_keep: 2, max_keep: null } };
      return { ...b, queries: queries as unknown as typeof b.queries, calibration: { ...b.calibration, expectation } };
    };
    await rpc.observe(guarded("s1", T0, steady(20)));
    // The series as migration 4 made it: without the abstention and guard counts, and no ledger row for 7.
    await runInDurableObject(stub, (_: GateMonitor, state) => {
      const sql = state.storage.sql;
      for (const column of ["abstention_queries", "abstained", "guard_bound_queries", "abstention_alarms"]) {
        sql.exec(`ALTER TABLE series DROP COLUMN ${column}`);
      }
      sql.exec("DELETE FROM schema_migrations WHERE id = 7");
    });
    await evictDurableObject(stub);

    await rpc.observe(
      guarded("s2", T0 + HOUR, [
        [20, 20, 20, 1],
        [20, 6, 6, 0],
      ]),
    );
    const [before, after] = await rpc.series(T0, T0 + 2 * HOUR);
    expect(before).toMatchObject({
      queries: 20,
      abstention_queries: 0,
      abstained_queries: 0,
      abstention_rate: null,
      guard_bound_queries: 0,
      abstention_alarms: 0,
    });
    expect(after).toMatchObject({ queries: 2, abstention_queries: 2, abstained_queries: 1, abstention_rate: 0.5, guard_bound_queries: 1 });
    expect((await schemaOf(stub)).ledger.map((m) => m.id)).toEqual(ALL_IDS);
  });

  it("an object whose series predates migration 8 keeps its hours, read without a traffic, and writes each traffic's hour apart from then on", async () => {
    const { gateId, stub, rpc } = monitor("series-8");
    const HOUR = 3_600_000;
    await rpc.observe(batch(gateId, "p1", T0, steady(20)));
    await rpc.observe({ ...batch(gateId, "p2", T0 + 60_000, steady(5)), role: "shadow", shadow_since_seq: 1 });
    await rpc.observe(batch(gateId, "p3", T0 + HOUR, steady(7)));
    const written = await rpc.series(T0, T0 + 2 * HOUR);
    // The series as migrations 4 and 7 left it: one row per calibration and hour, whatever the traffic (the served and
    // the shadow batch of the first hour in one), and no ledger row for 8 or later.
    await runInDurableObject(stub, (_: GateMonitor, state) => {
      const sql = state.storage.sql;
      sql.exec(`CREATE TABLE series_7 (calibration_id TEXT NOT NULL, bucket_start INTEGER NOT NULL, index_version TEXT NOT NULL,
  batches INTEGER NOT NULL, queries INTEGER NOT NULL, candidates INTEGER NOT NULL, dropped INTEGER NOT NULL,
  empty_queries INTEGER NOT NULL, gated_queries INTEGER NOT NULL, expected REAL NOT NULL, band_lo REAL NOT NULL,
  band_hi REAL NOT NULL, log_evidence REAL NOT NULL, max_log_evidence REAL NOT NULL, log_threshold REAL NOT NULL,
  empty_log_evidence REAL, drop_alarms INTEGER NOT NULL, empty_alarms INTEGER NOT NULL, last_alarm_at INTEGER,
  abstention_queries INTEGER NOT NULL DEFAULT 0, abstained INTEGER NOT NULL DEFAULT 0,
  guard_bound_queries INTEGER NOT NULL DEFAULT 0, abstention_alarms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (calibration_id, bucket_start)) WITHOUT ROWID`);
      sql.exec(`INSERT INTO series_7 SELECT calibration_id, bucket_start, MAX(index_version), SUM(batches), SUM(queries), SUM(candidates),
  SUM(dropped), SUM(empty_queries), SUM(gated_queries), MAX(expected), MAX(band_lo), MAX(band_hi), MAX(log_evidence),
  MAX(max_log_evidence), MAX(log_threshold), MAX(empty_log_evidence), SUM(drop_alarms), SUM(empty_alarms), MAX(last_alarm_at),
  SUM(abstention_queries), SUM(abstained), SUM(guard_bound_queries), SUM(abstention_alarms) FROM series GROUP BY calibration_id, bucket_start`);
      sql.exec("DROP TABLE series");
      sql.exec("ALTER TABLE series_7 RENAME TO series");
      sql.exec("CREATE INDEX series_by_time ON series (bucket_start)");
      // An object from before migration 8 is from before every later one too.
      sql.exec("DELETE FROM schema_migrations WHERE id >= 8");
    });
    await evictDurableObject(stub);

    // The earlier hours read as before, without a traffic (the gate page marks them mixed where the log says so).
    const migrated = await rpc.series(T0, T0 + 2 * HOUR);
    expect(migrated.map((b) => [b.start, b.batches, b.queries, b.candidates, b.dropped])).toEqual([
      [new Date(T0).toISOString(), 2, 25, 500, 150],
      [new Date(T0 + HOUR).toISOString(), 1, 7, 140, 42],
    ]);
    expect(migrated.every((b) => !("traffic" in b))).toBe(true);
    const { traffic: _served, ...servedHour } = written.at(-1)!;
    expect(migrated[1]).toEqual(servedHour);
    // A batch in an hour the old row holds writes its own traffic's row beside it, never into the mixed one.
    await rpc.observe(batch(gateId, "p4", T0 + HOUR + 60_000, steady(3)));
    await rpc.observe({ ...batch(gateId, "p5", T0 + HOUR + 2 * 60_000, steady(4)), role: "shadow", shadow_since_seq: 1 });
    const after = await rpc.series(T0 + HOUR, T0 + 2 * HOUR);
    expect(after.map((b) => [b.traffic ?? "(none)", b.batches, b.queries])).toEqual([
      ["served", 1, 3],
      ["shadow", 1, 4],
      ["(none)", 1, 7],
    ]);
    const schema = await schemaOf(stub);
    expect(schema.ledger.map((m) => m.id)).toEqual(ALL_IDS);
    const key = await runInDurableObject(stub, (_: GateMonitor, state) =>
      state.storage.sql
        .exec<{ name: string; pk: number }>("SELECT name, pk FROM pragma_table_info('series') WHERE pk > 0 ORDER BY pk")
        .toArray()
        .map((r) => r.name),
    );
    expect(key).toEqual(["calibration_id", "traffic", "bucket_start"]);
  });

  it("an object whose series predates migration 9 keeps its hours, reads 0 unscored candidates in them and counts them from then on", async () => {
    const { gateId, stub, rpc } = monitor("series-9");
    const HOUR = 3_600_000;
    await rpc.observe(batch(gateId, "n1", T0, steady(20)));
    await runInDurableObject(stub, (_: GateMonitor, state) => {
      state.storage.sql.exec("ALTER TABLE series DROP COLUMN unscored_candidates");
      state.storage.sql.exec("DELETE FROM schema_migrations WHERE id = 9");
    });
    await evictDurableObject(stub);

    const b = batch(gateId, "n2", T0 + HOUR, []);
    const queries = [
      [14, 4, 4, 0, 6],
      [0, 0, 0, 0, 20],
    ] as unknown as typeof b.queries;
    await rpc.observe({ ...b, queries });
    const [before, after] = await rpc.series(T0, T0 + 2 * HOUR);
    expect(before).toMatchObject({ queries: 20, unscored_candidates: 0 });
    expect(after).toMatchObject({ queries: 1, candidates: 14, unscored_candidates: 26 });
    expect((await schemaOf(stub)).ledger.map((m) => m.id)).toEqual(ALL_IDS);
  });

  it("an object created before migrations were numbered (today's tables, no ledger) migrates without touching its data", async () => {
    const { gateId, stub, rpc } = monitor("unnumbered");
    await rpc.observe(batch(gateId, "u1", T0, steady(20)));
    expect(await rpc.judge(judgment(gateId, "j1", T0, "hash-j1"))).toMatchObject({ duplicate: false, recall: { queries: 4 } });
    await rpc.observeMany({ now_ms: T0 + 500, config: batch(gateId, "x", T0, []).config, batches: [{ ...batch(gateId, "u2", T0, steady(5)) }] });
    await rewind(stub, "before-numbered-migrations");
    await evictDurableObject(stub);

    const status = await rpc.status(gateId, T0 + 1_000, batch(gateId, "x", T0, []).config);
    expect(status.windows[0]).toMatchObject({ queries: 25, batches: 2 });
    expect(status.queued_ingest).toMatchObject({ calls: 1, batches: 1, counted: 1 });
    expect(await rpc.observe(batch(gateId, "u1", T0 + 2_000, steady(20)))).toMatchObject({ duplicate: true, mismatch: false });
    // a judgment id recorded before judgment batches had a hash is a duplicate, never a mismatch; new ids compare bodies
    expect(await rpc.judge(judgment(gateId, "j1", T0 + 2_000, "a body hashed by the new code"))).toMatchObject({ duplicate: true, mismatch: false });
    expect(await rpc.judge(judgment(gateId, "j2", T0 + 3_000, "hash-j2"))).toMatchObject({ duplicate: false, recall: { queries: 8 } });
    expect(await rpc.judge(judgment(gateId, "j2", T0 + 4_000, "another body"))).toMatchObject({
      duplicate: true,
      mismatch: true,
      recall: { queries: 8 },
    });
    const schema = await schemaOf(stub);
    expect(schema.judgmentColumns).toEqual(["batch_id", "received_at", "hash"]);
    expect(schema.ledger.map((m) => m.id)).toEqual(ALL_IDS);
    // Its series starts with the first batch counted on the new code; the window kept every earlier count.
    const next = await rpc.observe(batch(gateId, "u3", T0 + 3_000, steady(10)));
    expect(next.window).toMatchObject({ queries: 35, batches: 3 });
    expect((await rpc.series(T0 - 3_600_000, T0 + 3_600_000)).map((b) => [b.queries, b.batches])).toEqual([[10, 1]]);
  });
});
