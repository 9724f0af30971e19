import type { MiddlewareHandler } from "hono";
import type { AppBindings, Env } from "../app-env";
import { authenticate, loadTokens, type Scope } from "../auth";

type Tokens = Awaited<ReturnType<typeof loadTokens>>;

// Token digests are computed once per isolate and configuration (secrets change only with a new deployment).
let tokenCache: { key: string; tokens: Tokens } | null = null;

export async function tokensFor(env: Env): Promise<Tokens> {
  const key = JSON.stringify([env.ENVIRONMENT, env.READ_TOKENS, env.CALIBRATE_TOKENS, env.ADMIN_TOKENS]);
  if (tokenCache?.key !== key) tokenCache = { key, tokens: await loadTokens(env) };
  return tokenCache.tokens;
}

/** Requires a bearer token granting `scope`; sets `principal`. */
export const requireScope =
  (scope: Scope): MiddlewareHandler<AppBindings> =>
  async (c, next) => {
    c.set("principal", await authenticate(c.req.header("authorization"), await tokensFor(c.env), scope));
    await next();
  };
