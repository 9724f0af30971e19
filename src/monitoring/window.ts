/**
 * One drift window of one calibration: running per-query sums and a bounded score reservoir for display (the counts
 * people read per day), and the calibration's change detector (stats/drift-detector.ts), which the window carries but
 * which does not restart with it: a test's evidence is reset only by its own alarm (restartDetector). Pure: the
 * GateMonitor Durable Object stores it; time and randomness come in as arguments.
 */

import { calibrationExpectation, type Expectation } from "../calibrations/expectation";
import type { AlarmedRate, AlertKind, WindowStatus } from "../contract";
import { DEFAULT_DRIFT_CONFIG, type DriftConfig } from "../stats/drift-config";
import { type DetectedRate, type DetectorEvaluation, type DriftTest, evaluateDetectors, observeDetector } from "../stats/drift-detector";
import { type DetectorState, newDetector } from "../stats/e-detector";
import { EMPTY_CONTEXT_STRATA } from "../stats/empty-context";
import { NO_GUARDS } from "../stats/guarded-gate";
import { addObservation, type ClusterSums, cloneSums, emptyClusterSums, type QueryObservation } from "../stats/per-query";

/** Scores kept per gate window (uniform reservoir sample) for the production score distribution. */
export const SCORE_RESERVOIR_SIZE = 2_000;

/**
 * Length of a drift window: the counts the monitor shows per day. The change detector does not restart with it (only
 * after an alarm or for a new calibration).
 */
export const DRIFT_WINDOW_MS = 24 * 3600 * 1000;

export interface WindowState {
  readonly calibration_id: string;
  readonly index_version: string;
  readonly expectation: Expectation;
  readonly started_at: number;
  readonly batches: number;
  readonly sums: ClusterSums;
  readonly alarms: number;
  /** Uniform reservoir sample of production scores (Vitter's algorithm R), at most SCORE_RESERVOIR_SIZE. */
  readonly reservoir: number[];
  /** Scores offered to the reservoir so far. */
  readonly seen: number;
  /**
   * The change detector, carried from the previous window of the calibration (absent in states stored before it): the
   * evidence of every rate test without one of its own in `test_detectors`.
   */
  readonly detector?: DetectorState;
  /**
   * The detector of each rate test an alarm of its own restarted while another test kept its evidence in `detector`
   * (restartDetector). Absent when every test reads `detector`, as in states stored before tests restarted apart.
   */
  readonly test_detectors?: TestDetectors;
  /**
   * The traffic the window counts: served (the gate's own) or shadow (mirrored queries of a shadow calibration). A
   * window never mixes them (gate-monitor/monitor.ts). Absent in windows stored before it was kept.
   */
  readonly role?: WindowTraffic;
  /** Each rate test's last alarm in this window, as it stood then (absent before one, and in states stored before). */
  readonly alarmed?: WindowAlarms;
  /**
   * Candidates the batches reported without a score (the queries' fifth count): never in `sums`, which the tests read.
   * Absent in states stored before they were counted (read 0).
   */
  readonly unscored?: number;
  /** When this window raised its unscored_candidates alert (unscored.ts: once a window); absent before. */
  readonly unscored_alerted_at?: number;
}

/** The rate tests that restarted apart from the window's shared detector, each with its own (WindowState.test_detectors). */
export type TestDetectors = Partial<Record<RateTestName, DetectorState>>;

/** Each rate test's last alarm, as it stood then: carried from a calibration's window to the next (gate-monitor/windows.ts). */
export type WindowAlarms = Partial<Record<RateTestName, AlarmedRate>>;

/** The rate tests of a window, by their field in WindowStatus, and the alert kind each raises. */
export const RATE_TEST_KINDS = {
  drop_rate: "drop_rate_drift",
  empty_context: "empty_context",
  abstention: "abstention_drift",
} as const satisfies Record<string, AlertKind>;
export type RateTestName = keyof typeof RATE_TEST_KINDS;
const RATE_TESTS = Object.keys(RATE_TEST_KINDS) as RateTestName[];
/** Each rate test's field in the detector's evaluation (stats/drift-detector.ts). */
const DRIFT_TEST_OF = { drop_rate: "dropRate", empty_context: "emptyContext", abstention: "abstention" } as const satisfies Record<
  RateTestName,
  DriftTest
