/**
 * The Worker's environment (bindings from wrangler.toml plus secrets) and the Hono context variables every request
 * carries. Generic: no feature is named here. Each middleware declares the variables it sets, each feature's routes
 * combine them with the slice of dependencies that feature needs (its `deps.ts`), and src/worker/ sets them.
 */
import type { PrincipalVariables, TokenVariables } from "./auth-middleware";

export interface Env extends Omit<Cloudflare.Env, "ENVIRONMENT" | "OBSERVATION_INGEST" | "OBSERVATIONS_QUEUE"> {
  /** "production" (default), "development" (npm start) or "test" (vitest). */
  readonly ENVIRONMENT: string;
  /** Secrets: comma-separated `name:token` entries per scope (src/platform/auth.ts). */
  readonly READ_TOKENS?: string;
  readonly CALIBRATE_TOKENS?: string;
  readonly ADMIN_TOKENS?: string;
  /** Secret: signs dashboard session cookies (src/dashboard/session-token.ts); at least 32 characters in production. */
  readonly SESSION_SECRET?: string;
  /** Drift monitor: probability of any false alarm per gate and calibration over 1,000,000 queries (default 0.001). */
  readonly DRIFT_ALPHA?: string;
  /** Drift monitor: tolerance on the drop rate, in rate units (default 0.02 = 2 points). */
  readonly DRIFT_TOLERANCE?: string;
  /**
   * The address people open the Worker at (https://scoregate.example.com), so that alert webhooks link the alert's
   * dashboard page; unset: no link (src/platform/public-url.ts).
   */
  readonly PUBLIC_URL?: string;
  /** How POST /v1/observations reaches the monitors: "direct" (default) or "queue" (src/worker/wiring.ts). */
  readonly OBSERVATION_INGEST?: string;
  /** The Queues producer binding queue mode writes to (wrangler.toml declares it; direct mode never uses it). */
  readonly OBSERVATIONS_QUEUE?: Queue;
}

/** Set by the wiring middleware (src/worker/app.ts): this request's dependencies, typed by each feature as its slice. */
export interface DepsVariables<D> {
  deps: D;
}

/**
 * The Hono environment of a feature's routes: the Worker's bindings, the variables of the auth middleware
 * (src/platform/auth-middleware.ts) and the feature's slice `D` of the dependencies.
 */
export interface RouteEnv<D> {
  Bindings: Env;
  Variables: TokenVariables & PrincipalVariables & DepsVariables<D>;
}
