import { Hono } from "hono";
import { ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import { handle } from "../platform/http/handle";
import { notMigrated, schemaComplete } from "../platform/readiness";
import type { ReferenceDeps } from "./deps";

/** Unauthenticated: liveness (also the trivial baseline route of the read-path benchmark), the service index, the OpenAPI document. */
export const referenceRoutes = new Hono<RouteEnv<ReferenceDeps>>();

handle(referenceRoutes, ROUTES.health, async (c) => {
  const missing = await c.get("deps").missingSchema();
  if (!schemaComplete(missing)) throw notMigrated(missing);
  return c.json({ ok: true, ready: true }, 200);
});
handle(referenceRoutes, ROUTES.openapi, (c) => c.json(c.get("deps").openApiDocument(), 200));
// A browser (Accept: text/html) is sent to the dashboard; API clients keep getting the JSON index.
handle(referenceRoutes, ROUTES.index, (c) =>
  (c.req.header("accept") ?? "").includes("text/html")
    ? c.redirect("/ui", 302)
    : c.json(
        {
          service: "scoregate" as const,
          docs: "README.md and docs/api.md in the scoregate repository",
          openapi: "/openapi.json",
          reference: "/docs",
          dashboard: "/ui",
          endpoints: ["GET /v1/threshold", "POST /v1/calibrations", "GET /v1/calibrations", "GET /v1/gates", "GET /healthz"],
        },
        200,
      ),
);
