/**
 * The Hono app: middleware, one onError, one sub-app per resource.
 */
import { Hono } from "hono";
import type { AppBindings } from "./app-env";
import { appDeps } from "./deps";
import { AppError, errorBody, httpStatus } from "./errors";
import { calibrationRoutes } from "./routes/calibrations";
import { gateRoutes } from "./routes/gates";
import { healthRoutes } from "./routes/health";
import { thresholdRoutes } from "./routes/thresholds";
import { observationRoutes } from "./routes/observations";
import { alertRoutes } from "./routes/alerts";
import { webhookRoutes } from "./routes/webhooks";
import { metricsRoutes } from "./routes/metrics";
import { tokensFor } from "./http/auth-middleware";

export const app = new Hono<AppBindings>();

// Refuse to serve at all with an unsafe production configuration (dev tokens, no tokens): fail loudly, early.
app.use("*", async (c, next) => {
  await tokensFor(c.env);
  c.set(
    "deps",
    appDeps(c.env, (p) => c.executionCtx.waitUntil(p)),
  );
  await next();
});

app.route("/", healthRoutes);
app.route("/v1", thresholdRoutes);
app.route("/v1", calibrationRoutes);
app.route("/v1", gateRoutes);
app.route("/v1", observationRoutes);
app.route("/v1", alertRoutes);
app.route("/v1", webhookRoutes);
app.route("/", metricsRoutes);

app.notFound((c) => c.json(errorBody(new AppError("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`)), 404));

app.onError((err, c) => {
  if (err instanceof AppError) return c.json(errorBody(err), httpStatus(err.code));
  console.error("unhandled error", err);
  return c.json(errorBody(new AppError("internal", "internal error")), 500);
});

export type AppType = typeof app;
