/**
 * The batch ledger: which batch ids this gate's monitor has counted (`batches`, with each batch's content hash) or
 * judged (`judgment_batches`), kept BATCH_ID_RETENTION_MS, so a retried batch is never counted twice and a reused id
 * with another body is told apart from a retry. Owns the tables `batches` and `judgment_batches` (migrations.ts).
 */
import { BATCH_ID_RETENTION_MS } from "../../platform/limits";

/** A claim of a batch id (observations or judgments): new, or seen before (with the same body, or not: a mismatch). */
export type BatchClaim = { readonly claimed: true } | { readonly claimed: false; readonly mismatch: boolean };

export class BatchLedger {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Records an observation batch id the first time it is seen. */
  claim(batchId: string, nowMs: number, hash: string): BatchClaim {
    return this.#claimIn("batches", batchId, nowMs, hash);
  }

  /** Records a judgment batch id the first time it is seen, by the same rule as observation batches. */
  claimJudgment(batchId: string, nowMs: number, hash: string): BatchClaim {
    return this.#claimIn("judgment_batches", batchId, nowMs, hash);
  }

  #claimIn(table: "batches" | "judgment_batches", batchId: string, nowMs: number, hash: string): BatchClaim {
    const written = this.#sql.exec(`INSERT OR IGNORE INTO ${table} (batch_id, received_at, hash) VALUES (?, ?, ?)`, batchId, nowMs, hash).rowsWritten;
    if (written > 0) return { claimed: true };
    // A retry carries the same body; the same id with other counts is a client bug, refused rather than dropped.
    // Ids recorded before the table had a hash compare as duplicates.
    const seen = this.#sql.exec<{ hash: string | null }>(`SELECT hash FROM ${table} WHERE batch_id = ?`, batchId).toArray()[0];
    return { claimed: false, mismatch: seen?.hash != null && seen.hash !== hash };
  }

  /** Forgets ids older than the retention. */
  forgetExpired(nowMs: number): void {
    this.#sql.exec(`DELETE FROM batches WHERE received_at < ?`, nowMs - BATCH_ID_RETENTION_MS);
    this.#sql.exec(`DELETE FROM judgment_batches WHERE received_at < ?`, nowMs - BATCH_ID_RETENTION_MS);
  }
}
