/**
 * Dashboard sessions. A token is entered once on /ui/login, verified like a bearer token (src/platform/auth.ts), and
 * answered with a cookie that holds a signed, expiring session id, never the token (session-token.ts): scripts cannot
 * read it (HttpOnly), the browser sends it only on same-site navigation (SameSite=Strict) and only over HTTPS outside
 * development (Secure). The Worker checks the signature (HMAC-SHA256 under SESSION_SECRET, Hono's signed cookies),
 * the expiry and that the token it was opened with is still configured on every request, and that it was not signed
 * out (session-store.ts). Failed sign-ins are counted per client address and slowed down (login-throttle.ts).
 *
 * Admin actions are POST forms protected twice against cross-site requests: SameSite=Strict keeps the cookie off
 * them, and each form carries a CSRF token derived from the session id under the session secret that a page on
 * another site cannot know; it is compared in constant time. A request whose Origin is another site is refused
 * before that.
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { grants, type Principal, verifyToken } from "../platform/auth";
import { sameString, sha256 } from "../platform/digest";
import type { RouteEnv } from "../platform/env";
import { AppError } from "../platform/errors";
import { SESSION_MAX_AGE_S } from "../platform/limits";
import type { DashboardDeps } from "./deps";
import { addressKey, type LoginThrottle } from "./login-throttle";
import type { SessionStore } from "./session-store";
import { csrfTokenOf, type OpenedSession, openSessionValue, sessionSecretOf, sessionValue } from "./session-token";

export const SESSION_COOKIE = "scoregate_session";

/** What sessions need beyond the dashboard's slice (src/worker/wiring.ts builds it). */
export interface SessionDeps {
  /** Signed-out sessions (D1). */
  readonly sessions: SessionStore;
  /** This isolate's failed sign-in counts. */
  readonly loginThrottle: LoginThrottle;
  readonly now: () => Date;
  readonly randomBytes: (n: number) => Uint8Array;
}

export interface DashboardVariables {
  principal: Principal;
  csrf: string;
  session: OpenedSession;
}

export type DashboardBindings = RouteEnv<DashboardDeps & SessionDeps> & {
  Variables: RouteEnv<DashboardDeps & SessionDeps>["Variables"] & DashboardVariables;
};
type Ctx = Context<DashboardBindings>;

const nowSeconds = (c: Ctx): number => Math.floor(c.get("deps").now().getTime() / 1000);

/** Secure everywhere except ENVIRONMENT=development (plain http://localhost). */
const secureCookie = (c: Ctx): boolean => c.env.ENVIRONMENT !== "development";

/** Signs in as the (verified) `token`: a new session id in a signed cookie that ends in SESSION_MAX_AGE_S. */
export async function startSession(c: Ctx, token: string): Promise<void> {
  const secret = sessionSecretOf(c.env);
  const value = await sessionValue(secret, await sha256(token), c.get("deps").randomBytes(16), nowSeconds(c) + SESSION_MAX_AGE_S);
  await setSignedCookie(c, SESSION_COOKIE, value, secret, {
    path: "/",
    httpOnly: true,
    sameSite: "Strict",
    secure: secureCookie(c),
    maxAge: SESSION_MAX_AGE_S,
  });
}

export function clearSession(c: Ctx): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", httpOnly: true, sameSite: "Strict", secure: secureCookie(c) });
}

/** Signs out: the session is recorded as ended (a copy of the cookie opens nothing) and the cookie is cleared. */
export async function endSession(c: Ctx): Promise<void> {
  const session = c.get("session");
  await c.get("deps").sessions.end(session.sid, session.expiresAtS, nowSeconds(c));
  clearSession(c);
}

/** The session the request's cookie opens, or null (none, forged, expired, token rotated away, signed out). */
async function sessionOf(c: Ctx): Promise<OpenedSession | null> {
  const secret = sessionSecretOf(c.env);
  const value = await getSignedCookie(c, secret, SESSION_COOKIE);
  if (typeof value !== "string") return null;
  const session = await openSessionValue(secret, value, nowSeconds(c), await c.get("tokens").tokens(c.env));
  if (session === null || (await c.get("deps").sessions.ended(session.sid))) return null;
  return session;
}

/** Verifies a token entered on the login form; null when it is unknown. */
export async function principalOf(c: Ctx, token: string): Promise<Principal | null> {
  try {
    return await verifyToken(token, await c.get("tokens").tokens(c.env));
  } catch (e) {
    if (e instanceof AppError && e.code === "unauthorized") return null;
    throw e;
  }
}

