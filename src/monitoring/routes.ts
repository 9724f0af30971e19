import { Hono } from "hono";
import { ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import { countText } from "../platform/format";
import { handle } from "../platform/http/handle";
import { MAX_OBSERVATION_QUERIES, MAX_OBSERVATION_SCORES } from "../platform/limits";
import type { MonitoringDeps } from "./deps";
import { judge } from "./judgments";
import { collectMetrics } from "./metrics";
import { observe } from "./observations";
import { monitorSeries, seriesCsv } from "./series-report";
import { monitorStatus } from "./status";

export const monitoringRoutes = new Hono<RouteEnv<MonitoringDeps>>();

handle(
  monitoringRoutes,
  ROUTES.postObservations,
  {
    body: "observation batch",
    larger: `send several smaller batches (at most ${countText(MAX_OBSERVATION_QUERIES)} queries and ${countText(MAX_OBSERVATION_SCORES)} scores each)`,
  },
  async (c, { body }) => c.json(await observe(body, c.get("deps")), 202),
);

handle(monitoringRoutes, ROUTES.postJudgments, { body: "judgment batch" }, async (c, { body }) => c.json(await judge(body, c.get("deps")), 202));

handle(monitoringRoutes, ROUTES.getMonitor, async (c, { query }) => c.json(await monitorStatus(query, c.get("deps")), 200));

handle(monitoringRoutes, ROUTES.getMonitorSeries, async (c, { query }) => {
  const { format, ...q } = query;
  const series = await monitorSeries(q, c.get("deps"));
  if (format !== "csv") return c.json(series, 200);
  c.header("Content-Type", "text/csv; charset=utf-8");
  c.header("Content-Disposition", `attachment; filename="scoregate-series-${series.gate_id}.csv"`);
  return c.body(seriesCsv(series.buckets), 200);
});

handle(monitoringRoutes, ROUTES.metrics, async (c) => {
  c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  return c.body(await collectMetrics(c.get("deps")), 200);
});
