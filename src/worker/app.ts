/**
 * The Hono app: the wiring middleware, one sub-app per feature, one onError. Every API operation is registered
 * through the route table (src/contract/routes.ts), which also gives each its scope check.
 */
import { Hono } from "hono";
import { alertRoutes } from "../alerts/routes";
import { calibrationRoutes } from "../calibrations/routes";
import { API_VERSION, API_VERSION_HEADER } from "../contract";
import { dashboardRoutes } from "../dashboard/routes";
import { monitoringRoutes } from "../monitoring/routes";
import { AppError, errorBody, httpStatus } from "../platform/errors";
import { IDEMPOTENCY_RETRY_AFTER_SECONDS, STORAGE_RETRY_AFTER_SECONDS } from "../platform/limits";
import { isSchemaError, notMigrated } from "../platform/readiness";
import { promotionRoutes } from "../promotions/routes";
import { docsRoutes } from "../reference/docs";
import { referenceRoutes } from "../reference/routes";
import { servingRoutes } from "../serving/routes";
import { streamingRoutes } from "../streaming/routes";
import { SubscribeRefused } from "../streaming/subscribe";
import { webhookRoutes } from "../webhooks/routes";
import type { AppEnv } from "./deps";
import { isolate } from "./isolate";
import { allowedMethods, notFoundHint } from "./not-found";
import { appDeps } from "./wiring";

export const app = new Hono<AppEnv>();

// Every answer says which API it speaks: errors, 304s, the dashboard and /docs included (this runs outermost, after
// onError and notFound have made their answers).
app.use("*", async (c, next) => {
  await next();
  c.header(API_VERSION_HEADER, API_VERSION);
});

app.use("*", async (c, next) => {
  c.set("tokens", isolate.tokens);
  // Refuse to serve at all with an unsafe production configuration (dev tokens, no tokens): fail loudly, early.
  await isolate.tokens.tokens(c.env);
  c.set(
    "deps",
    appDeps(c.env, (p) => c.executionCtx.waitUntil(p)),
  );
  await next();
});

app.route("/", referenceRoutes);
app.route("/", servingRoutes);
app.route("/", calibrationRoutes);
app.route("/", monitoringRoutes);
app.route("/", alertRoutes);
app.route("/", webhookRoutes);
app.route("/", streamingRoutes);
app.route("/", promotionRoutes);
// The dashboard (/ui, src/dashboard/routes.tsx) and the API reference (/docs, src/reference/docs.ts): HTML pages, not
// API operations.
app.route("/", dashboardRoutes);
app.route("/", docsRoutes);

app.notFound((c) => {
  const path = new URL(c.req.url).pathname;
  // An empty segment (`//`, or a trailing `/`) is most often an id left out: the README's walk-through with a shell
  // variable unset (`/v1/calibrations/$V1/activate` becoming `/v1/calibrations//activate`). Say so, or the 404 reads
  // as a wrong URL.
  const empty = path !== "/" && /\/(\/|$)/u.test(path) ? ": a path segment is empty (an id or a name is missing, e.g. an unset shell variable)" : "";
  const allowed = empty === "" ? allowedMethods(c.req.method, path) : undefined;
  if (allowed !== undefined) {
    c.header("Allow", allowed.join(", "));
    const takes = allowed.filter((m) => m !== "HEAD").join(" and ");
    return c.json(errorBody(new AppError("method_not_allowed", `${c.req.method} is not allowed on ${path}: this path takes ${takes}`)), 405);
  }
  const hint = empty === "" ? notFoundHint(c.req.method, path) : "";
  return c.json(errorBody(new AppError("not_found", `no route for ${c.req.method} ${path}${empty}${hint}`)), 404);
});

app.onError((err, c) => {
  if (err instanceof AppError) {
    if (err.code === "storage_unavailable") c.header("Retry-After", String(STORAGE_RETRY_AFTER_SECONDS));
    if (err.code === "idempotency_in_progress") c.header("Retry-After", String(IDEMPOTENCY_RETRY_AFTER_SECONDS));
    if (err instanceof SubscribeRefused) c.header("Retry-After", String(err.retryAfterSeconds));
    return c.json(errorBody(err), httpStatus(err.code));
  }
  if (isSchemaError(err)) return c.json(errorBody(notMigrated()), 503);
  console.error("unhandled error", err);
  return c.json(errorBody(new AppError("internal", "internal error")), 500);
});
