/**
 * Upper confidence bounds of a binomial proportion from x successes in n trials.
 *
 * - `jeffreysUpperBound`: the `level` quantile of Beta(x + 1/2, n - x + 1/2), and 1 when x = n (Brown, Cai & DasGupta,
 *   Statist. Sci. 2001, who recommend it over the Wald bound, whose sd is 0 when x = 0). Its coverage is close to the
 *   level on average over p, not at every p: at levels as extreme as the monitor's (1 - 3e-5) it can fall short by a
 *   factor of about 3 in the tail at some p. Used where the count is itself approximate (an effective size).
 * - `clopperPearsonUpperBound`: the `level` quantile of Beta(x + 1, n - x), and 1 when x = n (Clopper & Pearson,
 *   Biometrika 1934). P(p <= bound) >= level at every p: exact, conservative. Used for counts of independent queries.
 * A calibration that saw no empty query among 50 has Wald band [0, tolerance] and false-alarmed in about 10 % of
 * windows; its Jeffreys 99.975 % bound is about 0.13 and its Clopper-Pearson bound 0.15.
 * Preconditions: whole numbers 0 <= x <= n, n >= 1, 0 < level < 1. Cost O(1). Reference: docs/drift.md, "Empty context".
 */
import { betaInv } from "./special";

function check(name: string, x: number, n: number, level: number): void {
  if (!Number.isInteger(x) || !Number.isInteger(n) || n < 1 || x < 0 || x > n) throw new RangeError(`${name}: x=${x}, n=${n}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`${name}: level=${level}`);
}

export function jeffreysUpperBound(x: number, n: number, level: number): number {
  check("jeffreysUpperBound", x, n, level);
  if (x === n) return 1;
  return betaInv(level, x + 0.5, n - x + 0.5);
}

export function clopperPearsonUpperBound(x: number, n: number, level: number): number {
  check("clopperPearsonUpperBound", x, n, level);
  if (x === n) return 1;
  return betaInv(level, x + 1, n - x);
}

/**
 * The two-sided Clopper-Pearson interval of x successes in n trials at `level` (equal tails): [Beta(x, n - x + 1) at
 * (1 - level)/2, Beta(x + 1, n - x) at (1 + level)/2], 0 at x = 0 and 1 at x = n; exact (at least the level at every
 * p). It is `scipy.stats.binomtest(x, n).proportion_ci(level, method="exact")`.
 */
export function clopperPearsonInterval(x: number, n: number, level = 0.95): [number, number] {
  check("clopperPearsonInterval", x, n, level);
  const tail = (1 - level) / 2;
  return [x === 0 ? 0 : betaInv(tail, x, n - x + 1), x === n ? 1 : betaInv(1 - tail, x + 1, n - x)];
}
