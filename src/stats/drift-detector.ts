/**
 * The production drift decision of one calibration: the e-detector of e-detector.ts run over the band e-values of
 * drift-evidence.ts, for the drop rate and (when the calibration was uploaded as queries) the empty-context rate. Pure.
 *
 * Budget. alpha is split between the tests that run (a' = alpha/2 each when the empty-context rate is tested too,
 * a' = alpha otherwise). Each test spends a'/2 on the calibration's own error (the band's z_{1-a'/4} term) and a'/2 on
 * the detector: ln A = ln((H + 1) / (a'/2)) with H = horizonQueries / blockQueries starts. So the probability of
 * any false alarm during the first `horizonQueries` queries after a reset is at most alpha, and the average run
 * length to a false alarm is at least A starts (A blockQueries queries): docs/drift.md, "The change detector".
 *
 * Design effect. Counts are deflated by the Kish design effect of everything the detector has seen since its reset
 * (per-query.ts), the most data there is; the calibration's band uses max(deff_cal, that). No alarm before
 * `minQueries` queries, where the estimate is too low under heavy clustering.
 */

import type { CalibrationExpectation } from "./calibration-expectation";
import { conditionedAbstention, conditionedDropRate, conditionedEmptyContext, type StrataCoverage, strataCoverage } from "./conditioned-rates";
import { notArmedReason, type RateTest } from "./drift";
import { type DriftBands, driftBands } from "./drift-bands";
import type { DriftConfig } from "./drift-config";
import { abstentionLogEvidence, dropRateLogEvidence, emptyContextLogEvidence } from "./drift-evidence";
import { type DetectorStart, type DetectorState, detectorAdd, detectorLogThreshold, readDetector } from "./e-detector";
import { type Guards, NO_GUARDS } from "./guarded-gate";
import { type ClusterSums, designEffect, type QueryObservation } from "./per-query";

export interface DetectedRate extends RateTest {
  /** The caller's tag (epoch ms) of the start with the most evidence: the evidence accumulates since then. */
  readonly since: number | null;
  /** Queries since that start. */
  readonly sinceQueries: number | null;
  /**
   * The observed rate since that start: what the evidence is about (the window's `observed` is cumulative and can sit
   * inside the band long after a shift began). null before any start, or when the start holds no units of the rate.
   */
  readonly sinceObserved: number | null;
  /**
   * A stratified test (guarded drop rate, abstention with the calibration's strata): how many strata are tested, and
   * the share of production's units since the reset (candidates a threshold decides; queries that reported abstention)
   * that fell in them. Absent for a pooled test.
   */
  readonly strata?: StrataCoverage;
  /**
   * Queries the detector still needs since its reset before this test can alarm (config.minQueries less those it
   * holds); null when it is armed, or when more queries would not arm it (a calibration too small to bound its rate).
   * A restarted detector gathers evidence before it is armed: its evidence can stand above the alarm level then, and
   * alarms once the test is armed if it still does.
   */
  readonly queriesToArm: number | null;
}

export interface DetectorEvaluation {
  /** Queries and the design effect over the detector's data since its reset. */
  readonly queries: number;
  readonly designEffect: number;
  /** ln A: the evidence level that raises an alarm. */
  readonly logThreshold: number;
  readonly armed: boolean;
  readonly dropRate: DetectedRate;
  readonly emptyContext: DetectedRate | null;
  /** The abstention rate's test (null: the calibration does not abstain). */
  readonly abstention: DetectedRate | null;
  /** The empty-context band of each candidate-count stratum (null without the calibration's strata). */
  readonly emptyStrata: DriftBands["emptyStrata"];
}

interface Evidences {
  readonly drop: number;
  readonly empty: number;
  readonly abstention: number;
}

function logEvidences(sums: Readonly<ClusterSums>, deff: number, bands: DriftBands, config: DriftConfig): Evidences {
  return {
    drop: dropRateLogEvidence(sums, deff, bands, config.priorStrength),
    empty: emptyContextLogEvidence(sums, bands, config.priorStrength),
    abstention: abstentionLogEvidence(sums, bands, config.priorStrength),
  };
}

/** Adds a batch to the detector (a new state; the input is not mutated). `nowMs` tags a start opened by it. */
export function observeDetector(
  state: DetectorState,
  queries: readonly QueryObservation[],
  nowMs: number,
  cal: CalibrationExpectation,
  config: DriftConfig,
  guards: Guards = NO_GUARDS,
): DetectorState {
  // Pruning scores every start against the same totals: the bands (a Jeffreys quantile per stratum) once per batch.
  let memo: { total: Readonly<ClusterSums>; deff: number; bands: DriftBands } | null = null;
  return detectorAdd(
    state,
    queries,
    nowMs,
    config,
    (sums, total) => {
      if (memo === null || memo.total !== total) {
        const deff = designEffect(total);
        memo = { total, deff, bands: driftBands(cal, config, deff) };
      }
      const e = logEvidences(sums, memo.deff, memo.bands, config);
      return Math.max(e.drop, e.empty, e.abstention);
    },
    guards,
  );
}

