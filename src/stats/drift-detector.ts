/**
 * The production drift decision of one calibration: the e-detector of e-detector.ts run over the band e-values of
 * drift-evidence.ts, for the drop rate and (when the calibration was uploaded as queries) the empty-context rate. Pure.
 *
 * Budget. alpha is split between the tests that run (a' = alpha/2 each when the empty-context rate is tested too,
 * a' = alpha otherwise). Each test spends a'/2 on the calibration's own error (the band's z_{1-a'/4} term) and a'/2 on
 * the detector: ln A = ln((H + 1) / (a'/2)) with H = horizonQueries / blockQueries starts. So the probability of
 * any false alarm during the first `horizonQueries` queries after a reset is at most alpha, and the average run
 * length to a false alarm is at least A starts (A blockQueries queries): docs/drift.md, "The change detector". That
 * bound is exact for independent candidates; with the design effects below, estimated from the same data and applied
 * to every start's counts, it is an approximation, which the seeded nulls listed there support.
 *
 * Design effect. Counts are deflated by the Kish design effect of everything the detector has seen since its reset
 * (per-query.ts), the most data there is; the calibration's band uses max(deff_cal, that). A guarded gate's drop-rate
 * strata deflate their counts by their own where production brought enough of their queries since the reset
 * (drift-bands.ts productionStratumDesignEffects). No alarm before `minQueries` queries, where the estimate is too low
 * under heavy clustering.
 */

import type { CalibrationExpectation } from "./calibration-expectation";
import { conditionedAbstention, conditionedDropRate, conditionedEmptyContext, type StrataCoverage, strataCoverage } from "./conditioned-rates";
import { notArmedReason, type RateTest } from "./drift";
import { type DriftBands, driftBands, productionStratumDesignEffects } from "./drift-bands";
import type { DriftConfig } from "./drift-config";
import { abstentionLogEvidence, dropRateLogEvidence, emptyContextLogEvidence } from "./drift-evidence";
import { type DetectorStart, type DetectorState, detectorAdd, detectorLogThreshold, readDetector } from "./e-detector";
import { type Guards, NO_GUARDS } from "./guarded-gate";
import type { Band } from "./mixture-test";
import { type ClusterSums, designEffect, type QueryObservation } from "./per-query";

/**
 * A stratified test's expectation for one set of queries other than the detector's: the same per-stratum rates and
 * bands, weighted by those queries' own units per stratum (conditioned-rates.ts).
 */
export interface StrataExpectation {
  readonly expected: number;
  readonly band: Band;
}

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
  /**
   * A stratified test, given the caller's window sums: `expected` and `band` for that window's own query sizes, where
   * the fields above are for the detector's (everything since its reset, which can span several windows, or, right
   * after an alarm, only the queries since). This is what the window's own observed rate compares with. null when the
   * window holds no units of the rate or kept no per-stratum counts; absent for a pooled test (it equals `expected`)
   * and when no window sums were given.
   */
  readonly window?: StrataExpectation | null;
}

