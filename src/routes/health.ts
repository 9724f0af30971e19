import { Hono } from "hono";
import type { AppBindings } from "../app-env";
import { openApiDocument } from "../openapi";

/** Unauthenticated liveness, and the trivial baseline route of the read-path benchmark. */
export const healthRoutes = new Hono<AppBindings>()
  .get("/healthz", (c) => c.json({ ok: true }))
  .get("/openapi.json", (c) => c.json(openApiDocument()))
  .get("/", (c) =>
    c.json({
      service: "scoregate",
      docs: "README.md and docs/api.md in the scoregate repository",
      openapi: "/openapi.json",
      endpoints: ["GET /v1/threshold", "POST /v1/calibrations", "GET /v1/calibrations", "GET /v1/gates", "GET /healthz"],
    }),
  );
