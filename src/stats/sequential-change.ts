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
 * - Each one-sided test against the edge Delta = s tol (s = +1 or -1) takes its standard error at the rates that edge
 *   implies, as the rebuild decision's shift test does (change-decision.ts shiftMargin: q1 = (n1 p1 + n2 (p2 - s tol)) /
 *   (n1 + n2), q2 = q1 + s tol, clipped to [0, 1]; Farrington & Manning, Stat. Med. 1990), never below the plug-in se:
 *   at low rates a side's plug-in variance (and its design effect) is smallest exactly when its estimate has strayed
 *   toward the other side, and the plug-in sequence then crossed too often (seeded, queries of 3 to 40 candidates at
 *   intra-query correlation 0.3, the change on the tolerance's edge: a false `equivalent` in 10.5 % of runs at 2 % -> 4 %
 *   against a 4,000-query reference, a false `shifted` in 4.5 % at aS = 2.5 % with a 50-query reference at 5 %:
 *   test/stats/sequential-level.test.ts). `standardError` stays the plug-in one. When the estimate has moved, the
 *   equivalence test against the edge it moved away from must also pass at no change (monotoneSideMargin), so that
 *   `equivalent` is monotone in |Delta_hat| near a rate of 0 or 1.
 * - The shifted test takes the reference's design effect at its one-sided (1 - DESIGN_EFFECT_BOUND_LEVEL) upper
 *   confidence bound, not at its estimate (`boundedSize`): its effective size times chi2_{gamma}(Q - 1) / (Q - 1), Q its
 *   queries (the cluster variance of its rate is estimated from Q query totals, about a scaled chi-square on Q - 1 df).
 *   A small clustered reference's design effect is itself too small most of the time, and most so exactly when its rate
 *   has strayed (a few heavy queries hold the drops); and the reference is read at every batch with the same error, so
 *   a bad draw is never averaged away: a 50-query reference at 5 % read a false `shifted` in 0.50 % of runs at
 *   aS = 0.1 %, 0.05 % with the bound (bench/small-reference.ts, docs/benchmarks.md section 37). A live side's design
 *   effect is re-estimated from more queries at every read (both sides live and growing held the levels), so it keeps
 *   its estimate, whether it is the compared side or the reference (a promotion's control arm, a shadow's active gate:
 *   `varianceDf` Infinity). A guarded calibration's target sums strata whose design effects were each measured on
 *   their own queries: its bound takes the Satterthwaite df of that sum (`varianceDf`), not its queries - 1. The equivalence test and interval95 keep the estimate too: their levels held in every row measured,
 *   and `equivalent` is what a promotion waits on.
 * - interval95: the Delta0 in [-1, 1] with |Delta_hat - Delta0| <= k_t(0.05) max(se, se at the rates Delta0 implies),
 *   the same test inverted at each Delta0, so it contains Delta_hat +- k_t se. The plug-in sequence alone missed the true
 *   change in 10.7 % of runs at 2 % -> 4 % against a 4,000-query reference (seeded, as above; level 5 %).
 * - t is the live side's number of queries: queries are the independent units (the candidates of one query move
 *   together), and the live side is the one that grows. se is the Agresti-Caffo two-proportion standard error on the
 *   effective sizes (candidates / design effect, change-decision.ts), so clustering widens it, not t.
 * - Burn-in: before `minQueries` queries on each side the answer is inconclusive with no interval (the asymptotics
 *   need a few dozen clusters).
 * Preconditions: rates in [0, 1], effective sizes finite and > 0, tol in [0, 1], levels in (0, 0.25), tStar >= 1. Cost
 * O(1): 2 INTERVAL_BISECTION_STEPS evaluations for the interval's ends.
 * Reference: docs/drift.md, "Shadow and promotion decisions on live traffic".
 */
import { adjustedVariance, type ChangeDecisionKind, moreDataFactorOf } from "./change-decision";
import { chi2Inv } from "./special";

/**
 * One minus the confidence of the design-effect bound the shifted test takes (boundedSize). Chosen by measurement
 * (bench/small-reference.ts, docs/benchmarks.md section 37; 4,000 runs a row, queries of 3 to 40 at intra-query
 * correlation 0.3, the change on the tolerance's edge): at 0.05 a 50-query reference at 5 % still read a false `shifted`
 * in 0.15 % of runs at aS = 0.1 %, at 0.01 in 0.05 %. The chi-square on Q - 1 df is the bound for query totals that
 * are alike; skewed ones (few queries holding the drops, satterthwaite.ts) carry fewer df, which the stored
 * calibration does not carry to the live decision, so the nominal 95 % bound is not enough there.
 */
export const DESIGN_EFFECT_BOUND_LEVEL = 0.01;

