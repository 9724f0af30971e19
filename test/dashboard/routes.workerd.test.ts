import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_NOTE_LENGTH } from "../../src/contract";
import { asQueries, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

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
    // curl on / is how many first look around: the index names the dashboard and the reference a browser would reach.
    expect(await json.json()).toMatchObject({ service: "scoregate", openapi: "/openapi.json", reference: "/docs", dashboard: "/ui" });
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

  it("an activation reason too long for the API is refused with its words, not cut mid-character; one of the limit is kept whole", async () => {
    const gate = uniqueGate("ui-activate-reason");
    const upload = (index_version: string) =>
      callJson("POST", "/v1/calibrations", 201, {
        token: TOKENS.calibrate,
        json: { ...gate, index_version, scores: spreadScores(200), policy: { kind: "drop_rate", target: 0.2 }, activate: index_version === "v1" },
      });
    const v1 = (await upload("v1")).calibration;
    const v2 = (await upload("v2")).calibration;
    const admin = await session(TOKENS.admin);
    const csrf = /name="csrf" value="([0-9a-f]{64})"/u.exec(
      await (await call("GET", `/ui/gates/${v1.gate_id}`, { token: null, headers: { cookie: admin } })).text(),
    )![1]!;
    const post = (reason: string) =>
      call("POST", `/ui/gates/${v1.gate_id}/activate`, {
        token: null,
        body: new URLSearchParams({ csrf, calibration_id: v2.id, reason }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: admin },
      });
    const log = async () => (await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200, { token: TOKENS.read })).activations;
    // 999 characters and an emoji (two UTF-16 units): a cut at 1,000 units kept half the emoji, stored as U+FFFD
    const refused = await post(`${"a".repeat(MAX_NOTE_LENGTH - 1)}\u{1F600}tail`);
    expect(refused.status).toBe(400);
    const said = await refused.text();
    expect(said, said.slice(said.indexOf("<main"), said.indexOf("</main>"))).toContain(`at most ${MAX_NOTE_LENGTH}`);
    expect(await log()).toHaveLength(1);
    // the limit counted as the API counts it (code points): 1,000 emoji fit, and so does their form body (12 bytes each)
    const whole = "\u{1F600}".repeat(MAX_NOTE_LENGTH);
    expect((await post(whole)).status).toBe(303);
    expect((await log())[0]).toMatchObject({ calibration_id: v2.id, reason: whole });
  });

  it("an activation from the gate page that changes what the gate drops says so in its notice", async () => {
    const gate = uniqueGate("ui-activate-changed");
    const queries = asQueries(spreadScores(20_000));
    const upload = (index_version: string, target: number, activate: "auto" | boolean = "auto") =>
      callJson("POST", "/v1/calibrations", 201, {
        token: TOKENS.calibrate,
        json: { ...gate, index_version, queries, policy: { kind: "drop_rate", target }, activate },
      });
    const v1 = (await upload("v1", 0.2)).calibration;
    const wider = (await upload("v2", 0.5)).calibration; // stored for review: drop_rate_changed
    const admin = await session(TOKENS.admin);
    const pageOf = async () => (await call("GET", `/ui/gates/${v1.gate_id}`, { token: null, headers: { cookie: admin } })).text();
    const csrf = /name="csrf" value="([0-9a-f]{64})"/u.exec(await pageOf())![1]!;
    const post = (calibration_id: string) =>
      call("POST", `/ui/gates/${v1.gate_id}/activate`, {
        token: null,
        body: new URLSearchParams({ csrf, calibration_id, reason: "reviewed" }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: admin },
      });
    const changed = await post(wider.id);
    expect(changed.status).toBe(303);
    expect(changed.headers.get("location")).toBe(`/ui/gates/${v1.gate_id}?done=activated-drop-rate-changed#notice`);
    const notice = await (
      await call("GET", `/ui/gates/${v1.gate_id}?done=activated-drop-rate-changed`, { token: null, headers: { cookie: admin } })
    ).text();
    expect(notice).toContain("drops a different share of candidates than the one it replaced");
    // the redirect's anchor is the notice itself: the browser lands on it
    expect(notice).toContain('<p class="notice" role="status" id="notice">');
    // Rolling back to v1 changes it back, beyond the tolerance too; an activation within it gets the plain notice.
    expect((await post(v1.id)).headers.get("location")).toContain("done=activated-drop-rate-changed");
    const near = (await upload("v3", 0.21, false)).calibration;
    expect((await post(near.id)).headers.get("location")).toBe(`/ui/gates/${v1.gate_id}?done=activated#notice`);
    // The button posted twice (a double click, a reload): the second changes nothing and says so.
    const log = async () => (await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200, { token: TOKENS.read })).activations.length;
    const before = await log();
    expect((await post(near.id)).headers.get("location")).toBe(`/ui/gates/${v1.gate_id}?done=already-current#notice`);
    expect(await log()).toBe(before);
    const same = await (await call("GET", `/ui/gates/${v1.gate_id}?done=already-current`, { token: null, headers: { cookie: admin } })).text();
    expect(same).toContain("Nothing changed: the gate already serves this calibration.");
  });
});
