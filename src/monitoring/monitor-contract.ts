/**
 * The RPC contract of the per-gate monitor (the GateMonitor Durable Object): what services send it and what it
 * answers. Services depend on this file and on MonitorClient, never on the Durable Object class, so they type-check
 * and unit-test without workerd, and no import cycle runs through the object.
 */

import type { Expectation } from "../calibrations/expectation";
import type { AlertKind, ArmDrift, BatchPromotion, CoverageNotion, CoverageStatus, MonitorStatus, SeriesBucket, WindowStatus } from "../contract";
import type { DriftConfig } from "../stats/drift-config";
import type { ClusterSums, QueryObservation } from "../stats/per-query";
import type { WindowTraffic } from "./window";

/**
 * The keys of the live evidence's rows (gate-monitor/live-evidence.ts says what each holds): part of the contract, as
 * callers name the rows they read or forget (a shadow's comparison, a promotion's arms) by them.
 */
export const shadowKey = (calibrationId: string, sinceSeq: number): string => `shadow:${calibrationId}@${sinceSeq}`;
export const versusKey = (calibrationId: string, sinceSeq: number): string => `versus:${calibrationId}@${sinceSeq}`;
export const armKey = (promotionId: string, step: number, arm: string): string => `arm:${promotionId}:${step}:${arm}`;
/** Prefixes of every row of a promotion, and of every stint of a calibration in shadow (for forget). */
export const promotionPrefix = (promotionId: string): string => `arm:${promotionId}:`;
export const shadowPrefixes = (calibrationId: string): string[] => [`shadow:${calibrationId}@`, `versus:${calibrationId}@`];

/**
 * One side of a live decision: its queries' cluster sums and when it started (epoch ms; gate-monitor/live-evidence.ts).
 * A promotion's candidate arm also carries its drift detector for the step (absent on other sides, and on arm rows
 * stored before the detector ran there).
 */
export interface LiveSums {
  readonly since: number;
  readonly sums: ClusterSums;
  readonly drift?: ArmDrift;
  /**
   * The guards the row's counts were split with (its drop-rate strata's eligible candidates, its `empty` level): those
   * of the calibration whose batch started the row, kept for the row's life. Absent in rows started before they were
   * kept, whose strata count every candidate as eligible: a guarded target then falls back to the pooled rate.
   */
  readonly guards?: { readonly min_keep: number; readonly max_keep: number | null };
}

/** The live evidence of a promotion step's two arms, as the batch that was just counted left them. */
export interface ArmEvidence {
  readonly candidate: LiveSums | null;
  readonly control: LiveSums | null;
}

/** One observation batch, resolved to the calibration it was gated with. */
export interface ObserveBatch {
  readonly gate: { readonly gate_id: string; readonly index: string; readonly embedding: string; readonly reranker: string };
  readonly calibration: { readonly id: string; readonly index_version: string; readonly expectation: Expectation };
  readonly batch_id: string;
  /** SHA-256 of the batch as sent: a batch id reused with another body is refused (batch_mismatch). */
  readonly batch_hash: string;
  readonly queries: readonly QueryObservation[];
  readonly scores: readonly number[] | null;
  /** `shadow`: mirrored queries of a shadow calibration, counted apart and never alerting; absent: served traffic. */
  readonly role?: "shadow";
  /** For a shadow batch: the seq of the shadow's `shadow_added` event (its evidence starts there). */
  readonly shadow_since_seq?: number;
  /** The promotion step and arm the queries were served under (contract/monitoring.ts BatchPromotion). */
  readonly promotion?: BatchPromotion;
  /**
   * A candidate-arm batch whose claim is out of date (its step is over, or its promotion rolled back or was superseded,
   * while it was queued in a client; the claim itself is dropped): its batch id is claimed and its queries are counted
   * nowhere (monitor.ts). After a completion such a batch is not marked: it is served traffic of the candidate.
   */
  readonly late_candidate?: true;
}

export interface ObserveInput extends ObserveBatch {
  readonly now_ms: number;
  readonly config: DriftConfig;
}

/** Queued batches of one gate, delivered by the queue consumer in one call (OBSERVATION_INGEST = "queue"). */
export interface ObserveManyInput {
  readonly batches: readonly ObserveBatch[];
  /** The consumer's clock: queued counts go to the window open when they are counted. */
  readonly now_ms: number;
  readonly config: DriftConfig;
}

/**
 * What became of one queued batch: counted; a duplicate (same id and body as a batch already counted); a mismatch
 * (same id, another body: not counted, recorded in the status); or failed (its transaction threw and rolled back,
 * nothing of it was kept: the consumer retries it).
 */
export type QueuedBatchResult =
  | { readonly batch_id: string; readonly status: "counted" | "duplicate" | "mismatch" }
  | { readonly batch_id: string; readonly status: "failed"; readonly error: string };

export interface ObserveManyOutcome {
  /** One result per input batch, in input order. */
  readonly results: readonly QueuedBatchResult[];
  readonly alerts: AlertKind[];
}

