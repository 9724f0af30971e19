/**
 * The promotion arm a batch claims, checked before anything is counted (observations.ts): the batch's evidence decides
 * that promotion's step, so a claim that does not hold would count in the wrong gate's monitor or corrupt the step's
 * comparison. The claim holds when the promotion exists and is on the batch's gate (else 422 invalid_input), the batch
 * was gated with the arm's calibration (candidate: the promoted one; control and unassigned: the control the promotion
 * was started against; else 422 invalid_input), and the claimed step is one the promotion has reached (steps only move
 * forward and a client is served a step only once it is written: a later step, or one beyond the plan, was never served
 * to anyone; 422 invalid_input). A claim that was right when the queries were served but is out of date
 * now (the promotion moved to another step or ended while the batch was queued in a client: every step change makes
 * some) is not refused: its arm decides nothing any more, so no arm counts it. A control or unassigned batch is counted
 * as an ordinary batch of its calibration (the served one: the gate's drift monitor still sees its queries; refusing it
 * would drop live traffic from the drift monitor at every step change); a candidate batch is counted as served traffic
 * of its calibration once the promotion completed (src/promotions/late-batch.ts: the candidate is served since), else
 * nowhere (gate-monitor/monitor.ts, #countLateCandidate: its calibration is not served to everyone).
 */
import type { BatchPromotion } from "../contract";
import { AppError } from "../platform/errors";
import type { MonitoringDeps } from "./deps";

/** "1st", "2nd", "3rd", "4th" ... (a plan has at most a handful of steps). */
const ordinal = (n: number): string => `${n}${n % 100 >= 11 && n % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th")}`;

/**
 * Throws the refusal of a batch whose promotion claim does not hold; else says whether its arm still counts (false: the
 * promotion ended or is at another step, count the batch without its claim).
 */
export async function checkBatchPromotion(
  claim: BatchPromotion,
  target: { readonly gateId: string; readonly calibrationId: string },
  deps: Pick<MonitoringDeps, "promotions">,
): Promise<boolean> {
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
  if (claim.step > p.step) {
    throw new AppError(
      "invalid_input",
      `promotion ${p.id} has not reached step ${claim.step} (steps count from 0: it is at step ${p.step}, the ${ordinal(p.step + 1)} of its ${p.plan.steps.length}): no query was served under it; nothing was counted`,
      [{ path: "promotion.step", message: `must be at most ${p.step}, the promotion's current step (counted from 0)` }],
    );
  }
  if (claim.arm === "unassigned") return true;
  return (p.state === "running" || p.state === "paused") && claim.step === p.step;
}
