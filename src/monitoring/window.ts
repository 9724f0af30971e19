/**
 * One drift window of one calibration: running per-query sums, a bounded score reservoir, and its evaluation.
 * Pure: the GateMonitor Durable Object stores it; time and randomness come in as arguments.
 */
import { DRIFT_WINDOW_MS, SCORE_RESERVOIR_SIZE } from "../platform/limits";
import type { WindowStatus } from "../contract";
import { evaluateDrift, type DriftConfig, type DriftEvaluation } from "../stats/drift";
import { addCluster, emptyClusterSums, type ClusterSums } from "../stats/per-query";
import type { Expectation } from "../serving/projection";

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
}

export function newWindow(calibrationId: string, indexVersion: string, expectation: Expectation, nowMs: number, alarms = 0): WindowState {
  return {
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

export const windowExpired = (w: WindowState, nowMs: number): boolean => nowMs >= w.started_at + DRIFT_WINDOW_MS;

/**
 * Adds a batch: per-query counts and an optional score sample. `random()` returns uniform [0, 1) (reservoir only).
 * Returns a new state (the input is not mutated).
 */
export function addBatch(
  w: WindowState,
  queries: readonly (readonly [number, number])[],
  scores: readonly number[] | null,
  random: () => number,
): WindowState {
  const sums = { ...w.sums };
  for (const [m, d] of queries) addCluster(sums, m, d);
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
  return { ...w, batches: w.batches + 1, sums, reservoir, seen };
}

export function evaluateWindow(w: WindowState, config: DriftConfig): DriftEvaluation {
  return evaluateDrift(
    w.sums,
    {
      expectedDropRate: w.expectation.expected_drop_rate,
      n: w.expectation.n,
      designEffect: w.expectation.design_effect ?? 1,
      emptyContextRate: w.expectation.empty_context_rate,
      nQueries: w.expectation.n_queries,
    },
    config,
  );
}

export function windowStatus(w: WindowState, ev: DriftEvaluation): WindowStatus {
  const rate = (t: DriftEvaluation["dropRate"]) => ({
    observed: t.observed,
    expected: t.expected,
    band: { lo: t.band.lo, hi: t.band.hi },
    log_evidence: t.logEvidence,
    alarm: t.alarm,
  });
  return {
    calibration_id: w.calibration_id,
    index_version: w.index_version,
    started_at: new Date(w.started_at).toISOString(),
    ends_at: new Date(w.started_at + DRIFT_WINDOW_MS).toISOString(),
    batches: w.batches,
    queries: w.sums.queries,
    candidates: w.sums.candidates,
    dropped: w.sums.dropped,
    empty_queries: w.sums.empty,
    design_effect: ev.designEffect,
    log_threshold: ev.logThreshold,
    drop_rate: rate(ev.dropRate),
    empty_context: ev.emptyContext ? rate(ev.emptyContext) : null,
    alarms: w.alarms,
    score_sample: { size: w.reservoir.length, seen: w.seen, drop_rate_at_threshold: null, ks: null },
  };
}

const pct = (x: number | null): string => (x === null ? "n/a" : `${(100 * x).toFixed(1)} %`);

/** The alert sentence for a drop-rate drift alarm. */
export function driftSummary(status: WindowStatus): string {
  const t = status.drop_rate;
  return `production drop rate ${pct(t.observed)} over ${status.queries} queries against the calibration's ${pct(t.expected)} (tolerated ${pct(t.band.lo)}..${pct(t.band.hi)}; evidence ln E = ${t.log_evidence.toFixed(1)} >= ${status.log_threshold.toFixed(1)})`;
}

/** The alert sentence for an empty-context alarm. */
export function emptyContextSummary(status: WindowStatus): string {
  const t = status.empty_context!;
  return `${pct(t.observed)} of ${status.queries} production queries lost every candidate to the gate, against ${pct(t.expected)} in calibration (tolerated up to ${pct(t.band.hi)})`;
}
