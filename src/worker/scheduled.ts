/**
 * Cron (every minute): run the listeners that changes committed more than ACTIVATION_LISTENERS_GRACE_MS ago still owe
 * (their request died: calibrations/pending-listeners.ts), reconcile the KV projection with D1 (and sync the hubs of the
 * gates it republished), retry due webhook deliveries, forget expired idempotency keys, bring the hubs of recently
 * changed gates up to D1 (missed pushes), write the log event of every promotion transition left without one, re-decide
 * every running promotion step from its evidence and stop the steps past their `max_step_hours`
 * (promotions/step-evidence.ts).
 * Thin adapter: the clock comes from the trigger's scheduled time, except for webhook delivery attempts, which read
 * `clock` (the real time): a tick's deliveries go out over seconds, and each is signed and recorded when it happens.
 */
import { type ListenerSweep, sweepPendingListeners } from "../calibrations/pending-listeners";
import { D1IdempotencyStore } from "../platform/d1-idempotency-store";
import type { Env } from "../platform/env";
import { IDEMPOTENCY_TTL_MS } from "../platform/limits";
import { type PromotionSweep, sweepPromotions } from "../promotions/step-evidence";
import { type ReconcileResult, reconcileProjection } from "../serving/reconcile";
import { D1RecentChanges, syncRecentHubs } from "../streaming/hub-sync";
import { type DeliveryRun, deliverDue } from "../webhooks/delivery";
import { appDeps, coreDeps, hubClient, webhookDeps } from "./wiring";

/** What one tick did; a step that failed is named in `failed` (and logged) and does not stop the others. */
export interface ScheduledReport {
  /** Changes whose owed listeners this tick ran (or found replaced, or left failed for the next tick). */
  listeners: ListenerSweep | null;
  reconcile: ReconcileResult | null;
  webhooks: DeliveryRun | null;
  idempotencyKeysPurged: number | null;
  /** Hubs of recently changed gates brought up to D1. */
  hubsSynced: number | null;
  /** Promotion transitions given their missing log event, running promotions re-decided, those stopped by their deadline. */
  promotions: PromotionSweep | null;
  failed: string[];
}

/** Where the tick's one-line summaries go: the Workers log (console) in production, a collector in tests. */
export type ScheduledLog = (line: string) => void;

export async function runScheduled(
  env: Env,
  now: Date,
  log: ScheduledLog = (line) => console.log(line),
  clock: () => Date = () => new Date(),
): Promise<ScheduledReport> {
  const pending: Promise<unknown>[] = [];
  const waitUntil = (p: Promise<unknown>): void => {
    pending.push(p);
  };
  // The reconciler reads KV without its edge cache (null): it must see the current value to compare with D1.
  const projection = coreDeps(env, waitUntil, () => now, null);
  const webhooks = webhookDeps(env, waitUntil, () => now, clock);
  const report: ScheduledReport = {
    listeners: null,
    reconcile: null,
    webhooks: null,
    idempotencyKeysPurged: null,
    hubsSynced: null,
    promotions: null,
    failed: [],
  };
  const steps: [string, () => Promise<void>][] = [
    // First: the owed listeners publish KV and push to hubs, so the steps below find less to repair.
    [
      "listeners",
      async () => {
        const r = await sweepPendingListeners(
          appDeps(env, waitUntil, () => now),
          now,
        );
        report.listeners = r;
        if (r.ran + r.replaced + r.failed + r.given_up > 0) {
          log(`listeners: ran those of ${r.ran} change(s), ${r.replaced} replaced since, ${r.failed} failed, ${r.given_up} given up`);
        }
        if (r.failed > 0) throw new Error(`the listeners of ${r.failed} change(s) failed; retried on the next tick`);
      },
    ],
    [
      "reconcile",
      async () => {
        // A gate whose KV value was behind D1 may have a hub behind or ahead of D1 too (a missed push, a restore that
        // emptied KV): one hub sync per republished gate, which reads one D1 query when the hub is current.
        const hub = hubClient(env);
        const syncHub = async (gateId: string): Promise<void> => {
          try {
            await hub.sync(gateId);
          } catch (e) {
            console.error(`reconcile: syncing the hub of gate ${gateId} failed; the next repair or change retries`, e);
          }
        };
        report.reconcile = await reconcileProjection(projection, Math.floor(now.getTime() / 60_000), undefined, syncHub);
        if (report.reconcile.written > 0) log(`reconcile: republished ${report.reconcile.written} projection value(s)`);
      },
    ],
    [
      "webhooks",
      async () => {
        const r = await deliverDue(webhooks);
        report.webhooks = r;
        if (r.attempted > 0) log(`webhooks: ${r.delivered} delivered, ${r.failed} failed of ${r.attempted}`);
      },
    ],
    [
      "idempotency",
      async () => {
        report.idempotencyKeysPurged = await new D1IdempotencyStore(env.DB).purge(new Date(now.getTime() - IDEMPOTENCY_TTL_MS).toISOString());
      },
    ],
    [
      "hubs",
      async () => {
        report.hubsSynced = await syncRecentHubs(new D1RecentChanges(env.DB), hubClient(env), now);
      },
    ],
    [
      "promotions",
      async () => {
        const r = await sweepPromotions(appDeps(env, waitUntil, () => now));
        report.promotions = r;
        if (r.repaired > 0) log(`promotions: ${r.repaired} transition(s) whose log event was missing written`);
        if (r.alerts_resolved > 0) log(`promotions: ${r.alerts_resolved} promotion_paused alert(s) whose pause is over resolved`);
        if (r.decided + r.timed_out > 0) log(`promotions: ${r.decided} decided on evidence, ${r.timed_out} paused at their deadline`);
        if (r.failed.length > 0) throw new Error(`promotions: ${r.failed.join(", ")} could not be decided, logged or resolved`);
      },
    ],
  ];
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (e) {
      report.failed.push(name);
      console.error(`scheduled step ${name} failed`, e);
    }
  }
  await Promise.allSettled(pending);
  return report;
}

/** The Worker's `scheduled` door: the tick's clock is the trigger's scheduled time. */
export async function scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  ctx.waitUntil(runScheduled(env, new Date(controller.scheduledTime)));
}
