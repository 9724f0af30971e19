/**
 * Readiness: is the D1 schema migrated? A Worker deployed before `wrangler d1 migrations apply` (or a local database
 * that was never migrated) would otherwise answer every data route with an opaque 500. /healthz probes the schema
 * (after the run-time variables, src/worker/wiring.ts checkRuntimeConfig, which need no I/O); every route maps D1's
 * "no such table/column" to 503 not_migrated naming the command to run.
 */
import { AppError } from "./errors";

/** Tables the migrations in migrations/ create; the newest migration's table comes last. */
export const REQUIRED_TABLES = [
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
  // promotions (migrations/0009)
  "promotions",
  "promotion_steps",
  // owed listeners (migrations/0010)
  "pending_listeners",
] as const;

export const MIGRATE_COMMAND = "npx wrangler d1 migrations apply DB --remote (locally: --local, which npm start runs)";

export const notMigrated = (missing?: readonly string[]): AppError =>
  new AppError(
    "not_migrated",
    `the database schema is not migrated${missing && missing.length > 0 ? ` (missing: ${missing.join(", ")})` : ""}: run ${MIGRATE_COMMAND}`,
    { command: MIGRATE_COMMAND, ...(missing ? { missing_tables: missing } : {}) },
  );

/** D1 errors that mean the schema is behind the code. */
export function isSchemaError(e: unknown): boolean {
  const message = e instanceof Error ? `${e.message} ${String((e as { cause?: unknown }).cause ?? "")}` : String(e);
  return /no such (table|column)|has no column named/iu.test(message);
}

/**
 * Tables of REQUIRED_TABLES missing from `db` (empty: ready). Migrations are never rolled back, so a database found
 * ready is added to `ready` (the isolate's set, src/worker/isolate.ts) and never looked at again: /healthz stays
 * trivial, and it is the baseline route of the read-path benchmark.
 */
export async function missingTables(db: D1Database, ready: WeakSet<D1Database>): Promise<string[]> {
  if (ready.has(db)) return [];
  const { results } = await db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (${REQUIRED_TABLES.map(() => "?").join(", ")})`)
    .bind(...REQUIRED_TABLES)
    .all<{ name: string }>();
  const present = new Set(results.map((r) => r.name));
  const missing = REQUIRED_TABLES.filter((t) => !present.has(t));
  if (missing.length === 0) ready.add(db);
  return missing;
}
