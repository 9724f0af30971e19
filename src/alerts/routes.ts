import { Hono } from "hono";
import { ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import { AppError } from "../platform/errors";
import { shownId } from "../platform/format";
import { handle } from "../platform/http/handle";
import type { AlertListDeps } from "./deps";
import { acknowledgeAlert, alertOccurrencesPage, listAlertsByQuery, resolveAlert } from "./lifecycle";

export const alertRoutes = new Hono<RouteEnv<AlertListDeps>>();

handle(alertRoutes, ROUTES.listAlerts, async (c, { query }) => c.json(await listAlertsByQuery(query, c.get("deps")), 200));

handle(alertRoutes, ROUTES.getAlert, async (c, { params }) => {
  const alert = await c.get("deps").alerts.get(params.id);
  if (alert === null) throw new AppError("not_found", `alert ${shownId(params.id)} does not exist`);
  return c.json(alert, 200);
});

handle(alertRoutes, ROUTES.listAlertOccurrences, async (c, { params, query }) =>
  c.json(await alertOccurrencesPage(params.id, query.limit, query.cursor, c.get("deps")), 200),
);

handle(alertRoutes, ROUTES.acknowledgeAlert, { body: "request" }, async (c, { params, body }) =>
  c.json(await acknowledgeAlert(params.id, c.get("principal").name, body.note ?? null, c.get("deps")), 200),
);

handle(alertRoutes, ROUTES.resolveAlert, { body: "request" }, async (c, { params, body }) =>
  c.json(await resolveAlert(params.id, c.get("principal").name, body.note ?? null, c.get("deps")), 200),
);
