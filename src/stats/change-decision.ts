/**
 * The rebuild decision on the change Delta = p2 - p1 of a drop rate between two samples (effective sizes n1, n2,
 * fractional after a design effect), with a tolerance `tol` on |Delta|. Two tests, each at its own level:
 *
 * - shifted: minimum-effect test of H0: |Delta| <= tol, rejected when Delta_hat - z se_0 > tol or
 *   Delta_hat + z se_0 < -tol, with se_0 and z as `shiftMargin` below states them (the standard error at the rates
 *   H0's edge implies, and a critical value that follows the skew of Delta_hat). At a true Delta anywhere in
 *   [-tol, tol], even at its edge, P(shifted) <= aS: computed exactly for independent scores at 50 to 10,000 queries
 *   a side, balanced or not, at targets 0.01 to 0.5, the largest edge level is 0.101 % at aS = 0.1 %
 *   (docs/benchmarks.md, section 16).
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

/**
 * Welch-Satterthwaite df of v1 + v2 for variance estimates with df1 and df2 degrees of freedom (Infinity allowed: a
 * variance taken as known, the binomial one of a side without two queries to estimate its clustering). With both finite
 * it lies in [min(df1, df2), df1 + df2] (Cauchy-Schwarz). With one infinite it is df1 (v1 + v2)^2 / v1^2, unbounded as
 * v1 / v2 -> 0, and deliberately not capped: it is the limit of the finite formula as df2 grows, the only estimated
 * part of se^2 is then a vanishing share of it, and t on it tends to the normal quantile, the answer when both df are
 * infinite; a finite stand-in for the known side would make the test stricter than when neither side has a df. tInv
 * is accurate at any df (T_EXPANSION_DF), so a df of 1e17 or more is safe to use.
 */
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

/**
 * The share of the shift test's level its critical value is taken at. shiftMargin's two corrections are first order: on
 * the exact grid of docs/benchmarks.md section 16 (every pair of 50 to 10,000 queries a side, both edges, targets 0.01
 * to 0.5) they left the level at most 0.101 % with t quantiles and 0.104 % with normal ones, at 0.1 %; the
 * critical value at 0.95 alpha keeps every cell at most alpha for about 0.02 standard errors more margin.
 */
export const SHIFT_LEVEL_SHARE = 0.95;

/**
 * The margin of the minimum-effect test of H0: |Delta| <= tol toward the side s of Delta_hat, at level `alpha`: it
 * rejects when |Delta_hat| - margin > tol, and the more-data factor of an undecided move past the tolerance scales the
 * same margin. Two
 * corrections to the plain Wald test, each for a way the level was exceeded at unbalanced sizes (exact computation,
 * docs/benchmarks.md section 16: up to 0.108 % with a small previous side, 0.110 % with a small new side, at 0.1 %):
 *
 * - The standard error is taken at the rates H0's edge implies, not at the observed ones (the restricted estimate of
 *   the score test for a risk difference with a margin, Farrington & Manning, Stat. Med. 1990; here its size-weighted
 *   form q1 = (n1 p1 + n2 (p2 - s tol)) / (n1 + n2), q2 = q1 + s tol, clipped to [0, 1]): a small side's plug-in
 *   variance shrinks exactly where its estimate is far out, and the Wald test then rejects too easily there.
 * - The critical value follows the skew of Delta_hat by a one-sided Cornish-Fisher term (Cornish & Fisher 1938):
 *   z + max(0, s g) (z^2 - 1) / 6, g the standardized third cumulant of Delta_hat. The previous side's true rate at its
 *   fitted threshold follows Beta(k, n1 + 1 - k) (docs/methods.md), third cumulant about 2 q1 (1 - q1) (1 - 2 q1) /
 *   n1^2; the new side's count is binomial, q2 (1 - q2) (1 - 2 q2) / n2^2. Only ever widened: a skew toward the other
 *   side would narrow it, which the level does not need.
 *
 * With clustered samples n1 and n2 are effective sizes, so both terms are the independent-score approximation at the
 * design effect's size. The critical value is taken at SHIFT_LEVEL_SHARE alpha. Cost O(1).
 */
