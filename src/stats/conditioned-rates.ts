/**
 * What the calibration predicts of production's own mix of query sizes: the drop rate, empty-context rate and
 * abstention rate it expects, and their bands, averaged over the strata the production queries fell in; and how much
 * of a stratified test is watching. Pure; O(strata). For display
 * beside the tests, which weigh the strata themselves (drift-evidence.ts); and a guarded calibration's target for a
 * shadow's or a promotion arm's own query sizes (conditionedTarget, monitoring/live-decision.ts).
 */

import type { DropStratum } from "./calibration-expectation";
import { adjustedVariance } from "./change-decision";
import { type DriftBands, designEffectQueries, ownDesignEffect, type StratumBand } from "./drift-bands";
import type { Band } from "./mixture-test";
import { type ClusterSums, DROP_RATE_STRATA } from "./per-query";

/**
 * The drop rate a guarded calibration expects of production's own mix of query sizes, and the band's ends: the drops
 * the cap makes whatever the threshold (known from each query's size) plus each stratum's rate (and band) times the
 * candidates production brought to it that a threshold decides, over all production candidates. The pooled values
 * without strata or without production candidates. For display; the test is dropRateLogEvidence.
 */
export function conditionedDropRate(sums: Readonly<ClusterSums>, bands: DriftBands, pooled: number): { expected: number; band: Band } {
  const strata = bands.dropStrata;
  const eligible = sums.stratumEligible;
  const eligibleDropped = sums.stratumEligibleDropped;
  if (strata === null || eligible === undefined || eligibleDropped === undefined || sums.candidates === 0) {
    return { expected: pooled, band: bands.dropRate };
  }
  // Drops outside the strata's eligible candidates: the cap's (and any from queries counted before strata were kept).
  let fixed = sums.dropped;
  let expected = 0;
  let lo = 0;
  let hi = 0;
  strata.forEach((st, b) => {
    const e = eligible[b] ?? 0;
    fixed -= eligibleDropped[b] ?? 0;
    expected += e * st.expected;
    lo += e * st.band.lo;
    hi += e * st.band.hi;
  });
  const c = sums.candidates;
  return { expected: (fixed + expected) / c, band: { lo: (fixed + lo) / c, hi: (fixed + hi) / c } };
}

/**
 * What production's own mix of candidate counts predicts: the expected empty-context rate and the band's upper end,
 * averaged over the strata of the queries in `sums` (the calibration's overall rate and band without strata or
 * without queries). For display; the test is emptyContextLogEvidence.
 */
export function conditionedEmptyContext(sums: Readonly<ClusterSums>, bands: DriftBands, overallRate: number): { expected: number; hi: number } {
  const overall = { expected: overallRate, hi: bands.emptyContext?.hi ?? 1 };
  const strata = bands.emptyStrata;
  if (strata === null || sums.stratumQueries === undefined || sums.queries === 0) return overall;
  let expected = 0;
  let hi = 0;
  let counted = 0;
  strata.forEach((st, b) => {
    const q = sums.stratumQueries![b] ?? 0;
    counted += q;
    expected += q * st.expected;
    hi += q * st.band.hi;
  });
  const rest = sums.queries - counted;
  expected += rest * overall.expected;
  hi += rest * overall.hi;
  return { expected: expected / sums.queries, hi: hi / sums.queries };
}

/**
 * The abstention rate an abstaining calibration expects of production's own mix of query sizes, and the band's ends:
 * each stratum's rate (and band) times the production queries of that size that reported abstention, plus the pooled
 * rate (and band) for queries counted before the sums kept strata, over all of them. The pooled values without strata
 * or without such queries. For display; the test is abstentionLogEvidence.
 */
export function conditionedAbstention(sums: Readonly<ClusterSums>, bands: DriftBands, pooled: number): { expected: number; band: Band } {
  const strata = bands.abstentionStrata;
  const n = sums.abstentionQueries ?? 0;
  const pooledBand = bands.abstention ?? { lo: 0, hi: 1 };
  if (strata === null || n === 0) return { expected: pooled, band: pooledBand };
  let rest = n;
  let expected = 0;
  let lo = 0;
  let hi = 0;
  strata.forEach((st, b) => {
    const q = sums.stratumAbstentionQueries?.[b] ?? 0;
    rest -= q;
    expected += q * st.expected;
    lo += q * st.band.lo;
    hi += q * st.band.hi;
  });
  return {
    expected: (expected + rest * pooled) / n,
    band: { lo: (lo + rest * pooledBand.lo) / n, hi: (hi + rest * pooledBand.hi) / n },
  };
}

