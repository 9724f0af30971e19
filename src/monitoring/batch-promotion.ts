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
 * of its calibration once the promotion completed (lateCandidateServed below: the candidate is served since), else
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

/*
 * What a candidate-arm observation batch means once its claim is out of date (checkBatchPromotion above: its
 * step is over or its promotion ended while the batch was queued in a client). Its queries were gated with the
 * candidate calibration and cannot join the step's evidence any more (the step is decided, a closed promotion's
 * evidence deleted). Where they count depends on whether that calibration is served now:
 *
 * - the promotion completed: the candidate was activated, it is the gate's served calibration (the whole of its
 *   traffic, not a share), so the batch is served traffic of that calibration, counted as any served batch of it (its
 *   drift window, its production alerts, the shadows' comparison side), as a late control batch is counted for the
 *   control. The arm was a keyed sample of the traffic, gated with the same threshold as everything after the
 *   completion: its drop rate has the served traffic's expectation, so it adds evidence about the calibration now
 *   served and biases nothing;
 * - the promotion rolled back or was superseded, or is still open at another step: the candidate is not served to
 *   everyone (or not at all), so the batch is counted nowhere (gate-monitor/monitor.ts, #countLateCandidate): its drift
 *   would page production about a calibration nobody gets, and its queries would skew the shadows' comparison side.
 */

/**
 * Whether an out-of-date candidate-arm batch of `claim` counts as served traffic of its calibration: true once its
 * promotion completed (the candidate is the served calibration since), false otherwise (counted nowhere).
 */
export async function lateCandidateServed(claim: Pick<BatchPromotion, "id">, deps: Pick<MonitoringDeps, "promotions">): Promise<boolean> {
  return (await deps.promotions.get(claim.id))?.state === "completed";
}
