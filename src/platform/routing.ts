/**
 * Registers a handler for an operation of the route table (src/contract/routes.ts): the method and path come from the
 * table, and so does the scope check, so the OpenAPI document and what the Worker enforces cannot disagree.
 */
import type { Handler, Hono } from "hono";
import type { RouteSpec } from "../contract";
import { requireScope } from "./auth-middleware";
import type { AppBindings } from "./env";

/** Hono's form of an OpenAPI path template: `/v1/alerts/{id}` -> `/v1/alerts/:id`. */
export const honoPath = (path: string): string => path.replace(/\{(\w+)\}/gu, ":$1");

export function handle(app: Hono<AppBindings>, spec: RouteSpec, handler: Handler<AppBindings>): void {
  const path = honoPath(spec.path);
  if (spec.scope === null) app.on(spec.method.toUpperCase(), path, handler);
  else app.on(spec.method.toUpperCase(), path, requireScope(spec.scope), handler);
}
