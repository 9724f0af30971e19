import { Hono } from "hono";
import type { AppBindings } from "../app-env";
import { readJson } from "../http/body";
import { requireScope } from "../http/auth-middleware";
import { validate } from "../http/validate";
import { MAX_SMALL_BODY_BYTES } from "../limits";
import { MonitorQuery, ObservationBatch } from "../schemas";
import { monitorStatus, observe } from "../services/observations";
import { thresholdCache } from "./thresholds";

export const observationRoutes = new Hono<AppBindings>()
  .post("/observations", requireScope("read"), async (c) => {
    const batch = validate(ObservationBatch, await readJson(c.req.raw, MAX_SMALL_BODY_BYTES), "invalid_input", "observation batch");
    return c.json(await observe(batch, thresholdCache, c.get("deps")), 202);
  })
  .get("/monitor", requireScope("read"), async (c) => {
    const gate = validate(MonitorQuery, c.req.query(), "bad_request", "query parameters");
    return c.json(await monitorStatus(gate, c.get("deps")));
  });
