import type { CalibrationStore } from "../calibrations/store";
import type { ThresholdProjection } from "../serving/projection";
import type { AlertStore } from "../alerts/store";
import type { WebhookStore } from "../webhooks/store";
import type { IdempotencyStore } from "./idempotency-store";
import type { MonitorClient } from "../monitoring/monitor-contract";
import type { ObservationIngest } from "../monitoring/observation-queue";
import type { DriftConfig } from "../stats/drift";

/** What the core services need, built per request from `env` (app.ts) or from memory stores (unit tests). */
export interface CoreDeps {
  readonly calibrations: CalibrationStore;
  readonly projection: ThresholdProjection;
  /** The injected clock. */
  readonly now: () => Date;
  /** 16 random hex characters (ids). */
  readonly random: () => string;
  /** Runs work after the response (ctx.waitUntil in the Worker; awaited inline in tests). */
  readonly defer: (work: Promise<unknown>) => void;
}

/** Alerts and their delivery, on top of the core. */
export interface AlertDeps extends CoreDeps {
  readonly alerts: AlertStore;
  readonly webhooks: WebhookStore;
  /** Outbound HTTP for webhook deliveries (injected so tests can route it to a local receiver). */
  readonly fetch: typeof fetch;
  /** Production refuses http:// and non-public webhook targets. */
  readonly production: boolean;
  /** Random bytes (webhook secrets). */
  readonly randomBytes: (n: number) => Uint8Array;
}

/** Everything a request may need: core, alerts, the gate monitors, the drift configuration, idempotency keys. */
export interface AppDeps extends AlertDeps {
  readonly monitor: MonitorClient;
  readonly drift: DriftConfig;
  /** How observations reach the monitors (OBSERVATION_INGEST); a getter that throws AppError misconfigured when invalid. */
  readonly ingest: ObservationIngest;
  readonly idempotency: IdempotencyStore;
}
