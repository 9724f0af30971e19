/**
 * What a request's dependencies must satisfy: every feature's slice at once. src/worker/wiring.ts builds ONE object of
 * this type per request, so the compiler checks that it satisfies each feature's `deps.ts`; each feature's routes see
 * only their own slice of it.
 */
import type { AlertDeps } from "../alerts/deps";
import type { CalibrationDeps } from "../calibrations/deps";
import type { DashboardDeps } from "../dashboard/deps";
import type { SessionDeps } from "../dashboard/session";
import type { MonitoringDeps } from "../monitoring/deps";
import type { RouteEnv } from "../platform/env";
import type { PromotionDeps } from "../promotions/deps";
import type { ReferenceDeps } from "../reference/deps";
import type { ServingDeps } from "../serving/deps";
import type { StreamingDeps } from "../streaming/deps";
import type { WebhookDeps } from "../webhooks/deps";

export type AppDeps = CalibrationDeps &
  ServingDeps &
  MonitoringDeps &
  AlertDeps &
  WebhookDeps &
  ReferenceDeps &
  DashboardDeps &
  SessionDeps &
  StreamingDeps &
  PromotionDeps;

/** The Hono environment of the app: the bindings, and the context variables of every middleware with AppDeps. */
export type AppEnv = RouteEnv<AppDeps>;