>;

/** What a window of the `windows` table counts (a promotion's candidate arm has its own, gate-monitor/live-evidence.ts). */
export type WindowTraffic = "served" | "shadow";

export function newWindow(
  calibrationId: string,
  indexVersion: string,
  expectation: Expectation,
  nowMs: number,
  alarms = 0,
  detector: DetectorState = newDetector(),
): WindowState {
  return {
    detector,
    calibration_id: calibrationId,
    index_version: indexVersion,
    expectation,
    started_at: nowMs,
    batches: 0,
    sums: emptyClusterSums(),
    alarms,
    reservoir: [],
    seen: 0,
  };
}

/** A window's mean candidates per query is reported as changed beyond this relative difference from the calibration's. */
export const CANDIDATES_CHANGE_RATIO = 0.25;
/** ... once the window holds this many queries. */
export const CANDIDATES_CHANGE_MIN_QUERIES = 100;

export const windowExpired = (w: WindowState, nowMs: number): boolean => nowMs >= w.started_at + DRIFT_WINDOW_MS;

/**
 * Adds a batch: per-query counts (to the window and to its change detector, whose new candidate change point, if
 * one opens, is tagged `nowMs`; the unscored candidates only to the window's own count) and an optional score sample. `random()` returns uniform [0, 1) (reservoir only).
 * Returns a new state (the input is not mutated).
 */
export function addBatch(
  w: WindowState,
  queries: readonly QueryObservation[],
  scores: readonly number[] | null,
  random: () => number,
  nowMs: number = w.started_at,
  config: DriftConfig = DEFAULT_DRIFT_CONFIG,
): WindowState {
  const g = w.expectation.guards;
  const guards = g ? { minKeep: g.min_keep, maxKeep: g.max_keep } : NO_GUARDS;
  const cal = calibrationExpectation(w.expectation);
  const own = w.test_detectors;
  // The shared detector's starts are pruned by the evidence of the tests that still read it; each test's own by its own.
  const readers = RATE_TESTS.filter((t) => own?.[t] === undefined).map((t) => DRIFT_TEST_OF[t]);
  const detector = observeDetector(w.detector ?? newDetector(), queries, nowMs, cal, config, guards, readers);
  let testDetectors: TestDetectors | undefined;
  if (own !== undefined) {
    const next: TestDetectors = {};
    for (const t of RATE_TESTS) {
      const d = own[t];
      if (d !== undefined) next[t] = observeDetector(d, queries, nowMs, cal, config, guards, [DRIFT_TEST_OF[t]]);
    }
    testDetectors = next;
  }
  const sums = cloneSums(w.sums);
  let unscored = w.unscored ?? 0;
  for (const q of queries) {
    addObservation(sums, q, guards);
    unscored += q[4] ?? 0;
  }
  const reservoir = [...w.reservoir];
  let seen = w.seen;
  for (const s of scores ?? []) {
    seen++;
    if (reservoir.length < SCORE_RESERVOIR_SIZE) reservoir.push(s);
    else {
      const j = Math.floor(random() * seen);
      if (j < SCORE_RESERVOIR_SIZE) reservoir[j] = s;
    }
  }
  return {
    ...w,
    batches: w.batches + 1,
    sums,
    reservoir,
    seen,
    detector,
    ...(testDetectors !== undefined ? { test_detectors: testDetectors } : {}),
    ...(unscored > 0 ? { unscored } : {}),
  };
}

/**
 * The detector's tests, each read from its own detector (test_detectors, else the shared one), with each stratified
 * test's expectation for this window's own query sizes too.
 */
export function evaluateWindow(w: WindowState, config: DriftConfig): DetectorEvaluation {
  const shared = w.detector ?? newDetector();
  const of = (t: RateTestName) => w.test_detectors?.[t] ?? shared;
  return evaluateDetectors(
    { dropRate: of("drop_rate"), emptyContext: of("empty_context"), abstention: of("abstention") },
    calibrationExpectation(w.expectation),
    config,
    w.sums,
  );
}