function shiftMargin(p1: number, n1: number, p2: number, n2: number, tol: number, alpha: number, df1: number, df2: number): number {
  const s = p2 >= p1 ? 1 : -1;
  const q1 = Math.min(1, Math.max(0, (n1 * p1 + n2 * (p2 - s * tol)) / (n1 + n2)));
  const q2 = Math.min(1, Math.max(0, q1 + s * tol));
  const v1 = adjustedVariance(q1, n1);
  const v2 = adjustedVariance(q2, n2);
  const se0 = Math.sqrt(v1 + v2);
  const df = welchDf(v1, df1, v2, df2);
  const a = alpha * SHIFT_LEVEL_SHARE;
  const z = Number.isFinite(df) ? tInv(1 - a, df) : zInv(1 - a);
  const k3 = (2 * q1 * (1 - q1) * (1 - 2 * q1)) / (n1 * n1) + (q2 * (1 - q2) * (1 - 2 * q2)) / (n2 * n2);
  const g = k3 / se0 ** 3;
  const critical = z + (Math.max(0, s * g) * (z * z - 1)) / 6;
  return critical * se0;
}

export type ChangeDecisionKind = "equivalent" | "shifted" | "inconclusive";

/**
 * The largest more-data factor reported. The factor is a squared ratio of a margin to the estimate's distance from the
 * tolerance, which overflows to Infinity for a tolerance a hair above 0 (1e-160): JSON writes Infinity as null, the
 * value that means "on the tolerance's edge". Anything near this cap means no practical amount of data settles it.
 */
export const MAX_MORE_DATA_FACTOR = 1e300;

/** max(1, (margin / distance)^2), capped at MAX_MORE_DATA_FACTOR. distance > 0. */
export function moreDataFactorOf(margin: number, distance: number): number {
  return Math.min(MAX_MORE_DATA_FACTOR, Math.max(1, (margin / distance) ** 2));
}

export interface ChangeDecision {
  readonly decision: ChangeDecisionKind;
  readonly change: number;
  readonly standardError: number;
  /** Delta_hat +- z_{0.975} se (t on `degreesOfFreedom` when finite), clipped to [-1, 1]. */
  readonly interval95: [number, number];
  /**
   * Delta_hat +- q_{1 - alphaEquivalence} se, clipped to [-1, 1]: the interval TOST reads. The decision is "equivalent"
   * exactly when it lies inside (-tol, tol) (90 % at the rebuild's alphaEquivalence 0.05), which a 95 % interval that
   * reaches past the tolerance does not contradict.
   */
  readonly equivalenceInterval: [number, number];
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
  const shiftBy = shiftMargin(p1, n1, p2, n2, tol, alphaShift, df1, df2);
  const zE = q(1 - alphaEquivalence);
  const z95 = q(0.975);
  const interval95: [number, number] = [Math.max(-1, change - z95 * se), Math.min(1, change + z95 * se)];
  let decision: ChangeDecisionKind = "inconclusive";
  if (abs - shiftBy > tol) decision = "shifted";
  else if (abs + zE * se < tol) decision = "equivalent";
  let moreDataFactor: number | null = null;
  if (decision === "inconclusive" && abs !== tol) {
    // Both margins shrink as 1 / sqrt(size): the factor that brings the one in play down to |abs - tol|.
    const margin = abs > tol ? shiftBy : zE * se;
    moreDataFactor = moreDataFactorOf(margin, Math.abs(abs - tol));
  }
  const equivalenceInterval: [number, number] = [Math.max(-1, change - zE * se), Math.min(1, change + zE * se)];
  return { decision, change, standardError: se, interval95, equivalenceInterval, moreDataFactor, degreesOfFreedom: df };
}
