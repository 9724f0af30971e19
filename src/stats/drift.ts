/**
 * The drift bands and the band e-values of one set of per-query counts from a fixed start. Pure. This is the building
 * block of the production change detector (drift-detector.ts), which sums these e-values over candidate change points.
 *
 * Drop rate: anytime-valid beta-binomial mixture test (mixture-test.ts) of the design-effect-deflated counts against
 * the tolerance band around the calibration's expected drop rate. Empty context: the same test, one-sided, on the
 * share of queries that lost every candidate (queries are independent units: no design effect), against an upper
 * confidence bound of the calibration's rate per candidate-count stratum (binomial-bound.ts).
 *
 * The false-alarm budget alpha is split. When the empty-context rate is tested as well, each of the two tests gets
 * a' = alpha/2; otherwise the drop-rate test gets a' = alpha. Each test spends:
 *  - a'/2 on the calibration's own error: the band reaches at least the a'/4 and 1 - a'/4 quantiles of the exact Beta
 *    law of the gate's true rate (calibration-margin.ts) at the calibration's effective size n / max(deff_cal,
 *    deff_prod), a'/4 on each side;
 *  - a'/2 on the sequential test: for a single fixed start, alarm when log E >= ln(2/a') (Ville's inequality);
 *    the detector uses its own threshold instead.
 * No alarm before `minQueries` queries: the design effect estimated from a handful of queries is too low under heavy
 * clustering (rho >= 0.2 false-alarmed within 10-20 queries without this floor). Reference: docs/drift.md.
 */
import { clopperPearsonUpperBound, jeffreysUpperBound } from "./binomial-bound";
import { atEffectiveSize, floorSignificant, lawAtMean, marginOf, type RateLaw } from "./calibration-margin";
import { EMPTY_CONTEXT_STRATA, type ExtrapolationCheck } from "./empty-context";
import { type Band, DEFAULT_PRIOR_STRENGTH, logEvidence, priorFor } from "./mixture-test";
import { type ClusterSums, designEffect } from "./per-query";

export interface DriftConfig {
  /** Probability of any false alarm per gate and calibration over `horizonQueries` queries (drift-detector.ts). */
  readonly alpha: number;
  /** Business tolerance on the drop rate, in rate units (0.02 = 2 points). */
  readonly tolerance: number;
  /** Tolerance on the empty-context rate, in rate units. */
  readonly emptyContextTolerance: number;
  /** Prior strength of the mixture (pseudo-observations). */
  readonly priorStrength: number;
  /** No alarm before this many queries in the window. */
  readonly minQueries: number;
  /** The change detector (e-detector.ts): a new candidate change point opens every this many queries at least. */
  readonly blockQueries: number;
  /** Most candidate change points kept per calibration. */
  readonly maxStarts: number;
  /** alpha bounds the false-alarm probability over this many queries after a reset of the detector. */
  readonly horizonQueries: number;
  /**
   * The empty-context test is armed only when the calibration's exact upper bound on its own rate exceeds the rate
   * by at most this much: a calibration of too few queries cannot bound it, and a test against a bound near 1 could
   * only ever detect a catastrophe.
   */
  readonly maxEmptyContextBoundExcess: number;
  /**
   * The drop-rate test (and the recall coverage test, coverage-test.ts) is armed only when its calibration margin
   * reaches at most this far from the centre: a calibration so small that its own rate is known only within +-25
   * points has no band that could see anything short of a broken gate, and says so instead of pretending.
   */
  readonly maxCalibrationMargin: number;
}

export const DEFAULT_DRIFT_CONFIG: DriftConfig = {
  alpha: 0.001,
  tolerance: 0.02,
  emptyContextTolerance: 0.02,
  priorStrength: DEFAULT_PRIOR_STRENGTH,
  minQueries: 100,
  blockQueries: 50,
  maxStarts: 48,
  horizonQueries: 1_000_000,
  maxEmptyContextBoundExcess: 0.1,
  maxCalibrationMargin: 0.25,
};

