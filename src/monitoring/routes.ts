import { Hono } from "hono";
import { JudgmentBatch, MonitorQuery, ObservationBatch, ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import type { MonitoringDeps } from "./deps";
import { readJson } from "../platform/http/body";
import { validate } from "../platform/http/validate";
import { MAX_OBSERVATION_QUERIES, MAX_OBSERVATION_SCORES, MAX_SMALL_BODY_BYTES } from "../platform/limits";
import { handle } from "../platform/routing";
import { judge } from "./judgments";
import { collectMetrics } from "./metrics";
import { monitorStatus, observe } from "./observations";

export const monitoringRoutes = new Hono<RouteEnv<MonitoringDeps>>();

handle(monitoringRoutes, ROUTES.postObservations, async (c) => {
  const batch = validate(
    ObservationBatch,
    await readJson(c.req.raw, MAX_SMALL_BODY_BYTES, {
      larger: `send several smaller batches (at most ${MAX_OBSERVATION_QUERIES} queries and ${MAX_OBSERVATION_SCORES} scores each)`,
    }),
    "invalid_input",
    "observation batch",
  );
  return c.json(await observe(batch, c.get("deps")), 202);
});

handle(monitoringRoutes, ROUTES.postJudgments, async (c) => {
  const batch = validate(JudgmentBatch, await readJson(c.req.raw, MAX_SMALL_BODY_BYTES), "invalid_input", "judgment batch");
  return c.json(await judge(batch, c.get("deps")), 202);
});

handle(monitoringRoutes, ROUTES.getMonitor, async (c) => {
  const gate = validate(MonitorQuery, c.req.query(), "bad_request", "query parameters");
  return c.json(await monitorStatus(gate, c.get("deps")));
});

handle(monitoringRoutes, ROUTES.metrics, async (c) => {
  c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  return c.body(await collectMetrics(c.get("deps")));
});
