/**
 * Cron (every minute): reconcile the KV projection with D1. Thin adapter: the clock comes from the trigger.
 */
import type { Env } from "../app-env";
import { coreDeps } from "../deps";
import { reconcileProjection } from "../services/reconcile";

export async function runScheduled(env: Env, now: Date): Promise<void> {
  const pending: Promise<unknown>[] = [];
  const deps = coreDeps(env, (p) => pending.push(p), () => now);
  const result = await reconcileProjection(deps);
  if (result.written > 0) console.log(`reconcile: republished ${result.written} projection value(s)`);
  await Promise.all(pending);
}
