/**
 * The service's own operations in the route table: the index, health, this OpenAPI document, and Prometheus metrics.
 * `metricsRoute` is apart because ROUTES lists it last (routes.ts).
 */
import { Health, ServiceIndex } from "./envelopes";
import type { RouteSpec } from "./route-spec";

export const serviceRoutes = {
  index: {
    method: "get",
    path: "/",
    tag: "service",
    scope: null,
    summary: "What this service is and where its documents are",
    responses: {
      200: { description: "service index", schema: ServiceIndex },
      302: { description: "a browser (Accept: text/html) is redirected to the dashboard at /ui", headers: { Location: "/ui" } },
    },
    errors: [],
  },
  health: {
    method: "get",
    path: "/healthz",
    tag: "service",
    scope: null,
    summary: "Liveness and readiness (503 misconfigured for a variable the routes refuse, 503 not_migrated before the D1 migrations are applied)",
    responses: { 200: { description: "ok", schema: Health } },
    errors: [503],
  },
  openapi: {
    method: "get",
    path: "/openapi.json",
    tag: "service",
    scope: null,
    summary: "This OpenAPI 3.1 document",
    responses: { 200: { description: "the document", contentType: "application/json" } },
    errors: [],
  },
} as const satisfies Record<string, RouteSpec>;

export const metricsRoute = {
  metrics: {
    method: "get",
    path: "/metrics",
    tag: "service",
    scope: "read",
    summary: "Prometheus metrics",
    responses: { 200: { description: "Prometheus text format 0.0.4", contentType: "text/plain" } },
    errors: [],
  },
} as const satisfies Record<string, RouteSpec>;
