/**
 * The drift tests of one set of per-query counts from a fixed start: the bands (drift-bands.ts), the band e-values
 * (drift-evidence.ts) and the alarm. Pure. This is the building block of the production change detector
 * (drift-detector.ts), which sums these e-values over candidate change points.
 *
 * The false-alarm budget alpha is split between the tests and, within each, between the calibration's own error and
 * the sequential test (drift-bands.ts): for a single fixed start a test alarms when log E >= ln(2/a'), a' its share
 * of alpha (Ville's inequality); the detector uses its own threshold instead.
 * No alarm before `minQueries` queries: the design effect estimated from a handful of queries is too low under heavy
 * clustering (rho >= 0.2 false-alarmed within 10-20 queries without this floor). Reference: docs/drift.md.
 */
import type { CalibrationExpectation } from "./calibration-expectation";
import { conditionedEmptyContext } from "./conditioned-rates";
import { driftBands } from "./drift-bands";
import type { DriftConfig } from "./drift-config";
import { dropRateLogEvidence, emptyContextLogEvidence } from "./drift-evidence";
import type { Band } from "./mixture-test";
import { type ClusterSums, designEffect } from "./per-query";

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

/**
 * Evaluates both tests on one set of running sums from a fixed start: the per-window test from before the change
 * detector, kept for the simulations that compare with it (bench/detector-sim.ts, bench/drift-sim.ts) and its tests.
 * The Worker's detector (drift-detector.ts) does not call it: it sums dropRateLogEvidence over its change points and
 * deflates a stratum's counts by that stratum's own production design effect, where this deflates every stratum by
 * the pooled one. `designEffect` overrides the one estimated from `sums`. O(1).
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
