import { Hono } from "hono";
import type { AppBindings } from "../app-env";
import { requireScope } from "../http/auth-middleware";
import { collectMetrics } from "../services/metrics";

export const metricsRoutes = new Hono<AppBindings>().get("/metrics", requireScope("read"), async (c) => {
  c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  return c.body(await collectMetrics(c.get("deps")));
});
