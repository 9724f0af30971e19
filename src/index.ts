/**
 * The Worker entry: HTTP through the Hono app, the cron reconciler, and the Durable Object classes.
 */
import { app } from "./app";
import type { Env } from "./platform/env";
import { runScheduled } from "./jobs/scheduled";

export { GateMonitor } from "./monitoring/gate-monitor";

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduled(env, new Date(controller.scheduledTime)));
  },
} satisfies ExportedHandler<Env>;
