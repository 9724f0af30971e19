/**
 * The coverage test state of one recall calibration in its gate's monitor: running sums of judged queries since the
 * last alarm (or since judgments began), tested by stats/coverage-test.ts. Pure: the GateMonitor Durable Object
 * stores it; time comes in as an argument.
 */
import type { AlarmedCoverage, CoverageStatus } from "../contract";
import { countText, percentTenths } from "../platform/format";
import { type CoverageEvaluation, evaluateCoverage } from "../stats/coverage-test";
import type { DriftConfig } from "../stats/drift-config";
import type { JudgeInput } from "./monitor-contract";

export interface CoverageState {
  readonly calibration: JudgeInput["calibration"];
  readonly started_at: number;
  readonly batches: number;
  readonly queries: number;
  readonly covered: number;
  readonly without_relevant: number;
  readonly alarms: number;
  /** The test that last alarmed, as it stood then (absent before any alarm, and in states stored before it was kept). */
  readonly alarmed?: AlarmedCoverage;
}

export function newCoverageState(calibration: JudgeInput["calibration"], nowMs: number, alarms = 0, alarmed?: AlarmedCoverage): CoverageState {
  return { calibration, started_at: nowMs, batches: 0, queries: 0, covered: 0, without_relevant: 0, alarms, ...(alarmed ? { alarmed } : {}) };
}

/**
 * The test restarted after an alarm at `nowMs`: fresh sums, so a continued fall alarms again on fresh judgments, and
 * the alarmed test's numbers (`status`, its status at the alarm) kept for the status while the alert stands.
 */
export function restartCoverage(s: CoverageState, status: CoverageStatus, nowMs: number): CoverageState {
  return newCoverageState(s.calibration, nowMs, s.alarms + 1, {
    at: new Date(nowMs).toISOString(),
    since: status.since,
    queries: status.queries,
    covered: status.covered,
    observed: status.observed,
    confidence_sequence_95: status.confidence_sequence_95,
    log_evidence: status.log_evidence,
    log_threshold: status.log_threshold,
  });
}

/** Adds one batch of judged queries (a new state; the input is not mutated). */
export function addJudgments(s: CoverageState, covered: readonly number[], withoutRelevant: number): CoverageState {
  let sum = s.covered;
  for (const c of covered) {
    if (!(c >= 0 && c <= 1)) throw new RangeError(`addJudgments: covered share ${c}`);
    sum += c;
  }
  return { ...s, batches: s.batches + 1, queries: s.queries + covered.length, covered: sum, without_relevant: s.without_relevant + withoutRelevant };
}

export function evaluateCoverageState(s: CoverageState, config: DriftConfig): CoverageEvaluation {
  const c = s.calibration;
  // Float sums of shares may exceed the count by an ulp.
  return evaluateCoverage(
    Math.min(s.covered, s.queries),
    s.queries,
    {
      bound: c.bound,
      n: c.n,
      missMass: c.miss_mass,
      rule: c.coverage === "candidates" ? "risk" : "rank",
      ...(c.below !== undefined ? { below: c.below } : {}),
      ...(c.ties !== undefined ? { ties: c.ties } : {}),
    },
    config.tolerance,
    config.alpha,
    0.05,
    config.maxCalibrationMargin,
  );
}

export function coverageStatus(s: CoverageState, ev: CoverageEvaluation): CoverageStatus {
  return {
    calibration_id: s.calibration.id,
    index_version: s.calibration.index_version,
    coverage: s.calibration.coverage,
    target: s.calibration.target,
    expected: ev.expected,
    tolerated: ev.tolerated,
    armed: ev.armed,
    not_armed_reason: ev.armed ? null : "calibration_too_small",
    queries: s.queries,
    covered: s.covered,
    queries_without_relevant: s.without_relevant,
    batches: s.batches,
    observed: ev.observed,
    confidence_sequence_95: ev.confidenceSequence,
    log_evidence: ev.logEvidence,
    log_threshold: ev.logThreshold,
    alarm: ev.alarm,
    alarms: s.alarms,
    since: new Date(s.started_at).toISOString(),
    alarmed: s.alarmed ?? null,
  };
}

const pct = (x: number | null): string => (x === null ? "n/a" : percentTenths(x));

/** The alert sentence for a recall_drift alarm. */
export function recallDriftSummary(st: CoverageStatus): string {
  const [lo, hi] = st.confidence_sequence_95;
  return `production coverage (${st.coverage}) ${pct(st.observed)} over ${countText(st.queries)} judged queries against the guaranteed ${pct(st.expected)} (target ${pct(st.target)}, tolerated down to ${pct(st.tolerated)}; 95 % confidence sequence ${pct(lo)}..${pct(hi)}; evidence ln E = ${st.log_evidence.toFixed(1)} >= ${st.log_threshold.toFixed(1)})`;
}
