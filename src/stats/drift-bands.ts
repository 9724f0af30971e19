/**
 * The drift tests' bands: how far the production rates may stray from what the calibration predicts before the
 * tests (drift.ts, drift-evidence.ts) count evidence against it. Pure.
 *
 * Drop rate: anytime-valid beta-binomial mixture test (mixture-test.ts) of the design-effect-deflated counts against
 * the tolerance band around the calibration's expected drop rate. Empty context: the same test, one-sided, on the
 * share of queries that lost every candidate (queries are independent units: no design effect), against an upper
 * confidence bound of the calibration's rate per candidate-count stratum (binomial-bound.ts). Abstention: the
 * two-sided test on the share of queries that abstain, per drop-rate stratum where the calibration kept them.
 *
 * The false-alarm budget alpha is split. When the empty-context rate is tested as well, each of the two tests gets
 * a' = alpha/2; otherwise the drop-rate test gets a' = alpha. Each test spends:
 *  - a'/2 on the calibration's own error: the band reaches at least the a'/4 and 1 - a'/4 quantiles of the exact Beta
 *    law of the gate's true rate (calibration-margin.ts) at the calibration's effective size n / max(deff_cal,
 *    deff_prod), a'/4 on each side;
 *  - a'/2 on the sequential test: for a single fixed start, alarm when log E >= ln(2/a') (Ville's inequality);
 *    the detector uses its own threshold instead.
 * Reference: docs/drift.md.
 */
import { clopperPearsonInterval, clopperPearsonUpperBound, jeffreysUpperBound } from "./binomial-bound";
import { type AbstentionStratum, type CalibrationExpectation, type DropStratum, MIN_DROP_STRATUM_QUERIES } from "./calibration-expectation";
import { atEffectiveSize, floorSignificant, lawAtMean, marginOf } from "./calibration-margin";
import type { DriftConfig } from "./drift-config";
import { EMPTY_CONTEXT_STRATA } from "./empty-context";
import type { Band } from "./mixture-test";
import { DROP_RATE_STRATA } from "./per-query";
import { type StratumSpread, stratumSpreadDesignEffect, usableStratumSpread } from "./stratum-spread";

/** The empty-context band of one candidate-count stratum. */
export interface StratumBand {
  /** The calibration's rate for the stratum (its lower end) and the band's upper end. */
  readonly expected: number;
  readonly band: Band;
  /** False when the calibration has too few queries of this size to bound the rate (the stratum is not tested). */
  readonly armable: boolean;
}

/** The tolerance bands both tests use, given the design effect measured in production. O(1). */
export interface DriftBands {
  readonly alphaPerTest: number;
  readonly dropRate: Band;
  /** False when the calibration margin reaches beyond config.maxCalibrationMargin (the test is not armed). */
  readonly dropRateArmable: boolean;
  /** null when the calibration has no per-query statistics. */
  readonly emptyContext: Band | null;
  readonly emptyContextArmable: boolean;
  /** Per candidate-count stratum (aligned with EMPTY_CONTEXT_STRATA), or null without the calibration's strata. */
  readonly emptyStrata: readonly StratumBand[] | null;
  /** Guarded gates: the drop-rate band of each candidate-count stratum (null: the pooled band is tested). */
  readonly dropStrata: readonly StratumBand[] | null;
  /** Abstaining gates: the abstention rate's band (null: not tested). */
  readonly abstention: Band | null;
  readonly abstentionArmable: boolean;
  /** Abstaining gates: the abstention band of each drop-rate stratum (null: the pooled band is tested). */
  readonly abstentionStrata: readonly StratumBand[] | null;
}

/**
 * Bands: the drop rate's is [min(p0 - tolerance, L), max(p0 + tolerance, U)], p0 the centre of the gate's true rate
 * (k/(n+1), tie-aware) and [L, U] its calibration margin: the a'/4 and 1 - a'/4 quantiles of the exact law of the
 * true rate (calibration-margin.ts), so each side spends a'/4 and the margin a'/2 in all; the law at the
 * calibration's effective size n / max(deff_cal, deff_production): a calibration uploaded flat has deff_cal = 1 by
 * construction, so the clustering production shows floors it. Armable when neither end of [L, U] is further than
 * maxCalibrationMargin from p0.
 *
 * Empty context: [0, max(e + tolerance, U)], U the Jeffreys upper bound of the calibration's overall rate e
 * (binomial-bound.ts), where the Wald sd was 0 for a calibration without an empty query. With the calibration's
 * strata, each candidate-count stratum b gets its own band from its rate e_b over its Q_b calibration queries, the
 * bounds at level 1 - a'/(2 S) for the S strata measured (not extrapolated), so that all of them hold together with
 * probability 1 - a'/2 (Bonferroni). An observed stratum (its own queries' empty count) is bounded exactly
 * (Clopper-Pearson); a hypergeometric one at its effective size (Korn & Graubard; empty-context.ts says why a mean of
 * per-query probabilities is worth more than Q Bernoulli queries), its count rounded up, by Jeffreys. A stratum is
 * tested (armable) when its bound exceeds its rate by at most maxEmptyContextBoundExcess and, if it rests on the
 * extrapolation, the calibration had nothing to check it with ("untested": no calibration query of 50 candidates or
 * fewer has a longer one, every query one size or every query longer than 50).
 */
