import { Hono } from "hono";
import { ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import { etagMatches } from "../platform/http/etag";
import { handle } from "../platform/http/handle";
import { sendJsonText } from "../platform/http/json-text";
import { THRESHOLD_MAX_AGE_SECONDS, THRESHOLD_STALE_IF_ERROR_SECONDS, THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS } from "../platform/limits";
import type { ServingDeps } from "./deps";
import { seenActivationSeq, thresholdEtag } from "./threshold-etag";
import { type ReadOutcome, UncalibratedError } from "./threshold-reader";

const CACHE_CONTROL = `private, max-age=${THRESHOLD_MAX_AGE_SECONDS}, stale-while-revalidate=${THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS}, stale-if-error=${THRESHOLD_STALE_IF_ERROR_SECONDS}`;

export const servingRoutes = new Hono<RouteEnv<ServingDeps>>();

handle(servingRoutes, ROUTES.getThreshold, async (c, { query }) => {
  const ifNoneMatch = c.req.header("if-none-match");
  const deps = c.get("deps");
  let outcome: ReadOutcome;
  try {
    outcome = await deps.thresholds.read(query, { seenSeq: seenActivationSeq(ifNoneMatch), lastKnownGood: true });
  } catch (e) {
    if (e instanceof UncalibratedError)
      deps.onUncalibrated(e.gateId, query, { token: c.get("principal").name, userAgent: c.req.header("user-agent") ?? null }, e.suggestions);
    throw e;
  }
  const { projection, body, source } = outcome;
  const etag = thresholdEtag(projection);
  c.header("ETag", etag);
  c.header("Cache-Control", CACHE_CONTROL);
  c.header("X-Scoregate-Source", source);
  if (etagMatches(ifNoneMatch, etag)) return c.body(null, 304);
  return sendJsonText(c, body, 200);
});