/** How much of a stratified test is watching (window status; calibration warning `few_monitored_strata`). */
export interface StrataCoverage {
  /** Strata whose band is tested, and strata the calibration holds any of (the rest have nothing to test against). */
  readonly tested: number;
  readonly total: number;
  /** Share of `weights` (production's, or the calibration's own, units per stratum) in tested strata; null when they sum to 0. */
  readonly testedShare: number | null;
}

/**
 * Tested strata among those the calibration holds (`held[b]` > 0), and the share of `weights` that falls in tested
 * strata: a stratified test is blind to the queries of its untested strata. O(strata).
 */
export function strataCoverage(strata: readonly StratumBand[], held: readonly number[], weights: readonly number[] | undefined): StrataCoverage {
  let tested = 0;
  let total = 0;
  let all = 0;
  let watched = 0;
  strata.forEach((st, b) => {
    if ((held[b] ?? 0) > 0) total++;
    if (st.armable) tested++;
    const w = weights?.[b] ?? 0;
    all += w;
    if (st.armable) watched += w;
  });
  return { tested, total, testedShare: all > 0 ? watched / all : null };
}

/**
 * The variance given to the dropped share of a size stratum the calibration has no eligible candidate in: a share
 * known only to lie in [0, 1] (a uniform unknown), so live traffic made mostly of unseen sizes never reads `shifted`
 * against an extrapolated target.
 */
export const UNSEEN_SHARE_VARIANCE = 1 / 12;

/**
 * The effective size at which the live decision's variance of a proportion (adjustedVariance, Agresti-Caffo) equals
 * `variance` at `rate`: how a target estimated with that variance enters the decision, rates of 0 and 1 included
 * (where rate (1 - rate) / variance would be 0). Bisection on a log scale: adjustedVariance falls as the size grows.
 * Infinity for a variance of 0 (a target known exactly: decideChangeAnytime refuses it, so callers take another size);
 * RangeError for a rate outside [0, 1] or NaN, and a negative or NaN variance.
 */
export function effectiveSizeFor(rate: number, variance: number): number {
  if (!(rate >= 0 && rate <= 1) || !(variance >= 0)) throw new RangeError(`effectiveSizeFor: rate=${rate}, variance=${variance}`);
  if (variance === 0) return Number.POSITIVE_INFINITY;
  let lo = 1e-6;
  let hi = 1e15;
  if (adjustedVariance(rate, lo) <= variance) return lo;
  for (let i = 0; i < 200 && hi / lo > 1 + 1e-9; i++) {
    const mid = Math.sqrt(lo * hi);
    if (adjustedVariance(rate, mid) > variance) lo = mid;
    else hi = mid;
  }
  return Math.sqrt(lo * hi);
}

/** A guarded calibration's drop rate for a live side's own query sizes, with the variance of that estimate. */
export interface ConditionedTarget {
  /** Expected dropped candidates over all the live side's candidates (the live rate's unit). */
  readonly rate: number;
  /** Variance of `rate` from the calibration's finite strata (the live side's counts taken as given). */
  readonly variance: number;
  /**
   * Satterthwaite's degrees of freedom of `variance` (Welch 1947; Satterthwaite 1946): (sum v_b)^2 / sum (v_b^2 / df_b)
   * over its independent estimates: a stratum on its own design effect with its queries - 1; the strata on the design
   * effect derived from the pooled one and the pooled share's sampling part, which all scale with that one estimate,
   * as one term with the calibration's queries - 1; the unseen sizes' 1/12 none (a fixed allowance, not an estimate).
   * Infinity when no term has a variance to estimate.
   */
  readonly varianceDf: number;
}

