/**
 * POST /v1/observations: resolve which calibration a batch was gated with (batch-target.ts), then hand the counts to the gate's
 * monitor (Durable Object), which aggregates them per daily window, runs the change detector and raises alerts;
 * in queue mode (OBSERVATION_INGEST = "queue") the queue consumer (queue-consumer.ts) hands them over instead.
 */

import type { ObservationAccepted, ObservationBatch } from "../contract";
import { AppError } from "../platform/errors";
import { MAX_OBSERVATION_MESSAGE_BYTES } from "../platform/limits";
import { checkBatchPromotion, lateCandidateServed } from "./batch-promotion";
import { batchHash, batchMismatch, resolveBatchTarget } from "./batch-target";
import type { MonitoringDeps } from "./deps";
import type { ObserveBatch } from "./monitor-contract";
import { messageBytes, observationMessage } from "./observation-message";
import { neverServed, servedAs, unclaimedCandidate } from "./served-claim";

/** The 202 of POST /v1/observations (contract/monitoring.ts ObservationAccepted). */
export type ObservationResult = ObservationAccepted;

/**
 * Counts a batch in its gate's monitor (direct mode), or enqueues it for the queue consumer (queue mode). Either way
 * the batch is validated and resolved to its calibration first, so an unknown gate or calibration is refused here and
 * nothing is enqueued. A batch too large for one queue message (MAX_OBSERVATION_MESSAGE_BYTES) is counted directly.
 */
export async function observe(batch: ObservationBatch, deps: MonitoringDeps): Promise<ObservationResult> {
  const ingest = deps.ingest;
  const r = await resolveBatchTarget(batch, deps);
  // A shadow batch counts only for a calibration in its gate's shadow set, and only apart from the served traffic.
  let shadowSinceSeq: number | null = null;
  if (batch.role === "shadow") {
    const { heads } = await deps.calibrations.gateState(r.gate.gate_id);
    shadowSinceSeq = heads.shadows.find((s) => s.calibration_id === r.calibration.id)?.since_seq ?? null;
    if (shadowSinceSeq === null) {
      throw new AppError("conflict", `calibration ${r.calibration.id} is not a shadow of its gate: nothing was counted`, [
        { path: "calibration_id", message: "not in the gate's shadow set (POST /v1/calibrations/{id}/shadow)" },
      ]);
    }
  }
  // A served batch naming a calibration its gate never served, or served only as a promotion's candidate without that
  // promotion's claim, is refused (served-claim.ts); a promotion arm's claim is checked against its promotion below
  // instead, and a batch naming the gate is its current calibration's.
  if (batch.role !== "shadow" && batch.promotion === undefined && batch.calibration_id !== undefined) {
    const served = await servedAs(r, deps);
    if (served.as === "never") throw neverServed(r.calibration.id);
    if (served.as === "candidate") throw unclaimedCandidate(r.calibration.id, served.promotionId);
  }
  // A promotion arm is checked before anything is counted: its evidence decides that promotion's step. An out-of-date
  // claim (the step is over, the promotion ended) is dropped: a control or unassigned batch is counted as an ordinary
  // one (its calibration is the one served), a candidate batch is counted nowhere.
  const claim =
    batch.promotion !== undefined && (await checkBatchPromotion(batch.promotion, { gateId: r.gate.gate_id, calibrationId: r.calibration.id }, deps))
      ? batch.promotion
      : undefined;
  // A late candidate-arm batch is served traffic once its promotion completed, else counted nowhere (batch-promotion.ts).
  const lateCandidate = batch.promotion?.arm === "candidate" && claim === undefined && !(await lateCandidateServed(batch.promotion, deps));
  // Validated in both modes: a DRIFT_* typo is a 503 here, not a queue of messages no consumer can count.
  const config = deps.drift;
  const resolved: ObserveBatch = {
    gate: r.gate,
    calibration: r.calibration,
    batch_id: batch.batch_id,
    batch_hash: await batchHash(batch),
    queries: batch.queries,
    scores: batch.scores ?? null,
    ...(shadowSinceSeq === null ? {} : { role: "shadow" as const, shadow_since_seq: shadowSinceSeq }),
    ...(claim === undefined ? {} : { promotion: claim }),
    ...(lateCandidate ? { late_candidate: true as const } : {}),
  };
  // Shadow, arm and late candidate batches are counted directly: the queue message carries served counts only.
  if (ingest.mode === "queue" && resolved.role === undefined && resolved.promotion === undefined && !lateCandidate) {
    const message = observationMessage(resolved, deps.now().getTime());
    if (messageBytes(message) <= MAX_OBSERVATION_MESSAGE_BYTES) {
      try {
        await ingest.queue.send(message);
      } catch (e) {
        console.error("enqueueing an observation batch failed", e);
        throw new AppError(
          "storage_unavailable",
          "the observation queue did not accept the batch (it may be over its throughput limit): retry with the same batch_id",
          { batch_id: batch.batch_id },
        );
      }
      return { queued: true, batch_id: batch.batch_id, gate_id: r.gate.gate_id, calibration_id: r.calibration.id };
    }
  }
  const outcome = await deps.monitor.observe(r.gate.gate_id, { ...resolved, now_ms: deps.now().getTime(), config });
  if (outcome.mismatch) throw batchMismatch(batch.batch_id);
  if (!outcome.duplicate && resolved.promotion !== undefined && resolved.promotion.arm !== "unassigned") {
    // The batch is counted whatever becomes of the decision: a decision that fails (its D1 write, say) is logged, not
    // answered as an error the client would retry in vain (a retried batch is a duplicate), and the cron re-decides it.
    await deps.armCounted?.(resolved.promotion, outcome.arms).catch((e: unknown) => {
      console.error(`the decision after arm batch ${batch.batch_id} failed; the cron decides it again`, e);
    });
  }
  return {
    queued: false,
    accepted: !outcome.duplicate,
    duplicate: outcome.duplicate,
    gate_id: r.gate.gate_id,
    calibration_id: r.calibration.id,
    window: outcome.window,
    alerts: outcome.alerts,
  };
}
