/**
 * The drift bands and the band e-values of one set of per-query counts from a fixed start. Pure. This is the building
 * block of the production change detector (drift-detector.ts), which sums these e-values over candidate change points.
 *
 * Drop rate: anytime-valid beta-binomial mixture test (mixture-test.ts) of the design-effect-deflated counts against
 * the tolerance band around the calibration's expected drop rate. Empty context: the same test, one-sided, on the
 * share of queries that lost every candidate (queries are independent units: no design effect), against the exact
 * Jeffreys upper bound of the calibration's rate (binomial-bound.ts).
 *
 * The false-alarm budget alpha is split. When the empty-context rate is tested as well, each of the two tests gets
 * a' = alpha/2; otherwise the drop-rate test gets a' = alpha. Each test spends:
 *  - a'/2 on the calibration's own error: the band's half-width is at least z sd_cal with z = z_{1-a'/4}
 *    (two-sided; 3.48 at a' = 0.001), sd_cal from the calibration's effective size n / max(deff_cal, deff_prod);
 *  - a'/2 on the sequential test: for a single fixed start, alarm when log E >= ln(2/a') (Ville's inequality);
 *    the detector uses its own threshold instead.
 * No alarm before `minQueries` queries: the design effect estimated from a handful of queries is too low under heavy
 * clustering (rho >= 0.2 false-alarmed within 10-20 queries without this floor). Reference: docs/drift.md.
 */
import { jeffreysUpperBound } from "./binomial-bound";
import { designEffect, type ClusterSums } from "./per-query";
import { DEFAULT_PRIOR_STRENGTH, logEvidence, priorFor, toleranceBand, type Band } from "./mixture-test";
import { zInv } from "./special";

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
};

/** What the calibration predicts. */
export interface CalibrationExpectation {
  readonly expectedDropRate: number;
  /** Calibration sample size in candidates (for sd_cal). */
  readonly n: number;
  /** The calibration's design effect at its threshold when it was uploaded as queries (1 otherwise). */
  readonly designEffect?: number;
  /** The calibration's empty-context rate and query count, when it was uploaded as queries. */
  readonly emptyContextRate: number | null;
  readonly nQueries: number | null;
  /** Per-calibration tolerances (absolute, rate units) that override the config's. */
  readonly tolerance?: number;
  readonly emptyContextTolerance?: number;
}

export interface RateTest {
  readonly observed: number | null;
  readonly expected: number;
  readonly band: Band;
  readonly logEvidence: number;
  readonly alarm: boolean;
  /** False while this test cannot alarm (too few queries; for empty context also a calibration too small to bound its rate). */
  readonly armed: boolean;
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
  /** null when the calibration has no per-query statistics. */
  readonly emptyContext: Band | null;
  readonly emptyContextArmable: boolean;
}

/**
 * Bands: the drop rate's is p0 +- max(tolerance, z_{1-a'/4} sd_cal), sd_cal from the calibration's effective size
 * n / max(deff_cal, deff_production): a calibration uploaded flat has deff_cal = 1 by construction, so the clustering
 * production shows floors it. The empty-context band is [0, max(e0 + tolerance, U)], U the Jeffreys upper bound of the
 * calibration's rate at level 1 - a'/2 (binomial-bound.ts): exact where the Wald sd was 0 for a calibration without
 * an empty query.
 */
export function driftBands(cal: CalibrationExpectation, config: DriftConfig, productionDesignEffect: number): DriftBands {
  if (!(config.alpha > 0 && config.alpha < 1)) throw new RangeError(`driftBands: alpha=${config.alpha}`);
  const testsEmpty = cal.emptyContextRate !== null && cal.nQueries !== null && cal.nQueries > 0;
  const alphaPerTest = testsEmpty ? config.alpha / 2 : config.alpha;
  const deffCal = Math.max(1, cal.designEffect ?? 1, productionDesignEffect);
  const tolerance = cal.tolerance ?? config.tolerance;
  const dropRate = toleranceBand(cal.expectedDropRate, cal.n / deffCal, tolerance, "both", zInv(1 - alphaPerTest / 4));
  let emptyContext: Band | null = null;
  let emptyContextArmable = false;
  if (testsEmpty && cal.emptyContextRate !== null && cal.nQueries !== null) {
    const q = cal.nQueries;
    const x = Math.min(q, Math.max(0, Math.round(cal.emptyContextRate * q)));
    const upper = jeffreysUpperBound(x, q, 1 - alphaPerTest / 2);
    const hi = Math.min(1, Math.max(cal.emptyContextRate + (cal.emptyContextTolerance ?? config.emptyContextTolerance), upper));
    emptyContext = { lo: 0, hi };
    emptyContextArmable = upper - cal.emptyContextRate <= config.maxEmptyContextBoundExcess;
  }
  return { alphaPerTest, dropRate, emptyContext, emptyContextArmable };
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
  const le = logEvidence(effectiveDropped, effectiveKept, band, priorFor(band, config.priorStrength));
  const dropRate: RateTest = {
    observed: sums.candidates > 0 ? sums.dropped / sums.candidates : null,
    expected: cal.expectedDropRate,
    band,
    logEvidence: le,
    alarm: armed && le >= logThreshold,
    armed,
  };
  let emptyContext: RateTest | null = null;
  if (bands.emptyContext !== null && cal.emptyContextRate !== null) {
    const eBand = bands.emptyContext;
    const eLe = logEvidence(sums.empty, sums.queries - sums.empty, eBand, priorFor(eBand, config.priorStrength));
    const eArmed = armed && bands.emptyContextArmable;
    emptyContext = {
      observed: sums.queries > 0 ? sums.empty / sums.queries : null,
      expected: cal.emptyContextRate,
      band: eBand,
      logEvidence: eLe,
      alarm: eArmed && eLe >= logThreshold,
      armed: eArmed,
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