/**
 * The drop rate a guarded calibration expects of a live side's own mix of query sizes, in the live side's unit
 * (dropped candidates over all its candidates): the drops the cap makes whatever the threshold (`capDrops`, from each
 * query's size: ClusterSums.capped; 0 without a cap; null takes the live drops outside the eligible candidates, which
 * would also take in drops a client makes against min_keep) plus, per drop-rate stratum, the live side's eligible
 * candidates (those a threshold decides, counted with the calibration's guards) times the calibration's share of its
 * eligible candidates dropped in that stratum; a stratum with no calibration eligible candidate takes the calibration's
 * pooled share (an extrapolation: shorter queries' lower ranks may be dropped more often, a capped long query's top
 * ranks less), with UNSEEN_SHARE_VARIANCE added to its variance.
 *
 * Variance: each stratum's share a binomial proportion at its effective size, eligible / deff_b, Agresti-Caffo
 * adjusted, the strata independent (the strata on the pooled share share one estimate, at the pooled effective size).
 * deff_b is the design effect the calibration measured on the stratum's own queries where it has enough of them
 * (drift-bands.ts ownDesignEffect, capped at k_b = eligible / Q_b, Q_b its queries with a decided candidate:
 * designEffectQueries). Otherwise (fewer queries, or a calibration fitted before it was kept) it is derived from the
 * pooled one with k_b candidates a query: 1 + (k_b - 1) rho, rho the
 * intra-query correlation implied by the pooled design effect at the calibration's mean candidates per query (deff - 1)
 * / (mean - 1) (1 without the mean), never below the pooled design effect, and never above k_b (its value at rho = 1,
 * which wins where it is the smaller): a stratum of one eligible candidate a query has independent units whatever the
 * pooled design effect, where the pooled one would understate its evidence ten-fold. The derived value understates a
 * stratum's under a cap, whose fixed drops add no variance to the pooled design effect: the stratum's variance was then
 * 1.5 to 2.2 times the one given (docs/drift.md). Approximations: the threshold was fitted on every stratum at once, which
 * couples the strata's shares (ignored); sizes within a stratum differ by at most a quarter (DROP_RATE_STRATA). null
 * without strata aligned with DROP_RATE_STRATA, without the live side's per-stratum counts, or without live
 * candidates. O(strata).
 */
export function conditionedTarget(
  strata: readonly DropStratum[],
  designEffect: number,
  meanCandidates: number | null,
  sums: Readonly<ClusterSums>,
  capDrops: number | null = null,
): ConditionedTarget | null {
  const eligible = sums.stratumEligible;
  const eligibleDropped = sums.stratumEligibleDropped;
  if (strata.length !== DROP_RATE_STRATA.length || eligible === undefined || eligibleDropped === undefined || sums.candidates === 0) return null;
  const deff = Math.max(1, designEffect);
  const rho = meanCandidates !== null && meanCandidates > 1 ? Math.min(1, (deff - 1) / (meanCandidates - 1)) : 1;
  const stratumDeff = (st: DropStratum) => {
    const k = st.eligible / Math.max(1, designEffectQueries(st));
    return Math.max(1, Math.min(k, ownDesignEffect(st) ?? Math.max(deff, 1 + (k - 1) * rho)));
  };
  let calDropped = 0;
  let calEligible = 0;
  for (const st of strata) {
    calDropped += st.dropped;
    calEligible += st.eligible;
  }
  const pooled = calEligible > 0 ? calDropped / calEligible : 0;
  let fixed = sums.dropped;
  let expected = 0;
  let variance = 0;
  let onPooled = 0;
  // Satterthwaite: the sum over independent estimates of v^2 / df, df the queries each was estimated from. The terms on
  // the derived design effect and the pooled share's sampling part all scale with the one pooled estimate: one term.
  let calQueries = 0;
  for (const st of strata) calQueries += st.queries;
  const pooledDf = Math.max(1, calQueries - 1);
  let ownTerms = 0;
  let shared = 0;
  strata.forEach((st, b) => {
    const e = eligible[b] ?? 0;
    fixed -= eligibleDropped[b] ?? 0;
    if (e === 0) return;
    if (st.eligible === 0 || st.queries === 0) {
      onPooled += e;
      return;
    }
    const p = st.dropped / st.eligible;
    expected += e * p;
    const v = e * e * adjustedVariance(p, st.eligible / stratumDeff(st));
    variance += v;
    if (ownDesignEffect(st) !== null) ownTerms += (v * v) / Math.max(1, designEffectQueries(st) - 1);
    else shared += v;
  });
  if (onPooled > 0) {
    // Not a sampling error only: the pooled share may be far from what sizes the calibration never saw drop (under a
    // cap, a long query's decided candidates are its top ranks, rarely dropped), and the error is shared by every such
    // candidate. The share is known only to lie in [0, 1]: its variance as a uniform unknown (1/12) is added.
    expected += onPooled * pooled;
    const sampling = onPooled * onPooled * (calEligible > 0 ? adjustedVariance(pooled, calEligible / deff) : 0);
    variance += sampling + onPooled * onPooled * UNSEEN_SHARE_VARIANCE;
    shared += sampling;
  }
  const dfDenominator = ownTerms + (shared * shared) / pooledDf;
  const c = sums.candidates;
  return {
    rate: Math.min(1, Math.max(0, ((capDrops ?? fixed) + expected) / c)),
    variance: variance / (c * c),
    varianceDf: dfDenominator > 0 ? (variance * variance) / dfDenominator : Number.POSITIVE_INFINITY,
  };
}
