/**
 * Order statistics over a sorted Float64Array. Pure: no runtime imports, no clock, no randomness.
 *
 * Conventions: ranks are 1-based (`kthSmallest(sorted, 1)` is the minimum) as in the statistics literature
 * (David & Nagaraja, Order Statistics, 3rd ed., 2003). Inputs must be finite; callers validate first.
 */

/**
 * Returns a new ascending Float64Array of `values` (the input is not mutated).
 * Cost: O(n log n) with the engine's native typed-array sort (~120 ms for 1M in V8; docs/benchmarks.md).
 * Precondition: every value finite (throws RangeError otherwise: validation belongs to the caller).
 */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!)) throw new RangeError(`sortedCopy: non-finite value at index ${i}`);
  }
  // Typed-array sort is numeric (not lexicographic) and places -0 before +0: both compare equal under `<`.
  return out.sort();
}

/** The k-th smallest value, k in 1..n. Throws RangeError outside that range. O(1). */
export function kthSmallest(sorted: Float64Array, k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > sorted.length) {
    throw new RangeError(`kthSmallest: k=${k} outside 1..${sorted.length}`);
  }
  return sorted[k - 1]!;
}

/** Number of values strictly below x (the lower bound index). O(log n). */
export function countBelow(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of values less than or equal to x (the upper bound index). O(log n). */
export function countAtOrBelow(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Sample quantile by the inverted empirical CDF (Hyndman & Fan 1996 type 1; numpy `method="inverted_cdf"`):
 * the smallest data point x with F_n(x) >= p, i.e. x_(max(1, ceil(n p))). Always a data point. p in [0, 1].
 */
export function quantileInvertedCdf(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) throw new RangeError("quantileInvertedCdf: empty sample");
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantileInvertedCdf: p=${p} outside [0, 1]`);
  // Guard against float error in n*p (e.g. 0.29 * 100 = 28.999999999999996): round to 1e-9 before ceil.
  const np = sorted.length * p;
  const k = Math.max(1, Math.ceil(np - 1e-9 * Math.max(1, np)));
  return sorted[Math.min(k, sorted.length) - 1]!;
}

/**
 * Quantiles at every 1/steps (steps + 1 values, p = 0, 1/steps, ..., 1) by `quantileInvertedCdf`.
 * p = 0 is the minimum and p = 1 the maximum.
 */
export function quantileSummary(sorted: Float64Array, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`quantileSummary: steps=${steps}`);
  const out: number[] = [];
  for (let i = 0; i <= steps; i++) out.push(quantileInvertedCdf(sorted, i / steps));
  return out;
}