/** What the calibration predicts. */
export interface CalibrationExpectation {
  /** Where the gate's true drop rate is centred: k/(n+1) without ties at the threshold, F_n(t-) with them. */
  readonly expectedDropRate: number;
  /**
   * The exact law of the gate's true drop rate (calibration-margin.ts dropRateLaw); absent for calibrations published
   * before it was kept, whose margin uses the Beta law at their mean (lawAtMean).
   */
  readonly dropRateLaw?: RateLaw;
  /** Calibration sample size in candidates (for sd_cal). */
  readonly n: number;
  /** The calibration's design effect at its threshold when it was uploaded as queries (1 otherwise). */
  readonly designEffect?: number;
  /** The calibration's empty-context rate and query count, when it was uploaded as queries. */
  readonly emptyContextRate: number | null;
  readonly nQueries: number | null;
  /**
   * The calibration's empty-context rate per candidate-count stratum, aligned with EMPTY_CONTEXT_STRATA
   * (empty-context.ts); absent for calibrations fitted before strata were kept (then every production query is
   * compared with emptyContextRate).
   */
  readonly emptyContextStrata?: readonly CalibrationStratum[] | null;
  /** Per-calibration tolerances (absolute, rate units) that override the config's. */
  readonly tolerance?: number;
  readonly emptyContextTolerance?: number;
  /**
   * Guarded gates: the calibration's guarded drop counts per candidate-count stratum (aligned with
   * EMPTY_CONTEXT_STRATA). The drop-rate test then compares each stratum with its own rate (guards bind most on short
   * queries, so the pooled rate moves with the production mix of query sizes while the gate does not).
   */
  readonly dropRateStrata?: readonly DropStratum[] | null;
  /** Abstaining gates: the calibration's share of queries that abstain, its exact law when known, and its queries. */
  readonly abstention?: { readonly expectedRate: number; readonly law?: RateLaw; readonly queries: number } | null;
}

/** A calibration's guarded drop counts in one candidate-count stratum. */
export interface DropStratum {
  readonly queries: number;
  readonly candidates: number;
  readonly dropped: number;
}

/** A drop-rate stratum is tested from this many calibration queries of its size (fewer: not tested). */
export const MIN_DROP_STRATUM_QUERIES = 30;

export interface CalibrationStratum {
  readonly rate: number;
  readonly queries: number;
  /** Effective size of the rate's estimate (empty-context.ts); absent: `queries`. */
  readonly effectiveQueries?: number;
  readonly extrapolated: boolean;
  /**
   * "observed": `empty` of `queries` own queries, bounded exactly (Clopper-Pearson); "hypergeometric" or absent
   * (calibrations fitted before sources were kept): the extrapolation, bounded at its effective size (Jeffreys).
   */
  readonly source?: "observed" | "hypergeometric";
  readonly empty?: number;
  /**
   * The extrapolation's check on the calibration's own short queries (empty-context.ts): a hypergeometric stratum
   * after "failed" or "inconclusive" is not tested.
   */
  readonly extrapolationCheck?: ExtrapolationCheck | null;
}

/** The empty-context band of one candidate-count stratum. */
export interface StratumBand {
  /** The calibration's rate for the stratum (its lower end) and the band's upper end. */
  readonly expected: number;
  readonly band: Band;
  /** False when the calibration has too few queries of this size to bound the rate (the stratum is not tested). */
  readonly armable: boolean;
}

/** Why a test cannot alarm (null when it is armed). */
export type NotArmedReason = "too_few_queries" | "calibration_too_small" | null;

export interface RateTest {
  readonly observed: number | null;
  readonly expected: number;
  readonly band: Band;
  readonly logEvidence: number;
  readonly alarm: boolean;
  /** False while this test cannot alarm (too few queries; a calibration too small to bound its rate). */
  readonly armed: boolean;
  readonly notArmedReason: NotArmedReason;
}

/** The reason a test with these conditions is not armed; null when it is. */
export function notArmedReason(enoughQueries: boolean, calibrationBounds: boolean): NotArmedReason {
  if (!calibrationBounds) return "calibration_too_small";
  return enoughQueries ? null : "too_few_queries";
}

