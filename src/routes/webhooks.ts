import { Hono } from "hono";
import type { AppBindings } from "../app-env";
import { readJson } from "../http/body";
import { requireScope } from "../http/auth-middleware";
import { validate } from "../http/validate";
import { MAX_SMALL_BODY_BYTES } from "../limits";
import { DeliveryQuery, WebhookCreate, WebhookUpdate } from "../schemas";
import { createEndpoint, listDeliveries, listEndpoints, replayDelivery, updateEndpoint } from "../services/webhooks";

const body = (c: { req: { raw: Request } }) => readJson(c.req.raw, MAX_SMALL_BODY_BYTES);

export const webhookRoutes = new Hono<AppBindings>()
  .use("/webhooks/*", requireScope("admin"))
  .use("/webhooks", requireScope("admin"))
  .post("/webhooks", async (c) => {
    const input = validate(WebhookCreate, await body(c), "invalid_input", "webhook endpoint");
    return c.json(await createEndpoint(input, c.get("deps")), 201);
  })
  .get("/webhooks", async (c) => c.json({ endpoints: await listEndpoints(c.get("deps")) }))
  .get("/webhooks/deliveries", async (c) => {
    const q = validate(DeliveryQuery, c.req.query(), "bad_request", "query parameters");
    return c.json({ deliveries: await listDeliveries(q, c.get("deps")) });
  })
  .post("/webhooks/deliveries/:id/replay", async (c) => c.json(await replayDelivery(c.req.param("id"), c.get("deps"))))
  .patch("/webhooks/:id", async (c) => {
    const patch = validate(WebhookUpdate, await body(c), "invalid_input", "webhook endpoint");
    return c.json(await updateEndpoint(c.req.param("id"), patch, c.get("deps")));
  });
