/**
 * The interactive API reference at /docs: Scalar's reference of /openapi.json, and /docs/a11y.js (./a11y-script.ts).
 *
 * The page shares its origin with the dashboard, whose session cookie signs admins in, so it gets a
 * Content-Security-Policy as strict as Scalar allows: scripts only from the Worker itself (Scalar's standalone script
 * is a static asset, public/vendor/scalar/standalone.js) plus the page's own inline start-up script, admitted by its
 * SHA-256 (no 'unsafe-inline', no 'unsafe-eval'); requests only to the Worker; and no framing by any page
 * (`frame-ancestors 'none'`, and X-Frame-Options for browsers that predate it), so the reference cannot be overlaid
 * to trick a signed-in admin into clicks. Styles need 'unsafe-inline': Scalar's components set style attributes and
 * insert style elements as they render. docs/dashboard.md, "API reference", lists the policy.
 */
import { Scalar } from "@scalar/hono-api-reference";
import { Hono } from "hono";
import { sha256, toBase64 } from "../platform/digest";
import type { RouteEnv } from "../platform/env";
import { REFERENCE_A11Y_SCRIPT } from "./a11y-script";
import type { ReferenceDeps } from "./deps";

// Telemetry and the agent chat (which calls Scalar's servers) are off and fonts are the system's, so the page requests
// nothing outside the Worker. The colours are darkened to reach 4.5:1 contrast on white.
const REFERENCE_CSS = `
.light-mode, .light-mode .sidebar {
  --scalar-color-1: #1a1a1a; --scalar-color-2: #3d3d3d; --scalar-color-3: #4f4f4f;
  --scalar-color-green: #1b6e20; --scalar-color-red: #a4161a; --scalar-color-yellow: #6b5200;
  --scalar-color-blue: #0b5cad; --scalar-color-orange: #8a4500; --scalar-color-purple: #5b2ca0;
  --scalar-color-accent: #0b5cad;
  --scalar-sidebar-color-2: #3d3d3d; --scalar-sidebar-search-color: #4f4f4f;
}
.dark-mode {
  --scalar-color-2: rgba(255, 255, 245, 0.78); --scalar-color-3: rgba(255, 255, 245, 0.7);
  --scalar-color-green: #6ee7a8; --scalar-color-red: #ff9aa8; --scalar-color-yellow: #f9c46e;
  --scalar-color-blue: #a5b4fc; --scalar-color-orange: #ffb07a; --scalar-color-purple: #d0bcff;
  --scalar-color-accent: #ffb07a;
}
`;

const reference = Scalar({
  url: "/openapi.json",
  pageTitle: "scoregate API reference",
  cdn: "/vendor/scalar/standalone.js",
  withDefaultFonts: false,
  telemetry: false,
  hideClientButton: true,
  forceDarkModeState: "light",
  hideDarkModeToggle: true,
  customCss: REFERENCE_CSS,
  agent: { disabled: true },
} as Parameters<typeof Scalar>[0]);

/** The text of every inline script of a page (a script element without `src`), exactly as written. */
export function inlineScripts(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/giu)) {
    if (!/\bsrc\s*=/iu.test(m[1] ?? "")) out.push(m[2] ?? "");
  }
  return out;
}

/** A CSP hash source of a script's text: 'sha256-<base64>'. */
const hashSource = async (text: string): Promise<string> => `'sha256-${toBase64(new Uint8Array(await sha256(text)))}'`;

/** The reference page's policy: its inline scripts admitted by hash, everything else from the Worker only. */
export async function referencePolicy(html: string): Promise<string> {
  const hashes = await Promise.all(inlineScripts(html).map(hashSource));
  return [
    "default-src 'none'",
    `script-src 'self' ${hashes.join(" ")}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

export const docsRoutes = new Hono<RouteEnv<ReferenceDeps>>();

docsRoutes.get("/docs", async (c, next) => {
  const res = await reference(c as unknown as Parameters<typeof reference>[0], next);
  if (!(res instanceof Response)) return res;
  // Scalar's page has no language attribute; screen readers need one.
  const html = (await res.text()).replace("<html>", '<html lang="en">').replace("</body>", '<script src="/docs/a11y.js"></script>\n  </body>');
  c.header("Content-Security-Policy", await referencePolicy(html));
  c.header("X-Frame-Options", "DENY");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "same-origin");
  return c.html(html);
});

docsRoutes.get("/docs/a11y.js", (c) => {
  c.header("Content-Type", "text/javascript; charset=utf-8");
  c.header("Cache-Control", "public, max-age=300");
  c.header("X-Content-Type-Options", "nosniff");
  return c.body(REFERENCE_A11Y_SCRIPT);
});
