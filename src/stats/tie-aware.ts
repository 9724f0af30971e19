/**
 * What a fitted gate really drops when scores tie at its threshold.
 *
 * The gate keeps `score >= t`, so every score equal to t is kept. For continuous scores (no tie at t) the conformal
 * rank gives the exact expected drop rate of fresh candidates, k/(n+1) (gate-fit.ts). With c >= 2 scores equal to t
 * (quantized, graded or saturated rerankers) the rank argument no longer applies: a fresh candidate is dropped iff it
 * is strictly below t, so the gate drops F(t-), whose plug-in estimate is F_n(t-) = j/n with j = #{x < t}. Scores on a
 * 0.01 grid at target 0.3 give j/n = 0.24, not 0.30; 1,000 constant scores give 0 at any target.
 * Preconditions: `sorted` ascending and finite, 1 <= k <= n, t = x_(k). Cost O(log n). Reference: docs/methods.md,
 * "Ties and saturation".
 */
import { countAtOrBelow, countBelow, kthSmallest } from "./order-statistics";

export interface TieAwareDropRate {
  /** #{x < t}: the calibration scores the gate drops. */
  readonly below: number;
  /** #{x = t}, the threshold itself included (1 for continuous scores). */
  readonly ties: number;
  /** k/(n+1) without a tie at t, F_n(t-) = below/n with one. */
  readonly expectedDropRate: number;
}

export function tieAwareDropRate(sorted: Float64Array, k: number): TieAwareDropRate {
  const n = sorted.length;
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`tieAwareDropRate: k=${k}, n=${n}`);
  const t = kthSmallest(sorted, k);
  const below = countBelow(sorted, t);
  const ties = countAtOrBelow(sorted, t) - below;
  return { below, ties, expectedDropRate: ties >= 2 ? below / n : k / (n + 1) };
}
