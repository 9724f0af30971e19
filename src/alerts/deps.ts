/**
 * The slice of dependencies the alerts feature needs: src/worker/wiring.ts builds it from `env`, unit tests from the
 * in-memory doubles of test/support/.
 */
import type { CalibrationStore } from "../calibrations/store";
import type { AlertStore } from "./store";

export interface AlertDeps {
  readonly alerts: AlertStore;
  /** The injected clock. */
  readonly now: () => Date;
  /** 16 random hex characters (ids). */
  readonly random: () => string;
  /** Runs work after the response (ctx.waitUntil in the Worker). */
  readonly defer: (work: Promise<unknown>) => void;
  /**
   * Starts delivering the webhook events an alert change just recorded in the outbox, after the response (wired to
   * the webhooks feature's delivery run in src/worker/wiring.ts; the cron tick retries whatever it leaves).
   */
  readonly deliverWebhooks: () => void;
  /**
   * Where people open this Worker (PUBLIC_URL, without a trailing slash), or null: an alert's webhook links its
   * dashboard page from it (payload.ts).
   */
  readonly publicUrl: string | null;
}

/**
 * GET /v1/alerts: the alerts, and what a filter naming a gate reads of the calibrations feature: whether the gate
 * exists, and the calibrated gates with similar names a 404 suggests (src/calibrations/gate-names.ts).
 */
export interface AlertListDeps extends AlertDeps {
  readonly calibrations: Pick<CalibrationStore, "gate" | "calibratedNeighbours">;
}
