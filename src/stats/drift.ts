/**
 * The production drift decision for one gate and window, from aggregated per-query counts. Pure.
 *
 * Drop rate: anytime-valid beta-binomial mixture test (mixture-test.ts) of the design-effect-deflated counts against
 * the tolerance band around the calibration's expected drop rate. Empty context: the same test, one-sided, on the
 * share of queries that lost every candidate (queries are independent units: no design effect).
 *
 * The false-alarm budget alpha is split (measured in bench/results/drift.md). When the empty-context rate is tested
 * as well, each of the two tests gets a' = alpha/2; otherwise the drop-rate test gets a' = alpha. Each test spends:
 *  - a'/2 on the calibration's own error: the band's half-width is at least z sd_cal with z = z_{1-a'/4}
 *    (two-sided; 3.48 at a' = 0.001), sd_cal from the calibration's effective size n / deff_cal;
 *  - a'/2 on the sequential test: alarm when log E >= ln(2/a') (Ville's inequality).
 * No alarm before MIN_QUERIES_FOR_ALARM queries: the design effect estimated from a handful of queries is too low
 * under heavy clustering (rho >= 0.2 false-alarmed within 10-20 queries without this floor).
 * Restart the window after an alarm or a refit (the caller owns windows).
 */
import { designEffect, type ClusterSums } from "./per-query";
import { DEFAULT_PRIOR_STRENGTH, logEvidence, priorFor, toleranceBand, type Band } from "./mixture-test";
import { zInv } from "./special";

export interface DriftConfig {
  /** False-alarm probability per gate per window (Ville's inequality bound). */
  readonly alpha: number;
  /** Business tolerance on the drop rate, in rate units (0.02 = 2 points). */
  readonly tolerance: number;
  /** Tolerance on the empty-context rate, in rate units. */
  readonly emptyContextTolerance: number;
  /** Prior strength of the mixture (pseudo-observations). */
  readonly priorStrength: number;
  /** No alarm before this many queries in the window. */
  readonly minQueries: number;
}

export const DEFAULT_DRIFT_CONFIG: DriftConfig = {
  alpha: 0.001,
  tolerance: 0.02,
  emptyContextTolerance: 0.02,
  priorStrength: DEFAULT_PRIOR_STRENGTH,
  minQueries: 100,
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
}

export interface RateTest {
  readonly observed: number | null;
  readonly expected: number;
  readonly band: Band;
  readonly logEvidence: number;
  readonly alarm: boolean;
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

/** Evaluates both tests on the window's running sums. O(1). */
export function evaluateDrift(sums: Readonly<ClusterSums>, cal: CalibrationExpectation, config: DriftConfig): DriftEvaluation {
  if (!(config.alpha > 0 && config.alpha < 1)) throw new RangeError(`evaluateDrift: alpha=${config.alpha}`);
  // Two tests share the window's false-alarm budget when the empty-context rate is tested too.
  const testsEmpty = cal.emptyContextRate !== null && cal.nQueries !== null;
  const alphaPerTest = testsEmpty ? config.alpha / 2 : config.alpha;
  const logThreshold = Math.log(2 / alphaPerTest);
  const armed = sums.queries >= config.minQueries;
  const deff = designEffect(sums);
  const effectiveDropped = sums.dropped / deff;
  const effectiveKept = (sums.candidates - sums.dropped) / deff;
  const nCalEffective = cal.n / Math.max(1, cal.designEffect ?? 1);
  const band = toleranceBand(cal.expectedDropRate, nCalEffective, config.tolerance, "both", zInv(1 - alphaPerTest / 4));
  const le = logEvidence(effectiveDropped, effectiveKept, band, priorFor(band, config.priorStrength));
  const dropRate: RateTest = {
    observed: sums.candidates > 0 ? sums.dropped / sums.candidates : null,
    expected: cal.expectedDropRate,
    band,
    logEvidence: le,
    alarm: armed && le >= logThreshold,
  };
  let emptyContext: RateTest | null = null;
  if (testsEmpty && cal.emptyContextRate !== null && cal.nQueries !== null) {
    const eBand = toleranceBand(cal.emptyContextRate, cal.nQueries, config.emptyContextTolerance, "upper", zInv(1 - alphaPerTest / 2));
    const eLe = logEvidence(sums.empty, sums.queries - sums.empty, eBand, priorFor(eBand, config.priorStrength));
    emptyContext = {
      observed: sums.queries > 0 ? sums.empty / sums.queries : null,
      expected: cal.emptyContextRate,
      band: eBand,
      logEvidence: eLe,
      alarm: armed && eLe >= logThreshold,
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
