import { Hono } from "hono";
import { ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import { handle } from "../platform/http/handle";
import { listDeliveries, replayDelivery } from "./delivery";
import type { WebhookDeps } from "./deps";
import { deleteEndpoint, keyedCreateEndpoint, listEndpoints, updateEndpoint } from "./endpoints";

export const webhookRoutes = new Hono<RouteEnv<WebhookDeps>>();

// A create runs once per Idempotency-Key (endpoints.ts keyedCreateEndpoint).
handle(webhookRoutes, ROUTES.createWebhook, { body: "webhook endpoint" }, async (c, { body }) => {
  const answer = await keyedCreateEndpoint(body, c.get("principal").name, c.req.header("idempotency-key"), c.get("deps"));
  if (answer.replayed) c.header("Idempotent-Replayed", "true");
  return c.json(answer.body, answer.status);
});

handle(webhookRoutes, ROUTES.listWebhooks, async (c) => c.json({ endpoints: await listEndpoints(c.get("deps")) }, 200));

handle(webhookRoutes, ROUTES.listDeliveries, async (c, { query: { cursor, ...filter } }) =>
  c.json(await listDeliveries(filter, cursor, c.get("deps")), 200),
);

handle(webhookRoutes, ROUTES.replayDelivery, async (c, { params }) => c.json(await replayDelivery(params.id, c.get("deps")), 200));

handle(webhookRoutes, ROUTES.updateWebhook, { body: "webhook endpoint" }, async (c, { params, body }) =>
  c.json(await updateEndpoint(params.id, body, c.get("deps"), c.get("principal").name), 200),
);

handle(webhookRoutes, ROUTES.deleteWebhook, async (c, { params }) =>
  c.json(await deleteEndpoint(params.id, c.get("principal").name, c.get("deps")), 200),
);
