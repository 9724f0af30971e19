/**
 * Signing in to the dashboard (src/dashboard/session.ts and the login route): where the login returns to (`next`), what
 * the session cookie holds, and how repeated failures are slowed down. Its own file: failure counts are per database,
 * and storage is isolated per test file. Each test signs in from its own address (CF-Connecting-IP).
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
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
