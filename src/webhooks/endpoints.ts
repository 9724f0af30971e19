/**
 * Webhook endpoints: create (the secret is shown once), list (masked), update or rotate. Targets are checked by
 * targets.ts; delivery is delivery.ts's job.
 */
import type { WebhookEndpoint } from "../contract";
import { AppError } from "../platform/errors";
import { shownId } from "../platform/format";
import { keyedChange } from "../platform/idempotency";
import { newId } from "../platform/ids";
import { MAX_WEBHOOK_ENDPOINTS } from "../platform/limits";
import type { WebhookDeps } from "./deps";
import { maskSecret, newWebhookSecret } from "./signature";
import type { StoredEndpoint } from "./store";
import { checkWebhookUrl } from "./targets";

/**
 * Listings mask the secret and the URL's path and query: for Slack incoming webhooks and many others the URL itself is
 * the credential. Both are shown in full only when created (or rotated).
 */
const masked = (e: StoredEndpoint): WebhookEndpoint => {
  const u = new URL(e.url);
  const hidden = u.pathname.length > 1 || u.search !== "";
  return { ...e, secret: maskSecret(e.secret), url: hidden ? `${u.origin}/…` : e.url };
};

type EndpointInput = { url: string; secret?: string | undefined; description?: string | undefined; enabled: boolean };

/**
 * POST /v1/webhooks, once per Idempotency-Key (platform/idempotency.ts keyedChange): the answer is the only one that
 * shows the new secret, so a client that lost it retries; the retry gets the same endpoint and secret (with
 * `Idempotent-Replayed`), also when the first request died after storing the endpoint (found by its request's digest)
 * instead of a second endpoint that would take another of the MAX_WEBHOOK_ENDPOINTS and deliver every alert twice.
 */
export function keyedCreateEndpoint(input: EndpointInput, actor: string, key: string | undefined, deps: WebhookDeps) {
  return keyedChange(
    deps,
    actor,
    key,
    ["createWebhook", JSON.stringify(input)],
    201,
    (request) => createEndpoint(input, deps, request, actor),
    async (request) => deps.webhooks.endpointCreatedBy(request),
  );
}

export async function createEndpoint(
  input: EndpointInput,
  deps: WebhookDeps,
  request: string | null = null,
  actor: string | null = null,
): Promise<WebhookEndpoint> {
  const url = checkWebhookUrl(input.url, deps.production);
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
    updated_by: actor,
  };
  if (!(await deps.webhooks.createEndpoint(endpoint, MAX_WEBHOOK_ENDPOINTS, request))) {
    throw new AppError("conflict", `at most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints; delete (DELETE /v1/webhooks/{id}) or reuse one`, {
      max_endpoints: MAX_WEBHOOK_ENDPOINTS,
    });
  }
  return endpoint; // the only time the full secret is shown (besides rotation)
}

export async function listEndpoints(deps: WebhookDeps): Promise<WebhookEndpoint[]> {
  return (await deps.webhooks.endpoints()).map(masked);
}

export async function updateEndpoint(
  id: string,
  patch: { url?: string | undefined; secret?: string | undefined; description?: string | null | undefined; enabled?: boolean | undefined },
  deps: WebhookDeps,
  actor: string | null = null,
): Promise<WebhookEndpoint> {
  const current = await deps.webhooks.endpoint(id);
  if (current === null) throw new AppError("not_found", `webhook endpoint ${shownId(id)} does not exist`);
  const next: StoredEndpoint = {
    ...current,
    url: patch.url === undefined ? current.url : checkWebhookUrl(patch.url, deps.production),
    secret: patch.secret ?? current.secret,
    description: patch.description === undefined ? current.description : patch.description,
    enabled: patch.enabled ?? current.enabled,
    // who silenced it, in the reason the listings show (an endpoint disabled by a 410 keeps "gone")
    disabled_reason:
      patch.enabled === true ? null : patch.enabled === false && current.enabled ? `disabled by ${actor ?? "an admin"}` : current.disabled_reason,
    updated_at: deps.now().toISOString(),
    updated_by: actor,
  };
  await deps.webhooks.updateEndpoint(next);
  if (patch.enabled === false && current.enabled) console.log(`webhook endpoint ${id} disabled by ${actor ?? "an admin"}`);
  return patch.secret === undefined ? masked(next) : next;
}

/** DELETE /v1/webhooks/{id}: retired for good, recorded with who and when; its pending deliveries fail. */
export async function deleteEndpoint(
  id: string,
  actor: string,
  deps: WebhookDeps,
): Promise<{ id: string; deleted_at: string; deleted_by: string; failed_deliveries: number }> {
  const at = deps.now().toISOString();
  const done = await deps.webhooks.deleteEndpoint(id, actor, at);
  if (done === null) throw new AppError("not_found", `webhook endpoint ${shownId(id)} does not exist`);
  console.log(`webhook endpoint ${id} deleted by ${actor}`);
  return { id, deleted_at: at, deleted_by: actor, failed_deliveries: done.failed_deliveries };
}
