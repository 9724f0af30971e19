/**
 * The slice of dependencies the monitoring feature needs: src/worker/wiring.ts builds it from `env`, unit tests from
 * the in-memory doubles of test/support/.
 */
import type { AlertStore } from "../alerts/store";
import type { ReaderDeps } from "../serving/deps";
import type { DriftConfig } from "../stats/drift";
import type { MonitorClient } from "./monitor-contract";
import type { ObservationIngest } from "./observation-queue";

export interface MonitoringDeps extends ReaderDeps {
  /** The gate monitors (one Durable Object per gate). */
  readonly monitor: MonitorClient;
  /** The drift configuration (a getter that throws AppError misconfigured on invalid DRIFT_* vars). */
  readonly drift: DriftConfig;
  /** How observations reach the monitors (OBSERVATION_INGEST); a getter that throws AppError misconfigured when invalid. */
  readonly ingest: ObservationIngest;
  /** Unresolved alerts per gate, for /metrics. */
  readonly alerts: Pick<AlertStore, "openCounts">;
}

/** GET /v1/monitor (also the dashboard's monitor view). */
export type MonitorStatusDeps = Pick<MonitoringDeps, "calibrations" | "monitor" | "now" | "drift">;