/** Reads both detectors. O(starts). */
export function evaluateDetector(state: DetectorState, cal: CalibrationExpectation, config: DriftConfig): DetectorEvaluation {
  const deff = designEffect(state.total);
  const bands = driftBands(cal, config, deff);
  const logThreshold = detectorLogThreshold(bands.alphaPerTest / 2, Math.ceil(config.horizonQueries / config.blockQueries));
  const armed = state.total.queries >= config.minQueries;
  const cache = new Map<DetectorStart, Evidences>();
  const of = (s: DetectorStart) => {
    let v = cache.get(s);
    if (v === undefined) {
      v = logEvidences(s.sums, deff, bands, config);
      cache.set(s, v);
    }
    return v;
  };
  const byStart = new Map(state.starts.map((s) => [s.sums, s] as const));
  const reading = (pick: keyof Evidences) => readDetector(state, (sums) => of(byStart.get(sums as ClusterSums)!)[pick]);
  const total = state.total;
  const rate = (
    r: ReturnType<typeof reading>,
    observed: number | null,
    expected: number,
    band: { lo: number; hi: number },
    calibrationBounds: boolean,
    sinceRate: (sums: ClusterSums) => number | null,
    strata: StrataCoverage | null = null,
  ): DetectedRate => ({
    observed,
    expected,
    band,
    logEvidence: r.strongest === null ? 0 : r.logStatistic,
    alarm: armed && calibrationBounds && r.logStatistic >= logThreshold,
    armed: armed && calibrationBounds,
    notArmedReason: notArmedReason(armed, calibrationBounds),
    queriesToArm: calibrationBounds && !armed ? config.minQueries - total.queries : null,
    since: r.strongest?.openedAt ?? null,
    sinceQueries: r.strongest === null ? null : total.queries - r.strongest.queriesBefore,
    sinceObserved: r.strongest === null ? null : sinceRate(r.strongest.sums),
    ...(strata !== null ? { strata } : {}),
  });
  // Guarded: the expectation and band for the query sizes production brought since the reset (display; the test is per stratum).
  const drop = conditionedDropRate(total, bands, cal.expectedDropRate);
  const dropRate = rate(
    reading("drop"),
    total.candidates > 0 ? total.dropped / total.candidates : null,
    drop.expected,
    drop.band,
    bands.dropRateArmable,
    (s) => (s.candidates > 0 ? s.dropped / s.candidates : null),
    bands.dropStrata === null
      ? null
      : strataCoverage(
          bands.dropStrata,
          // Strata whose queries the guards decide alone have nothing to test.
          (cal.dropRateStrata ?? []).map((st) => (st.eligible > 0 ? st.queries : 0)),
          total.stratumEligible,
        ),
  );
  let abstention: DetectedRate | null = null;
  if (bands.abstention !== null && cal.abstention) {
    const asked = total.abstentionQueries ?? 0;
    // With strata: the expectation and band for the query sizes production brought since the reset (display).
    const conditioned = conditionedAbstention(total, bands, cal.abstention.expectedRate);
    abstention = rate(
      reading("abstention"),
      asked > 0 ? (total.abstained ?? 0) / asked : null,
      conditioned.expected,
      conditioned.band,
      bands.abstentionArmable,
      (s) => ((s.abstentionQueries ?? 0) > 0 ? (s.abstained ?? 0) / s.abstentionQueries! : null),
      bands.abstentionStrata === null
        ? null
        : strataCoverage(
            bands.abstentionStrata,
            (cal.abstention.strata ?? []).map((st) => st.queries),
            total.stratumAbstentionQueries,
          ),
    );
  }
  let emptyContext: DetectedRate | null = null;
  if (bands.emptyContext !== null && cal.emptyContextRate !== null) {
    // Expected rate and band for the candidate counts production brought since the reset (display; the test is per stratum).
    const conditioned = conditionedEmptyContext(total, bands, cal.emptyContextRate);
    emptyContext = rate(
      reading("empty"),
      total.queries > 0 ? total.empty / total.queries : null,
      conditioned.expected,
      { lo: 0, hi: conditioned.hi },
      bands.emptyContextArmable,
      (s) => (s.queries > 0 ? s.empty / s.queries : null),
    );
  }
  return { queries: total.queries, designEffect: deff, logThreshold, armed, dropRate, emptyContext, abstention, emptyStrata: bands.emptyStrata };
}
