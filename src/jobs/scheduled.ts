/**
 * Cron (every minute): reconcile the KV projection with D1, retry due webhook deliveries, forget expired
 * idempotency keys.
 * Thin adapter: the clock comes from the trigger's scheduled time.
 */
import type { Env } from "../app-env";
import { alertDeps } from "../deps";
import { IDEMPOTENCY_TTL_MS } from "../limits";
import { D1IdempotencyStore } from "../storage/idempotency-store";
import { reconcileProjection } from "../services/reconcile";
import { deliverDue } from "../services/webhooks";

export async function runScheduled(env: Env, now: Date): Promise<void> {
  const pending: Promise<unknown>[] = [];
  const deps = alertDeps(
    env,
    (p) => pending.push(p),
    () => now,
  );
  const projection = await reconcileProjection(deps, Math.floor(now.getTime() / 60_000));
  if (projection.written > 0) console.log(`reconcile: republished ${projection.written} projection value(s)`);
  const deliveries = await deliverDue(deps);
  if (deliveries.attempted > 0) console.log(`webhooks: ${deliveries.delivered} delivered, ${deliveries.failed} failed of ${deliveries.attempted}`);
  await new D1IdempotencyStore(env.DB).purge(new Date(now.getTime() - IDEMPOTENCY_TTL_MS).toISOString());
  await Promise.all(pending);
}
