/**
 * Webhook delivery. Deliveries are a durable outbox in D1: attempted right after the event (deferred past the
 * response) and by the cron tick every minute, with backoff WEBHOOK_RETRY_DELAYS_MS (27.6 h in all), the same
 * webhook-id and body on every attempt. 2xx delivers; 410 disables the endpoint; anything else retries, no sooner
 * than a 429/503's Retry-After asks. Redirects are never followed (redirect: "manual"): a public receiver could
 * otherwise bounce the signed POST to a private address the target check refused.
 */
import type { Delivery } from "../contract";
import { AppError } from "../platform/errors";
import { shownId } from "../platform/format";
import { cursorOf, seqOfCursor } from "../platform/http/cursor";
import {
  MAX_DELIVERY_ERROR_CHARACTERS,
  MAX_WEBHOOK_RETRY_AFTER_MS,
  WEBHOOK_BATCH,
  WEBHOOK_CONCURRENCY,
  WEBHOOK_LEASE_MS,
  WEBHOOK_RETRY_DELAYS_MS,
  WEBHOOK_RUN_MS,
  WEBHOOK_TIMEOUT_MS,
} from "../platform/limits";
import type { DeliveryDeps, WebhookDeps } from "./deps";
import { webhookHeaders } from "./signature";
import type { DeliveryFilter, DueDelivery } from "./store";

/**
 * A page of the deliveries that match, newest first, and the cursor of the next page (null on the last): GET
 * /v1/webhooks/deliveries and an alert's page. A cursor names a position among the deliveries these filters select,
 * so one passed back with other filters (or made by another listing) is a 400.
 */
export async function listDeliveries(
  filter: Omit<DeliveryFilter, "before">,
  cursor: string | undefined,
  deps: Pick<WebhookDeps, "webhooks">,
): Promise<{ deliveries: Delivery[]; next_cursor: string | null }> {
  // An endpoint that never existed is a typo, not "no deliveries" (a deleted one's deliveries stay listed).
  if (filter.endpoint_id !== undefined && (await deps.webhooks.endpoint(filter.endpoint_id, true)) === null) {
    throw new AppError("not_found", `webhook endpoint ${filter.endpoint_id} does not exist (GET /v1/webhooks lists the endpoints)`);
  }
  const scope = JSON.stringify([filter.status ?? null, filter.endpoint_id ?? null, filter.alert_id ?? null]);
  const page = await deps.webhooks.deliveries({ ...filter, before: seqOfCursor(cursor, "deliveries", scope) });
  return { deliveries: page.items, next_cursor: page.next === null ? null : cursorOf(page.next, "deliveries", scope) };
}

export async function replayDelivery(id: string, deps: WebhookDeps): Promise<Delivery> {
  const d = await deps.webhooks.delivery(id);
  if (d === null) throw new AppError("not_found", `delivery ${shownId(id)} does not exist`);
  // Only deliveries of enabled endpoints are sent: a replay to a deleted or disabled one would stay pending forever.
  const ep = await deps.webhooks.endpoint(d.endpoint_id);
  if (ep === null) throw new AppError("conflict", `delivery ${id} belongs to endpoint ${d.endpoint_id}, which was deleted: it cannot be sent again`);
  if (!ep.enabled) {
    throw new AppError(
      "conflict",
      `endpoint ${ep.id} is disabled${ep.disabled_reason ? ` (${ep.disabled_reason})` : ""}: enable it with PATCH /v1/webhooks/${ep.id} {"enabled": true}, then replay`,
    );
  }
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

/**
 * When the next attempt is due after `attempts` failed ones, or null when retries are exhausted. A receiver's
 * Retry-After (ms from now) postpones it, up to MAX_WEBHOOK_RETRY_AFTER_MS; it never brings a retry forward.
 */
export function nextAttemptAfter(attempts: number, now: Date, retryAfterMs: number | null = null): string | null {
  const delay = WEBHOOK_RETRY_DELAYS_MS[attempts - 1];
  if (delay === undefined) return null;
  const asked = retryAfterMs === null ? 0 : Math.min(retryAfterMs, MAX_WEBHOOK_RETRY_AFTER_MS);
  return new Date(now.getTime() + Math.max(delay, asked)).toISOString();
}

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); null when absent or bad. */
export function retryAfterMs(header: string | null, now: Date): number | null {
  if (header === null) return null;
  const v = header.trim();
  if (/^\d{1,10}$/u.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now.getTime());
}

/**
 * A trigger of delivery runs that keeps one run going at a time for its caller (one request's deps, one monitor
 * drain's): a trigger while a run is under way asks that run to go once more when it ends, so alerts raised together
 * (several tests alarming in one batch) share one run's WEBHOOK_CONCURRENCY slots instead of each starting a run of
 * their own (5 requests per alert, two at a time to one endpoint). `run` is one delivery run; `defer` keeps it alive
 * past the response.
 */
