/**
 * The slice of dependencies the promotions feature needs: src/worker/wiring.ts builds it from `env`. Activating the
 * candidate at completion goes through the calibrations feature's activation (its listeners publish and push it).
 */
import type { AlertDeps } from "../alerts/deps";
import type { AlertStore } from "../alerts/store";
import type { ActivationDeps } from "../calibrations/activation";
import type { Promotion, PromotionStepRecord } from "../contract";
import type { MonitorClient } from "../monitoring/monitor-contract";
import type { IdempotencyStore } from "../platform/idempotency-store";
import type { DriftConfig } from "../stats/drift-config";
import type { PromotionStore } from "./store";

/** What follows a transition that stopped a promotion on a regression or a timeout (an alert, wired in worker/). */
export type PromotionStopListener = (
  promotion: Promotion,
  record: PromotionStepRecord,
  alert: "promotion_paused" | "promotion_rolled_back",
) => Promise<void>;

export interface PromotionDeps extends ActivationDeps, AlertDeps {
  /** The alerts: a pause's promotion_paused alert is resolved once the pause is over (paused-alert.ts). */
  readonly alerts: AlertStore;
  readonly promotions: PromotionStore;
  readonly promotionStopped: PromotionStopListener;
  /** The gate's live evidence of its shadows and arms (the GateMonitor), and its deletion once they close. */
  readonly monitor: Pick<MonitorClient, "evidence" | "forgetEvidence" | "status">;
  /** The drift configuration (a shadow's drift window is read with it). */
  readonly drift: DriftConfig;
  /** Idempotency keys of starts, overrides and shadow changes (idempotent.ts), shared with uploads. */
  readonly idempotency: IdempotencyStore;
}
