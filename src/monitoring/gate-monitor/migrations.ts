/**
 * The GateMonitor's SQLite schema as numbered migrations: the Durable Object counterpart of the D1 migrations in
 * migrations/, append-only like them (never edit a migration once released; add the next number). Each migration
 * runs once per object, in order, in one transaction with its row in `schema_migrations`, when the object starts
 * (src/worker/gate-monitor.ts); a migration that throws rolls back and fails the start, so an object never runs
 * newer code on a half-migrated schema.
 *
 * Objects created before migrations were numbered have no `schema_migrations` table but do have their data: every
 * migration here therefore tolerates finding its work done (CREATE ... IF NOT EXISTS; a column added only when
 * missing). Which module owns each table: batch-ledger.ts (batches, judgment_batches), windows.ts (windows, history,
 * detectors), coverage.ts (coverage), alert-outbox.ts (pending_alerts), ingest-counters.ts (queued_ingest), series.ts (series),
 * src/streaming/event-log.ts (gate_events).
 */

export interface MonitorMigration {
  /** 1, 2, 3, ...: the order they run in; never reused. */
  readonly id: number;
  readonly name: string;
  readonly apply: (sql: SqlStorage) => void;
}

/** The column names of `table` (empty when it does not exist). */
export function columnsOf(sql: SqlStorage, table: string): string[] {
  return sql
    .exec<{ name: string }>("SELECT name FROM pragma_table_info(?)", table)
    .toArray()
    .map((r) => r.name);
}

/**
 * The traffic migration 8 gives the series rows written before it: their hour holds the calibration's batches of
 * every traffic together (series.ts reads it as a bucket without `traffic`).
 */
export const SERIES_TRAFFIC_UNKNOWN = "unknown";

/** The counters migration 7 adds to `series` (names from code, never from input). */
const SERIES_COLUMNS_7 = ["abstention_queries", "abstained", "guard_bound_queries", "abstention_alarms"] as const;

