/**
 * Dashboard sessions. A token is entered once on /ui/login, verified like a bearer token (src/platform/auth.ts), and
 * kept in a cookie that scripts cannot read (HttpOnly), that the browser sends only on same-site navigation
 * (SameSite=Strict) and only over HTTPS outside development (Secure). The cookie holds the token itself: the Worker
 * keeps no session state, and rotating a token (a new deployment of the secrets) ends every session that used it.
 *
 * Admin actions are POST forms protected twice against cross-site requests: SameSite=Strict keeps the cookie off
 * them, and each form carries a CSRF token derived from the session token (SHA-256 with a fixed label) that a page
 * on another site cannot know; it is compared in constant time. A request whose Origin is another site is refused
 * before that.
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { grants, type Principal, verifyToken } from "../platform/auth";
import { sha256Hex } from "../platform/digest";
import type { RouteEnv } from "../platform/env";
import { AppError } from "../platform/errors";
import type { DashboardDeps } from "./deps";

export const SESSION_COOKIE = "scoregate_session";
/** A dashboard session lasts at most 12 hours; the token is asked for again after that. */
export const SESSION_MAX_AGE_S = 12 * 60 * 60;

export interface DashboardVariables {
  principal: Principal;
  csrf: string;
}

export type DashboardBindings = RouteEnv<DashboardDeps> & { Variables: RouteEnv<DashboardDeps>["Variables"] & DashboardVariables };
type Ctx = Context<DashboardBindings>;

/** The CSRF token of a session: SHA-256 over a fixed label and the session token (unguessable without the token). */
export async function csrfTokenOf(sessionToken: string): Promise<string> {
  return sha256Hex(`scoregate-dashboard-csrf\u0000${sessionToken}`);
}

function sameString(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.min(x.length, y.length); i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

/** Secure everywhere except ENVIRONMENT=development (plain http://localhost). */
const secureCookie = (c: Ctx): boolean => c.env.ENVIRONMENT !== "development";

export function setSession(c: Ctx, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
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

/** Verifies a token entered on the login form; null when it is unknown. */
export async function principalOf(c: Ctx, token: string): Promise<Principal | null> {
  try {
    return await verifyToken(token, await c.get("tokens").tokens(c.env));
  } catch (e) {
    if (e instanceof AppError && e.code === "unauthorized") return null;
    throw e;
  }
}

/** Refuses a state-changing request whose Origin (or Sec-Fetch-Site) says it comes from another site. */
export function refuseCrossSite(c: Ctx): void {
  const origin = c.req.header("origin");
  const site = c.req.header("sec-fetch-site");
  if (site === "cross-site" || (origin !== undefined && origin !== new URL(c.req.url).origin)) {
    throw new AppError("forbidden", "cross-site request refused");
  }
}

/**
 * Requires a valid session cookie for /ui pages: sets `principal` and the session's `csrf` token. A browser without
 * one (or with a stale one) is sent to the login form, which returns it to the page it asked for.
 */
export const requireSession: MiddlewareHandler<DashboardBindings> = async (c, next) => {
  const token = getCookie(c, SESSION_COOKIE);
  const principal = token === undefined ? null : await principalOf(c, token);
  if (principal === null || token === undefined) {
    if (token !== undefined) clearSession(c);
    const url = new URL(c.req.url);
    if (c.req.method !== "GET") throw new AppError("unauthorized", "sign in on /ui/login first");
    return c.redirect(`/ui/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
  }
  c.set("principal", principal);
  c.set("csrf", await csrfTokenOf(token));
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

/** A safe local return path for after login (never another origin). */
export function safeNext(raw: string | undefined): string {
  if (raw === undefined || !raw.startsWith("/ui") || raw.startsWith("//")) return "/ui";
  return raw;
}