export function oneRunAtATime(run: () => Promise<unknown>, defer: (work: Promise<unknown>) => void): () => void {
  let running = false;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    const loop = async (): Promise<void> => {
      try {
        do {
          again = false;
          await run();
        } while (again);
      } finally {
        running = false;
      }
    };
    defer(loop());
  };
}

/**
 * Attempts due deliveries, up to WEBHOOK_BATCH per run, WEBHOOK_CONCURRENCY at a time and each to a different
 * endpoint, claiming each right before sending it. Safe to run concurrently with other runs.
 *
 * A receiver that hangs costs one slot for up to WEBHOOK_TIMEOUT_MS, not everyone's turn: the other slots keep
 * sending. An endpoint holds at most one of this run's slots, and one that fails is not tried again in the run (its
 * other deliveries wait for the next run instead of each hanging in turn), so one endpoint's deliveries go out one
 * after another; an alert's `alert.resolved` waits for its `alert.opened` anyway (the store's claim). No attempt
 * starts WEBHOOK_RUN_MS after the run began, which bounds a run by WEBHOOK_RUN_MS + WEBHOOK_TIMEOUT_MS.
 *
 * Every time is read from `deps.clock` when it happens: the claim (so its lease runs from the claim), the signed
 * `webhook-timestamp` (the send) and the stored times (the answer).
 */
export async function deliverDue(deps: DeliveryDeps): Promise<DeliveryRun> {
  const startedAt = deps.clock().getTime();
  // endpoints this run does not claim for: an attempt in flight, or one that failed
  const held = new Set<string>();
  let attempted = 0;
  let delivered = 0;
  let failed = 0;
  // Claims go one at a time, so two slots never take deliveries of the same endpoint.
  let claiming: Promise<unknown> = Promise.resolve();
  const claim = (): Promise<DueDelivery | null> => {
    const next = claiming.then(async () => {
      const at = deps.clock();
      if (attempted >= WEBHOOK_BATCH || at.getTime() - startedAt >= WEBHOOK_RUN_MS) return null;
      const d = await deps.webhooks.claimNext(at.toISOString(), new Date(at.getTime() + WEBHOOK_LEASE_MS).toISOString(), [...held]);
      if (d !== null) {
        held.add(d.endpoint_id);
        attempted++;
      }
      return d;
    });
    claiming = next.catch(() => undefined);
    return next;
  };
  const slot = async (): Promise<void> => {
    for (let d = await claim(); d !== null; d = await claim()) {
      const outcome = await attempt(d, deps);
      if (outcome.ok) held.delete(d.endpoint_id);
      if (outcome.ok && outcome.recorded) delivered++;
      if (!outcome.ok) failed++;
    }
  };
  // Every slot runs to its end before the run reports (a failing store stops only its slot), then the first error is thrown.
  const ends = await Promise.allSettled(Array.from({ length: WEBHOOK_CONCURRENCY }, slot));
  const error = ends.find((e) => e.status === "rejected");
  if (error !== undefined) throw error.reason;
  return { attempted, delivered, failed };
}

/** Sends one claimed delivery and records its outcome while the lease holds: whether the receiver took it, and whether that was recorded. */
async function attempt(d: DueDelivery, deps: DeliveryDeps): Promise<{ ok: boolean; recorded: boolean }> {
  const timestamp = Math.floor(deps.clock().getTime() / 1000);
  let status: number | null = null;
  let retryAfter: string | null = null;
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
    retryAfter = status === 429 || status === 503 ? res.headers.get("retry-after") : null;
    await res.body?.cancel();
    error = status >= 300 && status < 400 ? `HTTP ${res.status}: redirect not followed` : `HTTP ${res.status}`;
  } catch (e) {
    error = `network error: ${(e as Error).message}`.slice(0, MAX_DELIVERY_ERROR_CHARACTERS);
  }
  const at = deps.clock();
  if (status !== null && status >= 200 && status < 300) {
    return { ok: true, recorded: await deps.webhooks.markDelivered(d.id, d.lease_until, status, at.toISOString()) };
  }
  if (status === 410) {
    const recorded = await deps.webhooks.markFailed(d.id, d.lease_until, status, "410 Gone: endpoint disabled", null, at.toISOString());
    await deps.webhooks.disableGone(d.endpoint_id, `receiver answered 410 Gone at ${at.toISOString()}`, at.toISOString());
    return { ok: false, recorded };
  }
  const next = nextAttemptAfter(d.attempts + 1, at, retryAfterMs(retryAfter, at));
  return { ok: false, recorded: await deps.webhooks.markFailed(d.id, d.lease_until, status, error, next, at.toISOString()) };
}