export const MONITOR_MIGRATIONS: readonly MonitorMigration[] = [
  {
    id: 1,
    name: "tables of the monitor (objects created before numbered migrations already have them)",
    apply: (sql) =>
      sql.exec(`
CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY, received_at INTEGER NOT NULL, hash TEXT);
CREATE INDEX IF NOT EXISTS batches_by_time ON batches (received_at);
CREATE TABLE IF NOT EXISTS windows (calibration_id TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (id INTEGER PRIMARY KEY AUTOINCREMENT, calibration_id TEXT NOT NULL, ended_at INTEGER NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL, alert TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS detectors (calibration_id TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS judgment_batches (batch_id TEXT PRIMARY KEY, received_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS coverage (calibration_id TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queued_ingest (id INTEGER PRIMARY KEY CHECK (id = 1), calls INTEGER NOT NULL DEFAULT 0,
  batches INTEGER NOT NULL DEFAULT 0, counted INTEGER NOT NULL DEFAULT 0, duplicates INTEGER NOT NULL DEFAULT 0,
  mismatches INTEGER NOT NULL DEFAULT 0, last_mismatch_batch_id TEXT, last_mismatch_at INTEGER);
`),
  },
  {
    id: 2,
    name: "batches.hash on objects created before batches had a content hash (their rows keep none and compare as duplicates)",
    apply: (sql) => {
      if (!columnsOf(sql, "batches").includes("hash")) sql.exec("ALTER TABLE batches ADD COLUMN hash TEXT");
    },
  },
  {
    id: 3,
    name: "judgment_batches.hash, so a judgment batch id reused with another body is refused as an observation's is (earlier rows keep none and compare as duplicates)",
    apply: (sql) => {
      if (!columnsOf(sql, "judgment_batches").includes("hash")) sql.exec("ALTER TABLE judgment_batches ADD COLUMN hash TEXT");
    },
  },
  {
    id: 4,
    name: "series: hourly buckets of each calibration's counts and evidence (objects start with none: older counts stay in their windows)",
    apply: (sql) =>
      sql.exec(`
CREATE TABLE IF NOT EXISTS series (calibration_id TEXT NOT NULL, bucket_start INTEGER NOT NULL, index_version TEXT NOT NULL,
  batches INTEGER NOT NULL, queries INTEGER NOT NULL, candidates INTEGER NOT NULL, dropped INTEGER NOT NULL,
  empty_queries INTEGER NOT NULL, gated_queries INTEGER NOT NULL, expected REAL NOT NULL, band_lo REAL NOT NULL,
  band_hi REAL NOT NULL, log_evidence REAL NOT NULL, max_log_evidence REAL NOT NULL, log_threshold REAL NOT NULL,
  empty_log_evidence REAL, drop_alarms INTEGER NOT NULL, empty_alarms INTEGER NOT NULL, last_alarm_at INTEGER,
  PRIMARY KEY (calibration_id, bucket_start)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS series_by_time ON series (bucket_start);
`),
  },
  // Pushed changes (src/streaming/) -----------------------------------------------------------------------------
  {
    id: 5,
    name: "gate_events: the hub's replay buffer of the gate's newest events (src/streaming/event-log.ts; objects start empty and fill from D1)",
    apply: (sql) =>
      sql.exec(`
CREATE TABLE IF NOT EXISTS gate_events (seq INTEGER PRIMARY KEY, prev_seq INTEGER NOT NULL, appended_at INTEGER NOT NULL, event TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS gate_events_by_prev ON gate_events (prev_seq);
`),
  },
  // Shadows and promotions (src/promotions/) ------------------------------------------------------------------
  {
    id: 6,
    name: "evidence: live counts of each shadow, its comparison span and each promotion arm per step (live-evidence.ts)",
    apply: (sql) =>
      sql.exec(`CREATE TABLE IF NOT EXISTS evidence (calibration_id TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, state TEXT NOT NULL)`),
  },
  // Series columns (series.ts) ---------------------------------------------------------------------------------
  {
    id: 7,
    name: "series: abstention and guard counts per hour (queries that reported abstention, those that abstained, those where min_keep bound) and abstention alarms; earlier buckets read 0",
    apply: (sql) => {
      const has = columnsOf(sql, "series");
      for (const column of SERIES_COLUMNS_7) {
        if (!has.includes(column)) sql.exec(`ALTER TABLE series ADD COLUMN ${column} INTEGER NOT NULL DEFAULT 0`);
      }
    },
  },
  {
    id: 8,
    name: "series: one row per calibration, traffic and hour (served, shadow, a promotion's candidate arm); earlier rows read as traffic 'unknown', the hour's batches of every traffic together",
    apply: (sql) => {
      const has = columnsOf(sql, "series");
      if (has.includes("traffic")) return;
      // SQLite cannot change a primary key in place: the table is rebuilt with the key's new column, each earlier row
      // copied once with the traffic nobody recorded. Column names come from the table itself, never from input.
      const columns = has.join(", ");
      sql.exec(`
CREATE TABLE series_8 (calibration_id TEXT NOT NULL, traffic TEXT NOT NULL, bucket_start INTEGER NOT NULL, index_version TEXT NOT NULL,
  batches INTEGER NOT NULL, queries INTEGER NOT NULL, candidates INTEGER NOT NULL, dropped INTEGER NOT NULL,
  empty_queries INTEGER NOT NULL, gated_queries INTEGER NOT NULL, expected REAL NOT NULL, band_lo REAL NOT NULL,
  band_hi REAL NOT NULL, log_evidence REAL NOT NULL, max_log_evidence REAL NOT NULL, log_threshold REAL NOT NULL,
  empty_log_evidence REAL, drop_alarms INTEGER NOT NULL, empty_alarms INTEGER NOT NULL, last_alarm_at INTEGER,
  abstention_queries INTEGER NOT NULL DEFAULT 0, abstained INTEGER NOT NULL DEFAULT 0,
  guard_bound_queries INTEGER NOT NULL DEFAULT 0, abstention_alarms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (calibration_id, traffic, bucket_start)) WITHOUT ROWID;
INSERT INTO series_8 (${columns}, traffic) SELECT ${columns}, '${SERIES_TRAFFIC_UNKNOWN}' FROM series;
DROP TABLE series;
ALTER TABLE series_8 RENAME TO series;
CREATE INDEX IF NOT EXISTS series_by_time ON series (bucket_start);
`);
    },
  },
  {
    id: 9,
    name: "series: candidates reported without a score per hour (a query's fifth count); earlier buckets read 0",
    apply: (sql) => {
      if (!columnsOf(sql, "series").includes("unscored_candidates")) {
        sql.exec("ALTER TABLE series ADD COLUMN unscored_candidates INTEGER NOT NULL DEFAULT 0");
      }
    },
  },
];

/**
 * Applies every migration the object has not run, each in its own transaction with its ledger row (dated by `now`,
 * ms); returns their ids.
 */
export function migrate(
  storage: Pick<DurableObjectStorage, "sql" | "transactionSync">,
  now: () => number,
  migrations: readonly MonitorMigration[] = MONITOR_MIGRATIONS,
): number[] {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  const done = new Set(
    sql
      .exec<{ id: number }>("SELECT id FROM schema_migrations")
      .toArray()
      .map((r) => r.id),
  );
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
    if (done.has(m.id)) continue;
    storage.transactionSync(() => {
      m.apply(sql);
      sql.exec("INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)", m.id, m.name, now());
    });
    applied.push(m.id);
  }
  return applied;
}
