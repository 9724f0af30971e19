/**
 * Cron (every minute): reconcile the KV projection with D1, retry due webhook deliveries, forget expired
 * idempotency keys.
 * Thin adapter: the clock comes from the trigger's scheduled time.
 */
import type { Env } from "../platform/env";
import { alertDeps } from "../platform/deps-from-env";
import { IDEMPOTENCY_TTL_MS } from "../platform/limits";
import { D1IdempotencyStore } from "../platform/d1-idempotency-store";
import { reconcileProjection } from "../serving/reconcile";
import { deliverDue } from "../webhooks/delivery";

/** Runs each step on its own: a failing step is logged and does not stop the others. */
export async function runScheduled(env: Env, now: Date): Promise<void> {
  const pending: Promise<unknown>[] = [];
  const deps = alertDeps(
    env,
    (p) => pending.push(p),
    () => now,
    null,
  );
  const steps: [string, () => Promise<void>][] = [
    [
      "reconcile",
      async () => {
        const r = await reconcileProjection(deps, Math.floor(now.getTime() / 60_000));
        if (r.written > 0) console.log(`reconcile: republished ${r.written} projection value(s)`);
      },
    ],
    [
      "webhooks",
      async () => {
        const r = await deliverDue(deps);
        if (r.attempted > 0) console.log(`webhooks: ${r.delivered} delivered, ${r.failed} failed of ${r.attempted}`);
      },
    ],
    [
      "idempotency",
      async () => {
        await new D1IdempotencyStore(env.DB).purge(new Date(now.getTime() - IDEMPOTENCY_TTL_MS).toISOString());
      },
    ],
  ];
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (e) {
      console.error(`scheduled step ${name} failed`, e);
    }
  }
  await Promise.allSettled(pending);
}
