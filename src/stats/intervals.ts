/**
 * Uncertainty of a fitted gate: the Beta interval of its drop rate and the order-statistic interval of its threshold.
 */
import { betaInv, binomIsf, binomPpf, zInv } from "./special";

/**
 * Equal-tailed interval of the realized drop rate of a gate x_(k) fitted on n scores.
 * For continuous i.i.d. scores the drop rate F(x_(k)) ~ Beta(k, n+1-k) exactly (Vovk 2012; Marques 2023).
 * k = 0 (no gate) drops nothing: [0, 0]. Preconditions: 0 <= k <= n, 0 < level < 1.
 */
export function dropRateInterval(k: number, n: number, level = 0.95): [number, number] {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || k > n) throw new RangeError(`dropRateInterval: k=${k}, n=${n}`);
  if (k === 0) return [0, 0];
  const tail = (1 - level) / 2;
  return [betaInv(tail, k, n + 1 - k), betaInv(1 - tail, k, n + 1 - k)];
}

/**
 * Distribution-free interval [x_(l), x_(u)] for the population p-quantile with binomial coverage (Conover,
 * Practical Nonparametric Statistics, 3rd ed., §3.2). Returns 1-based ranks exactly as
 * `scipy.stats.quantile_test(x, p=p).confidence_interval(level)` picks them: l = binom.ppf(a/2), u = binom.isf(a/2) + 1,
 * with null for an end that the sample cannot bound (l < 1 or u > n). n=10k, p=0.3 gives l=2910, u=3091.
 */
export function orderStatisticRanks(n: number, p: number, level = 0.95): { lower: number | null; upper: number | null } {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`orderStatisticRanks: n=${n}`);
  if (!(p > 0 && p < 1)) throw new RangeError(`orderStatisticRanks: p=${p}`);
  const tail = (1 - level) / 2;
  const l = binomPpf(tail, n, p);
  const u = binomIsf(tail, n, p) + 1;
  return { lower: l >= 1 ? l : null, upper: u <= n ? u : null };
}

/**
 * The fewest scores for which the 95 % interval of the drop rate at target d is within +-halfWidth:
 * n = (z_{0.975} / halfWidth)^2 d (1 - d), from sd ~ sqrt(d(1-d)/n). 8.1k at d=0.3, 1.8k at d=0.05 (8,068 and 1,825; docs/methods.md).
 */
export function scoresNeededFor(d: number, halfWidth: number, level = 0.95): number {
  const z = zInv(1 - (1 - level) / 2);
  return Math.ceil((z / halfWidth) ** 2 * d * (1 - d));
}
