import { Hono } from "hono";
import { DEFAULT_INDEX, ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import { AppError } from "../platform/errors";
import { shownId } from "../platform/format";
import { handle } from "../platform/http/handle";
import { gateIdOf } from "../platform/ids";
import type { AlertListDeps } from "./deps";
import { acknowledgeAlert, alertOccurrencesPage, listAlertsPage, listGateAlertsPage, resolveAlert } from "./lifecycle";

export const alertRoutes = new Hono<RouteEnv<AlertListDeps>>();

handle(alertRoutes, ROUTES.listAlerts, async (c, { query: q }) => {
  // A gate is named by embedding and reranker (index defaulting); `index` alone filters by index, as the dashboard does.
  // gate_id names the gate too: with the others the two namings could disagree and match nothing, so that is refused.
  if (q.gate_id !== undefined) {
    const also = (["index", "embedding", "reranker"] as const).filter((k) => q[k] !== undefined);
    if (also.length > 0) {
      throw new AppError("bad_request", `filter by gate_id or by ${also.join(", ")}, not both: they name the gate twice`, [
        { path: "gate_id", message: `given with ${also.join(", ")}` },
        ...also.map((k) => ({ path: k, message: "given with gate_id" })),
      ]);
    }
  }
  const filter = { kind: q.kind, status: q.status, limit: q.limit };
  if (q.embedding !== undefined || q.reranker !== undefined) {
    if (q.embedding === undefined || q.reranker === undefined) {
      throw new AppError("bad_request", "filter by gate with both embedding and reranker (and optionally index), or by index alone", [
        { path: q.embedding === undefined ? "embedding" : "reranker", message: "both are required to name a gate" },
      ]);
    }
    // A gate named by hand may be mistyped: a gate nobody knows is a 404 with suggestions, not an all-clear.
    const gate = { index: q.index ?? DEFAULT_INDEX, embedding: q.embedding, reranker: q.reranker };
    return c.json(await listGateAlertsPage(gate, { ...filter, gate_id: await gateIdOf(gate) }, q.cursor, c.get("deps")), 200);
  }
  // A gate_id is copied by hand too: one nobody knows is a 404, not an all-clear. An index alone may be any (documented).
  if (q.gate_id !== undefined) return c.json(await listGateAlertsPage(null, { ...filter, gate_id: q.gate_id }, q.cursor, c.get("deps")), 200);
  return c.json(await listAlertsPage({ ...filter, index: q.index }, q.cursor, c.get("deps")), 200);
});

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