/**
 * The window after an alarm decided on `status` (its status with the batch that alarmed) at `nowMs`: the tests that
 * alarmed restarted, so a continued shift alarms again on fresh evidence, and the others keep theirs (an alarm of one
 * test is no evidence about another, and restarting a test that needs more queries to arm at every alarm of a faster
 * one would hide its shift for good); the counts kept (the day's rate is still the day's); each alarmed test's
 * numbers kept as they stood. A new state (the input is not mutated).
 *
 * The tests share one detector until they part: when every test that reads the shared detector alarmed, it restarts
 * for them (and the alarmed tests with a detector of their own rejoin it, fresh too); otherwise each alarmed test
 * gets a fresh detector of its own. A test reads one detector either way, restarted only at its own alarms.
 */
export function restartDetector(w: WindowState, status: WindowStatus, ev: DetectorEvaluation, nowMs: number): WindowState {
  const fired: Record<RateTestName, boolean> = {
    drop_rate: ev.dropRate.alarm,
    empty_context: ev.emptyContext?.alarm === true,
    abstention: ev.abstention?.alarm === true,
  };
  const alarmed = { ...w.alarmed };
  for (const name of Object.keys(RATE_TEST_KINDS) as RateTestName[]) {
    const t = status[name];
    if (!fired[name] || !t) continue;
    alarmed[name] = {
      at: new Date(nowMs).toISOString(),
      queries: name === "abstention" ? (status.abstention_queries ?? 0) : status.queries,
      observed: t.observed,
      expected: t.expected,
      band: t.band,
      log_evidence: t.log_evidence,
      log_threshold: status.log_threshold,
      evidence_since: t.evidence_since,
      evidence_queries: t.evidence_queries,
      evidence_observed: t.evidence_observed ?? null,
      ...(t.expected_window !== undefined ? { expected_window: t.expected_window, band_window: t.band_window ?? null } : {}),
    };
  }
  // The tests this calibration runs (the drop rate always): a test it does not run never alarms and holds nothing back.
  const runs = (t: RateTestName) => t === "drop_rate" || (t === "empty_context" ? ev.emptyContext : ev.abstention) !== null;
  const own: TestDetectors = { ...w.test_detectors };
  let detector = w.detector ?? newDetector();
  if (RATE_TESTS.filter((t) => runs(t) && own[t] === undefined).every((t) => fired[t])) {
    detector = newDetector();
    for (const t of RATE_TESTS) if (fired[t]) delete own[t];
  } else for (const t of RATE_TESTS) if (fired[t]) own[t] = newDetector();
  const { test_detectors: _before, ...rest } = w;
  return { ...rest, alarms: w.alarms + 1, detector, ...(Object.keys(own).length > 0 ? { test_detectors: own } : {}), alarmed };
}

