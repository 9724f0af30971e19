import { Hono } from "hono";
import type { AppBindings } from "../app-env";
import { AppError } from "../errors";
import { readJson } from "../http/body";
import { requireScope } from "../http/auth-middleware";
import { validate } from "../http/validate";
import { MAX_SMALL_BODY_BYTES } from "../limits";
import { AlertAction, AlertQuery } from "../schemas";
import { acknowledgeAlert, listAlerts, resolveAlert } from "../services/alerts";
import { gateIdOf } from "../services/ids";

export const alertRoutes = new Hono<AppBindings>()
  .get("/alerts", requireScope("read"), async (c) => {
    const q = validate(AlertQuery, c.req.query(), "bad_request", "query parameters");
    let gateId = q.gate_id;
    if (q.embedding !== undefined || q.reranker !== undefined || q.index !== undefined) {
      if (q.embedding === undefined || q.reranker === undefined) {
        throw new AppError("bad_request", "filter by gate with both embedding and reranker (and optionally index)", [
          { path: "reranker", message: "both are required" },
        ]);
      }
      gateId = await gateIdOf({ index: q.index ?? "default", embedding: q.embedding, reranker: q.reranker });
    }
    return c.json({ alerts: await listAlerts({ gate_id: gateId, kind: q.kind, status: q.status, limit: q.limit }, c.get("deps")) });
  })
  .get("/alerts/:id", requireScope("read"), async (c) => {
    const alert = await c.get("deps").alerts.get(c.req.param("id"));
    if (alert === null) throw new AppError("not_found", `alert ${c.req.param("id")} does not exist`);
    return c.json(alert);
  })
  .post("/alerts/:id/acknowledge", requireScope("admin"), async (c) => {
    validate(AlertAction, await readJson(c.req.raw, MAX_SMALL_BODY_BYTES, { allowEmpty: true }), "invalid_input", "request");
    return c.json(await acknowledgeAlert(c.req.param("id"), c.get("principal").name, c.get("deps")));
  })
  .post("/alerts/:id/resolve", requireScope("admin"), async (c) => {
    validate(AlertAction, await readJson(c.req.raw, MAX_SMALL_BODY_BYTES, { allowEmpty: true }), "invalid_input", "request");
    return c.json(await resolveAlert(c.req.param("id"), c.get("principal").name, c.get("deps")));
  });