/** One side of a live comparison: its pooled drop rate, its effective size (candidates / deff) and its queries. */
export interface ChangeSide {
  readonly rate: number;
  readonly effectiveSize: number;
  readonly queries: number;
  /**
   * Degrees of freedom of the side's variance estimate, for the reference's design-effect bound (boundedSize). Absent:
   * queries - 1 (one estimate from all its query totals). A guarded calibration's target for a live side's sizes sums
   * strata whose design effects rest on fewer queries each (Satterthwaite's df of that sum, conditionedTarget).
   * Infinity: a side whose estimate is re-made from more queries at every read (a live side), never bounded.
   */
  readonly varianceDf?: number;
}

export interface AnytimeLevels {
  readonly alphaShift: number;
  readonly alphaEquivalence: number;
  /** Live queries at which the sequence is tightest (a step's min_queries). */
  readonly plannedQueries: number;
  /** Queries each side needs before any answer but inconclusive. */
  readonly minQueries: number;
  /**
   * One minus the confidence of the reference's design-effect bound in the shifted test (boundedSize); absent:
   * DESIGN_EFFECT_BOUND_LEVEL; null: its design effect as estimated (the decision before the bound, for comparisons).
   */
  readonly designEffectBound?: number | null;
}

export interface AnytimeChangeDecision {
  readonly decision: ChangeDecisionKind;
  readonly change: number;
  readonly standardError: number;
  /**
   * The 95 % confidence sequence of Delta within [-1, 1], inverted from the test at each Delta0 (the standard error at
   * the rates Delta0 implies, never below the plug-in one: scoreInterval); null during burn-in.
   */
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
    // A non-finite effective size would make every field NaN (adjustedVariance at Infinity is NaN).
    if (!(s.rate >= 0 && s.rate <= 1) || !(s.effectiveSize > 0 && Number.isFinite(s.effectiveSize)) || !(s.queries >= 0)) {
      throw new RangeError(`decideChangeAnytime: side ${JSON.stringify(s)}`);
    }
  }
  if (!(tol >= 0 && tol <= 1)) throw new RangeError(`decideChangeAnytime: tol=${tol}`);
  const { alphaShift: aS, alphaEquivalence: aE } = levels;
  if (!(aS > 0 && aS < 0.25 && aE > 0 && aE < 0.25)) throw new RangeError(`decideChangeAnytime: levels ${aS}, ${aE}`);
  const bound = levels.designEffectBound === undefined ? DESIGN_EFFECT_BOUND_LEVEL : levels.designEffectBound;
  if (bound !== null && !(bound > 0 && bound < 0.5)) throw new RangeError(`decideChangeAnytime: designEffectBound=${bound}`);
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
  // The standard errors at the edges +tol and -tol (one-sided tests against each), never below the plug-in one.
  const seUp = Math.max(se, edgeStandardError(reference, live, tol));
  const seDown = Math.max(se, edgeStandardError(reference, live, -tol));
  // The shifted test's, on the reference's design effect at its upper bound.
  const sRef = bound === null ? reference : boundedSize(reference, bound);
  const seS = Math.sqrt(adjustedVariance(sRef.rate, sRef.effectiveSize) + adjustedVariance(live.rate, live.effectiveSize));
  // Never below the estimate's: a smaller reference size moves the restricted rates toward the live side's, which at a
  // rate near 0 or 1 can shrink the edge's variance; the bound is there to widen the test, never to narrow it.
  const seUpS = Math.max(seUp, seS, edgeStandardError(sRef, live, tol));
  const seDownS = Math.max(seDown, seS, edgeStandardError(sRef, live, -tol));
  // The equivalence test against the edge the estimate moved away from is also read at no change (the live rate at the
  // reference's), so that a move never makes `equivalent` easier to reach than no move (monotoneSideMargin).
  const unchanged = change === 0 ? null : monotoneSideMargin(reference, live, tol, change > 0 ? -1 : 1, kE);
  let decision: ChangeDecisionKind = "inconclusive";
  if (change - kS * seUpS > tol || change + kS * seDownS < -tol) decision = "shifted";
  else if (change + kE * seUp < tol && change - kE * seDown > -tol && (unchanged === null || unchanged < tol)) decision = "equivalent";
  let moreDataFactor: number | null = null;
  if (decision === "inconclusive" && abs !== tol) {
    // Every margin shrinks as 1 / sqrt(size): the factor that brings the ones in play under their distance to the edge.
    moreDataFactor =
      abs > tol
        ? moreDataFactorOf(kS * (change > 0 ? seUpS : seDownS), abs - tol)
        : Math.max(
            moreDataFactorOf(kE * seUp, tol - change),
            moreDataFactorOf(kE * seDown, tol + change),
            unchanged === null ? 1 : moreDataFactorOf(unchanged, tol),
          );
  }
  return { decision, change, standardError: se, interval95: scoreInterval(reference, live, k95, se), moreDataFactor };
}