export function windowStatus(w: WindowState, ev: DetectorEvaluation): WindowStatus {
  // observed: this window's share (the daily number people read); the evidence is the detector's, since `since`.
  // A stratified test's `expected` is for the detector's query sizes; `expected_window` for the window's own.
  const rate = (t: DetectedRate, observed: number | null, name: RateTestName) => ({
    observed,
    expected: t.expected,
    band: { lo: t.band.lo, hi: t.band.hi },
    ...(t.window !== undefined
      ? { expected_window: t.window?.expected ?? null, band_window: t.window ? { lo: t.window.band.lo, hi: t.window.band.hi } : null }
      : {}),
    log_evidence: t.logEvidence,
    alarm: t.alarm,
    armed: t.armed,
    not_armed_reason: t.notArmedReason,
    queries_to_arm: t.queriesToArm,
    evidence_since: t.since === null ? null : new Date(t.since).toISOString(),
    evidence_queries: t.sinceQueries,
    evidence_observed: t.sinceObserved,
    ...(t.strata ? { strata_tested: t.strata.tested, strata_total: t.strata.total, tested_share: t.strata.testedShare } : {}),
    alarmed: w.alarmed?.[name] ?? null,
  });
  return {
    calibration_id: w.calibration_id,
    index_version: w.index_version,
    started_at: new Date(w.started_at).toISOString(),
    ends_at: new Date(w.started_at + DRIFT_WINDOW_MS).toISOString(),
    batches: w.batches,
    queries: w.sums.queries,
    candidates: w.sums.candidates,
    unscored_candidates: w.unscored ?? 0,
    dropped: w.sums.dropped,
    empty_queries: w.sums.empty,
    design_effect: ev.designEffect,
    log_threshold: ev.logThreshold,
    drop_rate: rate(ev.dropRate, w.sums.candidates > 0 ? w.sums.dropped / w.sums.candidates : null, "drop_rate"),
    empty_context: ev.emptyContext ? rate(ev.emptyContext, w.sums.queries > 0 ? w.sums.empty / w.sums.queries : null, "empty_context") : null,
    ...(w.expectation.empty_context_level !== undefined ? { empty_context_level: w.expectation.empty_context_level } : {}),
    abstained_queries: w.sums.abstained ?? 0,
    abstention_queries: w.sums.abstentionQueries ?? 0,
    abstention: ev.abstention
      ? rate(ev.abstention, (w.sums.abstentionQueries ?? 0) > 0 ? (w.sums.abstained ?? 0) / w.sums.abstentionQueries! : null, "abstention")
      : null,
    mean_candidates: w.sums.queries > 0 ? w.sums.candidates / w.sums.queries : null,
    expected_mean_candidates: w.expectation.mean_candidates ?? null,
    candidates_per_query: candidatesPerQuery(w, ev),
    alarms: w.alarms,
    score_sample: { size: w.reservoir.length, seen: w.seen, drop_rate_at_threshold: null, ks: null },
  };
}

function candidatesPerQuery(w: WindowState, ev: DetectorEvaluation): WindowStatus["candidates_per_query"] {
  const calMean = w.expectation.mean_candidates ?? null;
  let change: "none" | "fewer" | "more" | null = null;
  if (calMean !== null && calMean > 0) {
    const ratio = w.sums.queries > 0 ? w.sums.candidates / w.sums.queries / calMean : 1;
    change = w.sums.queries < CANDIDATES_CHANGE_MIN_QUERIES || Math.abs(ratio - 1) <= CANDIDATES_CHANGE_RATIO ? "none" : ratio < 1 ? "fewer" : "more";
  }
  const strata = EMPTY_CONTEXT_STRATA.map((min, b) => {
    const next = EMPTY_CONTEXT_STRATA[b + 1];
    const band = ev.emptyStrata?.[b];
    return {
      min_candidates: min,
      max_candidates: next === undefined ? null : next - 1,
      queries: w.sums.stratumQueries?.[b] ?? 0,
      empty_queries: w.sums.stratumEmpty?.[b] ?? 0,
      expected_empty_rate: band?.expected ?? null,
      band_hi: band?.band.hi ?? null,
      tested: band?.armable ?? false,
      source: w.expectation.empty_context_strata?.[b]?.source ?? null,
    };
  });
  return { change, strata };
}

/** The status without any test's `alarmed` numbers: what an alert's details hold (the alarm is the alert itself). */
export const withoutAlarmed = (s: WindowStatus): WindowStatus => alarmedWhere(s, () => false);

/** The status with each rate test's `alarmed` numbers kept where `keep` says so, null elsewhere. */
export function alarmedWhere<W extends WindowStatus>(w: W, keep: (alarmed: AlarmedRate, name: RateTestName) => boolean): W {
  const pick = <T extends { readonly alarmed?: AlarmedRate | null | undefined }>(t: T, name: RateTestName): T => ({
    ...t,
    alarmed: t.alarmed != null && keep(t.alarmed, name) ? t.alarmed : null,
  });
  return {
    ...w,
    drop_rate: pick(w.drop_rate, "drop_rate"),
    empty_context: w.empty_context && pick(w.empty_context, "empty_context"),
    ...(w.abstention ? { abstention: pick(w.abstention, "abstention") } : {}),
  };
}
