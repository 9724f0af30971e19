/**
 * The Worker entry: its doors (HTTP through the Hono app, the cron tick, the observation queue's consumer) and the
 * Durable Object classes. Everything behind them is built in src/worker/.
 */
import type { Env } from "./platform/env";
import { app } from "./worker/app";
import { queue } from "./worker/queue";
import { scheduled } from "./worker/scheduled";

export { GateMonitor } from "./worker/gate-monitor";

export default {
  fetch: app.fetch,
  scheduled,
  queue,
} satisfies ExportedHandler<Env>;
