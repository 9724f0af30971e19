/**
 * Webhook endpoints and delivery. Deliveries are a durable outbox in D1: attempted right after the event (deferred
 * past the response) and by the cron tick every minute, with backoff WEBHOOK_RETRY_DELAYS_MS (27.6 h in all), the
 * same webhook-id and body on every attempt. 2xx delivers; 410 disables the endpoint; anything else retries.
 */
import { AppError } from "../errors";
import { MAX_WEBHOOK_ENDPOINTS, WEBHOOK_BATCH, WEBHOOK_LEASE_MS, WEBHOOK_RETRY_DELAYS_MS, WEBHOOK_TIMEOUT_MS } from "../limits";
import type { Delivery, WebhookEndpoint } from "../schemas";
import type { StoredEndpoint } from "../storage/webhook-store";
import type { AlertDeps } from "./deps";
import { newId } from "./ids";
import { maskSecret, newWebhookSecret, webhookHeaders } from "./webhook-signature";
import { checkWebhookUrl } from "./webhook-targets";

/**
 * Listings mask the secret and the URL's path and query: for Slack incoming webhooks and many others the URL itself is
 * the credential. Both are shown in full only when created (or rotated).
 */
const masked = (e: StoredEndpoint): WebhookEndpoint => {
  const u = new URL(e.url);
  const hidden = u.pathname.length > 1 || u.search !== "";
  return { ...e, secret: maskSecret(e.secret), url: hidden ? `${u.origin}/…` : e.url };
};

export async function createEndpoint(
  input: { url: string; secret?: string | undefined; description?: string | undefined; enabled: boolean },
  deps: AlertDeps,
): Promise<WebhookEndpoint> {
  const url = checkWebhookUrl(input.url, deps.production);
  if ((await deps.webhooks.countEndpoints()) >= MAX_WEBHOOK_ENDPOINTS) {
    throw new AppError("conflict", `at most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints; disable or reuse one`);
  }
  const now = deps.now();
  const endpoint: StoredEndpoint = {
    id: newId("whk", now, deps.random()),
    url,
    secret: input.secret ?? newWebhookSecret(deps.randomBytes(24)),
    description: input.description ?? null,
    enabled: input.enabled,
    disabled_reason: null,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
  };
  await deps.webhooks.createEndpoint(endpoint);
  return endpoint; // the only time the full secret is shown (besides rotation)
}

export async function listEndpoints(deps: AlertDeps): Promise<WebhookEndpoint[]> {
  return (await deps.webhooks.endpoints()).map(masked);
}

export async function updateEndpoint(
  id: string,
  patch: { url?: string | undefined; secret?: string | undefined; description?: string | undefined; enabled?: boolean | undefined },
  deps: AlertDeps,
): Promise<WebhookEndpoint> {
  const current = await deps.webhooks.endpoint(id);
  if (current === null) throw new AppError("not_found", `webhook endpoint ${id} does not exist`);
  const next: StoredEndpoint = {
    ...current,
    url: patch.url === undefined ? current.url : checkWebhookUrl(patch.url, deps.production),
    secret: patch.secret ?? current.secret,
    description: patch.description ?? current.description,
    enabled: patch.enabled ?? current.enabled,
    disabled_reason: patch.enabled === true ? null : current.disabled_reason,
    updated_at: deps.now().toISOString(),
  };
  await deps.webhooks.updateEndpoint(next);
  return patch.secret === undefined ? masked(next) : next;
}

export async function listDeliveries(
  filter: { status?: string | undefined; endpoint_id?: string | undefined; limit: number },
  deps: AlertDeps,
): Promise<Delivery[]> {
  return deps.webhooks.deliveries(filter);
}

export async function replayDelivery(id: string, deps: AlertDeps): Promise<Delivery> {
  const d = await deps.webhooks.delivery(id);
  if (d === null) throw new AppError("not_found", `delivery ${id} does not exist`);
  if (!(await deps.webhooks.replay(id, deps.now().toISOString()))) {
    throw new AppError("conflict", `delivery ${id} is being sent right now; replay it after this attempt`);
  }
  deps.defer(deliverDue(deps));
  return (await deps.webhooks.delivery(id))!;
}

export interface DeliveryRun {
  readonly attempted: number;
  readonly delivered: number;
  readonly failed: number;
}

/** When the next attempt is due after `attempts` failed ones, or null when retries are exhausted. */
export function nextAttemptAfter(attempts: number, now: Date): string | null {
  const delay = WEBHOOK_RETRY_DELAYS_MS[attempts - 1];
  return delay === undefined ? null : new Date(now.getTime() + delay).toISOString();
}

/** Attempts due deliveries, up to WEBHOOK_BATCH per run, claiming each right before sending it. Safe to run concurrently. */
export async function deliverDue(deps: AlertDeps): Promise<DeliveryRun> {
  let attempted = 0;
  let delivered = 0;
  let failed = 0;
  while (attempted < WEBHOOK_BATCH) {
    const claimAt = deps.now();
    const d = await deps.webhooks.claimNext(claimAt.toISOString(), new Date(claimAt.getTime() + WEBHOOK_LEASE_MS).toISOString());
    if (d === null) break;
    attempted++;
    const timestamp = Math.floor(deps.now().getTime() / 1000);
    let status: number | null = null;
    let error = "";
    try {
      const res = await deps.fetch(d.url, {
        method: "POST",
        headers: await webhookHeaders(d.secret, d.event_id, timestamp, d.payload),
        body: d.payload,
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        redirect: "manual",
      });
      status = res.status;
      await res.body?.cancel();
      error = `HTTP ${res.status}`;
    } catch (e) {
      error = `network error: ${(e as Error).message}`.slice(0, 500);
    }
    const at = deps.now();
    if (status !== null && status >= 200 && status < 300) {
      if (await deps.webhooks.markDelivered(d.id, d.lease_until, status, at.toISOString())) delivered++;
    } else if (status === 410) {
      await deps.webhooks.markFailed(d.id, d.lease_until, status, "410 Gone: endpoint disabled", null, at.toISOString());
      await deps.webhooks.disableGone(d.endpoint_id, `receiver answered 410 Gone at ${at.toISOString()}`, at.toISOString());
      failed++;
    } else {
      await deps.webhooks.markFailed(d.id, d.lease_until, status, error, nextAttemptAfter(d.attempts + 1, at), at.toISOString());
      failed++;
    }
  }
  return { attempted, delivered, failed };
}
