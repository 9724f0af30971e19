import { Hono } from "hono";
import { GateId, ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import { AppError } from "../platform/errors";
import { shownId } from "../platform/format";
import { handle } from "../platform/http/handle";
import { gateIdOf } from "../platform/ids";
import type { StreamingDeps } from "./deps";
import { EVENT_STREAM_HEADERS, resumePoint, subscribe } from "./subscribe";

/** A malformed gate id names no gate: 404, as an unknown one. */
const gateIdParam = (raw: string): string => {
  const r = GateId.safeParse(raw);
  if (!r.success) throw new AppError("not_found", `gate ${JSON.stringify(shownId(raw))} does not exist`);
  return r.data;
};

export const streamingRoutes = new Hono<RouteEnv<StreamingDeps>>();

handle(streamingRoutes, ROUTES.streamEvents, async (c, { query }) => {
  const resume = resumePoint(c.req.header("last-event-id"), query.after);
  return c.body(await subscribe(await gateIdOf(query), resume, c.get("deps"), query), 200, EVENT_STREAM_HEADERS);
});

handle(streamingRoutes, ROUTES.streamGateEvents, { params: { gate_id: gateIdParam } }, async (c, { params, query }) => {
  const resume = resumePoint(c.req.header("last-event-id"), query.after);
  return c.body(await subscribe(params.gate_id, resume, c.get("deps")), 200, EVENT_STREAM_HEADERS);
});
