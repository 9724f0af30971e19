import { Hono } from "hono";
import { ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import { handle } from "../platform/http/handle";
import { gateIdOf } from "../platform/ids";
import type { StreamingDeps } from "./deps";
import { EVENT_STREAM_HEADERS, resumePoint, subscribe } from "./subscribe";

export const streamingRoutes = new Hono<RouteEnv<StreamingDeps>>();

handle(streamingRoutes, ROUTES.streamEvents, async (c, { query }) => {
  const resume = resumePoint(c.req.header("last-event-id"), query.after);
  return c.body(await subscribe(await gateIdOf(query), resume, c.get("deps"), query), 200, EVENT_STREAM_HEADERS);
});

handle(streamingRoutes, ROUTES.streamGateEvents, async (c, { params, query }) => {
  const resume = resumePoint(c.req.header("last-event-id"), query.after);
  return c.body(await subscribe(params.gate_id, resume, c.get("deps")), 200, EVENT_STREAM_HEADERS);
});