export interface DetectorEvaluation {
  /** Queries and the design effect over the detector's data since its reset (the drop-rate test's: evaluateDetectors). */
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

/** The rate tests of a calibration, by their field in DetectorEvaluation. */
export type DriftTest = "dropRate" | "emptyContext" | "abstention";
export const DRIFT_TESTS: readonly DriftTest[] = ["dropRate", "emptyContext", "abstention"];

type Evidences = Readonly<Record<DriftTest, number>>;

function logEvidences(
  sums: Readonly<ClusterSums>,
  deff: number,
  stratumDeffs: readonly number[] | null,
  bands: DriftBands,
  config: DriftConfig,
): Evidences {
  return {
    dropRate: dropRateLogEvidence(sums, deff, bands, config.priorStrength, stratumDeffs),
    emptyContext: emptyContextLogEvidence(sums, bands, config.priorStrength),
    abstention: abstentionLogEvidence(sums, bands, config.priorStrength),
  };
}

/**
 * Adds a batch to the detector (a new state; the input is not mutated). `nowMs` tags a start opened by it. When a start
 * must go, the one with the least evidence for any of `tests` (the tests that read this state) goes.
 */
export function observeDetector(
  state: DetectorState,
  queries: readonly QueryObservation[],
  nowMs: number,
  cal: CalibrationExpectation,
  config: DriftConfig,
  guards: Guards = NO_GUARDS,
  tests: readonly DriftTest[] = DRIFT_TESTS,
): DetectorState {
  // Pruning scores every start against the same totals: the bands (a Jeffreys quantile per stratum) once per batch.
  let memo: { total: Readonly<ClusterSums>; deff: number; stratumDeffs: number[] | null; bands: DriftBands } | null = null;
  return detectorAdd(
    state,
    queries,
    nowMs,
    config,
    (sums, total, spread) => {
      if (memo === null || memo.total !== total) {
        const deff = designEffect(total);
        memo = { total, deff, stratumDeffs: productionStratumDesignEffects(spread, deff), bands: driftBands(cal, config, deff) };
      }
      const e = logEvidences(sums, memo.deff, memo.stratumDeffs, memo.bands, config);
      return Math.max(...tests.map((t) => e[t]));
    },
    guards,
  );
}

/**
 * Reads the detector's tests. With `windowSums` (the counts of the window the detector's state is shown in), each
 * stratified test also gives its expectation for that window's query sizes (DetectedRate.window). O(starts + strata).
 */
export function evaluateDetector(
  state: DetectorState,
  cal: CalibrationExpectation,
  config: DriftConfig,
  windowSums?: Readonly<ClusterSums>,
): DetectorEvaluation {
  const deff = designEffect(state.total);
  const stratumDeffs = productionStratumDesignEffects(state.stratumSpread, deff);
  const bands = driftBands(cal, config, deff);
  const logThreshold = detectorLogThreshold(bands.alphaPerTest / 2, Math.ceil(config.horizonQueries / config.blockQueries));
  const armed = state.total.queries >= config.minQueries;
  const cache = new Map<DetectorStart, Evidences>();
  const of = (s: DetectorStart) => {
    let v = cache.get(s);
    if (v === undefined) {
      v = logEvidences(s.sums, deff, stratumDeffs, bands, config);
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
    window: StrataExpectation | null | undefined = undefined,
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
    ...(window !== undefined ? { window } : {}),
  });
  // The window's own expectation: only a stratified test has one that differs from `expected`; a window that kept no
  // per-stratum counts (or holds no units of the rate) has none to give.
  const inWindow = (stratified: boolean, known: (w: Readonly<ClusterSums>) => boolean, of: (w: Readonly<ClusterSums>) => StrataExpectation) =>
    !stratified || windowSums === undefined ? undefined : known(windowSums) ? of(windowSums) : null;
  // Guarded: the expectation and band for the query sizes production brought since the reset (display; the test is per stratum).
  const drop = conditionedDropRate(total, bands, cal.expectedDropRate);
  const dropRate = rate(
    reading("dropRate"),
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
    inWindow(
      bands.dropStrata !== null,
      (w) => w.candidates > 0 && w.stratumEligible !== undefined && w.stratumEligibleDropped !== undefined,
      (w) => conditionedDropRate(w, bands, cal.expectedDropRate),
    ),
  );
  let abstention: DetectedRate | null = null;
  if (bands.abstention !== null && cal.abstention) {
    const asked = total.abstentionQueries ?? 0;
    // With strata: the expectation and band for the query sizes production brought since the reset (display).
    const abstentionRate = cal.abstention.expectedRate;
    const conditioned = conditionedAbstention(total, bands, abstentionRate);
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
      inWindow(
        bands.abstentionStrata !== null,
        (w) => (w.abstentionQueries ?? 0) > 0 && w.stratumAbstentionQueries !== undefined,
        (w) => conditionedAbstention(w, bands, abstentionRate),
      ),
    );
  }
  let emptyContext: DetectedRate | null = null;
  if (bands.emptyContext !== null && cal.emptyContextRate !== null) {
    // Expected rate and band for the candidate counts production brought since the reset (display; the test is per stratum).
    const emptyRate = cal.emptyContextRate;
    const conditioned = conditionedEmptyContext(total, bands, emptyRate);
    emptyContext = rate(
      reading("emptyContext"),
      total.queries > 0 ? total.empty / total.queries : null,
      conditioned.expected,
      { lo: 0, hi: conditioned.hi },
      bands.emptyContextArmable,
      (s) => (s.queries > 0 ? s.empty / s.queries : null),
      null,
      inWindow(
        bands.emptyStrata !== null,
        (w) => w.queries > 0 && w.stratumQueries !== undefined,
        (w) => {
          const c = conditionedEmptyContext(w, bands, emptyRate);
          return { expected: c.expected, band: { lo: 0, hi: c.hi } };
        },
      ),
    );
  }
  return { queries: total.queries, designEffect: deff, logThreshold, armed, dropRate, emptyContext, abstention, emptyStrata: bands.emptyStrata };
}

/**
 * Reads each test from its own detector state (`states`): a test restarted by its own alarm reads a state of its own,
 * while the others keep theirs (docs/drift.md, "After an alarm"). States shared by several tests (the same object) are
 * evaluated once; when all three are one, this is evaluateDetector. The evaluation's `queries`, `designEffect` and
 * `armed` are the drop-rate test's, `emptyStrata` the empty-context test's; `logThreshold` does not depend on the
 * state. O(starts + strata) per distinct state.
 */
export function evaluateDetectors(
  states: Readonly<Record<DriftTest, DetectorState>>,
  cal: CalibrationExpectation,
  config: DriftConfig,
  windowSums?: Readonly<ClusterSums>,
): DetectorEvaluation {
  const evaluated = new Map<DetectorState, DetectorEvaluation>();
  const of = (s: DetectorState): DetectorEvaluation => {
    let ev = evaluated.get(s);
    if (ev === undefined) {
      ev = evaluateDetector(s, cal, config, windowSums);
      evaluated.set(s, ev);
    }
    return ev;
  };
  const drop = of(states.dropRate);
  const empty = of(states.emptyContext);
  const abstention = of(states.abstention);
  if (empty === drop && abstention === drop) return drop;
  return { ...drop, emptyContext: empty.emptyContext, emptyStrata: empty.emptyStrata, abstention: abstention.abstention };
}
