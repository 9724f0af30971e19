/**
 * What a candidate-arm observation batch means once its claim is out of date (src/monitoring/batch-promotion.ts: its
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
import type { BatchPromotion } from "../contract";
import type { PromotionStore } from "./store";

/**
 * Whether an out-of-date candidate-arm batch of `claim` counts as served traffic of its calibration: true once its
 * promotion completed (the candidate is the served calibration since), false otherwise (counted nowhere).
 */
export async function lateCandidateServed(claim: Pick<BatchPromotion, "id">, promotions: Pick<PromotionStore, "get">): Promise<boolean> {
  return (await promotions.get(claim.id))?.state === "completed";
}
