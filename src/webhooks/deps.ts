/**
 * The slice of dependencies the webhooks feature needs: src/worker/wiring.ts builds it from `env`, unit tests from the
 * in-memory doubles of test/support/.
 */
import type { IdempotencyStore } from "../platform/idempotency-store";
import type { WebhookStore } from "./store";

export interface WebhookDeps {
  readonly webhooks: WebhookStore;
  /** Idempotency-Key claims (an endpoint's create runs once per key). */
  readonly idempotency: IdempotencyStore;
  /** The injected clock: the time of the request, or the time a cron tick or an alert is dated (fixed for its run). */
  readonly now: () => Date;
  /**
   * The clock a delivery attempt reads, each time it needs it: the claim and its lease, the signed
   * `webhook-timestamp`, `delivered_at`, `updated_at` and the retry's `next_attempt_at`. Real time in the Worker,
   * apart from `now`: a run's attempts go out seconds after the tick or alert that started it, and a receiver
   * rejects a signature dated more than 5 minutes back.
   */
  readonly clock: () => Date;
  /** 16 random hex characters (ids). */
  readonly random: () => string;
  /** Random bytes (webhook secrets). */
  readonly randomBytes: (n: number) => Uint8Array;
  /** Production refuses http:// and non-public webhook targets. */
  readonly production: boolean;
  /** Outbound HTTP for deliveries (injected so tests can route it to a local receiver). */
  readonly fetch: typeof fetch;
  /** Runs work after the response (ctx.waitUntil in the Worker). */
  readonly defer: (work: Promise<unknown>) => void;
}

/** What one delivery run needs (the cron tick and the run after an alert event). */
export type DeliveryDeps = Pick<WebhookDeps, "webhooks" | "clock" | "fetch">;
