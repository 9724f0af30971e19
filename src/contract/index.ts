/**
 * THE API contract of scoregate, shared by the Worker and every client: the zod schemas of every request and response
 * with their inferred types, the error codes and envelope, the API-visible limits, and the route table (method, path,
 * scope, schemas) from which both the routes' scope checks and the OpenAPI document derive.
 *
 * It imports nothing but zod (an import rule checked by `npm run lint:imports`), so a client in Node, a browser or a
 * Worker can depend on it. One module split into files by resource: import it as `src/contract`, never a file inside.
 */

export * from "./alert-details";
export * from "./alerts";
export * from "./api-version";
export * from "./calibration-per-query";
export * from "./calibration-reports";
export * from "./calibration-upload";
export * from "./calibrations";
export * from "./common";
export * from "./envelopes";
export * from "./errors";
export * from "./events";
export * from "./judgments";
export * from "./limits";
export * from "./monitor-series";
export * from "./monitoring";
export * from "./promotions";
// route-spec.ts also holds the per-feature tables' helper `json`, which is no part of the contract
export {
  type BodyContent,
  IDEMPOTENCY_KEY,
  type Method,
  pathParams,
  type RequestBodySpec,
  type ResponseSpec,
  ROUTE_TAGS,
  type RouteSpec,
  type RouteTag,
  SCOPES,
  type Scope,
} from "./route-spec";
export * from "./routes";
export * from "./serving";
export * from "./webhooks";
