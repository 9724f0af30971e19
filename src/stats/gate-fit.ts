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

/**
 * k = ceil((n+1) d), with d read as the decimal it prints as (the shortest decimal that reads back as the same double,
 * Number.prototype.toString: 0.29, not 0.28999999999999998), so that exact products (d = 0.25, n+1 = 100; 0.29 x 100,
 * 28.999999999999996 in floats) are not pushed up or down by float error.
 *
 * Fast path in floats; where the float product lies so close to an integer that the float error could put it on the
 * wrong side (DOUBT_ULPS), the rank is computed exactly in integers (exactDecimalRank). The float error is bounded:
 * d is within half an ulp of the decimal D it prints as (EPSILON/4 for d in [0.5, 1), EPSILON/2 relative below), and
 * one product adds at most EPSILON/2 relative. For d > 0.5 the product is taken as (n+1) - (n+1)(1 - d), because
 * 1 - d is exact there (Sterbenz) and (n+1) d loses the small part's digits near d -> 1: so the error of
 * y = (n+1)(1-d) against (n+1)(1-D) is at most (n+1) EPSILON/4 + y EPSILON/2, and of x = (n+1) d at most
 * x EPSILON. Outside the doubt band no integer lies between the float and the exact product, so floor/ceil of the
 * float is exact; inside it the integer computation is. Exact for every d and n (n a safe integer). O(1); the band
 * takes O(digits of d) BigInt arithmetic.
 */
export function conformalRank(n: number, d: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`conformalRank: n=${n}`);
  if (!(d >= 0 && d < 1)) throw new RangeError(`conformalRank: d=${d} outside [0, 1)`);
  if (d > 0.5) {
    const y = (n + 1) * (1 - d);
    // ceil((n+1) D) = (n+1) - floor((n+1)(1-D)).
    if (Math.abs(y - Math.round(y)) <= DOUBT_ULPS * Number.EPSILON * Math.max(1, y) + (n + 1) * Number.EPSILON) {
      return exactDecimalRank(n, d);
    }
    return n + 1 - Math.floor(y);
  }
  const x = (n + 1) * d;
  if (Math.abs(x - Math.round(x)) <= DOUBT_ULPS * Number.EPSILON * Math.max(1, x)) return exactDecimalRank(n, d);
  return Math.ceil(x);
}

/**
 * Width of conformalRank's doubt band in units of EPSILON times the product (plus (n+1) EPSILON for d > 0.5): four
 * times the largest float error above, so that rounding in the test itself never matters.
 */
const DOUBT_ULPS = 4;

/** d as m / den, the shortest decimal that prints as d (Number.prototype.toString; 0 <= d < 1). O(digits of d). */
function decimalOf(d: number): { m: bigint; den: bigint } {
  const [mantissa = "0", exponent = "0"] = d.toString().split("e");
  const [whole = "0", fraction = ""] = mantissa.split(".");
  const p = fraction.length - Number(exponent);
  const m = BigInt(whole + fraction);
  return p >= 0 ? { m, den: 10n ** BigInt(p) } : { m: m * 10n ** BigInt(-p), den: 1n };
}

/** ceil((n+1) D) in integers, D the decimal d prints as. */
function exactDecimalRank(n: number, d: number): number {
  const { m, den } = decimalOf(d);
  return Number((BigInt(n + 1) * m + den - 1n) / den);
}

/**
 * Smallest n with conformalRank(n, d) <= n, i.e. the fewest scores that can carry target d. d in [0, 1).
 * ceil((n+1) D) <= n <=> (n+1) D <= n <=> n >= D / (1 - D): with D = m / den that is ceil(m / (den - m)), computed in
 * integers on the decimal d prints as, like conformalRank (d / (1 - d) in floats is off by 28 at d = 0.999999999, whose
 * double lies 2.8e-17 from the decimal, 2.8e-8 of 1 - d). O(digits of d).
 */
export function minimumScoresFor(d: number): number {
  if (!(d >= 0 && d < 1)) throw new RangeError(`minimumScoresFor: d=${d} outside [0, 1)`);
  if (d === 0) return 1;
  const { m, den } = decimalOf(d);
  return Math.max(1, Number((m + (den - m) - 1n) / (den - m)));
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
