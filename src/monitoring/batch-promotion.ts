/**
 * The promotion arm a batch claims, checked before anything is counted (observations.ts): the batch's evidence decides
 * that promotion's step, so a claim that does not hold would count in the wrong gate's monitor or corrupt the step's
 * comparison. The claim holds when the promotion exists and is on the batch's gate (else 422 invalid_input), the batch
 * was gated with the arm's calibration (candidate: the promoted one; control and unassigned: the control the promotion
 * was started against; else 422 invalid_input), and, for the counted arms (candidate, control), the promotion is open
 * at that step (else 409 conflict: a batch of a step that is over, or of a promotion that ended, decides nothing any
 * more and is not counted; the client drops it).
 */
import type { BatchPromotion } from "../contract";
import { AppError } from "../platform/errors";
import type { MonitoringDeps } from "./deps";

/** Throws the refusal of a batch whose promotion claim does not hold; returns when it holds. */
export async function checkBatchPromotion(
  claim: BatchPromotion,
  target: { readonly gateId: string; readonly calibrationId: string },
  deps: Pick<MonitoringDeps, "promotions">,
): Promise<void> {
  const p = await deps.promotions.get(claim.id);
  if (p === null || p.gate_id !== target.gateId) {
    throw new AppError("invalid_input", `promotion ${claim.id} is not a promotion of this batch's gate: nothing was counted`, [
      { path: "promotion.id", message: p === null ? "unknown promotion" : `a promotion of gate ${p.gate_id}` },
    ]);
  }
  const armCalibration = claim.arm === "candidate" ? p.candidate_calibration_id : p.control_calibration_id;
  if (target.calibrationId !== armCalibration) {
    throw new AppError(
      "invalid_input",
      `the ${claim.arm} arm of promotion ${p.id} is served calibration ${armCalibration}, not ${target.calibrationId}: nothing was counted`,
      [{ path: "calibration_id", message: `must be ${armCalibration} for arm ${claim.arm}` }],
    );
  }
  if (claim.arm === "unassigned") return;
  if (p.state !== "running" && p.state !== "paused") {
    throw new AppError("conflict", `promotion ${p.id} is ${p.state}: its arms are counted no more, nothing was counted`, [
      { path: "promotion.id", message: `the promotion is ${p.state}` },
    ]);
  }
  if (claim.step !== p.step) {
    throw new AppError("conflict", `promotion ${p.id} is at step ${p.step}, not ${claim.step}: nothing was counted`, [
      { path: "promotion.step", message: `the promotion's current step is ${p.step}` },
    ]);
  }
}
