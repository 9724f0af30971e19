import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TOKENS } from "../support/worker";

const worker = (exports as unknown as { default: Fetcher }).default;

/** Calls the Worker without following redirects (the dashboard answers 302/303 that the tests inspect). */
async function call(
  method: string,
  path: string,
  o: { token?: string | null; body?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return worker.fetch(`http://scoregate.test${path}`, {
    method,
    redirect: "manual",
    headers: o.headers ?? {},
    ...(o.body === undefined ? {} : { body: o.body }),
  });
}

const form = (fields: Record<string, string>) => ({
  body: new URLSearchParams(fields).toString(),
  headers: { "content-type": "application/x-www-form-urlencoded" },
});

async function session(token: string): Promise<string> {
  const res = await call("POST", "/ui/login", { token: null, ...form({ token, next: "/ui" }) });
  expect(res.status).toBe(303);
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

describe("dashboard routes", () => {
  it("/ redirects a browser to /ui and answers JSON to API clients", async () => {
    const html = await call("GET", "/", { token: null, headers: { accept: "text/html" } });
    expect(html.status).toBe(302);
    expect(html.headers.get("location")).toBe("/ui");
    const json = await call("GET", "/", { token: null, headers: { accept: "application/json" } });
    expect(json.status).toBe(200);
    expect(((await json.json()) as { service: string }).service).toBe("scoregate");
  });

  it("pages need a session; the login sets an HttpOnly, SameSite=Strict, Secure cookie outside development", async () => {
    const anon = await call("GET", "/ui", { token: null });
    expect(anon.status).toBe(303);
    expect(anon.headers.get("location")).toBe("/ui/login?next=%2Fui");
    const bad = await call("POST", "/ui/login", { token: null, ...form({ token: "nope" }) });
    expect(bad.status).toBe(401);
    const ok = await call("POST", "/ui/login", { token: null, ...form({ token: TOKENS.read }) });
    const cookie = ok.headers.get("set-cookie")!;
    expect(cookie).toMatch(/HttpOnly/u);
    expect(cookie).toMatch(/SameSite=Strict/u);
    expect(cookie).toMatch(/Secure/u);
    const page = await call("GET", "/ui", { token: null, headers: { cookie: cookie.split(";")[0]! } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  it("admin actions refuse a missing CSRF token, a cross-site origin and a read-scope session", async () => {
    const admin = await session(TOKENS.admin);
    const noCsrf = await call("POST", "/ui/alerts/alr_x/resolve", { token: null, ...form({}), headers: { ...form({}).headers, cookie: admin } });
    expect(noCsrf.status).toBe(403);
    const page = await (await call("GET", "/ui/alerts", { token: null, headers: { cookie: admin } })).text();
    const csrf = /name="csrf" value="([0-9a-f]{64})"/u.exec(page)![1]!;
    const crossSite = await call("POST", "/ui/alerts/alr_x/resolve", {
      token: null,
      body: new URLSearchParams({ csrf }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: admin, origin: "https://evil.example" },
    });
    expect(crossSite.status).toBe(403);
    const withCsrf = await call("POST", "/ui/alerts/alr_x/resolve", {
      token: null,
      body: new URLSearchParams({ csrf }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: admin },
    });
    expect(withCsrf.status).toBe(404); // past the checks: the alert does not exist
    const reader = await session(TOKENS.read);
    const readPage = await (await call("GET", "/ui/alerts", { token: null, headers: { cookie: reader } })).text();
    const readCsrf = /name="csrf" value="([0-9a-f]{64})"/u.exec(readPage)![1]!;
    const forbidden = await call("POST", "/ui/alerts/alr_x/resolve", {
      token: null,
      body: new URLSearchParams({ csrf: readCsrf }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: reader },
    });
    expect(forbidden.status).toBe(403);
  });
});
