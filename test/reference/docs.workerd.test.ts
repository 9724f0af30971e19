/**
 * /docs shares its origin with the dashboard: it sends a Content-Security-Policy that admits only the Worker's own
 * scripts and the page's inline start-up script by hash, refuses framing, and requests nothing elsewhere. That the
 * reference still renders under it, in Chromium, is test/reference/docs.browser.test.ts.
 */
import { describe, expect, it } from "vitest";
import { inlineScripts } from "../../src/reference/docs";
import { call } from "../support/worker";

/** The directives of a policy, by name. */
const directives = (policy: string): Map<string, string[]> =>
  new Map(
    policy
      .split(";")
      .map((d) => d.trim().split(/\s+/u))
      .filter((d) => d[0] !== "")
      .map(([name, ...values]) => [name!, values]),
  );

async function sha256(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return `'sha256-${btoa(String.fromCharCode(...d))}'`;
}

describe("/docs", () => {
  it("sends a CSP with frame-ancestors 'none' and no inline script or eval beyond its own hashed start-up script", async () => {
    const res = await call("GET", "/docs", { token: null });
    expect(res.status).toBe(200);
    const policy = res.headers.get("content-security-policy");
    expect(policy).not.toBeNull();
    const d = directives(policy!);
    expect(d.get("frame-ancestors")).toEqual(["'none'"]);
    expect(d.get("default-src")).toEqual(["'none'"]);
    expect(d.get("base-uri")).toEqual(["'none'"]);
    expect(d.get("connect-src")).toEqual(["'self'"]);
    const scripts = d.get("script-src")!;
    expect(scripts).not.toContain("'unsafe-inline'");
    expect(scripts).not.toContain("'unsafe-eval'");
    expect(scripts).not.toContain("*");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");

    const html = await res.text();
    // every inline script runs because its hash is admitted; nothing else inline is
    const inline = inlineScripts(html);
    expect(inline.length).toBeGreaterThan(0);
    const hashes = await Promise.all(inline.map(sha256));
    expect(scripts.filter((s) => s.startsWith("'sha256-")).sort()).toEqual([...new Set(hashes)].sort());
    // and every script with a source is the Worker's own
    const sources = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/giu)].map((m) => m[1]!);
    expect(sources).toEqual(["/vendor/scalar/standalone.js", "/docs/a11y.js"]);
  });

  it("/docs/a11y.js is JavaScript, not sniffed", async () => {
    const res = await call("GET", "/docs/a11y.js", { token: null });
    expect(res.headers.get("content-type")).toMatch(/^text\/javascript/u);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });
});
