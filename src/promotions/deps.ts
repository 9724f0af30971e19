/**
 * The slice of dependencies the promotions feature needs: src/worker/wiring.ts builds it from `env`. Activating the
 * candidate at completion goes through the calibrations feature's activation (its listeners publish and push it).
 */
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

/**
 * The gate's `promotion_paused` alerts as this feature needs them, to resolve one once its pause is over
 * (paused-alert.ts): the alerts feature's, wired in worker/.
 */
export interface PausedAlerts {
  /** The gate's unresolved (open or acknowledged) promotion_paused alert, or null. */
  unresolved(gateId: string): Promise<PausedAlert | null>;
  /** Every unresolved promotion_paused alert, at most `limit` open and as many acknowledged. */
  allUnresolved(limit: number): Promise<PausedAlert[]>;
  /** Resolves the alert (nothing when it is resolved already), with `actor` and `note` as its resolution. */
  resolve(alertId: string, actor: string, note: string): Promise<void>;
}

/** A promotion_paused alert: its id and gate, and the promotion its newest occurrence names (null: none). */
export interface PausedAlert {
  readonly id: string;
  readonly gate_id: string;
  readonly promotion_id: string | null;
}

export interface PromotionDeps extends ActivationDeps {
  /** A pause's promotion_paused alert, resolved once the pause is over (paused-alert.ts). */
  readonly pausedAlerts: PausedAlerts;
  readonly promotions: PromotionStore;
  readonly promotionStopped: PromotionStopListener;
  /** The gate's live evidence of its shadows and arms (the GateMonitor), and its deletion once they close. */
  readonly monitor: Pick<MonitorClient, "evidence" | "forgetEvidence" | "status">;
  /** The drift configuration (a shadow's drift window is read with it). */
  readonly drift: DriftConfig;
  /** Idempotency keys of starts, overrides and shadow changes (idempotent.ts), shared with uploads. */
  readonly idempotency: IdempotencyStore;
}
