/**
 * Webhook endpoints and deliveries: the durable outbox (docs/storage.md). The D1 implementation is d1-store.ts.
 *
 * Consistency: a delivery is claimed (a lease) right before it is sent, and its outcome is recorded only by the
 * sender that still holds the lease, so two senders (the request that raised the alert and the cron tick) never send
 * the same delivery at once or double-count attempts. The lease (WEBHOOK_LEASE_MS) outlasts one attempt
 * (WEBHOOK_TIMEOUT_MS), counted from the claim on the sender's real clock (WebhookDeps.clock): a lease dated from
 * when a tick or an alert began could be over before it was taken, and a second sender would send again. Only a
 * sender that dies after the receiver got the request but before recording it causes a second send, with the same
 * webhook-id: receivers deduplicate on it (the Standard Webhooks contract).
 */
import type { Delivery, WebhookEndpoint } from "../contract";

export interface StoredEndpoint extends Omit<WebhookEndpoint, "secret"> {
  readonly secret: string;
}

/** A claimed delivery with what sending it needs. */
export interface DueDelivery {
  readonly id: string;
  readonly event_id: string;
  readonly payload: string;
  readonly attempts: number;
  readonly endpoint_id: string;
  readonly url: string;
  readonly secret: string;
  /** The lease this sender holds; outcome updates only apply while it still does. */
  readonly lease_until: string;
}

export interface DeliveryFilter {
  readonly status?: string | undefined;
  readonly endpoint_id?: string | undefined;
  /** Only the deliveries of this alert's events (the alert page's; not an API filter). */
  readonly alert_id?: string | undefined;
  readonly limit: number;
  /** Only deliveries after the one whose position this is (the `next` of the previous page). */
  readonly before?: number | null | undefined;
}

/** A page of deliveries, newest first. */
export interface DeliveryPage {
  readonly items: Delivery[];
  /** Pass back as `before` for the next page; null on the last page. */
  readonly next: number | null;
}

export interface WebhookStore {
  /**
   * Stores `e` unless `max` undeleted endpoints exist (checked atomically with the insert); returns whether it did.
   * `request`: the digest of the keyed request that creates it (platform/idempotency.ts keyedChange), kept with it.
   */
  createEndpoint(e: StoredEndpoint, max: number, request?: string | null): Promise<boolean>;
  /** The undeleted endpoint the keyed request with digest `request` created, or null. */
  endpointCreatedBy(request: string): Promise<StoredEndpoint | null>;
  countEndpoints(): Promise<number>;
  /** Retires an endpoint and fails its pending deliveries, atomically; null when it does not exist (or was deleted). */
  deleteEndpoint(id: string, actor: string, now: string): Promise<{ failed_deliveries: number } | null>;
  endpoints(): Promise<StoredEndpoint[]>;
  /** The endpoint, or null when there is none; a deleted one only with `withDeleted` (its deliveries stay listed). */
  endpoint(id: string, withDeleted?: boolean): Promise<StoredEndpoint | null>;
  updateEndpoint(e: StoredEndpoint): Promise<void>;
  /**
   * Claims the most overdue due delivery of an enabled endpoint with a lease until `leaseUntil`, or null. Endpoints in
   * `skip` are passed over (a run's endpoints with an attempt in flight, or whose attempt failed in this run).
   */
  claimNext(now: string, leaseUntil: string, skip?: readonly string[]): Promise<DueDelivery | null>;
  /** Records a 2xx if this sender still holds the lease; returns whether it did. */
  markDelivered(id: string, lease: string, status: number, now: string): Promise<boolean>;
  /** Records a failed attempt (retry at `nextAttemptAt`, or give up when null) if this sender still holds the lease. */
  markFailed(id: string, lease: string, status: number | null, error: string, nextAttemptAt: string | null, now: string): Promise<boolean>;
  /** 410 Gone: disable the endpoint and fail its pending deliveries (they stay visible and replayable). */
  disableGone(endpointId: string, reason: string, now: string): Promise<void>;
  /**
   * The matching deliveries, newest first: by `created_at` (when the event was recorded), then by `id`. A position
   * (`before`, `next`) is a delivery's rowid, read as that delivery's place in this order; `created_at` and `id` never
   * change, so following `next` visits every delivery that existed at the first page once. One recorded while a caller
   * pages sorts above the pages already read, unless its event was dated before them (an alarm raised after it waited
   * in a gate monitor's outbox): then it is on a later page.
   */
  deliveries(filter: DeliveryFilter): Promise<DeliveryPage>;
  delivery(id: string): Promise<Delivery | null>;
  /** Pending again, due now, same event (same webhook-id and body). False while it is being sent. */
  replay(id: string, now: string): Promise<boolean>;
}
