import type { MiddlewareHandler } from "hono";
import type { AppBindings, Env } from "./env";
import { authorize, bearerToken, loadTokens, type Principal, type Scope, verifyToken } from "./auth";

type Tokens = Awaited<ReturnType<typeof loadTokens>>;

/** Most verified tokens remembered per isolate (a deployment has a handful). */
const MAX_VERIFIED_TOKENS = 256;

// Per isolate and token configuration (secrets change only with a new deployment): the configured digests, and the
// tokens already verified. Only tokens that passed the constant-time check are remembered, so an unknown token always
// takes the full check and cannot grow the map; a hit needs the exact valid token. This saves a SHA-256 per request
// on the read path (about 15-20 us of 60-90 us, bench/results/threshold-read.md).
let state: { key: string; tokens: Tokens; verified: Map<string, Principal> } | null = null;

async function current(env: Env): Promise<NonNullable<typeof state>> {
  const key = JSON.stringify([env.ENVIRONMENT, env.READ_TOKENS, env.CALIBRATE_TOKENS, env.ADMIN_TOKENS]);
  if (state?.key !== key) state = { key, tokens: await loadTokens(env), verified: new Map() };
  return state;
}

/** The configured tokens; throws AppError("misconfigured") for an unsafe production configuration. */
export async function tokensFor(env: Env): Promise<Tokens> {
  return (await current(env)).tokens;
}

/** Requires a bearer token granting `scope`; sets `principal`. */
export const requireScope =
  (scope: Scope): MiddlewareHandler<AppBindings> =>
  async (c, next) => {
    const s = await current(c.env);
    const token = bearerToken(c.req.header("authorization"));
    let principal = s.verified.get(token);
    if (principal === undefined) {
      principal = await verifyToken(token, s.tokens);
      if (s.verified.size >= MAX_VERIFIED_TOKENS) s.verified.clear();
      s.verified.set(token, principal);
    }
    c.set("principal", authorize(principal, scope));
    await next();
  };