/** What a sign-in attempt came to: signed in (the cookie is set), or refused with the status and what to tell the person. */
export type SignIn =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 401; readonly message: string }
  | { readonly ok: false; readonly status: 429; readonly message: string; readonly retryAfterS: number };

/**
 * Signs in with the token entered on the login form, unless this client address failed too often lately
 * (login-throttle.ts): then nothing is verified and the answer says when to try again.
 */
export async function signIn(c: Ctx, token: string | undefined): Promise<SignIn> {
  sessionSecretOf(c.env); // a production Worker without a usable secret refuses (503) before counting anything
  const deps = c.get("deps");
  const address = addressKey(c.req.header("cf-connecting-ip"));
  const waitMs = deps.loginThrottle.attempt(address, deps.now().getTime());
  if (waitMs > 0) {
    const retryAfterS = Math.ceil(waitMs / 1000);
    const minutes = Math.ceil(retryAfterS / 60);
    const message = `Too many failed sign-ins from your address: try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
    return { ok: false, status: 429, message, retryAfterS };
  }
  const principal = token === undefined ? null : await principalOf(c, token);
  if (principal === null || token === undefined) return { ok: false, status: 401, message: "Unknown token." };
  deps.loginThrottle.succeeded(address);
  await startSession(c, token);
  return { ok: true };
}

/** Refuses a state-changing request whose Origin (or Sec-Fetch-Site) says it comes from another site. */
export function refuseCrossSite(c: Ctx): void {
  const origin = c.req.header("origin");
  const site = c.req.header("sec-fetch-site");
  if (site === "cross-site" || (origin !== undefined && origin !== new URL(c.req.url).origin)) {
    throw new AppError("forbidden", "cross-site request refused");
  }
}

/** A form posted without a live session: the dashboard answers it with its own page (routes.tsx, sessionEndedPage). */
export class SessionEndedError extends AppError {
  constructor() {
    super("unauthorized", "your session expired or was signed out before this form was sent: nothing was changed");
  }
}

/**
 * Requires a valid session cookie for /ui pages: sets `principal` and the session's `csrf` token. A browser without
 * one (or with a stale one) is sent to the login form, which returns it to the page it asked for.
 */
export const requireSession: MiddlewareHandler<DashboardBindings> = async (c, next) => {
  const session = await sessionOf(c);
  if (session === null) {
    if (getCookie(c, SESSION_COOKIE) !== undefined) clearSession(c);
    const url = new URL(c.req.url);
    // A form post (Acknowledge, Resolve, Activate, ...) is not redirected: the dashboard's error page says the session
    // ended, links the login with the form's page as `next` and shows what was typed (routes.tsx, sessionEndedPage).
    if (c.req.method !== "GET") throw new SessionEndedError();
    return c.redirect(`/ui/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
  }
  c.set("session", session);
  c.set("principal", session.principal);
  c.set("csrf", await csrfTokenOf(sessionSecretOf(c.env), session.sid));
  await next();
};

/** For admin form posts: the cross-site check, the CSRF token of the form, then the admin scope. */
export async function requireAdminPost(c: Ctx, form: FormData): Promise<Principal> {
  refuseCrossSite(c);
  const sent = form.get("csrf");
  if (typeof sent !== "string" || !sameString(sent, c.get("csrf"))) {
    throw new AppError("forbidden", "the form's CSRF token is missing or stale: reload the page and try again");
  }
  const principal = c.get("principal");
  if (!grants(principal.scope, "admin")) {
    throw new AppError("forbidden", `this action needs the admin scope; the token "${principal.name}" has ${principal.scope}`);
  }
  return principal;
}

/** C0 and C1 control characters and DEL: never part of a path a browser sends, and fatal in a Location header. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this expression is for.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/** Stands in for this Worker's origin while a path is resolved (the path is all that is kept). */
const HERE = "http://scoregate.invalid";

/**
 * A safe local return path for after login: a path under /ui of this origin, resolved (dot segments removed) and
 * percent-encoded, so it always fits in a Location header; anything else returns to /ui. A `next` with a control
 * character is refused (400): no browser sends one, and a CR/LF must never reach a header.
 */
export function safeNext(raw: string | undefined): string {
  if (raw === undefined || raw === "") return "/ui";
  if (CONTROL.test(raw)) {
    throw new AppError("bad_request", "next must be a path on this site without control characters", [
      { path: "next", message: "has a control character" },
    ]);
  }
  if (!raw.startsWith("/ui") || raw.startsWith("//")) return "/ui";
  const url = new URL(raw, HERE);
  if (url.origin !== HERE || !(url.pathname === "/ui" || url.pathname.startsWith("/ui/"))) return "/ui";
  return url.pathname + url.search + url.hash;
}
