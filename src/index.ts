/**
 * The Worker entry: HTTP through the Hono app, the cron reconciler, the observation queue's consumer, and the
 * Durable Object classes.
 */
import { app } from "./app";
import type { Env } from "./platform/env";
import { runScheduled } from "./jobs/scheduled";
import { consumerDeps } from "./platform/deps-from-env";
import { consumeObservations } from "./monitoring/queue-consumer";

export { GateMonitor } from "./monitoring/gate-monitor";

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(env, new Date(controller.scheduledTime)));
  },
  // OBSERVATION_INGEST = "queue": batches enqueued by POST /v1/observations (wrangler.toml [[queues.consumers]]).
  async queue(batch, env) {
    await consumeObservations(batch.messages, consumerDeps(env));
  },
} satisfies ExportedHandler<Env>;