export interface DriftEvaluation {
  readonly queries: number;
  readonly candidates: number;
  readonly designEffect: number;
  readonly effectiveDropped: number;
  readonly effectiveKept: number;
  /** ln(2/a'), a' the test's share of alpha: the evidence level that raises an alarm. */
  readonly logThreshold: number;
  /** False until the window holds config.minQueries queries. */
  readonly armed: boolean;
  readonly dropRate: RateTest;
  /** null when the calibration has no per-query statistics to compare against. */
  readonly emptyContext: RateTest | null;
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
 * extrapolation, the extrapolation passed (or could not be given) its check on the calibration's short queries.
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
  if (testsAbstention && cal.abstention) {
    // Queries abstain one by one (independent units: no design effect); the margin spends a'/2 like the drop rate's.
    const a = cal.abstention;
    const [lo, hi] = marginOf(a.law ?? lawAtMean(a.expectedRate, a.queries), alphaPerTest / 4);
    abstention = { lo: Math.max(0, Math.min(a.expectedRate - tolerance, lo)), hi: Math.min(1, Math.max(a.expectedRate + tolerance, hi)) };
    abstentionArmable = Math.max(a.expectedRate - lo, hi - a.expectedRate) <= config.maxCalibrationMargin;
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
        const distrusted = st.source !== "observed" && (st.extrapolationCheck === "failed" || st.extrapolationCheck === "inconclusive");
        return distrusted ? { ...b, armable: false } : b;
      });
      emptyContextArmable = emptyStrata.some((b) => b.armable);
    }
  }
  return { alphaPerTest, dropRate, dropRateArmable, emptyContext, emptyContextArmable, emptyStrata, dropStrata, abstention, abstentionArmable };
}

/**
 * The drop-rate band of each candidate-count stratum of a guarded calibration: its own guarded rate p_b over its
 * candidates, the margin from the Beta law at the stratum's effective size (candidates / deff) at level a'/(4 S) a
 * side for the S strata with calibration candidates (Bonferroni), widened to the tolerance. A stratum is tested from
 * MIN_DROP_STRATUM_QUERIES calibration queries when its margin is within maxCalibrationMargin. A stratum whose
 * queries the guard decides alone (every query at most min_keep long) has rate 0 and no margin: any drop there means
 * the guard is not applied.
 */
function dropStrataBands(
  cal: CalibrationExpectation,
  config: DriftConfig,
  deffCal: number,
  alphaPerTest: number,
  tolerance: number,
): StratumBand[] | null {
  const strata = cal.dropRateStrata;
  if (!strata || strata.length !== EMPTY_CONTEXT_STRATA.length) return null;
  const measured = Math.max(1, strata.filter((st) => st.candidates > 0).length);
  return strata.map((st) => {
    if (st.candidates === 0) return { expected: 0, band: { lo: 0, hi: 1 }, armable: false };
    const p = st.dropped / st.candidates;
    const [lo, hi] = marginOf(lawAtMean(p, Math.max(1, st.candidates / deffCal)), alphaPerTest / (4 * measured));
    return {
      expected: p,
      band: { lo: Math.max(0, Math.min(p - tolerance, lo)), hi: Math.min(1, Math.max(p + tolerance, hi)) },
      armable: st.queries >= MIN_DROP_STRATUM_QUERIES && Math.max(p - lo, hi - p) <= config.maxCalibrationMargin,
    };
  });
}

/**
 * ln of the drop-rate e-value of a set of sums, counts deflated by the design effect: against the pooled band, or for a
 * guarded calibration the product over its tested strata of each stratum's band e-value (a query's size is known
 * before the gate acts on it, as for empty context). O(strata).
 */
export function dropRateLogEvidence(sums: Readonly<ClusterSums>, deff: number, bands: DriftBands, priorStrength: number): number {
  const strata = bands.dropStrata;
  if (strata === null) {
    return logEvidence(sums.dropped / deff, (sums.candidates - sums.dropped) / deff, bands.dropRate, priorFor(bands.dropRate, priorStrength));
  }
  let total = 0;
  strata.forEach((st, b) => {
    const c = sums.stratumCandidates?.[b] ?? 0;
    const d = sums.stratumDropped?.[b] ?? 0;
    if (st.armable && c > 0) total += logEvidence(d / deff, (c - d) / deff, st.band, priorFor(st.band, priorStrength));
  });
  return total;
}

/** ln of the abstention e-value: abstained against answered queries, against the band (-Infinity when not tested). */
export function abstentionLogEvidence(sums: Readonly<ClusterSums>, bands: DriftBands, priorStrength: number): number {
  if (bands.abstention === null) return -Infinity;
  const n = sums.abstentionQueries ?? 0;
  const x = sums.abstained ?? 0;
  return logEvidence(x, n - x, bands.abstention, priorFor(bands.abstention, priorStrength));
}

/**
 * The drop rate a guarded calibration expects of production's own mix of query sizes, and the band's ends, averaged
 * over the strata by production candidates (the pooled ones without strata or without production candidates). For
 * display; the test is dropRateLogEvidence.
 */
