/**
 * The dashboard's session cookie: a signed, expiring session id, never the API token.
 *
 *   v1.<sid>.<exp>.<bind>.<mac>
 *
 * `sid` is 16 random bytes (base64url), `exp` the Unix second it ends (SESSION_MAX_AGE_S after sign-in, checked here,
 * not only by the browser), `bind` names the API token it was opened with without revealing it (the first 16 bytes of
 * an HMAC of the token's SHA-256 under the session secret), and `mac` is HMAC-SHA256 under SESSION_SECRET over the rest.
 * A cookie that anyone changed, that expired, or whose token is no longer configured (rotated away) opens nothing;
 * signing out revokes its `sid` in D1 (session-store.ts) until it would have expired, so a copied cookie stops working
 * too; rotating SESSION_SECRET ends every session at once. The scope is the token's as configured now, read on every
 * request.
 *
 * Why a signed cookie and not only a random id in a D1 row: the signature lets the Worker refuse a forged or expired
 * cookie without any storage read, and the row is needed only for what a signature cannot say (revoked). The secret is
 * a Wrangler secret; production refuses to open or issue sessions without one of at least MIN_SESSION_SECRET_LENGTH
 * characters, or with the local development secret (docs/dashboard.md, "Signing in").
 */
import type { Principal, Scope } from "../platform/auth";
import { isProduction } from "../platform/auth";
import { hmacSha256, sameString, toBase64Url, toHex } from "../platform/digest";
import { AppError } from "../platform/errors";

/** A dashboard session lasts at most 12 hours; the token is asked for again after that. */
export const SESSION_MAX_AGE_S = 12 * 60 * 60;

/** Shortest SESSION_SECRET production accepts (32 characters: at least 128 bits from any reasonable generator). */
export const MIN_SESSION_SECRET_LENGTH = 32;

/** The secret `npm start` and the tests sign with when SESSION_SECRET is unset; production refuses it. */
export const DEV_SESSION_SECRET = "scoregate-local-development-session-secret";

const VERSION = "v1";
const encoder = new TextEncoder();

/** What the session needs of a configured token (src/platform/auth.ts ConfiguredToken). */
export interface SessionToken {
  readonly name: string;
  readonly scope: Scope;
  /** SHA-256 of the token. */
  readonly digest: ArrayBuffer;
}

/** A session as issued: the cookie's value, its id and when it ends. */
export interface IssuedSession {
  readonly cookie: string;
  readonly sid: string;
  readonly expiresAtS: number;
}

/** A cookie that verified: its id, when it ends, and who it signs in as. */
export interface OpenedSession {
  readonly sid: string;
  readonly expiresAtS: number;
  readonly principal: Principal;
}

/**
 * The session secret of this environment: SESSION_SECRET; in development and tests the local secret when unset. In
 * production a missing, short or local secret is AppError misconfigured (503), naming the command that sets one.
 */
export function sessionSecretOf(env: { readonly ENVIRONMENT?: string; readonly SESSION_SECRET?: string }): string {
  const secret = env.SESSION_SECRET ?? "";
  if (!isProduction(env.ENVIRONMENT)) return secret === "" ? DEV_SESSION_SECRET : secret;
  const how = "set one with `openssl rand -base64 32 | npx wrangler secret put SESSION_SECRET`";
  if (secret === DEV_SESSION_SECRET) throw new AppError("misconfigured", `the dashboard refuses the local development SESSION_SECRET in production: ${how}`);
  if (secret.length < MIN_SESSION_SECRET_LENGTH) {
    throw new AppError(
      "misconfigured",
      `the dashboard needs a SESSION_SECRET of at least ${MIN_SESSION_SECRET_LENGTH} characters to sign sessions (${secret === "" ? "none is set" : `it has ${secret.length}`}): ${how}`,
    );
  }
  return secret;
}

/** HMAC-SHA256 under the session secret of a labelled message (labels keep the uses apart). */
const mac = (secret: string, label: string, message: string): Promise<Uint8Array> => hmacSha256(encoder.encode(secret), `${label}\u0000${message}`);

/** The cookie's name for a token: it tells the tokens apart without revealing any. */
const bindingOf = async (secret: string, digest: ArrayBuffer): Promise<string> =>
  toBase64Url((await mac(secret, "scoregate-session-token", toHex(new Uint8Array(digest)))).slice(0, 16));

const signatureOf = async (secret: string, body: string): Promise<string> => toBase64Url(await mac(secret, "scoregate-session", body));

/** A new session for the token with SHA-256 `digest`; `sidBytes` are 16 random bytes. */
export async function issueSession(secret: string, digest: ArrayBuffer, nowS: number, sidBytes: Uint8Array): Promise<IssuedSession> {
  if (sidBytes.length !== 16) throw new RangeError("issueSession: the session id takes 16 random bytes");
  const sid = toBase64Url(sidBytes);
  const expiresAtS = Math.floor(nowS) + SESSION_MAX_AGE_S;
  const body = `${VERSION}.${sid}.${expiresAtS}.${await bindingOf(secret, digest)}`;
  return { cookie: `${body}.${await signatureOf(secret, body)}`, sid, expiresAtS };
}

/** The session a cookie opens at `nowS` with the tokens configured now, or null (forged, expired, token gone). */
export async function openSession(secret: string, cookie: string, nowS: number, tokens: readonly SessionToken[]): Promise<OpenedSession | null> {
  const parts = cookie.split(".");
  if (parts.length !== 5 || parts[0] !== VERSION) return null;
  const [, sid, exp, binding, signature] = parts as [string, string, string, string, string];
  if (!sameString(signature, await signatureOf(secret, parts.slice(0, 4).join(".")))) return null;
  const expiresAtS = Number(exp);
  if (!Number.isSafeInteger(expiresAtS) || expiresAtS <= nowS) return null;
  let principal: Principal | null = null;
  // Every configured token is compared (no early exit), as bearer tokens are.
  for (const t of tokens) if (sameString(binding, await bindingOf(secret, t.digest)) && principal === null) principal = { name: t.name, scope: t.scope };
  return principal === null ? null : { sid, expiresAtS, principal };
}

/** The CSRF token of a session's forms: unguessable without the secret, different for every session. */
export async function csrfTokenOf(secret: string, sid: string): Promise<string> {
  return toHex(await mac(secret, "scoregate-dashboard-csrf", sid));
}

/** A name for a token prefix to count failed sign-ins under, without storing the prefix (it may be a real token's). */
export async function prefixKeyOf(secret: string, prefix: string): Promise<string> {
  return toHex((await mac(secret, "scoregate-login-prefix", prefix)).slice(0, 16));
}
