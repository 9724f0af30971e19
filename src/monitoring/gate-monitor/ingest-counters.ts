/**
 * What the queue consumer delivered to this monitor (OBSERVATION_INGEST = "queue"): calls, batches and what became of
 * them, and the last mismatch, reported in GET /v1/monitor's `queued_ingest` and /metrics. One row; owns the table
 * `queued_ingest` (migrations.ts).
 */
import type { QueuedIngestStatus } from "../../contract";

export class IngestCounters {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Counts one consumer call. */
  countCall(): void {
    this.#sql.exec(`INSERT INTO queued_ingest (id, calls) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET calls = calls + 1`);
  }

  /** Counts one queued batch by what became of it; call inside the batch's transaction, after countCall. */
  record(result: "counted" | "duplicate" | "mismatch", batchId: string, nowMs: number): void {
    const column = result === "mismatch" ? "mismatches" : result === "duplicate" ? "duplicates" : "counted";
    this.#sql.exec(`UPDATE queued_ingest SET batches = batches + 1, ${column} = ${column} + 1 WHERE id = 1`);
    if (result === "mismatch")
      this.#sql.exec(`UPDATE queued_ingest SET last_mismatch_batch_id = ?, last_mismatch_at = ? WHERE id = 1`, batchId, nowMs);
  }

  status(): QueuedIngestStatus {
    const row = this.#sql
      .exec<{
        calls: number;
        batches: number;
        counted: number;
        duplicates: number;
        mismatches: number;
        last_mismatch_batch_id: string | null;
        last_mismatch_at: number | null;
      }>(`SELECT calls, batches, counted, duplicates, mismatches, last_mismatch_batch_id, last_mismatch_at FROM queued_ingest WHERE id = 1`)
      .toArray()[0];
    if (row === undefined) return { calls: 0, batches: 0, counted: 0, duplicates: 0, mismatches: 0, last_mismatch: null };
    const { last_mismatch_batch_id: id, last_mismatch_at: at, ...counts } = row;
    return { ...counts, last_mismatch: id === null || at === null ? null : { batch_id: id, at: new Date(at).toISOString() } };
  }
}