export function driftBands(cal: CalibrationExpectation, config: DriftConfig, productionDesignEffect: number): DriftBands {
  if (!(config.alpha > 0 && config.alpha < 1)) throw new RangeError(`driftBands: alpha=${config.alpha}`);
  const testsEmpty = cal.emptyContextRate !== null && cal.nQueries !== null && cal.nQueries > 0;
  const testsAbstention = cal.abstention != null && cal.abstention.queries > 0;
  const alphaPerTest = config.alpha / (1 + (testsEmpty ? 1 : 0) + (testsAbstention ? 1 : 0));
  const deffCal = Math.max(1, cal.designEffect ?? 1, productionDesignEffect);
  const tolerance = cal.tolerance ?? config.tolerance;
  const p0 = cal.expectedDropRate;
  if (!(p0 >= 0 && p0 <= 1)) throw new RangeError(`driftBands: expected drop rate ${p0}`);
  const law = atEffectiveSize(cal.dropRateLaw ?? lawAtMean(p0, cal.n), cal.n, floorSignificant(cal.n / deffCal));
  const [marginLo, marginHi] = marginOf(law, alphaPerTest / 4);
  const dropRate: Band = { lo: Math.max(0, Math.min(p0 - tolerance, marginLo)), hi: Math.min(1, Math.max(p0 + tolerance, marginHi)) };
  let dropRateArmable = Math.max(p0 - marginLo, marginHi - p0) <= config.maxCalibrationMargin;
  const dropStrata = dropStrataBands(cal, config, deffCal, alphaPerTest, tolerance);
  if (dropStrata !== null) dropRateArmable = dropStrata.some((b) => b.armable);
  let abstention: Band | null = null;
  let abstentionArmable = false;
  let abstentionStrata: StratumBand[] | null = null;
  if (testsAbstention && cal.abstention) {
    // Queries abstain one by one (independent units: no design effect); the margin spends a'/2 like the drop rate's.
    const a = cal.abstention;
    const [lo, hi] = marginOf(a.law ?? lawAtMean(a.expectedRate, a.queries), alphaPerTest / 4);
    abstention = { lo: Math.max(0, Math.min(a.expectedRate - tolerance, lo)), hi: Math.min(1, Math.max(a.expectedRate + tolerance, hi)) };
    abstentionArmable = Math.max(a.expectedRate - lo, hi - a.expectedRate) <= config.maxCalibrationMargin;
    abstentionStrata = abstentionStrataBands(a.strata ?? null, a.expectedRate, config, alphaPerTest, tolerance);
    if (abstentionStrata !== null) abstentionArmable = abstentionStrata.some((b) => b.armable);
  }
  let emptyContext: Band | null = null;
  let emptyContextArmable = false;
  let emptyStrata: StratumBand[] | null = null;
  if (testsEmpty && cal.emptyContextRate !== null && cal.nQueries !== null) {
    const emptyTolerance = cal.emptyContextTolerance ?? config.emptyContextTolerance;
    const bandOf = (rate: number, size: number, level: number, exactCount: number | null = null): StratumBand => {
      const queries = Math.max(1, Math.round(size));
      const x = exactCount ?? Math.min(queries, Math.max(0, Math.ceil(rate * queries - 1e-9)));
      const upper = exactCount === null ? jeffreysUpperBound(x, queries, level) : clopperPearsonUpperBound(x, queries, level);
      return {
        expected: rate,
        band: { lo: 0, hi: Math.min(1, Math.max(rate + emptyTolerance, upper)) },
        armable: upper - rate <= config.maxEmptyContextBoundExcess,
      };
    };
    const overall = bandOf(cal.emptyContextRate, cal.nQueries, 1 - alphaPerTest / 2);
    emptyContext = overall.band;
    emptyContextArmable = overall.armable;
    const strata = cal.emptyContextStrata;
    if (strata && strata.length === EMPTY_CONTEXT_STRATA.length) {
      const measured = Math.max(1, strata.filter((st) => !st.extrapolated).length);
      emptyStrata = strata.map((st) => {
        if (st.queries === 0) return { expected: st.rate, band: { lo: 0, hi: 1 }, armable: false };
        const level = 1 - alphaPerTest / (2 * measured);
        const b =
          st.source === "observed"
            ? bandOf(st.rate, st.queries, level, st.empty ?? Math.round(st.rate * st.queries))
            : bandOf(st.rate, st.effectiveQueries ?? st.queries, level);
        // The extrapolation's check is a screen, not a bound: a check that finds no excess on the calibration's few
        // short queries is not evidence that there is none. Where a guard binds (level >= 2) the check passed on
        // coupled sizes in 12 of 200 null runs that then false-alarmed (docs/benchmarks.md section 26), and for the
        // empty event a passed check armed strata 2 to 4 times below production's rate in 2 of 20,000 coupled
        // calibrations (section 17, bench/coupled-bands.ts): so an extrapolated stratum is tested only where the
        // calibration holds nothing to check it with ("untested": no short calibration query with a longer one, the
        // assumption stated in docs/drift.md) or was stored before the check existed (no verdict), never on a check's
        // say-so.
        const checked = st.extrapolationCheck != null && st.extrapolationCheck !== "untested";
        const distrusted = st.source !== "observed" && ((cal.emptyContextLevel ?? 1) >= 2 || checked);
        return distrusted ? { ...b, armable: false } : b;
      });
      emptyContextArmable = emptyStrata.some((b) => b.armable);
    }
  }
  return {
    alphaPerTest,
    dropRate,
    dropRateArmable,
    emptyContext,
    emptyContextArmable,
    emptyStrata,
    dropStrata,
    abstention,
    abstentionArmable,
    abstentionStrata,
  };
}

