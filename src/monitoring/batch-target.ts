/**
 * Which calibration a production batch belongs to, one rule for observations (observations.ts) and judgments
 * (judgments.ts): the calibration it names by `calibration_id` (the one whose threshold the service applied), with
 * any gate field sent along checked against it, each one, so counts are never filed under a gate the sender did not
 * mean; or, without an id, the current calibration of the gate its fields name (through the threshold reader, so a
 * hot gate costs no D1 read). Both kinds of batch are also told apart from their retries the same way: by batch id
 * and a hash of the body (batchHash), a reused id with another body refused with batchMismatch.
 */
import { type Expectation, expectationOf } from "../calibrations/expectation";
import { DEFAULT_INDEX, type StoredCalibration } from "../contract";
import { sha256Hex } from "../platform/digest";
import { AppError } from "../platform/errors";
import type { MonitoringDeps } from "./deps";

/** The fields a batch names its calibration or gate with (contract/monitoring.ts BatchTarget). */
export interface BatchFields {
  readonly calibration_id?: string | undefined;
  readonly index?: string | undefined;
  readonly embedding?: string | undefined;
  readonly reranker?: string | undefined;
  readonly index_version?: string | undefined;
}

export interface BatchTarget {
  readonly gate: { readonly gate_id: string; readonly index: string; readonly embedding: string; readonly reranker: string };
  readonly calibration: { readonly id: string; readonly index_version: string; readonly expectation: Expectation };
  /** The stored calibration when the batch named it (read from D1); null when resolved through the served projection. */
  readonly stored: StoredCalibration | null;
}

/** 422 for a calibration id the batch names that does not exist. */
export const unknownCalibration = (id: string): AppError =>
  new AppError("invalid_input", `calibration ${id} does not exist`, [{ path: "calibration_id", message: "unknown calibration" }]);

/** SHA-256 hex of a validated batch (zod output: keys in schema order, so the same batch always hashes the same). */
export async function batchHash(batch: { readonly batch_id: string }): Promise<string> {
  return sha256Hex(JSON.stringify(batch));
}

/** 422 batch_mismatch: the batch id was already counted with another body (observations and judgments alike). */
export const batchMismatch = (batchId: string): AppError =>
  new AppError(
    "batch_mismatch",
    `batch_id ${JSON.stringify(batchId)} was already counted with a different body; a retry must resend the same batch, a new batch needs a new batch_id`,
    { batch_id: batchId },
  );

export async function resolveBatchTarget(batch: BatchFields, deps: Pick<MonitoringDeps, "calibrations" | "thresholds">): Promise<BatchTarget> {
  if (batch.calibration_id !== undefined) {
    const c = await deps.calibrations.get(batch.calibration_id);
    if (c === null) throw unknownCalibration(batch.calibration_id);
    const contradicting = (["index", "embedding", "reranker", "index_version"] as const).filter((k) => batch[k] !== undefined && batch[k] !== c[k]);
    if (contradicting.length > 0) {
      throw new AppError(
        "invalid_input",
        `calibration ${c.id} belongs to ${c.index} / ${c.embedding} / ${c.reranker} (index_version ${c.index_version}), which contradicts ${contradicting.map((k) => `${k}=${JSON.stringify(batch[k])}`).join(", ")}: send calibration_id alone, or matching gate fields`,
        contradicting.map((k) => ({ path: k, message: `contradicts calibration_id (its ${k} is ${JSON.stringify(c[k])})` })),
      );
    }
    return {
      gate: { gate_id: c.gate_id, index: c.index, embedding: c.embedding, reranker: c.reranker },
      calibration: { id: c.id, index_version: c.index_version, expectation: expectationOf(c) },
      stored: c,
    };
  }
  // The batch schemas refuse a batch without calibration_id that lacks embedding or reranker.
  const q = {
    index: batch.index ?? DEFAULT_INDEX,
    embedding: batch.embedding!,
    reranker: batch.reranker!,
    ...(batch.index_version === undefined ? {} : { index_version: batch.index_version }),
  };
  const { projection } = await deps.thresholds.read(q);
  const t = projection.threshold;
  return {
    gate: { gate_id: projection.gate_id, index: t.index, embedding: t.embedding, reranker: t.reranker },
    calibration: { id: t.calibration_id, index_version: t.index_version, expectation: projection.expectation },
    stored: null,
  };
}
