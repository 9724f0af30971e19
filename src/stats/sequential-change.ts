/**
 * The rebuild decision (change-decision.ts) read repeatedly on live traffic: `decideChangeAnytime` answers
 * equivalent / shifted / inconclusive on Delta = p_live - p_ref exactly like `decideChange`, with the fixed normal
 * quantile replaced by the multiplier of a Gaussian-mixture asymptotic confidence sequence, so the answer stays valid
 * however often it is read (a progressive rollout reads it after every batch).
 *
 * - `csMultiplier(t, alpha, tStar)` = sqrt( 2 (t rho^2 + 1) / (t rho^2) * ln( sqrt(t rho^2 + 1) / alpha ) ) with
 *   rho^2 = (-2 ln alpha + ln(1 - 2 ln alpha)) / tStar: the two-sided (1 - alpha) asymptotic confidence sequence
 *   Delta_hat +- k_t se (Waudby-Smith, Arnold, Wu & Ramdas, "Time-uniform central limit theory and asymptotic
 *   confidence sequences", Ann. Statist. 2024, eq. for the Gaussian mixture; Howard, Ramdas, McAuliffe & Sekhon,
 *   Ann. Statist. 2021, for rho, which makes the boundary tightest at t = tStar). It exceeds the fixed-n quantile at
 *   every t: that is the price of reading the answer at every batch.
 * - shifted: the (1 - 2 aS) sequence lies entirely outside [-tol, tol]; equivalent: the (1 - 2 aE) sequence lies inside
 *   (-tol, tol) (TOST). Each is one one-sided crossing of a two-sided sequence, so P(ever shifted | |Delta| <= tol) <=
 *   aS and P(ever equivalent | |Delta| >= tol) <= aE, asymptotically, over the whole sequence of reads.
 * - t is the live side's number of queries: queries are the independent units (the candidates of one query move
 *   together), and the live side is the one that grows. se is the Agresti-Caffo two-proportion standard error on the
 *   effective sizes (candidates / design effect, change-decision.ts), so clustering widens it, not t.
 * - Burn-in: before `minQueries` queries on each side the answer is inconclusive with no interval (the asymptotics
 *   need a few dozen clusters).
 * Preconditions: rates in [0, 1], effective sizes > 0, tol in [0, 1], levels in (0, 0.25), tStar >= 1. Cost O(1).
 * Reference: docs/drift.md, "Shadow and promotion decisions on live traffic".
 */
import { adjustedVariance, type ChangeDecisionKind } from "./change-decision";

/** One side of a live comparison: its pooled drop rate, its effective size (candidates / deff) and its queries. */
export interface ChangeSide {
  readonly rate: number;
  readonly effectiveSize: number;
  readonly queries: number;
}

export interface AnytimeLevels {
  readonly alphaShift: number;
  readonly alphaEquivalence: number;
  /** Live queries at which the sequence is tightest (a step's min_queries). */
  readonly plannedQueries: number;
  /** Queries each side needs before any answer but inconclusive. */
  readonly minQueries: number;
}

export interface AnytimeChangeDecision {
  readonly decision: ChangeDecisionKind;
  readonly change: number;
  readonly standardError: number;
  /** The 95 % confidence sequence of Delta, clipped to [-1, 1]; null during burn-in. */
  readonly interval95: [number, number] | null;
  /** How many times the live evidence must grow for the same estimate to settle it (inconclusive only, else null). */
  readonly moreDataFactor: number | null;
}

/** The Gaussian-mixture confidence-sequence multiplier at effective time t for level alpha, tightest at tStar. */
export function csMultiplier(t: number, alpha: number, tStar: number): number {
  if (!(t > 0) || !(alpha > 0 && alpha < 1) || !(tStar >= 1)) throw new RangeError(`csMultiplier: t=${t}, alpha=${alpha}, tStar=${tStar}`);
  const logA = Math.log(alpha);
  const rho2 = (-2 * logA + Math.log(1 - 2 * logA)) / tStar;
  const s = t * rho2 + 1;
  return Math.sqrt(((2 * s) / (t * rho2)) * Math.log(Math.sqrt(s) / alpha));
}

export function decideChangeAnytime(reference: ChangeSide, live: ChangeSide, tol: number, levels: AnytimeLevels): AnytimeChangeDecision {
  for (const s of [reference, live]) {
    if (!(s.rate >= 0 && s.rate <= 1) || !(s.effectiveSize > 0) || !(s.queries >= 0)) {
      throw new RangeError(`decideChangeAnytime: side ${JSON.stringify(s)}`);
    }
  }
  if (!(tol >= 0 && tol <= 1)) throw new RangeError(`decideChangeAnytime: tol=${tol}`);
  const { alphaShift: aS, alphaEquivalence: aE } = levels;
  if (!(aS > 0 && aS < 0.25 && aE > 0 && aE < 0.25)) throw new RangeError(`decideChangeAnytime: levels ${aS}, ${aE}`);
  const change = live.rate - reference.rate;
  const se = Math.sqrt(adjustedVariance(reference.rate, reference.effectiveSize) + adjustedVariance(live.rate, live.effectiveSize));
  if (Math.min(reference.queries, live.queries) < levels.minQueries) {
    return { decision: "inconclusive", change, standardError: se, interval95: null, moreDataFactor: null };
  }
  const t = Math.max(1, live.queries);
  const k = (alpha: number): number => csMultiplier(t, alpha, levels.plannedQueries);
  const kS = k(2 * aS);
  const kE = k(2 * aE);
  const k95 = k(0.05);
  const abs = Math.abs(change);
  let decision: ChangeDecisionKind = "inconclusive";
  if (abs - kS * se > tol) decision = "shifted";
  else if (abs + kE * se < tol) decision = "equivalent";
  const moreDataFactor = decision !== "inconclusive" || abs === tol ? null : Math.max(1, (((abs > tol ? kS : kE) * se) / Math.abs(abs - tol)) ** 2);
  const interval95: [number, number] = [Math.max(-1, change - k95 * se), Math.min(1, change + k95 * se)];
  return { decision, change, standardError: se, interval95, moreDataFactor };
}
