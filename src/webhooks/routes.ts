import { Hono } from "hono";
import { DeliveryQuery, ROUTES, WebhookCreate, WebhookUpdate } from "../contract";
import type { RouteEnv } from "../platform/env";
import type { WebhookDeps } from "./deps";
import { readJson } from "../platform/http/body";
import { validate } from "../platform/http/validate";
import { MAX_SMALL_BODY_BYTES } from "../platform/limits";
import { handle } from "../platform/routing";
import { listDeliveries, replayDelivery } from "./delivery";
import { createEndpoint, deleteEndpoint, listEndpoints, updateEndpoint } from "./endpoints";

const body = (c: { req: { raw: Request } }) => readJson(c.req.raw, MAX_SMALL_BODY_BYTES);

export const webhookRoutes = new Hono<RouteEnv<WebhookDeps>>();

handle(webhookRoutes, ROUTES.createWebhook, async (c) => {
  const input = validate(WebhookCreate, await body(c), "invalid_input", "webhook endpoint");
  return c.json(await createEndpoint(input, c.get("deps")), 201);
});

handle(webhookRoutes, ROUTES.listWebhooks, async (c) => c.json({ endpoints: await listEndpoints(c.get("deps")) }));

handle(webhookRoutes, ROUTES.listDeliveries, async (c) => {
  const q = validate(DeliveryQuery, c.req.query(), "bad_request", "query parameters");
  return c.json({ deliveries: await listDeliveries(q, c.get("deps")) });
});

handle(webhookRoutes, ROUTES.replayDelivery, async (c) => c.json(await replayDelivery(c.req.param("id")!, c.get("deps"))));

handle(webhookRoutes, ROUTES.updateWebhook, async (c) => {
  const patch = validate(WebhookUpdate, await body(c), "invalid_input", "webhook endpoint");
  return c.json(await updateEndpoint(c.req.param("id")!, patch, c.get("deps")));
});

handle(webhookRoutes, ROUTES.deleteWebhook, async (c) => c.json(await deleteEndpoint(c.req.param("id")!, c.get("principal").name, c.get("deps"))));
