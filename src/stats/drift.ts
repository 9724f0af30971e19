/**
 * The production drift decision for one gate and window, from aggregated per-query counts. Pure.
 *
 * Drop rate: anytime-valid beta-binomial mixture test (mixture-test.ts) of the design-effect-deflated counts against
 * the tolerance band around the calibration's expected drop rate. Empty context: the same test, one-sided, on the
 * share of queries that lost every candidate (queries are independent units: no design effect).
 * Alarm when log E >= ln(1/alpha). Restart the window after an alarm or a refit (the caller owns windows).
 */
import { designEffect, type ClusterSums } from "./per-query";
import { logEvidence, priorFor, toleranceBand, type Band } from "./mixture-test";

export interface DriftConfig {
  /** False-alarm probability per gate per window (Ville's inequality bound). */
  readonly alpha: number;
  /** Business tolerance on the drop rate, in rate units (0.02 = 2 points). */
  readonly tolerance: number;
  /** Tolerance on the empty-context rate, in rate units. */
  readonly emptyContextTolerance: number;
  /** Prior strength of the mixture (pseudo-observations). */
  readonly priorStrength: number;
}

export const DEFAULT_DRIFT_CONFIG: DriftConfig = {
  alpha: 0.001,
  tolerance: 0.02,
  emptyContextTolerance: 0.02,
  priorStrength: 20,
};

/** What the calibration predicts. */
export interface CalibrationExpectation {
  readonly expectedDropRate: number;
  /** Calibration sample size in candidates (for sd_cal). */
  readonly n: number;
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
  /** ln(1/alpha): the evidence level that raises an alarm. */
  readonly logThreshold: number;
  readonly dropRate: RateTest;
  /** null when the calibration has no per-query statistics to compare against. */
  readonly emptyContext: RateTest | null;
}

/** Evaluates both tests on the window's running sums. O(1). */
export function evaluateDrift(sums: Readonly<ClusterSums>, cal: CalibrationExpectation, config: DriftConfig): DriftEvaluation {
  if (!(config.alpha > 0 && config.alpha < 1)) throw new RangeError(`evaluateDrift: alpha=${config.alpha}`);
  const logThreshold = Math.log(1 / config.alpha);
  const deff = designEffect(sums);
  const effectiveDropped = sums.dropped / deff;
  const effectiveKept = (sums.candidates - sums.dropped) / deff;
  const band = toleranceBand(cal.expectedDropRate, cal.n, config.tolerance, "both");
  const le = logEvidence(effectiveDropped, effectiveKept, band, priorFor(band, config.priorStrength));
  const dropRate: RateTest = {
    observed: sums.candidates > 0 ? sums.dropped / sums.candidates : null,
    expected: cal.expectedDropRate,
    band,
    logEvidence: le,
    alarm: le >= logThreshold,
  };
  let emptyContext: RateTest | null = null;
  if (cal.emptyContextRate !== null && cal.nQueries !== null) {
    const eBand = toleranceBand(cal.emptyContextRate, cal.nQueries, config.emptyContextTolerance, "upper");
    const eLe = logEvidence(sums.empty, sums.queries - sums.empty, eBand, priorFor(eBand, config.priorStrength));
    emptyContext = {
      observed: sums.queries > 0 ? sums.empty / sums.queries : null,
      expected: cal.emptyContextRate,
      band: eBand,
      logEvidence: eLe,
      alarm: eLe >= logThreshold,
    };
  }
  return {
    queries: sums.queries,
    candidates: sums.candidates,
    designEffect: deff,
    effectiveDropped,
    effectiveKept,
    logThreshold,
    dropRate,
    emptyContext,
  };
}