/**
 * The abstention band of each drop-rate stratum of an abstaining calibration: its own share x_b / Q_b of queries that
 * abstain, the margin its exact (Clopper-Pearson) interval at level 1 - a'/(2 S) for the S strata with calibration
 * queries (a'/(4 S) a side, Bonferroni: the margin spends a'/2 in all, like the pooled band's), widened to the
 * tolerance. Queries are independent units (no design effect). A stratum is tested from MIN_DROP_STRATUM_QUERIES
 * calibration queries when its margin is within maxCalibrationMargin. abstain_below was fitted on all the calibration's
 * queries, so a stratum's count is binomial given it only approximately; the error is of order Q_b / Q and the
 * seeded null runs of docs/benchmarks.md section 32 measure it. null without the calibration's strata.
 */
function abstentionStrataBands(
  strata: readonly AbstentionStratum[] | null,
  expectedRate: number,
  config: DriftConfig,
  alphaPerTest: number,
  tolerance: number,
): StratumBand[] | null {
  if (strata === null || strata.length !== DROP_RATE_STRATA.length) return null;
  const measured = Math.max(1, strata.filter((st) => st.queries > 0).length);
  return strata.map((st) => {
    // A size the calibration never saw is not tested; for display it is expected at the calibration's own rate (what
    // conditionedAbstention gives queries counted without a stratum).
    if (st.queries === 0) return { expected: expectedRate, band: { lo: 0, hi: 1 }, armable: false };
    const p = st.abstained / st.queries;
    const [lo, hi] = clopperPearsonInterval(st.abstained, st.queries, 1 - alphaPerTest / (2 * measured));
    return {
      expected: p,
      band: { lo: Math.max(0, Math.min(p - tolerance, lo)), hi: Math.min(1, Math.max(p + tolerance, hi)) },
      armable: st.queries >= MIN_DROP_STRATUM_QUERIES && Math.max(p - lo, hi - p) <= config.maxCalibrationMargin,
    };
  });
}

/**
 * The drop-rate band of each candidate-count stratum of a guarded calibration: its own guarded rate p_b over its
 * candidates, the margin from the Beta law at the stratum's effective size (eligible candidates / deff_b) at level
 * a'/(4 S) a side for the S strata with calibration candidates (Bonferroni), widened to the tolerance. deff_b is the
 * stratum's own design effect where the calibration measured it on enough queries (ownDesignEffect), else the pooled
 * max(deff_cal, deff_production) as for the pooled band. A stratum is tested from MIN_DROP_STRATUM_QUERIES calibration
 * queries when its margin is within maxCalibrationMargin. A stratum whose queries the guard decides alone (every query
 * at most min_keep long) has rate 0 and no margin: any drop there means the guard is not applied.
 */
