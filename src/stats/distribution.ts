/**
 * A compact, exact-at-knots summary of a calibration's score distribution, kept so that later questions
 * ("what share of this calibration lies below x?") are answered without the raw scores.
 *
 * Knots are distinct data values at equally spaced ranks, always including the minimum and maximum, each with its
 * exact counts `below` (#{s < v}) and `atOrBelow` (#{s <= v}). A query at a knot is exact (ties included). Between two
 * knots a and b the true count of s < x lies in [atOrBelow(a), below(b)], a band of at most ceil(n/K) + 1 ranks, and
 * we interpolate linearly in value inside it. So the rank error is at most 1/K + 1/n (K = 2000: 0.05 point), well
 * under the 0.1 point of rank error that would matter and the sampling error of any calibration. With n <= K scores every
 * value is a knot and answers are exact. (docs/methods.md, "What is kept of each calibration".)
 */
import { countAtOrBelow, countBelow } from "./order-statistics";

export interface Distribution {
  readonly n: number;
  /** Ascending distinct knot values. */
  readonly values: Float64Array;
  /** #{s < values[i]} */
  readonly below: Float64Array;
  /** #{s <= values[i]} */
  readonly atOrBelow: Float64Array;
  /** A guarded calibration's summary of what its threshold decides (GuardedSummary); absent for a bare gate. */
  readonly guarded?: GuardedSummary;
}

/**
 * What a guarded gate (guarded-gate.ts) needs to be asked again at another threshold: its drop count at t is
 * D(t) = floor + #{eligible scores < t}, where the eligible scores are those of ranks in (min_keep, max_keep] of each
 * query and the floor counts the candidates beyond max_keep. The eligible scores are summarised like the pooled ones
 * (the same knots and rank error); null when no candidate is eligible (D is the floor at every t).
 */
export interface GuardedSummary {
  readonly floor: number;
  readonly eligible: Distribution | null;
}

/**
 * Share of the calibration's n candidates the guarded gate drops at x: (floor + countBelowIn(eligible, x)) / n, within
 * the eligible summary's rank error (exact at its knots). `n` is the calibration's size (the pooled summary's n).
 */
export function guardedShareBelow(g: GuardedSummary, n: number, x: number): number {
  return (g.floor + (g.eligible === null ? 0 : countBelowIn(g.eligible, x))) / n;
}

/** Builds the summary from ascending finite scores with at most about `knots` knots. O(K log n). */
export function buildDistribution(sorted: Float64Array, knots: number): Distribution {
  const n = sorted.length;
  if (n === 0) throw new RangeError("buildDistribution: empty sample");
  if (!Number.isInteger(knots) || knots < 2) throw new RangeError(`buildDistribution: knots=${knots}`);
  const picked: number[] = [];
  const steps = Math.min(knots - 1, n - 1);
  for (let i = 0; i <= steps; i++) {
    const v = sorted[steps === 0 ? 0 : Math.round((i * (n - 1)) / steps)]!;
    if (picked.length === 0 || picked[picked.length - 1]! !== v) picked.push(v);
  }
  const values = Float64Array.from(picked);
  const below = new Float64Array(values.length);
  const atOrBelow = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    below[i] = countBelow(sorted, values[i]!);
    atOrBelow[i] = countAtOrBelow(sorted, values[i]!);
  }
  return { n, values, below, atOrBelow };
}

/** Estimated count of scores strictly below x (exact at knots and outside [min, max]). O(log K). */
export function countBelowIn(dist: Distribution, x: number): number {
  if (Number.isNaN(x)) throw new RangeError("countBelowIn: NaN");
  return countBelowAtKnot(dist, countBelow(dist.values, x), x);
}

/** Estimated count of scores at or below x. */
export function countAtOrBelowIn(dist: Distribution, x: number): number {
  if (Number.isNaN(x)) throw new RangeError("countAtOrBelowIn: NaN");
  return countAtOrBelowAtKnot(dist, countBelow(dist.values, x), x);
}

/**
 * countBelowIn(dist, x) when j, the index of the first knot >= x (countBelow(dist.values, x)), is already known: for a
 * caller that walks x upwards and moves j along instead of searching for it (ksDistance). O(1).
 */
export function countBelowAtKnot(dist: Distribution, j: number, x: number): number {
  const { values, below, atOrBelow, n } = dist;
  if (j < values.length && values[j] === x) return below[j]!;
  if (j === 0) return 0;
  if (j === values.length) return n;
  const a = values[j - 1]!;
  const b = values[j]!;
  const lo = atOrBelow[j - 1]!;
  const hi = below[j]!;
  return lo + ((hi - lo) * (x - a)) / (b - a);
}

/** countAtOrBelowIn(dist, x) with j as in countBelowAtKnot. O(1). */
export function countAtOrBelowAtKnot(dist: Distribution, j: number, x: number): number {
  if (j < dist.values.length && dist.values[j] === x) return dist.atOrBelow[j]!;
  return countBelowAtKnot(dist, j, x);
}

/** Share of the calibration strictly below x: the drop rate of a gate at x on this calibration. */
export function shareBelow(dist: Distribution, x: number): number {
  return countBelowIn(dist, x) / dist.n;
}

/** Share at or below x. */
export function shareAtOrBelow(dist: Distribution, x: number): number {
  return countAtOrBelowIn(dist, x) / dist.n;
}

/**
 * The p-quantile of a stored distribution by the inverted CDF: the smallest knot v with #{s <= v} >= p n.
 * Exact when p n falls on a knot's rank, otherwise the next knot above (within 1/K in rank). O(K).
 */
export function quantileOf(dist: Distribution, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantileOf: p=${p}`);
  const target = p * dist.n;
  for (let i = 0; i < dist.values.length; i++) {
    if (dist.atOrBelow[i]! >= target - 1e-9) return dist.values[i]!;
  }
  return dist.values[dist.values.length - 1]!;
}