export function conditionedDropRate(sums: Readonly<ClusterSums>, bands: DriftBands, pooled: number): { expected: number; band: Band } {
  const strata = bands.dropStrata;
  const weights = sums.stratumCandidates;
  const total = weights?.reduce((a, b) => a + b, 0) ?? 0;
  if (strata === null || weights === undefined || total === 0) return { expected: pooled, band: bands.dropRate };
  let expected = 0;
  let lo = 0;
  let hi = 0;
  strata.forEach((st, b) => {
    const w = (weights[b] ?? 0) / total;
    expected += w * st.expected;
    lo += w * st.band.lo;
    hi += w * st.band.hi;
  });
  return { expected, band: { lo, hi } };
}

/**
 * ln of the empty-context e-value of a set of sums: the product over strata of each armable stratum's mixture
 * e-value (queries are independent and a query's candidate count is known before the gate acts on it, so the product
 * of the strata's test supermartingales is one), times the e-value of queries counted without a stratum against the
 * overall band. -Infinity when the calibration has no per-query statistics. O(strata).
 */
export function emptyContextLogEvidence(sums: Readonly<ClusterSums>, bands: DriftBands, priorStrength: number): number {
  if (bands.emptyContext === null) return -Infinity;
  const strata = bands.emptyStrata;
  if (strata === null || sums.stratumQueries === undefined || sums.stratumEmpty === undefined) {
    return logEvidence(sums.empty, sums.queries - sums.empty, bands.emptyContext, priorFor(bands.emptyContext, priorStrength));
  }
  let total = 0;
  let stratifiedQueries = 0;
  let stratifiedEmpty = 0;
  strata.forEach((st, b) => {
    const q = sums.stratumQueries![b] ?? 0;
    const e = sums.stratumEmpty![b] ?? 0;
    stratifiedQueries += q;
    stratifiedEmpty += e;
    if (st.armable && q > 0) total += logEvidence(e, q - e, st.band, priorFor(st.band, priorStrength));
  });
  const restQueries = sums.queries - stratifiedQueries;
  const restEmpty = sums.empty - stratifiedEmpty;
  if (restQueries > 0) total += logEvidence(restEmpty, restQueries - restEmpty, bands.emptyContext, priorFor(bands.emptyContext, priorStrength));
  return total;
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
 * Evaluates both tests on one set of running sums from a fixed start (the building block of the change detector,
 * drift-detector.ts). `designEffect` overrides the one estimated from `sums` (the detector estimates it once from all
 * its data). O(1).
 */
export function evaluateDrift(
  sums: Readonly<ClusterSums>,
  cal: CalibrationExpectation,
  config: DriftConfig,
  options: { readonly designEffect?: number } = {},
): DriftEvaluation {
  const deff = options.designEffect ?? designEffect(sums);
  const bands = driftBands(cal, config, deff);
  const logThreshold = Math.log(2 / bands.alphaPerTest);
  const armed = sums.queries >= config.minQueries;
  const effectiveDropped = sums.dropped / deff;
  const effectiveKept = (sums.candidates - sums.dropped) / deff;
  const band = bands.dropRate;
  const le = dropRateLogEvidence(sums, deff, bands, config.priorStrength);
  const dropArmed = armed && bands.dropRateArmable;
  const dropRate: RateTest = {
    observed: sums.candidates > 0 ? sums.dropped / sums.candidates : null,
    expected: cal.expectedDropRate,
    band,
    logEvidence: le,
    alarm: dropArmed && le >= logThreshold,
    armed: dropArmed,
    notArmedReason: notArmedReason(armed, bands.dropRateArmable),
  };
  let emptyContext: RateTest | null = null;
  if (bands.emptyContext !== null && cal.emptyContextRate !== null) {
    const eLe = emptyContextLogEvidence(sums, bands, config.priorStrength);
    const eArmed = armed && bands.emptyContextArmable;
    const conditioned = conditionedEmptyContext(sums, bands, cal.emptyContextRate);
    emptyContext = {
      observed: sums.queries > 0 ? sums.empty / sums.queries : null,
      expected: conditioned.expected,
      band: { lo: 0, hi: conditioned.hi },
      logEvidence: eLe,
      alarm: eArmed && eLe >= logThreshold,
      armed: eArmed,
      notArmedReason: notArmedReason(armed, bands.emptyContextArmable),
    };
  }
  return {
    queries: sums.queries,
    candidates: sums.candidates,
    designEffect: deff,
    effectiveDropped,
    effectiveKept,
    logThreshold,
    armed,
    dropRate,
    emptyContext,
  };
}
