import type { MiddlewareHandler } from "hono";
import { type AuthEnv, authorize, bearerToken, loadTokens, type Principal, type Scope, verifyToken } from "./auth";

type Tokens = Awaited<ReturnType<typeof loadTokens>>;

interface TokenState {
  readonly key: string;
  readonly tokens: Tokens;
  readonly verified: Map<string, Principal>;
}

/** Most verified tokens remembered per isolate (a deployment has a handful). */
const MAX_VERIFIED_TOKENS = 256;

/**
 * What an isolate remembers of the token configuration (secrets change only with a new deployment): the configured
 * digests, and the tokens already verified. Only tokens that passed the constant-time check are remembered, so an
 * unknown token always takes the full check and cannot grow the map; a hit needs the exact valid token. This saves a
 * SHA-256 per request on the read path (about 15-20 us of 60-90 us, bench/results/threshold-read.md). One instance
 * lives in src/worker/isolate.ts.
 */
export class TokenCache {
  #state: TokenState | null = null;

  async #current(env: AuthEnv): Promise<TokenState> {
    const key = JSON.stringify([env.ENVIRONMENT, env.READ_TOKENS, env.CALIBRATE_TOKENS, env.ADMIN_TOKENS]);
    if (this.#state?.key !== key) this.#state = { key, tokens: await loadTokens(env), verified: new Map() };
    return this.#state;
  }

  /** The configured tokens; throws AppError("misconfigured") for an unsafe production configuration. */
  async tokens(env: AuthEnv): Promise<Tokens> {
    return (await this.#current(env)).tokens;
  }

  /** The principal of an Authorization header's bearer token (401 when missing or unknown), remembered once verified. */
  async principal(env: AuthEnv, authorization: string | undefined): Promise<Principal> {
    const s = await this.#current(env);
    const token = bearerToken(authorization);
    let principal = s.verified.get(token);
    if (principal === undefined) {
      principal = await verifyToken(token, s.tokens);
      if (s.verified.size >= MAX_VERIFIED_TOKENS) s.verified.clear();
      s.verified.set(token, principal);
    }
    return principal;
  }
}

/** Set by the Worker's first middleware (src/worker/app.ts): the isolate's token cache, which requireScope reads. */
export interface TokenVariables {
  tokens: TokenCache;
}

/** Set by requireScope: who is calling. */
export interface PrincipalVariables {
  principal: Principal;
}

/** Requires a bearer token granting `scope`; sets `principal`. */
export const requireScope =
  <E extends { Bindings: AuthEnv; Variables: TokenVariables & PrincipalVariables }>(scope: Scope): MiddlewareHandler<E> =>
  async (c, next) => {
    const principal = await c.get("tokens").principal(c.env, c.req.header("authorization"));
    c.set("principal", authorize(principal, scope));
    await next();
  };
