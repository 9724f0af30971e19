/**
 * The route table: every operation of the API with its method, path, scope and schemas. The Worker registers its
 * handlers through it (src/platform/http/handle.ts adds the scope check and validates the input), the OpenAPI document is generated from it
 * (src/reference/openapi.ts), and the clients read paths and scopes from it, so none of them can drift apart.
 *
 * Composed from one table per feature (routes-*.ts; what an entry is: route-spec.ts). The key order is the order of
 * the OpenAPI document's paths and of the route registration: keep it when adding an entry.
 */

import type { z } from "zod";
import { CalibrationId } from "./common";
import { GateId } from "./events";
import type { RouteSpec } from "./route-spec";
import { alertRoutes } from "./routes-alerts";
import { calibrationRoutes } from "./routes-calibrations";
import { monitoringRoutes } from "./routes-monitoring";
import { promotionRoutes } from "./routes-promotions";
import { metricsRoute, serviceRoutes } from "./routes-service";
import { servingRoutes } from "./routes-serving";
import { webhookRoutes } from "./routes-webhooks";

export const ROUTES = {
  ...serviceRoutes,
  ...servingRoutes,
  ...calibrationRoutes,
  ...monitoringRoutes,
  ...alertRoutes,
  ...webhookRoutes,
  ...promotionRoutes,
  ...metricsRoute,
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;

/**
 * What a value of each path parameter form of the table (an entry's `params`) names, in the words of the 404 that a
 * value of another form gets: it names nothing, and is answered as an unknown one (`calibration "x" does not exist`;
 * src/platform/http/handle.ts words it, and refuses to register a route whose parameter form is missing here).
 */
export const PARAM_NAMES: readonly { readonly form: z.ZodType; readonly names: string }[] = [
  { form: CalibrationId, names: "calibration" },
  { form: GateId, names: "gate" },
];
