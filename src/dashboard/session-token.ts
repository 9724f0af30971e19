/**
 * What the dashboard's session cookie says, and the secret that signs it. The cookie never holds the API token:
 *
 *   v1.<sid>.<exp>.<bind>   signed by session.ts with Hono's signed cookies (HMAC-SHA256 under SESSION_SECRET)
 *
 * `sid` is 16 random bytes (base64url), `exp` the Unix second the session ends (SESSION_MAX_AGE_S after sign-in, checked
 * here, not only by the browser), `bind` names the API token it was opened with without revealing it (the first 16
 * bytes of an HMAC of the token's SHA-256 under the session secret). A cookie that anyone changed, that expired, or
 * whose token is no longer configured (rotated away) opens nothing; signing out records its `sid` as ended
 * (session-store.ts) until it would have expired, so a copied cookie stops working too; rotating SESSION_SECRET ends
 * every session at once. The scope is the token's as configured now, read on every request.
 *
 * Why a signed cookie and not only a random id in a D1 row: the signature lets the Worker refuse a forged or expired
 * cookie without any storage read, and storage is needed only for what a signature cannot say (signed out).
 */
import type { Principal, Scope } from "../platform/auth";
import { isProduction } from "../platform/auth";
import { hmacSha256, sameString, toBase64Url, toHex } from "../platform/digest";
import { AppError } from "../platform/errors";
import { MIN_SESSION_SECRET_LENGTH, SESSION_MAX_AGE_S } from "../platform/limits";

/** The secret `npm start` and the tests sign with when SESSION_SECRET is unset; a production Worker refuses it. */
export const DEV_SESSION_SECRET = "scoregate-local-development-session-secret";

const VERSION = "v1";
const encoder = new TextEncoder();

/** What a session needs of a configured token (src/platform/auth.ts loadTokens). */
export interface SessionToken {
  readonly name: string;
  readonly scope: Scope;
  /** SHA-256 of the token. */
  readonly digest: ArrayBuffer;
}

/** A cookie value that opened: its id, when it ends, and who it signs in as. */
export interface OpenedSession {
  readonly sid: string;
  readonly expiresAtS: number;
  readonly principal: Principal;
}

/**
 * The session secret of this environment: SESSION_SECRET; in development and tests the local secret when unset. In
 * production a missing, short or local secret is AppError misconfigured (503), naming the command that sets one (the
 * dashboard refuses to sign anyone in; the API is not affected).
 */
export function sessionSecretOf(env: { readonly ENVIRONMENT?: string; readonly SESSION_SECRET?: string }): string {
  const secret = env.SESSION_SECRET ?? "";
  if (!isProduction(env.ENVIRONMENT)) return secret === "" ? DEV_SESSION_SECRET : secret;
  const how = "set one with `openssl rand -base64 32 | npx wrangler secret put SESSION_SECRET`";
  if (secret === DEV_SESSION_SECRET) throw new AppError("misconfigured", `a production Worker refuses the local development SESSION_SECRET: ${how}`);
  if (secret.length < MIN_SESSION_SECRET_LENGTH) {
    const has = secret === "" ? "none is set" : `it has ${secret.length}`;
    throw new AppError("misconfigured", `the dashboard needs a SESSION_SECRET of at least ${MIN_SESSION_SECRET_LENGTH} characters (${has}): ${how}`);
  }
  return secret;
}

/** HMAC-SHA256 under the session secret of a labelled message (the labels keep the uses apart). */
const mac = (secret: string, label: string, message: string): Promise<Uint8Array> => hmacSha256(encoder.encode(secret), `${label}\u0000${message}`);

/** The cookie's name for a token: it tells the tokens apart without revealing any. */
const bindingOf = async (secret: string, digest: ArrayBuffer): Promise<string> =>
  toBase64Url((await mac(secret, "scoregate-session-token", toHex(new Uint8Array(digest)))).slice(0, 16));

/** The value (before signing) of a new session for the token with SHA-256 `digest`; `sidBytes` are 16 random bytes. */
export async function sessionValue(secret: string, digest: ArrayBuffer, sidBytes: Uint8Array, expiresAtS: number): Promise<string> {
  if (sidBytes.length !== 16) throw new RangeError("sessionValue: the session id takes 16 random bytes");
  if (!Number.isSafeInteger(expiresAtS)) throw new RangeError("sessionValue: expiresAtS must be a whole second");
  return `${VERSION}.${toBase64Url(sidBytes)}.${expiresAtS}.${await bindingOf(secret, digest)}`;
}

/**
 * The session a signature-checked cookie value opens at `nowS` with the tokens configured now, or null: malformed,
 * expired (or ending further away than a session lasts), or its token no longer configured.
 */
export async function openSessionValue(secret: string, value: string, nowS: number, tokens: readonly SessionToken[]): Promise<OpenedSession | null> {
  const parts = value.split(".");
  if (parts.length !== 4 || parts[0] !== VERSION) return null;
  const [, sid, exp, binding] = parts as [string, string, string, string];
  const expiresAtS = /^[0-9]{1,12}$/u.test(exp) ? Number(exp) : Number.NaN;
  if (!(expiresAtS > nowS && expiresAtS <= nowS + SESSION_MAX_AGE_S) || !/^[A-Za-z0-9_-]{22}$/u.test(sid)) return null;
  let principal: Principal | null = null;
  // Every configured token is compared (no early exit), as bearer tokens are.
  for (const t of tokens)
    if (sameString(binding, await bindingOf(secret, t.digest)) && principal === null) principal = { name: t.name, scope: t.scope };
  return principal === null ? null : { sid, expiresAtS, principal };
}

/** The CSRF token of a session's forms: unguessable without the secret, different for every session. */
export async function csrfTokenOf(secret: string, sid: string): Promise<string> {
  return toHex(await mac(secret, "scoregate-dashboard-csrf", sid));
}
