/**
 * Signing in to the dashboard (src/dashboard/session.ts and the login route): where the login returns to (`next`), what
 * the session cookie holds, signing out, and how repeated failures are slowed down. Failure counts are kept per isolate
 * and per client address, so each test signs in from its own address (CF-Connecting-IP).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEV_SESSION_SECRET, sessionValue } from "../../src/dashboard/session-token";
import { hmacSha256, sha256, toBase64 } from "../../src/platform/digest";
import { LOGIN_FAILURE_WINDOW_MS, LOGIN_MAX_FAILURES } from "../../src/platform/limits";
import { app } from "../../src/worker/app";
import { TOKENS } from "../support/worker";

const worker = (exports as unknown as { default: Fetcher }).default;

let addresses = 0;
/** A client address of its own, so tests do not share failure counts. */
const newAddress = (): string => `198.51.100.${++addresses}`;

/** Calls the Worker without following redirects, from `ip`. */
function call(method: string, path: string, o: { ip?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return worker.fetch(`http://scoregate.test${path}`, {
    method,
    redirect: "manual",
    headers: { ...(o.ip === undefined ? {} : { "cf-connecting-ip": o.ip }), ...o.headers },
    ...(o.body === undefined ? {} : { body: o.body }),
  });
}

const login = (fields: Record<string, string>, ip: string, headers: Record<string, string> = {}) =>
  call("POST", "/ui/login", {
    ip,
    body: new URLSearchParams(fields).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  });

describe("next: where the login returns to", () => {
  it("control characters in next are refused with 400, on the form and on the POST; nothing is set", async () => {
    for (const next of ["/ui\r\nSet-Cookie: a=b", "/ui/alerts\nx", "/ui\u0000", "/ui\u007f", "/ui\u0085x", "/ui\tx"]) {
      const page = await call("GET", `/ui/login?next=${encodeURIComponent(next)}`, { ip: newAddress() });
      expect(page.status, JSON.stringify(next)).toBe(400);
      const res = await login({ token: TOKENS.read, next }, newAddress());
      expect(res.status, JSON.stringify(next)).toBe(400);
      expect(res.headers.get("set-cookie")).toBeNull();
      expect(await res.text()).toContain("control character");
    }
  });

  it("a local path under /ui is kept (percent-encoded); anything else returns to /ui", async () => {
    const cases: [string, string][] = [
      ["/ui/alerts?kind=drop_rate_drift", "/ui/alerts?kind=drop_rate_drift"],
      ["/ui/gates/abc#history", "/ui/gates/abc#history"],
      ["/ui/gate?index=doc€", "/ui/gate?index=doc%E2%82%AC"],
      ["https://evil.example/ui", "/ui"],
      ["//evil.example/ui", "/ui"],
      ["/ui/../..//evil.example", "/ui"],
      ["/uix", "/ui"],
      // a backslash is a slash to URL parsers: still a path on this origin
      ["/ui\\\\evil.example", "/ui//evil.example"],
    ];
    for (const [next, location] of cases) {
      const res = await login({ token: TOKENS.read, next }, newAddress());
      expect([next, res.status, res.headers.get("location")]).toEqual([next, 303, location]);
    }
  });
});

/** The `name=value` of a response's session cookie. */
const cookieOf = (res: Response): string => (res.headers.get("set-cookie") ?? "").split(";")[0]!;

/** Signs in from a fresh address and returns the session cookie (`name=value`). */
async function signedIn(token: string): Promise<string> {
  const res = await login({ token, next: "/ui" }, newAddress());
  expect(res.status).toBe(303);
  return cookieOf(res);
}

/** A page that needs a session: 200 with a live session, a redirect to the login otherwise. */
const overview = (cookie: string) => call("GET", "/ui", { ip: newAddress(), headers: { cookie } });

/** A cookie signed as the Worker signs them (the tests run with the local development secret). */
async function forged(value: string): Promise<string> {
  const signature = toBase64(await hmacSha256(new TextEncoder().encode(DEV_SESSION_SECRET), value));
  return `scoregate_session=${encodeURIComponent(`${value}.${signature}`)}`;
}

const nowS = (): number => Math.floor(Date.now() / 1000);
const sidBytes = () => crypto.getRandomValues(new Uint8Array(16));

describe("the session cookie", () => {
  it("holds a signed, expiring session id, never the token", async () => {
    for (const token of [TOKENS.read, TOKENS.admin]) {
      const cookie = await signedIn(token);
      expect(cookie).toMatch(/^scoregate_session=v1\.[A-Za-z0-9_-]{22}\.[0-9]+\./u);
      expect(cookie).not.toContain(token);
      expect(cookie).not.toContain(encodeURIComponent(token));
      expect((await overview(cookie)).status).toBe(200);
    }
    expect(await signedIn(TOKENS.read)).not.toBe(await signedIn(TOKENS.read)); // a new id per sign-in
  });

  it("a changed, unsigned, expired or old-style cookie opens nothing and is cleared", async () => {
    const good = await signedIn(TOKENS.admin);
    const value = decodeURIComponent(good.slice("scoregate_session=".length));
    const [v, sid, exp, bind, signature] = value.split(".") as [string, string, string, string, string];
    const flip = (x: string) => (x[0] === "A" ? "B" : "A") + x.slice(1);
    const bad = [
      `${v}.${flip(sid)}.${exp}.${bind}.${signature}`,
      `${v}.${sid}.${Number(exp) + 3600}.${bind}.${signature}`,
      `${v}.${sid}.${exp}.${flip(bind)}.${signature}`,
      `${v}.${sid}.${exp}.${bind}.${flip(signature)}`,
      `${v}.${sid}.${exp}.${bind}`,
    ].map((x) => `scoregate_session=${encodeURIComponent(x)}`);
    const digest = await sha256(TOKENS.admin);
    // Signed with the right secret, but ended a second ago: refused by the Worker, not only by the browser.
    bad.push(await forged(await sessionValue(DEV_SESSION_SECRET, digest, sidBytes(), nowS() - 1)));
    bad.push(await forged(`v1.AAAAAAAAAAAAAAAAAAAAAA.${nowS() + 60}.not-a-binding`));
    // The cookie as it was before sessions were signed: the raw token.
    bad.push(`scoregate_session=${TOKENS.admin}`);
    for (const cookie of bad) {
      const res = await overview(cookie);
      expect([cookie, res.status, res.headers.get("location")]).toEqual([cookie, 303, "/ui/login?next=%2Fui"]);
      expect(res.headers.get("set-cookie"), cookie).toMatch(/^scoregate_session=;.*Max-Age=0/u);
    }
    // The control: the same forging with a live expiry opens, so the refusals above are about what was changed.
    expect((await overview(await forged(await sessionValue(DEV_SESSION_SECRET, digest, sidBytes(), nowS() + 60)))).status).toBe(200);
    expect((await overview(good)).status).toBe(200);
  });

  it("signing out ends the session: a copy of the cookie opens nothing afterwards", async () => {
    const cookie = await signedIn(TOKENS.read);
    const copy = cookie;
    const out = await call("POST", "/ui/logout", { ip: newAddress(), headers: { cookie } });
    expect([out.status, out.headers.get("location")]).toEqual([303, "/ui/login"]);
    expect(out.headers.get("set-cookie")).toMatch(/^scoregate_session=;/u);
    expect((await overview(copy)).status).toBe(303);
    expect((await overview(await signedIn(TOKENS.read))).status).toBe(200);
  });
});

describe("a form posted after the session ended", () => {
  it("answers a page that says the session expired, links the login back to the form's page and shows what was typed", async () => {
    const digest = await sha256(TOKENS.admin);
    const expired = await forged(await sessionValue(DEV_SESSION_SECRET, digest, sidBytes(), nowS() - 13 * 3600));
    const post = (path: string, fields: Record<string, string>, referer?: string) =>
      call("POST", path, {
        ip: newAddress(),
        body: new URLSearchParams(fields).toString(),
        headers: {
          cookie: expired,
          "content-type": "application/x-www-form-urlencoded",
          ...(referer === undefined ? {} : { referer: `http://scoregate.test${referer}` }),
        },
      });
    const ack = await post("/ui/alerts/alr_x/acknowledge", { csrf: "0".repeat(64), note: "paged at 3am <b>looking</b>" }, "/ui/alerts/alr_x");
    expect(ack.status).toBe(401);
    expect(ack.headers.get("set-cookie")).toMatch(/^scoregate_session=;.*Max-Age=0/u);
    const html = await ack.text();
    expect(html).toContain("<h1>Your session expired</h1>");
    expect(html).not.toContain("Something went wrong");
    expect(html).toContain('<a href="/ui/login?next=%2Fui%2Falerts%2Falr_x" data-field="sign-in">Sign in again</a>');
    // the note typed is shown (as text) so it can be copied
    expect(html).toContain("paged at 3am &lt;b&gt;looking&lt;/b&gt;");
    // an activation's reason the same way; a form page from elsewhere is not linked (the login returns to /ui)
    const activate = await post("/ui/gates/g_x/activate", { csrf: "x", calibration_id: "cal_x", reason: "v2 drifting" }, "/ui/gates/g_x?range=7d");
    expect(activate.status).toBe(401);
    const activated = await activate.text();
    expect(activated).toContain('href="/ui/login?next=%2Fui%2Fgates%2Fg_x%3Frange%3D7d"');
    expect(activated).toContain("v2 drifting");
    const elsewhere = await post("/ui/alerts/alr_x/resolve", { csrf: "x" }, "/../v1/alerts");
    expect(await elsewhere.text()).toContain('href="/ui/login?next=%2Fui"');
    const noReferer = await post("/ui/alerts/alr_x/resolve", { csrf: "x" });
    expect(await noReferer.text()).toContain('href="/ui/login?next=%2Fui"');
  });
});

describe("repeated failed sign-ins", () => {
  it(`are refused with 429 after ${LOGIN_MAX_FAILURES} from one address, a right token included; other addresses are unaffected`, async () => {
    const ip = newAddress();
    for (let i = 0; i < LOGIN_MAX_FAILURES; i++) {
      const res = await login({ token: `wrong-${i}`, next: "/ui" }, ip);
      expect(res.status).toBe(401);
      expect(await res.text()).toContain("Unknown token.");
    }
    for (const token of ["wrong-again", TOKENS.admin]) {
      const res = await login({ token, next: "/ui" }, ip);
      expect(res.status, token).toBe(429);
      expect(res.headers.get("set-cookie")).toBeNull();
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(LOGIN_FAILURE_WINDOW_MS / 1000 - 60);
      expect(retryAfter).toBeLessThanOrEqual(LOGIN_FAILURE_WINDOW_MS / 1000);
      expect(await res.text()).toContain("Too many failed sign-ins from your address: try again in 15 minutes.");
    }
    expect((await login({ token: TOKENS.admin, next: "/ui" }, newAddress())).status).toBe(303);
  });

  it("sign-ins that succeed do not count against the address", async () => {
    const ip = newAddress();
    for (let i = 0; i < LOGIN_MAX_FAILURES + 2; i++) expect((await login({ token: TOKENS.read, next: "/ui" }, ip)).status).toBe(303);
    expect((await login({ token: "wrong", next: "/ui" }, ip)).status).toBe(401);
  });
});

describe("the session secret in production", () => {
  /** The app under a production environment with `SESSION_SECRET` as given (undefined: none). */
  async function production(secret: string | undefined, path: string, init: RequestInit = {}): Promise<Response> {
    const ctx = createExecutionContext();
    const { SESSION_SECRET: _, ...rest } = env as unknown as Record<string, unknown>;
    const prodEnv = { ...rest, ENVIRONMENT: "production", ...(secret === undefined ? {} : { SESSION_SECRET: secret }) };
    const res = await app.fetch(new Request(`https://scoregate.test${path}`, { redirect: "manual", ...init }), prodEnv, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }
  const signInRequest = (token: string): RequestInit => ({
    method: "POST",
    body: new URLSearchParams({ token, next: "/ui" }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": newAddress() },
  });

  it("refuses to sign anyone in with no, a short or the local secret (503 misconfigured); the API still serves", async () => {
    for (const secret of [undefined, "too-short", DEV_SESSION_SECRET]) {
      const res = await production(secret, "/ui/login", signInRequest(TOKENS.admin));
      expect(res.status, String(secret)).toBe(503);
      expect(res.headers.get("set-cookie")).toBeNull();
      expect(await res.text()).toContain("wrangler secret put SESSION_SECRET");
      const api = await production(secret, "/v1/gates", { headers: { authorization: `Bearer ${TOKENS.read}` } });
      expect(api.status).toBe(200);
    }
  });

  it("signs in with its own secret: a Secure cookie that the local secret's Worker does not accept", async () => {
    const secret = "production-secret-0123456789-abcdefghij";
    const res = await production(secret, "/ui/login", signInRequest(TOKENS.admin));
    expect(res.status).toBe(303);
    expect(res.headers.get("set-cookie")).toMatch(/; Secure/u);
    const cookie = cookieOf(res);
    expect((await production(secret, "/ui", { headers: { cookie } })).status).toBe(200);
    expect((await overview(cookie)).status).toBe(303);
  });
});
