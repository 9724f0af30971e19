/**
 * The Worker's environment (bindings from wrangler.toml plus secrets) and the per-request Hono context variables.
 */
import type { Principal } from "./auth";
import type { AppDeps } from "./deps";

export interface Env extends Omit<Cloudflare.Env, "ENVIRONMENT" | "OBSERVATION_INGEST" | "OBSERVATIONS_QUEUE"> {
  /** "production" (default), "development" (npm start) or "test" (vitest). */
  readonly ENVIRONMENT: string;
  /** Secrets: comma-separated `name:token` entries per scope (src/auth.ts). */
  readonly READ_TOKENS?: string;
  readonly CALIBRATE_TOKENS?: string;
  readonly ADMIN_TOKENS?: string;
  /** Drift monitor: probability of any false alarm per gate and calibration over 1,000,000 queries (default 0.001). */
  readonly DRIFT_ALPHA?: string;
  /** Drift monitor: tolerance on the drop rate, in rate units (default 0.02 = 2 points). */
  readonly DRIFT_TOLERANCE?: string;
  /** How POST /v1/observations reaches the monitors: "direct" (default) or "queue" (platform/deps-from-env.ts). */
  readonly OBSERVATION_INGEST?: string;
  /** The Queues producer binding queue mode writes to (wrangler.toml declares it; direct mode never uses it). */
  readonly OBSERVATIONS_QUEUE?: Queue;
}

export interface AppBindings {
  Bindings: Env;
  Variables: { principal: Principal; deps: AppDeps };
}
