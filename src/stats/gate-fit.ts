/**
 * The split-conformal quantile gate (Lei et al., JASA 2018; Angelopoulos & Bates, arXiv:2107.07511).
 *
 * Gate rule: a candidate is kept iff score >= threshold. For target drop rate d and n calibration scores the
 * threshold is x_(k), k = ceil((n+1) d). For exchangeable continuous scores the rank of a fresh score among the
 * n+1 is uniform, so P(fresh < x_(k)) = k/(n+1) exactly: the expected drop rate lies in [d, d + 1/(n+1)).
 * This equals numpy `np.quantile(x, k/n, method="inverted_cdf")`. Interpolated quantiles carry no such guarantee.
 */
import { countBelow, kthSmallest } from "./order-statistics";

export type GateFit =
  | {
      readonly kind: "fitted";
      /** x_(k), or null when d = 0 (k = 0): no gate, every candidate is kept. */
      readonly threshold: number | null;
      readonly k: number;
      readonly n: number;
      /** k/(n+1): the exact expected drop rate of fresh candidates (continuous scores). */
      readonly expectedDropRate: number;
      /** Share of the calibration scores strictly below the threshold: F_n(t-), which ties make smaller than k/n. */
      readonly inSampleDropRate: number;
    }
  | {
      readonly kind: "too_few_scores";
      readonly k: number;
      readonly n: number;
      /** Smallest n for which this target can be fitted: the least n with ceil((n+1) d) <= n. */
      readonly minimumN: number;
    };

/** k = ceil((n+1) d), computed so that exact products (d = 0.25, n+1 = 100) are not pushed up by float error. */
export function conformalRank(n: number, d: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`conformalRank: n=${n}`);
  if (!(d >= 0 && d < 1)) throw new RangeError(`conformalRank: d=${d} outside [0, 1)`);
  if (d > 0.5) {
    // Near d -> 1, (n+1) d is n+1 minus a small (n+1)(1-d); its float product loses the small part's digits (with
    // d = 0.99999999 the snap below would take 99999997.00000002 for 99999997). 1 - d is exact here (Sterbenz), so
    // ceil((n+1) d) = (n+1) - floor((n+1)(1-d)), with the same snap applied to the well-conditioned product.
    const y = (n + 1) * (1 - d);
    const ry = Math.round(y);
    // Snap within the rounding of the product plus d's own representation error (at most eps/2 for d in (0.5, 1)),
    // scaled by n+1: 0.936 is 117/125 although 125 (1 - 0.936) = 8.000000000000007 in floats.
    const fy = Math.abs(y - ry) <= 4 * Number.EPSILON * Math.max(1, y) + ((n + 1) * Number.EPSILON) / 2 ? ry : Math.floor(y);
    return n + 1 - fy;
  }
  const x = (n + 1) * d;
  const r = Math.round(x);
  // (n+1)*d within a few ulps of an integer is that integer: 0.29 * 100 = 28.999999999999996 must give 29.
  if (Math.abs(x - r) <= 4 * Number.EPSILON * Math.max(1, x)) return r;
  return Math.ceil(x);
}

/** Smallest n with conformalRank(n, d) <= n, i.e. the fewest scores that can carry target d. d in [0, 1). */
export function minimumScoresFor(d: number): number {
  if (d === 0) return 1;
  // ceil((n+1)d) <= n  <=>  (n+1)d <= n  <=>  n >= d/(1-d); start there and step (float safety).
  let n = Math.max(1, Math.floor(d / (1 - d)) - 1);
  while (conformalRank(n, d) > n) n++;
  return n;
}

/**
 * Fits the gate for target drop rate d on ascending scores. O(log n) after sorting.
 * Preconditions: `sorted` ascending, finite, non-empty; 0 <= d < 1 (RangeError otherwise).
 */
export function fitGate(sorted: Float64Array, d: number): GateFit {
  const n = sorted.length;
  if (n === 0) throw new RangeError("fitGate: empty sample");
  const k = conformalRank(n, d);
  if (k > n) return { kind: "too_few_scores", k, n, minimumN: minimumScoresFor(d) };
  if (k === 0) {
    return { kind: "fitted", threshold: null, k: 0, n, expectedDropRate: 0, inSampleDropRate: 0 };
  }
  const threshold = kthSmallest(sorted, k);
  return {
    kind: "fitted",
    threshold,
    k,
    n,
    expectedDropRate: k / (n + 1),
    inSampleDropRate: countBelow(sorted, threshold) / n,
  };
}
