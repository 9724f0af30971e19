import { Hono } from "hono";
import { DEFAULT_SHADOW_SAMPLE_RATE, ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import { handle } from "../platform/http/handle";
import type { PromotionDeps } from "./deps";
import { getPromotion, listPromotions, overridePromotion, startPromotion } from "./service";
import { changeShadow, listShadows } from "./shadows";
import type { AdminAction } from "./state-machine";

export const promotionRoutes = new Hono<RouteEnv<PromotionDeps>>();

handle(promotionRoutes, ROUTES.promoteCalibration, { body: "request" }, async (c, { params, body }) =>
  c.json(await startPromotion(params.id, body, c.get("principal").name, c.get("deps")), 201),
);

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
  handle(promotionRoutes, route, { body: "request" }, async (c, { params, body }) =>
    c.json(await overridePromotion(params.id, action, c.get("principal").name, body?.reason ?? null, c.get("deps")), 200),
  );
}

handle(promotionRoutes, ROUTES.addShadow, { body: "request" }, async (c, { params, body }) =>
  c.json(
    await changeShadow(
      params.id,
      { kind: "add", sampleRate: body?.sample_rate ?? DEFAULT_SHADOW_SAMPLE_RATE },
      c.get("principal").name,
      body?.reason ?? null,
      c.get("deps"),
    ),
    200,
  ),
);

handle(promotionRoutes, ROUTES.changeShadowRate, { body: "request" }, async (c, { params, body }) =>
  c.json(
    await changeShadow(params.id, { kind: "rate", sampleRate: body.sample_rate }, c.get("principal").name, body.reason ?? null, c.get("deps")),
    200,
  ),
);

handle(promotionRoutes, ROUTES.removeShadow, { body: "request" }, async (c, { params, body }) =>
  c.json(await changeShadow(params.id, { kind: "remove" }, c.get("principal").name, body?.reason ?? null, c.get("deps")), 200),
);

handle(promotionRoutes, ROUTES.listShadows, async (c, { params }) => c.json(await listShadows(params.gate_id, c.get("deps")), 200));
