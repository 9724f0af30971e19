/**
 * The rebuild decision on the change Delta = p2 - p1 of a drop rate between two samples (effective sizes n1, n2,
 * fractional after a design effect), with a tolerance `tol` on |Delta|. Two tests, each at its own level:
 *
 * - shifted: minimum-effect test of H0: |Delta| <= tol, rejected when Delta_hat - z_{1-aS} se > tol or
 *   Delta_hat + z_{1-aS} se < -tol. At a true Delta anywhere in [-tol, tol], even at its edge, P(shifted) <= aS
 *   (asymptotically), at every sample size.
 * - equivalent: TOST (Schuirmann 1987) of H0: |Delta| >= tol, rejected when the (1 - 2 aE) interval
 *   Delta_hat +- z_{1-aE} se lies inside (-tol, tol). P(equivalent) <= aE when |Delta| >= tol.
 * - inconclusive otherwise; `moreDataFactor` is how many times both samples must grow for the same estimate to
 *   settle it (null when Delta_hat sits exactly on the tolerance).
 *
 * se is the unpooled two-proportion standard error with the Agresti-Caffo adjustment (one success and one failure
 * added to each side: Agresti & Caffo, Am. Stat. 2000), so an estimate of 0 or 1 never has se = 0 and a tiny sample
 * can never look equivalent. With the degrees of freedom of each side's variance estimate (clustered samples: the
 * Satterthwaite df of its query totals, satterthwaite.ts), the quantiles are Student's t on the Welch-Satterthwaite
 * df of se^2 (Welch 1947) instead of normal ones: a small clustered side (50 queries) against a large one is otherwise
 * called shifted at the tolerance's edge about twice as often as the level allows. Preconditions: 0 <= p <= 1, n > 0,
 * tol >= 0, levels in (0, 0.5), df >= 1 (Infinity: normal). Cost O(1). Reference: docs/drift.md, "At rebuild time".
 */
import { tInv, zInv } from "./special";

/** Welch-Satterthwaite df of v1 + v2 for variance estimates with df1 and df2 degrees of freedom (Infinity allowed). */
export function welchDf(v1: number, df1: number, v2: number, df2: number): number {
  if (!(v1 >= 0 && v2 >= 0 && df1 >= 1 && df2 >= 1)) throw new RangeError(`welchDf: v=${v1},${v2} df=${df1},${df2}`);
  const denominator = (Number.isFinite(df1) ? (v1 * v1) / df1 : 0) + (Number.isFinite(df2) ? (v2 * v2) / df2 : 0);
  if (!(denominator > 0)) return Number.POSITIVE_INFINITY;
  return Math.max(1, ((v1 + v2) * (v1 + v2)) / denominator);
}

/**
 * The Agresti-Caffo variance of a proportion p from n (effective) observations: one success and one failure added
 * (Agresti & Caffo, Am. Stat. 2000), so an estimate of 0 or 1 never has variance 0. O(1).
 */
export function adjustedVariance(p: number, n: number): number {
  const a = (p * n + 1) / (n + 2);
  return (a * (1 - a)) / (n + 2);
}

export type ChangeDecisionKind = "equivalent" | "shifted" | "inconclusive";

export interface ChangeDecision {
  readonly decision: ChangeDecisionKind;
  readonly change: number;
  readonly standardError: number;
  /** Delta_hat +- z_{0.975} se (t on `degreesOfFreedom` when finite), clipped to [-1, 1]. */
  readonly interval95: [number, number];
  readonly moreDataFactor: number | null;
  /** Welch-Satterthwaite df of se^2; Infinity when both sides' df are. */
  readonly degreesOfFreedom: number;
}

export function decideChange(
  p1: number,
  n1: number,
  p2: number,
  n2: number,
  tol: number,
  alphaShift: number,
  alphaEquivalence: number,
  df1: number = Number.POSITIVE_INFINITY,
  df2: number = Number.POSITIVE_INFINITY,
): ChangeDecision {
  if (!(p1 >= 0 && p1 <= 1 && p2 >= 0 && p2 <= 1) || !(n1 > 0 && n2 > 0)) throw new RangeError(`decideChange: p=${p1},${p2} n=${n1},${n2}`);
  if (!(tol >= 0 && tol <= 1)) throw new RangeError(`decideChange: tol=${tol}`);
  if (!(alphaShift > 0 && alphaShift < 0.5 && alphaEquivalence > 0 && alphaEquivalence < 0.5)) {
    throw new RangeError(`decideChange: levels ${alphaShift}, ${alphaEquivalence}`);
  }
  const v1 = adjustedVariance(p1, n1);
  const v2 = adjustedVariance(p2, n2);
  const se = Math.sqrt(v1 + v2);
  const change = p2 - p1;
  const abs = Math.abs(change);
  const df = welchDf(v1, df1, v2, df2);
  const q = (p: number): number => (Number.isFinite(df) ? tInv(p, df) : zInv(p));
  const zS = q(1 - alphaShift);
  const zE = q(1 - alphaEquivalence);
  const z95 = q(0.975);
  const interval95: [number, number] = [Math.max(-1, change - z95 * se), Math.min(1, change + z95 * se)];
  let decision: ChangeDecisionKind = "inconclusive";
  if (abs - zS * se > tol) decision = "shifted";
  else if (abs + zE * se < tol) decision = "equivalent";
  let moreDataFactor: number | null = null;
  if (decision === "inconclusive" && abs !== tol) {
    const z = abs > tol ? zS : zE;
    moreDataFactor = Math.max(1, ((z * se) / Math.abs(abs - tol)) ** 2);
  }
  return { decision, change, standardError: se, interval95, moreDataFactor, degreesOfFreedom: df };
}