/**
 * The margin kE max(se, edge se) of the one-sided equivalence test against the edge s tol (s = +1 or -1), read as if the
 * live rate equalled the reference's (Delta_hat = 0), same sizes. decideChangeAnytime requires it below tol when the
 * estimate moved away from that edge (s opposite to the sign of Delta_hat), besides the test at the estimate.
 *
 * Why: the equivalence region of the two one-sided tests is an interval of Delta_hat, each test monotone in it, but
 * with the standard error taken at each edge's restricted rates it need not contain 0. Near a rate of 0 or 1 the edge
 * toward the interior pulls a small reference's restricted rate far from its estimate (reference 0.99 at effective size
 * 500, live 0.99 at 5,000, tol 0.02: the +tol edge puts it at 0.972, se 0.0077 against a plug-in 0.0050), so no change
 * read `inconclusive` while a move of -0.25 or -0.5 points read `equivalent`. Requiring the test
 * at the unchanged rate too (the test at the estimate is easier there, by its monotonicity) makes `equivalent`
 * monotone in |Delta_hat| along each direction, and only removes `equivalent` answers, so its level cannot rise. Not
 * adopted: counting an edge as rejected when p_ref +- tol leaves [0, 1] at the estimated p_ref. With a true reference
 * at 0.98 and a live rate of 1 (Delta on the edge), a reference estimate above 0.98 (about half the time) would drop
 * the +tol test and read a false `equivalent`. O(1).
 */
function monotoneSideMargin(reference: ChangeSide, live: ChangeSide, tol: number, s: 1 | -1, kE: number): number {
  const still = { ...live, rate: reference.rate };
  const se0 = Math.sqrt(adjustedVariance(reference.rate, reference.effectiveSize) + adjustedVariance(reference.rate, live.effectiveSize));
  return kE * Math.max(se0, edgeStandardError(reference, still, s * tol));
}

/**
 * The side with its design effect at its one-sided (1 - gamma) upper confidence bound: the effective size times
 * chi2_{gamma}(df) / df, df the side's varianceDf (absent: Q - 1, Q its queries; at least 1; Infinity: unchanged). The cluster
 * variance of the rate is about a scaled chi-square on Q - 1 df (Kish 1965; satterthwaite.ts for fewer df), so the
 * design effect's (1 - gamma) upper bound is its estimate times (Q - 1) / chi2_{gamma}(Q - 1) (the usual chi-square
 * bound of a variance). O(1) (one chi-square quantile).
 */
function boundedSize(side: ChangeSide, gamma: number): ChangeSide {
  if (side.varianceDf === Number.POSITIVE_INFINITY) return side;
  const df = Math.max(1, side.varianceDf ?? side.queries - 1);
  return { ...side, effectiveSize: (side.effectiveSize * chi2Inv(gamma, df)) / df };
}

/** Bisection steps for an interval end: the bracket is at most 2 wide, so 64 halvings reach below 1e-18. */
const INTERVAL_BISECTION_STEPS = 64;

/**
 * The confidence sequence of Delta with multiplier k, inverted from the test at each Delta0: the Delta0 in [-1, 1] with
 * |change - Delta0| <= k max(se, edgeStandardError at Delta0). It contains change +- k se (the plug-in sequence). Each
 * end by bisection between the plug-in end (inside) and -1 or 1. O(INTERVAL_BISECTION_STEPS).
 */
function scoreInterval(reference: ChangeSide, live: ChangeSide, k: number, se: number): [number, number] {
  const change = live.rate - reference.rate;
  const outside = (d0: number): boolean => Math.abs(change - d0) > k * Math.max(se, edgeStandardError(reference, live, d0));
  const end = (from: number, to: number): number => {
    // `from` is inside; the end lies between it and `to`, the interval's bound, when `to` is outside.
    if (!outside(to)) return to;
    let inside = from;
    let out = to;
    for (let i = 0; i < INTERVAL_BISECTION_STEPS; i++) {
      const mid = (inside + out) / 2;
      if (outside(mid)) out = mid;
      else inside = mid;
    }
    return inside;
  };
  const lo = Math.max(-1, change - k * se);
  const hi = Math.min(1, change + k * se);
  return [end(lo, -1), end(hi, 1)];
}

/**
 * The two-proportion standard error at the rates the edge Delta = `edge` implies: the size-weighted restricted estimate
 * q1 = (n1 p1 + n2 (p2 - edge)) / (n1 + n2), q2 = q1 + edge, each clipped to [0, 1] (Farrington & Manning, Stat. Med.
 * 1990), Agresti-Caffo adjusted on the effective sizes. O(1).
 */
function edgeStandardError(reference: ChangeSide, live: ChangeSide, edge: number): number {
  const n1 = reference.effectiveSize;
  const n2 = live.effectiveSize;
  const q1 = Math.min(1, Math.max(0, (n1 * reference.rate + n2 * (live.rate - edge)) / (n1 + n2)));
  const q2 = Math.min(1, Math.max(0, q1 + edge));
  return Math.sqrt(adjustedVariance(q1, n1) + adjustedVariance(q2, n2));
}
