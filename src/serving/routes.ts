import { Hono } from "hono";
import { ROUTES, ThresholdQuery } from "../contract";
import type { RouteEnv } from "../platform/env";
import type { ServingDeps } from "./deps";
import { etagMatches } from "../platform/http/etag";
import { validate } from "../platform/http/validate";
import {
  ISOLATE_CACHE_MAX_ENTRIES,
  ISOLATE_CACHE_TTL_MS,
  LAST_KNOWN_GOOD_MS,
  THRESHOLD_MAX_AGE_SECONDS,
  THRESHOLD_STALE_IF_ERROR_SECONDS,
  THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS,
} from "../platform/limits";
import { handle } from "../platform/routing";
import { IsolateCache } from "./isolate-cache";
import { seenActivationSeq, thresholdEtag } from "./threshold-etag";
import { type CachedThreshold, readThreshold, UncalibratedError } from "./threshold-reader";
import { noteUncalibrated } from "./uncalibrated";

/** The isolate tier of the read path: module scope, values only (no bindings). */
export const thresholdCache = new IsolateCache<CachedThreshold>(ISOLATE_CACHE_MAX_ENTRIES, ISOLATE_CACHE_TTL_MS);

/** The last threshold served per gate, kept a day: answered (marked stale) only when KV and D1 both fail. */
export const lastKnownGood = new IsolateCache<CachedThreshold>(ISOLATE_CACHE_MAX_ENTRIES, LAST_KNOWN_GOOD_MS);

const CACHE_CONTROL = `private, max-age=${THRESHOLD_MAX_AGE_SECONDS}, stale-while-revalidate=${THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS}, stale-if-error=${THRESHOLD_STALE_IF_ERROR_SECONDS}`;

export const servingRoutes = new Hono<RouteEnv<ServingDeps>>();

handle(servingRoutes, ROUTES.getThreshold, async (c) => {
  const query = validate(ThresholdQuery, c.req.query(), "bad_request", "query parameters");
  const ifNoneMatch = c.req.header("if-none-match");
  let outcome: Awaited<ReturnType<typeof readThreshold>>;
  try {
    outcome = await readThreshold(query, thresholdCache, c.get("deps"), lastKnownGood, seenActivationSeq(ifNoneMatch));
  } catch (e) {
    if (e instanceof UncalibratedError) noteUncalibrated(e.gateId, query, c.get("deps"));
    throw e;
  }
  const { projection, body, source } = outcome;
  const etag = thresholdEtag(projection);
  c.header("ETag", etag);
  c.header("Cache-Control", CACHE_CONTROL);
  c.header("X-Scoregate-Source", source);
  if (etagMatches(ifNoneMatch, etag)) return c.body(null, 304);
  c.header("Content-Type", "application/json");
  return c.body(body);
});
