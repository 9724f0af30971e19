/**
 * The Worker's environment (bindings from wrangler.toml plus secrets) and the per-request Hono context variables.
 */
import type { Principal } from "./auth";
import type { CoreDeps } from "./services/deps";

export interface Env extends Omit<Cloudflare.Env, "ENVIRONMENT"> {
  /** "production" (default), "development" (npm start) or "test" (vitest). */
  readonly ENVIRONMENT: string;
  /** Secrets: comma-separated `name:token` entries per scope (src/auth.ts). */
  readonly READ_TOKENS?: string;
  readonly CALIBRATE_TOKENS?: string;
  readonly ADMIN_TOKENS?: string;
}

export interface AppBindings {
  Bindings: Env;
  Variables: { principal: Principal; deps: CoreDeps };
}
