/**
 * Readiness: is the D1 schema migrated? A Worker deployed before `wrangler d1 migrations apply` (or a local database
 * that was never migrated) would otherwise answer every data route with an opaque 500. /healthz probes the schema
 * (after the run-time variables, src/worker/wiring.ts checkRuntimeConfig, which need no I/O); every route maps D1's
 * "no such table/column" to 503 not_migrated naming the command to run.
 */
import { AppError } from "./errors";

/**
 * What the migrations in migrations/ make, in the order they make it: every table, every index, and every column a
 * migration adds to a table it did not create (`ALTER TABLE ... ADD COLUMN`). A migration may make only an index or a
 * column (0011, 0012): probing tables alone would call such a database ready while a route fails on the missing column
 * or a uniqueness the missing index was to keep. test/platform/readiness-schema.test.ts reads every migration and holds
 * these lists equal to what they make.
 */
export const REQUIRED_SCHEMA = {
  tables: [
    "gates",
    "calibrations",
    "activations",
    "active_calibrations",
    "idempotency_keys",
    "alerts",
    "webhook_endpoints",
    "webhook_events",
    "webhook_deliveries",
    "alert_occurrences",
    "uncalibrated_sightings",
    "ended_sessions",
    "gate_heads",
    "promotions",
    "promotion_steps",
    "pending_listeners",
  ],
  indexes: [
    "calibrations_by_gate",
    "activations_by_gate",
    "active_by_gate",
    "alerts_one_unresolved",
    "alerts_by_status",
    "deliveries_due",
    "alert_occurrences_by_alert",
    "uncalibrated_sightings_by_minute",
    "ended_sessions_by_expiry",
    "calibrations_by_request",
    "promotions_one_open",
    "promotions_by_gate",
    "promotion_steps_by_promotion",
    "pending_listeners_by_time",
    "promotion_steps_unlogged",
    "webhook_endpoints_by_request",
    "webhook_deliveries_newest",
    "webhook_deliveries_by_status",
    "webhook_deliveries_by_endpoint",
    "webhook_deliveries_by_event",
    "webhook_events_by_alert",
  ],
  columns: [
    ["alerts", "acknowledged_note"],
    ["alerts", "resolved_note"],
    ["webhook_endpoints", "deleted_at"],
    ["webhook_endpoints", "deleted_by"],
    ["calibrations", "idempotency_key"],
    ["calibrations", "request_hash"],
    ["calibrations", "activation_outcome"],
    ["activations", "kind"],
    ["activations", "prev_seq"],
    ["activations", "event"],
    ["webhook_endpoints", "created_by"],
    ["webhook_endpoints", "updated_by"],
  ],
} as const satisfies { tables: readonly string[]; indexes: readonly string[]; columns: readonly (readonly [string, string])[] };

export const MIGRATE_COMMAND =
  "npx wrangler d1 migrations apply DB --remote (locally: --local, which npm start runs, with the --persist-to <dir> the local database was started with, if any)";

/** What a database lacks of REQUIRED_SCHEMA; all empty: migrated. */
export interface MissingSchema {
  readonly tables: readonly string[];
  readonly indexes: readonly string[];
  /** "table.column" */
  readonly columns: readonly string[];
}

export const schemaComplete = (m: MissingSchema): boolean => m.tables.length + m.indexes.length + m.columns.length === 0;

/**
 * 503 not_migrated naming the command, and what is missing when it was probed (/healthz): `details.missing_tables`
 * always then, `missing_indexes` and `missing_columns` when there are any.
 */
export const notMigrated = (missing?: MissingSchema): AppError => {
  const names = missing ? [...missing.tables, ...missing.indexes.map((i) => `index ${i}`), ...missing.columns.map((c) => `column ${c}`)] : [];
  return new AppError(
    "not_migrated",
    `the database schema is not migrated${names.length > 0 ? ` (missing: ${names.join(", ")})` : ""}: run ${MIGRATE_COMMAND}`,
    {
      command: MIGRATE_COMMAND,
      ...(missing && {
        missing_tables: missing.tables,
        ...(missing.indexes.length > 0 && { missing_indexes: missing.indexes }),
        ...(missing.columns.length > 0 && { missing_columns: missing.columns }),
      }),
    },
  );
};

/** D1 errors that mean the schema is behind the code. */
export function isSchemaError(e: unknown): boolean {
  const message = e instanceof Error ? `${e.message} ${String((e as { cause?: unknown }).cause ?? "")}` : String(e);
  return /no such (table|column)|has no column named/iu.test(message);
}

/** Whether a table's CREATE statement, as SQLite keeps it (an added column appended to it), declares `column`. */
const declares = (createSql: string, column: string): boolean => new RegExp(`[(,]\\s*["\`[]?${column}["\`\\]]?(?=[\\s,)])`, "iu").test(createSql);

/**
 * What `db` lacks of REQUIRED_SCHEMA, from one read of sqlite_master. Migrations are never rolled back, so a database
 * found complete is added to `ready` (the isolate's set, src/worker/isolate.ts) and never looked at again: /healthz
 * stays trivial, and it is the baseline route of the read-path benchmark.
 */
export async function missingSchema(db: D1Database, ready: WeakSet<D1Database>): Promise<MissingSchema> {
  if (ready.has(db)) return { tables: [], indexes: [], columns: [] };
  const { results } = await db
    .prepare("SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'index')")
    .all<{ type: string; name: string; sql: string | null }>();
  const tables = new Map(results.filter((r) => r.type === "table").map((r) => [r.name, r.sql ?? ""]));
  const indexes = new Set(results.filter((r) => r.type === "index").map((r) => r.name));
  const missing: MissingSchema = {
    tables: REQUIRED_SCHEMA.tables.filter((t) => !tables.has(t)),
    indexes: REQUIRED_SCHEMA.indexes.filter((i) => !indexes.has(i)),
    // a column of a missing table is not named again: the table is
    columns: REQUIRED_SCHEMA.columns.filter(([t, c]) => tables.has(t) && !declares(tables.get(t)!, c)).map(([t, c]) => `${t}.${c}`),
  };
  if (schemaComplete(missing)) ready.add(db);
  return missing;
}
