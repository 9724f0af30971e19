/**
 * A table of JSON states keyed by calibration id (`calibration_id`, `updated_at`, `state`): the monitor's windows,
 * detectors, coverage tests and live evidence are each one (windows.ts, coverage.ts, live-evidence.ts). One upsert,
 * one read, one retention for all four. Table names come from code, never from input.
 */
export class StateTable<T> {
  readonly #sql: SqlStorage;
  readonly #table: "windows" | "detectors" | "coverage" | "evidence";

  constructor(sql: SqlStorage, table: "windows" | "detectors" | "coverage" | "evidence") {
    this.#sql = sql;
    this.#table = table;
  }

  get(calibrationId: string): T | undefined {
    const row = this.#sql.exec<{ state: string }>(`SELECT state FROM ${this.#table} WHERE calibration_id = ?`, calibrationId).toArray()[0];
    return row === undefined ? undefined : (JSON.parse(row.state) as T);
  }

  /** Every state, the most recently updated first. */
  all(): T[] {
    return this.#sql
      .exec<{ state: string }>(`SELECT state FROM ${this.#table} ORDER BY updated_at DESC`)
      .toArray()
      .map((r) => JSON.parse(r.state) as T);
  }

  put(calibrationId: string, nowMs: number, state: T): void {
    this.#sql.exec(
      `INSERT INTO ${this.#table} (calibration_id, updated_at, state) VALUES (?, ?, ?)
       ON CONFLICT (calibration_id) DO UPDATE SET updated_at = excluded.updated_at, state = excluded.state`,
      calibrationId,
      nowMs,
      JSON.stringify(state),
    );
  }

  delete(calibrationId: string): void {
    this.#sql.exec(`DELETE FROM ${this.#table} WHERE calibration_id = ?`, calibrationId);
  }

  /** Forgets the states not updated since `cutoffMs`. */
  forgetIdleSince(cutoffMs: number): void {
    this.#sql.exec(`DELETE FROM ${this.#table} WHERE updated_at < ?`, cutoffMs);
  }
}
