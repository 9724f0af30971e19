import { Hono } from "hono";
import type { AppBindings } from "../app-env";
import { requireScope } from "../http/auth-middleware";
import {
  THRESHOLD_MAX_AGE_SECONDS,
  THRESHOLD_STALE_IF_ERROR_SECONDS,
  THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS,
  ISOLATE_CACHE_MAX_ENTRIES,
  ISOLATE_CACHE_TTL_MS,
} from "../limits";
import { ThresholdQuery } from "../schemas";
import { IsolateCache } from "../services/isolate-cache";
import { readThreshold, UncalibratedError, type CachedThreshold } from "../services/threshold-reader";
import { noteUncalibrated } from "../services/uncalibrated";
import { validate } from "../http/validate";
import { etagMatches } from "../http/etag";

/** The isolate tier of the read path: module scope, values only (no bindings). */
export const thresholdCache = new IsolateCache<CachedThreshold>(ISOLATE_CACHE_MAX_ENTRIES, ISOLATE_CACHE_TTL_MS);

const CACHE_CONTROL = `private, max-age=${THRESHOLD_MAX_AGE_SECONDS}, stale-while-revalidate=${THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS}, stale-if-error=${THRESHOLD_STALE_IF_ERROR_SECONDS}`;

export const thresholdRoutes = new Hono<AppBindings>().get("/threshold", requireScope("read"), async (c) => {
  const query = validate(ThresholdQuery, c.req.query(), "bad_request", "query parameters");
  let outcome: Awaited<ReturnType<typeof readThreshold>>;
  try {
    outcome = await readThreshold(query, thresholdCache, c.get("deps"));
  } catch (e) {
    if (e instanceof UncalibratedError) noteUncalibrated(e.gateId, query, c.get("deps"));
    throw e;
  }
  const { projection, body, source } = outcome;
  const etag = `"${projection.threshold.calibration_id}"`;
  c.header("ETag", etag);
  c.header("Cache-Control", CACHE_CONTROL);
  c.header("X-Scoregate-Source", source);
  if (etagMatches(c.req.header("if-none-match"), etag)) return c.body(null, 304);
  c.header("Content-Type", "application/json");
  return c.body(body);
});
