/**
 * The exact probability that the rebuild decision calls a move `shifted`, for independent continuous scores (no
 * clustering: design effect 1, the smallest the server ever uses, so the narrowest standard error), computed instead of
 * simulated. The previous calibration fits target d on n1 scores: its threshold is the k-th smallest score,
 * k = ceil((n1 + 1) d), its in-sample drop rate (k - 1) / n1 is fixed, and the threshold's true drop rate u follows
 * Beta(k, n1 + 1 - k) exactly (docs/methods.md). The new population drops u + move below that threshold, so the count
 * below it among n2 new scores is Binomial(n2, u + move). The decision on each count is `decideChange` itself:
 *   P(shifted) = E_u[ P(K2 in S) ],  S = { K2 : decideChange((k-1)/n1, n1, K2/n2, n2, ...) is shifted },
 * S found by bisection on each side of the previous rate (it is two tails), then each tail's probability from the binomial CDF
 * and the expectation over u by the midpoint rule on a grid of `steps` cells in value, weighted by the Beta CDF
 * (P(u <= x) = P(Binomial(n1, x) >= k)). Shared by test/stats/messy.test.ts and bench/rebuild-levels.ts.
 */
import { adjustedVariance, decideChange, welchDf } from "../../src/stats/change-decision";
import { betaInv, binomCdf, tInv } from "../../src/stats/special";

/**
 * The shift rule before the restricted standard error and the skew term (change-decision.ts, shiftMargin): the plain
 * Wald test |Delta_hat| - t se > tol, se at the observed rates (Agresti-Caffo), symmetric Student t on the
 * Welch-Satterthwaite df. For comparisons with it in the same run (the test and bench/rebuild-levels.ts).
 */
export const waldOnT =
  (tolerance: number, alphaShift: number, df1: number, df2: number) =>
  (p1: number, n1: number, p2: number, n2: number): boolean => {
    const v1 = adjustedVariance(p1, n1);
    const v2 = adjustedVariance(p2, n2);
    return Math.abs(p2 - p1) - tInv(1 - alphaShift, welchDf(v1, df1, v2, df2)) * Math.sqrt(v1 + v2) > tolerance;
  };

export interface ExactLevelInput {
  /** Previous and new calibration sizes in scores. */
  readonly n1: number;
  readonly n2: number;
  readonly target: number;
  readonly tolerance: number;
  /** The true move of the previous threshold's drop rate (the edge of the null: +-tolerance). */
  readonly move: number;
  /** df of each side's variance estimate (Infinity: normal quantiles, what the decision used before). */
  readonly df1: number;
  readonly df2: number;
  readonly alphaShift: number;
  readonly steps?: number;
  /**
   * The rule under test, on (p1, n1, p2, n2): whether it calls the pair shifted; default `decideChange`'s decision
   * with this input's tolerance, level and df (another rule: a comparison with the one before, in the same run).
   */
  readonly shifted?: (p1: number, n1: number, p2: number, n2: number) => boolean;
}

export function exactShiftedProbability(c: ExactLevelInput): number {
  const k = Math.ceil((c.n1 + 1) * c.target - 1e-9);
  const pPrev = (k - 1) / c.n1;
  const rule =
    c.shifted ??
    ((p1: number, n1: number, p2: number, n2: number) =>
      decideChange(p1, n1, p2, n2, c.tolerance, c.alphaShift, 0.05, c.df1, c.df2).decision === "shifted");
  const shifted = (k2: number): boolean => rule(pPrev, c.n1, k2 / c.n2, c.n2);
  // The shifted set is two tails, [0, lo] and [hi, n2]: moving K2 one step away from the previous rate moves the
  // estimate by 1/n2 and q * se by far less (se changes by about |1 - 2p| / (2 n2 (n2 + 2) se) per step), so each side
  // is monotone and a bisection finds its edge; the edges' neighbours are checked.
  const centre = Math.round(pPrev * c.n2);
  const edge = (inside: number, outside: number): number => {
    // Invariant: shifted(outside) and not shifted(inside); returns the shifted end next to the boundary.
    while (Math.abs(outside - inside) > 1) {
      const mid = Math.trunc((inside + outside) / 2);
      if (shifted(mid)) outside = mid;
      else inside = mid;
    }
    return outside;
  };
  if (shifted(centre)) throw new Error("exactShiftedProbability: no change at all is called shifted");
  const hi = shifted(c.n2) ? edge(centre, c.n2) : c.n2 + 1;
  const lo = shifted(0) ? edge(centre, 0) : -1;
  for (const k2 of [hi - 1, lo + 1]) if (k2 >= 0 && k2 <= c.n2 && shifted(k2)) throw new Error(`exactShiftedProbability: ${k2}`);
  const steps = c.steps ?? 400;
  const a = k;
  const b = c.n1 + 1 - k;
  const from = betaInv(1e-13, a, b);
  const to = betaInv(1 - 1e-13, a, b);
  const cdf = (x: number): number => 1 - binomCdf(k - 1, c.n1, x);
  let total = 0;
  let previous = cdf(from);
  for (let i = 0; i < steps; i++) {
    const x1 = from + ((i + 1) * (to - from)) / steps;
    const next = cdf(x1);
    const u = Math.min(1, Math.max(0, from + ((i + 0.5) * (to - from)) / steps + c.move));
    const upper = hi <= c.n2 ? 1 - binomCdf(hi - 1, c.n2, u) : 0;
    const lower = lo >= 0 ? binomCdf(lo, c.n2, u) : 0;
    total += (next - previous) * (upper + lower);
    previous = next;
  }
  return total;
}
