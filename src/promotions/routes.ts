import { Hono } from "hono";
import { DEFAULT_SHADOW_SAMPLE_RATE, ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import { handle } from "../platform/http/handle";
import type { PromotionDeps } from "./deps";
import { keyedOverride, keyedShadowChange, keyedStart } from "./idempotent";
import { getPromotion, listPromotions } from "./service";
import { listShadows } from "./shadows";
import type { AdminAction } from "./state-machine";

export const promotionRoutes = new Hono<RouteEnv<PromotionDeps>>();

// Starts, overrides and shadow changes run once per Idempotency-Key (idempotent.ts).
const KEY_HEADER = "idempotency-key";
const REPLAYED_HEADER = "Idempotent-Replayed";

handle(promotionRoutes, ROUTES.promoteCalibration, { body: "request" }, async (c, { params, body }) => {
  const answer = await keyedStart(c.get("deps"), c.get("principal").name, c.req.header(KEY_HEADER), params.id, body);
  if (answer.replayed) c.header(REPLAYED_HEADER, "true");
  return c.json(answer.body, answer.status);
});

handle(promotionRoutes, ROUTES.getPromotion, async (c, { params }) => c.json(await getPromotion(params.id, c.get("deps")), 200));

handle(promotionRoutes, ROUTES.listGatePromotions, async (c, { params, query }) =>
  c.json(await listPromotions(params.gate_id, query.limit, query.cursor, c.get("deps")), 200),
);

const overrides: [
  typeof ROUTES.pausePromotion | typeof ROUTES.resumePromotion | typeof ROUTES.advancePromotion | typeof ROUTES.rollbackPromotion,
  AdminAction,
][] = [
  [ROUTES.pausePromotion, "pause"],
  [ROUTES.resumePromotion, "resume"],
  [ROUTES.advancePromotion, "advance"],
  [ROUTES.rollbackPromotion, "rollback"],
];
for (const [route, action] of overrides) {
  handle(promotionRoutes, route, { body: "request" }, async (c, { params, body }) => {
    const answer = await keyedOverride(c.get("deps"), c.get("principal").name, c.req.header(KEY_HEADER), params.id, action, body);
    if (answer.replayed) c.header(REPLAYED_HEADER, "true");
    return c.json(answer.body, answer.status);
  });
}

handle(promotionRoutes, ROUTES.addShadow, { body: "request" }, async (c, { params, body }) => {
  const change = { kind: "add", sampleRate: body?.sample_rate ?? DEFAULT_SHADOW_SAMPLE_RATE } as const;
  const answer = await keyedShadowChange(c.get("deps"), c.get("principal").name, c.req.header(KEY_HEADER), params.id, change, body);
  if (answer.replayed) c.header(REPLAYED_HEADER, "true");
  return c.json(answer.body, answer.status);
});

handle(promotionRoutes, ROUTES.changeShadowRate, { body: "request" }, async (c, { params, body }) => {
  const change = { kind: "rate", sampleRate: body.sample_rate } as const;
  const answer = await keyedShadowChange(c.get("deps"), c.get("principal").name, c.req.header(KEY_HEADER), params.id, change, body);
  if (answer.replayed) c.header(REPLAYED_HEADER, "true");
  return c.json(answer.body, answer.status);
});

handle(promotionRoutes, ROUTES.removeShadow, { body: "request" }, async (c, { params, body }) => {
  const answer = await keyedShadowChange(c.get("deps"), c.get("principal").name, c.req.header(KEY_HEADER), params.id, { kind: "remove" }, body);
  if (answer.replayed) c.header(REPLAYED_HEADER, "true");
  return c.json(answer.body, answer.status);
});

handle(promotionRoutes, ROUTES.listShadows, async (c, { params }) => c.json(await listShadows(params.gate_id, c.get("deps")), 200));
