/**
 * Uncertainty of a fitted gate from its effective sample size (Kish 1965): candidates of one query move together,
 * so n clustered candidates carry the information of n / deff independent ones, deff the design effect of the drop
 * indicator at the threshold (per-query.ts). At intra-query correlation 0.3 (500 queries of 20) intervals that count
 * candidates covered the realized drop rate 65 % of the time (docs/benchmarks.md, section 4).
 *
 * - `effectiveSize(n, deff)` = n / max(1, deff).
 * - `rateInterval(mean, nEff)`: equal-tailed interval of Beta(mean (nEff + 1), (1 - mean)(nEff + 1)). With nEff = n and
 *   mean = k/(n+1) this is exactly the Beta(k, n+1-k) law of the realized drop rate of x_(k) for i.i.d. continuous
 *   scores (Vovk 2012; intervals.ts); a smaller nEff keeps the mean and inflates the variance by about deff.
 * - `widenedRanks(n, p, deff)`: the order-statistic ranks of intervals.ts (scipy.stats.quantile_test) pulled away from
 *   n p by sqrt(deff), the factor by which clustering widens the sampling sd of the empirical CDF near the quantile
 *   (Bahadur representation of a sample quantile). deff = 1 gives the scipy ranks unchanged.
 * Cost O(1) for the interval, O(log n) CDF evaluations for the ranks. Reference: docs/methods.md, "Uncertainty".
 */
import { orderStatisticRanks } from "./intervals";
import { betaInv } from "./special";

export function effectiveSize(n: number, deff: number): number {
  if (!(n > 0) || !(deff >= 0) || !Number.isFinite(deff)) throw new RangeError(`effectiveSize: n=${n}, deff=${deff}`);
  return n / Math.max(1, deff);
}

export function rateInterval(mean: number, nEff: number, level = 0.95): [number, number] {
  if (!(mean >= 0 && mean <= 1) || !(nEff > 0) || !(level > 0 && level < 1)) {
    throw new RangeError(`rateInterval: mean=${mean}, nEff=${nEff}, level=${level}`);
  }
  if (mean === 0) return [0, 0];
  if (mean === 1) return [1, 1];
  const tail = (1 - level) / 2;
  const a = mean * (nEff + 1);
  const b = (1 - mean) * (nEff + 1);
  return [betaInv(tail, a, b), betaInv(1 - tail, a, b)];
}

export function widenedRanks(n: number, p: number, deff: number, level = 0.95): { lower: number | null; upper: number | null } {
  if (!(deff >= 1) || !Number.isFinite(deff)) throw new RangeError(`widenedRanks: deff=${deff}`);
  const base = orderStatisticRanks(n, p, level);
  if (deff === 1) return base;
  const centre = n * p;
  const f = Math.sqrt(deff);
  // An end the i.i.d. interval cannot bound stays unbounded; the rank distance to n p grows by sqrt(deff).
  const lower = base.lower === null ? null : Math.floor(centre - (centre - base.lower) * f);
  const upper = base.upper === null ? null : Math.ceil(centre + (base.upper - centre) * f);
  return { lower: lower !== null && lower >= 1 ? lower : null, upper: upper !== null && upper <= n ? upper : null };
}
