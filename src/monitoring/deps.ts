/**
 * The slice of dependencies the monitoring feature needs: src/worker/wiring.ts builds it from `env`, unit tests from
 * the in-memory doubles of test/support/.
 */
import type { AlertStore } from "../alerts/store";
import type { CalibrationStore } from "../calibrations/store";
import type { BatchPromotion, PromotionPlan, PromotionState } from "../contract";
import type { ThresholdReader } from "../serving/threshold-reader";
import type { DriftConfig } from "../stats/drift-config";
import type { ArmEvidence, MonitorClient } from "./monitor-contract";
import type { ObservationIngest } from "./observation-queue";

export interface MonitoringDeps {
  readonly calibrations: CalibrationStore;
  /** Resolves a batch named by its gate fields to the gate's current calibration. */
  readonly thresholds: Pick<ThresholdReader, "read">;
  /** The injected clock. */
  readonly now: () => Date;
  /** The gate monitors (one Durable Object per gate). */
  readonly monitor: MonitorClient;
  /**
   * After a promotion-arm batch is counted: its step's decision from the evidence (promotions, wired in worker/), given
   * the step's arms as the batch left them when the monitor answered with them.
   */
  readonly armCounted?: (promotion: BatchPromotion, arms: ArmEvidence | undefined) => Promise<void>;
  /** The promotions a batch's arm claim is checked against (batch-promotion.ts; the promotions feature's store). */
  readonly promotions: { get(id: string): Promise<ClaimedPromotion | null> };
  /** The drift configuration (a getter that throws AppError misconfigured on invalid DRIFT_* vars). */
  readonly drift: DriftConfig;
  /** How observations reach the monitors (OBSERVATION_INGEST); a getter that throws AppError misconfigured when invalid. */
  readonly ingest: ObservationIngest;
  /** Unresolved alerts: per gate for /metrics, of one gate for its drift state (drift-state.ts). */
  readonly alerts: Pick<AlertStore, "openCounts" | "list">;
}

/** GET /v1/monitor and /v1/monitor/series (also the dashboard's monitor view). */
export type MonitorStatusDeps = Pick<MonitoringDeps, "calibrations" | "monitor" | "now" | "drift" | "alerts">;

/** What the monitor reads of a promotion a batch claims: its gate, arms, plan, state and step. */
export interface ClaimedPromotion {
  readonly id: string;
  readonly gate_id: string;
  readonly candidate_calibration_id: string;
  readonly control_calibration_id: string;
  readonly plan: PromotionPlan;
  readonly state: PromotionState;
  readonly step: number;
}
