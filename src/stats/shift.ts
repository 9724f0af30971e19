/**
 * Comparing two calibrations of one gate (rebuild-time shift): effect sizes and the sampling-noise test.
 */
import { countAtOrBelowAtKnot, countBelowAtKnot, countBelowIn, type Distribution, quantileOf } from "./distribution";
import { chi2Inv, zCdf } from "./special";

/**
 * Two-sample Kolmogorov-Smirnov statistic sup_x |F_a(x) - F_b(x)|, evaluated at every knot of both summaries, on
 * both sides of each jump (F(x-) and F(x)). With exact data at the knots the error is that of the summaries
 * (<= 1/K each). Range [0, 1]. O(K): the knots of both summaries are visited in ascending order, and the index of each
 * summary's first knot >= x only moves forward, so it is carried along rather than searched for at each knot (the
 * counts are those countBelowIn and countAtOrBelowIn give; with a search per knot this was the largest cost of a
 * rebuild's shift report on small samples).
 */
export function ksDistance(a: Distribution, b: Distribution): number {
  const va = a.values;
  const vb = b.values;
  let d = 0;
  // ia, ib: how many knots of a, b lie strictly below x (the first knot >= x)
  let ia = 0;
  let ib = 0;
  while (ia < va.length || ib < vb.length) {
    const x = ib >= vb.length || (ia < va.length && va[ia]! <= vb[ib]!) ? va[ia]! : vb[ib]!;
    const lower = Math.abs(countBelowAtKnot(a, ia, x) / a.n - countBelowAtKnot(b, ib, x) / b.n);
    const upper = Math.abs(countAtOrBelowAtKnot(a, ia, x) / a.n - countAtOrBelowAtKnot(b, ib, x) / b.n);
    d = Math.max(d, lower, upper);
    if (ia < va.length && va[ia] === x) ia++;
    if (ib < vb.length && vb[ib] === x) ib++;
  }
  return d;
}

/** Floor on a bin share inside the PSI log, so an empty bin gives a large finite term rather than Infinity. */
export const PSI_EMPTY_BIN_SHARE = 1e-4;

export interface PsiResult {
  readonly psi: number;
  readonly bins: number;
  /** max(0.1, chi2_{B-1, 0.99} (1/n + 1/m)): PSI's null distribution is about chi2_{B-1} (1/n + 1/m). */
  readonly threshold: number;
  readonly exceeds: boolean;
}

/**
 * Population stability index of `current` against `reference`, over bins at the reference's deciles (B = 10, or
 * fewer when ties merge edges): sum (q - p) ln(q / p). The alarm threshold accounts for both sample sizes
 * (Yurdakul & Naranjo 2020): with 100 samples a side and no drift, PSI > 0.1 about 85 % of the time.
 */
export function populationStabilityIndex(reference: Distribution, current: Distribution, bins = 10): PsiResult {
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const e = quantileOf(reference, i / bins);
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  // Bin j holds [edge_{j-1}, edge_j): share below edge_j minus share below edge_{j-1}.
  const shares = (dist: Distribution): number[] => {
    const cum = [0, ...edges.map((e) => countBelowIn(dist, e) / dist.n), 1];
    return cum.slice(1).map((c, j) => c - cum[j]!);
  };
  const p = shares(reference);
  const q = shares(current);
  let psi = 0;
  for (let j = 0; j < p.length; j++) {
    const pj = Math.max(p[j]!, PSI_EMPTY_BIN_SHARE);
    const qj = Math.max(q[j]!, PSI_EMPTY_BIN_SHARE);
    psi += (qj - pj) * Math.log(qj / pj);
  }
  const b = p.length;
  const threshold = b > 1 ? Math.max(0.1, chi2Inv(0.99, b - 1) * (1 / reference.n + 1 / current.n)) : 0.1;
  return { psi, bins: b, threshold, exceeds: psi > threshold };
}

export interface TwoProportionResult {
  readonly z: number;
  /** Two-sided p-value. */
  readonly pValue: number;
  readonly standardError: number;
}

/**
 * Pooled two-proportion z-test of p1 = x1/n1 against p2 = x2/n2 (effective sizes may be fractional after a design
 * effect). Both proportions equal to 0 or 1 give z = 0 (no evidence).
 */
export function twoProportionTest(x1: number, n1: number, x2: number, n2: number): TwoProportionResult {
  if (!(n1 > 0 && n2 > 0)) throw new RangeError(`twoProportionTest: n1=${n1}, n2=${n2}`);
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return { z: 0, pValue: 1, standardError: 0 };
  const z = (p2 - p1) / se;
  // 2 Phi(-|z|), not 2 (1 - Phi(|z|)): the subtraction loses every digit once |z| > 8 (p < 1e-15) and returns 0.
  return { z, pValue: 2 * zCdf(-Math.abs(z)), standardError: se };
}