function dropStrataBands(
  cal: CalibrationExpectation,
  config: DriftConfig,
  deffCal: number,
  alphaPerTest: number,
  tolerance: number,
): StratumBand[] | null {
  const strata = cal.dropRateStrata;
  if (!strata || strata.length !== DROP_RATE_STRATA.length) return null;
  const measured = Math.max(1, strata.filter((st) => st.eligible > 0).length);
  const pooled = pooledShare(strata.map((st) => [st.dropped, st.eligible]));
  return strata.map((st) => {
    // A size the calibration never saw is not tested; for display it is expected at the calibration's pooled share of
    // eligible candidates dropped. A size whose queries the guard decides alone has nothing eligible to drop.
    if (st.queries === 0) return { expected: pooled, band: { lo: 0, hi: 1 }, armable: false };
    if (st.eligible === 0) return { expected: 0, band: { lo: 0, hi: 1 }, armable: false };
    const p = st.dropped / st.eligible;
    const deff = ownDesignEffect(st) ?? deffCal;
    const [lo, hi] = marginOf(lawAtMean(p, Math.max(1, st.eligible / deff)), alphaPerTest / (4 * measured));
    return {
      expected: p,
      band: { lo: Math.max(0, Math.min(p - tolerance, lo)), hi: Math.min(1, Math.max(p + tolerance, hi)) },
      armable: st.queries >= MIN_DROP_STRATUM_QUERIES && Math.max(p - lo, hi - p) <= config.maxCalibrationMargin,
    };
  });
}

/**
 * From this many calibration queries of its size with a decided candidate (designEffectQueries) a drop-rate stratum's
 * variance takes the design effect measured on its own queries (ownDesignEffect) instead of one derived from the pooled
 * design effect. The same 30 queries from
 * which a stratum is tested (MIN_DROP_STRATUM_QUERIES): in the seeded simulation of
 * test/stats/stratum-design-effect.test.ts (beta-binomial queries at intra-query correlation 0.3) the variance it gives
 * averaged 0.89 to 1.06 times the spread of the stratum's share over calibrations, from 30 queries a stratum on, where
 * the derived one gave 0.46 to 0.66 of it in the strata a cap binds.
 */
export const MIN_OWN_DESIGN_EFFECT_QUERIES = 30;

/**
 * The queries a drop-rate stratum's own design effect was measured on: those with a decided candidate
 * (DropStratum.designEffectQueries). A query of the stratum that min_keep covers, or that the guards leave nothing to
 * decide, is no unit of it: in a stratum of 100 queries of which 5 have a decided candidate the estimate rests on 5.
 * A calibration fitted before the count was kept gives all the stratum's queries, as the monitor read it then (right
 * where every query of the stratum has a decided candidate, which is so unless min_keep falls inside the stratum).
 */
export function designEffectQueries(st: DropStratum): number {
  return st.designEffectQueries ?? st.queries;
}

/**
 * The design effect of a drop-rate stratum's eligible-dropped share as the calibration measured it on the stratum's own
 * queries (DropStratum.designEffect, Kish, floored at 1), capped at k_b = eligible / Q_b, Q_b its queries with a decided
 * candidate (designEffectQueries: k_b is its value when a query's eligible candidates move as one and every query
 * decides as many; where the decided counts differ, as in a min_keep-split stratum, the bound is sum E_q^2 / sum E_q,
 * above k_b, which production's spread uses (perfectlyCorrelatedDesignEffect) but a stored calibration, keeping no
 * sum E_q^2, cannot); null where there is none to use: a calibration fitted
 * before it was kept, a stratum where it could not be measured, or one of fewer than MIN_OWN_DESIGN_EFFECT_QUERIES
 * queries with a decided candidate, whose estimate is too noisy (the callers then derive one
 * from the pooled design effect, as before). Not floored at the derived value: where that overstates (min_keep alone,
 * short strata) the floor would have given up to 1.6 times the share's spread (the same simulation) and cost the tests
 * power, and where the measured value is low by chance (a rare drop under a cap) the derived one is lower still.
 */
export function ownDesignEffect(st: DropStratum): number | null {
  const own = st.designEffect;
  const units = designEffectQueries(st);
  if (own == null || !Number.isFinite(own) || units < MIN_OWN_DESIGN_EFFECT_QUERIES || st.eligible === 0) return null;
  return Math.max(1, Math.min(own, st.eligible / units));
}

