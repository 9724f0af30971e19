import { Hono } from "hono";
import { AlertAction, AlertOccurrenceQuery, AlertQuery, DEFAULT_INDEX, ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import type { AlertDeps } from "./deps";
import { AppError } from "../platform/errors";
import { readJson } from "../platform/http/body";
import { validate } from "../platform/http/validate";
import { gateIdOf } from "../platform/ids";
import { MAX_SMALL_BODY_BYTES } from "../platform/limits";
import { handle } from "../platform/routing";
import { acknowledgeAlert, alertOccurrences, listAlerts, resolveAlert } from "./lifecycle";

export const alertRoutes = new Hono<RouteEnv<AlertDeps>>();

handle(alertRoutes, ROUTES.listAlerts, async (c) => {
  const q = validate(AlertQuery, c.req.query(), "bad_request", "query parameters");
  let gateId = q.gate_id;
  if (q.embedding !== undefined || q.reranker !== undefined || q.index !== undefined) {
    if (q.embedding === undefined || q.reranker === undefined) {
      throw new AppError("bad_request", "filter by gate with both embedding and reranker (and optionally index)", [
        { path: "reranker", message: "both are required" },
      ]);
    }
    gateId = await gateIdOf({ index: q.index ?? DEFAULT_INDEX, embedding: q.embedding, reranker: q.reranker });
  }
  return c.json({ alerts: await listAlerts({ gate_id: gateId, kind: q.kind, status: q.status, limit: q.limit }, c.get("deps")) });
});

handle(alertRoutes, ROUTES.getAlert, async (c) => {
  const alert = await c.get("deps").alerts.get(c.req.param("id")!);
  if (alert === null) throw new AppError("not_found", `alert ${c.req.param("id")} does not exist`);
  return c.json(alert);
});

handle(alertRoutes, ROUTES.listAlertOccurrences, async (c) => {
  const q = validate(AlertOccurrenceQuery, c.req.query(), "bad_request", "query parameters");
  const id = c.req.param("id")!;
  return c.json({ alert_id: id, occurrences: await alertOccurrences(id, q.limit, c.get("deps")) });
});

handle(alertRoutes, ROUTES.acknowledgeAlert, async (c) => {
  const body = validate(AlertAction, await readJson(c.req.raw, MAX_SMALL_BODY_BYTES, { allowEmpty: true }), "invalid_input", "request");
  return c.json(await acknowledgeAlert(c.req.param("id")!, c.get("principal").name, body.note ?? null, c.get("deps")));
});

handle(alertRoutes, ROUTES.resolveAlert, async (c) => {
  const body = validate(AlertAction, await readJson(c.req.raw, MAX_SMALL_BODY_BYTES, { allowEmpty: true }), "invalid_input", "request");
  return c.json(await resolveAlert(c.req.param("id")!, c.get("principal").name, body.note ?? null, c.get("deps")));
});