export interface ObserveOutcome {
  readonly duplicate: boolean;
  /** A duplicate batch id whose first batch had a different body (nothing was counted). */
  readonly mismatch: boolean;
  /** The calibration's drift window after the batch (for a candidate-arm batch: the arm's detector of the step). */
  readonly window: WindowStatus;
  readonly alerts: AlertKind[];
  /** For a counted promotion-arm batch: its step's arms after it, so the step decides without another call. */
  readonly arms?: ArmEvidence;
}

export interface JudgeInput {
  readonly gate: ObserveInput["gate"];
  readonly calibration: {
    readonly id: string;
    readonly index_version: string;
    readonly coverage: CoverageNotion;
    readonly target: number;
    /** The guaranteed coverage, labelled queries and miss mass of the recall calibration (stats/coverage-test.ts). */
    readonly bound: number;
    readonly n: number;
    readonly miss_mass: number;
    /** Tie-aware: what the threshold misses in the calibration and the values tied at it; absent on older calibrations. */
    readonly below?: number;
    readonly ties?: number;
  };
  readonly batch_id: string;
  /** SHA-256 of the batch as sent: a batch id reused with another body is refused (batch_mismatch), as for observations. */
  readonly batch_hash: string;
  /** Covered share of each judged query with a relevant candidate (stats/recall-gate.ts queryCoverage). */
  readonly covered: readonly number[];
  /** Judged queries without a relevant candidate (counted, not tested). */
  readonly without_relevant: number;
  readonly now_ms: number;
  readonly config: DriftConfig;
}

export interface JudgeOutcome {
  readonly duplicate: boolean;
  /** A duplicate batch id whose first batch had a different body (nothing was counted). */
  readonly mismatch: boolean;
  readonly recall: CoverageStatus;
  readonly alerts: AlertKind[];
}

/**
 * A window as the monitor knows it: the traffic it counted (served, shadow, or a promotion's candidate arm with its
 * promotion and step). Whether served traffic is the gate's current calibration's is D1's to say (./window-role.ts).
 */
export type SnapshotWindow = WindowStatus & {
  readonly traffic: WindowTraffic | "candidate";
  readonly promotion?: { readonly id: string; readonly step: number };
};

/**
 * A monitor's status (without the drift state, which also needs the gate's alerts in D1: ./drift-state.ts), the raw
 * score sample of each open window keyed by calibration id, and the alarms decided and not yet stored in D1.
 */
export type MonitorSnapshot = Omit<MonitorStatus, "state" | "windows" | "history" | "recall"> & {
  windows: SnapshotWindow[];
  history: SnapshotWindow[];
  recall: CoverageStatus[];
  samples: Record<string, number[]>;
  pending_alerts: { kind: AlertKind; at: number }[];
};

/** The methods the GateMonitor object exposes over RPC. */
export interface GateMonitorRpc {
  observe(input: ObserveInput): Promise<ObserveOutcome>;
  observeMany(input: ObserveManyInput): Promise<ObserveManyOutcome>;
  judge(input: JudgeInput): Promise<JudgeOutcome>;
  /** `detail` false skips the history and the score samples (cheaper, for /metrics). */
  status(gateId: string, nowMs: number, config: DriftConfig, detail?: boolean): Promise<MonitorSnapshot>;
  /** The series buckets overlapping [fromMs, toMs], oldest first (gate-monitor/series.ts). */
  series(fromMs: number, toMs: number): Promise<SeriesBucket[]>;
  /** The live evidence of the gate's shadows and promotion arms, by key (gate-monitor/live-evidence.ts). */
  evidence(): Promise<Record<string, LiveSums>>;
  /** Deletes the evidence rows whose key starts with one of `prefixes` (a closed promotion, a removed shadow); returns how many. */
  forgetEvidence(prefixes: readonly string[]): Promise<number>;
  /** Ends the calibration's shadow window and detector (it left the shadow set); true when a window was open. */
  endShadow(calibrationId: string, nowMs: number, config: DriftConfig): Promise<boolean>;
}

/** How services reach a gate's monitor (one per gate id). */
export interface MonitorClient {
  observe(gateId: string, input: ObserveInput): Promise<ObserveOutcome>;
  /** Every queued batch of one gate in one object call, each through observe's transaction (GateMonitor.observeMany). */
  observeMany(gateId: string, input: ObserveManyInput): Promise<ObserveManyOutcome>;
  judge(gateId: string, input: JudgeInput): Promise<JudgeOutcome>;
  /** `detail` false skips the history and the score samples (cheaper, for /metrics). */
  status(gateId: string, nowMs: number, config: DriftConfig, detail?: boolean): Promise<MonitorSnapshot>;
  /** The gate's series buckets overlapping [fromMs, toMs], oldest first. */
  series(gateId: string, fromMs: number, toMs: number): Promise<SeriesBucket[]>;
  /** The live evidence of the gate's shadows and promotion arms, by key (gate-monitor/live-evidence.ts). */
  evidence(gateId: string): Promise<Record<string, LiveSums>>;
  /** Deletes the gate's evidence rows whose key starts with one of `prefixes`; returns how many. */
  forgetEvidence(gateId: string, prefixes: readonly string[]): Promise<number>;
  /** Ends the calibration's shadow window and detector on the gate's monitor; true when a window was open. */
  endShadow(gateId: string, calibrationId: string, nowMs: number, config: DriftConfig): Promise<boolean>;
}