/**
 * The design effect each drop-rate stratum's production counts are deflated by in the drop-rate test
 * (drift-evidence.ts dropRateLogEvidence): the pooled production design effect `pooled`, or where production brought
 * the stratum at least MIN_OWN_DESIGN_EFFECT_QUERIES queries with a decided candidate since the detector's reset, the
 * larger of it and an upper confidence bound of the stratum's own (stratum-spread.ts, upperDesignEffect; capped at what
 * it would be if each query's decided candidates all moved together: perfectlyCorrelatedDesignEffect). The pooled value understates a capped stratum's (stratum-spread.ts says why) and then lets the test
 * alarm on no change: in the seeded null of test/stats/stratum-production-design-effect.test.ts.
 *
 * Never below the pooled value, which limits what an estimate from 30 queries can make of a stratum's evidence when it
 * is low by chance. That does not keep the product over strata at or below the pooled-deflated one: a stratum's log
 * e-value is not monotone in its deflation. Deflating more lowers the evidence of a stratum well outside its band and
 * raises the (negative) log e-value of one inside it (band [0.27, 0.33], 1,000 candidates at share 0.30: -1.98 at
 * deflation 1, -1.13 at 6; at 0.42: 15.0 and 1.19), so an in-band stratum offsets less of another stratum's evidence.
 * What keeps the test at its level is each stratum's deflation being at least its true design effect, which the
 * estimate approximates (docs/drift.md, "The change detector"); the seeded nulls measure it. null without the spread (states stored before it
 * was kept, or over another strata layout: stratum-spread.ts usableStratumSpread): every stratum takes `pooled`.
 * O(strata).
 */
export function productionStratumDesignEffects(stored: Readonly<StratumSpread> | undefined, pooled: number): number[] | null {
  const spread = usableStratumSpread(stored);
  if (spread === undefined) return null;
  return DROP_RATE_STRATA.map((_, b) => {
    const q = spread.queries[b] ?? 0;
    if (q < MIN_OWN_DESIGN_EFFECT_QUERIES) return pooled;
    return Math.max(pooled, Math.min(upperDesignEffect(stratumSpreadDesignEffect(spread, b), q), perfectlyCorrelatedDesignEffect(spread, b)));
  });
}

/**
 * z of the one-sided upper bound a stratum's own production design effect is deflated at (the 99th normal percentile).
 * The point estimate from a stratum's few, skewed counts is low often enough to lift the test over its level: rare
 * drops (share 0.05) under a cap at production correlation 0.6 false-alarmed 26 of 1,000 null runs at a level of 2 %;
 * at this bound 12 of 1,000, for medians of queries to a real alarm 3 to 12 % later (docs/benchmarks.md, section 26).
 */
export const STRATUM_DESIGN_EFFECT_UPPER_Z = 2.326;

/**
 * An upper confidence bound of a design effect estimated from q queries: deff (1 + z sqrt(2 / (q - 1))), the relative
 * standard error of a variance estimated from q clusters under normality (its chi-square law with q - 1 degrees of
 * freedom) at z = STRATUM_DESIGN_EFFECT_UPPER_Z. Heavier tails than the normal's make the estimate noisier still; the
 * seeded nulls measure what is left. q >= 2. O(1).
 */
export function upperDesignEffect(deff: number, q: number): number {
  return deff * (1 + STRATUM_DESIGN_EFFECT_UPPER_Z * Math.sqrt(2 / (q - 1)));
}

/**
 * The design effect of stratum b's share if each query's decided candidates were all dropped or all kept together, the
 * largest clustering can make it: sum E_q^2 / sum E_q (Kish 1965, the size-weighted mean of the decided counts E_q).
 * It is E / Q, the cap ownDesignEffect puts on the calibration's, when every query decides as many candidates; where
 * they differ (a min_keep-split stratum: 1 to 31 decided of 185 to 231 under min_keep 200) E / Q is below it and would
 * cut a true design effect short (the calibration stores no sum E_q^2 to do the same). Not Q / (Q - 1) adjusted: that
 * is the estimator's correction, not part of the bound. O(1).
 */
function perfectlyCorrelatedDesignEffect(spread: Readonly<StratumSpread>, b: number): number {
  const e = spread.eligible[b] ?? 0;
  return e > 0 ? (spread.eligibleSq[b] ?? 0) / e : 1;
}

/** Sum of the counts over sum of the units, [count, units] per stratum; 0 without units. */
function pooledShare(parts: readonly (readonly [number, number])[]): number {
  let x = 0;
  let n = 0;
  for (const [c, u] of parts) {
    x += c;
    n += u;
  }
  return n > 0 ? x / n : 0;
}
