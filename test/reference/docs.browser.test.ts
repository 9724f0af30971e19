/**
 * /docs in a real browser under its Content-Security-Policy (src/reference/docs.ts): Debian's Chromium driven by
 * playwright-core against a local Worker (bench/lib/worker.mjs). The reference renders, requests nothing outside the
 * Worker, the browser refuses nothing but the one eval probe described below, axe finds no serious or critical
 * violation, nothing is wider than a phone's screen at 375 px (screenshots under test-artifacts/ with SCOREGATE_SCREENSHOTS=1), and a page of
 * another origin cannot frame it. The page is rendered once for all of these: it is the largest the Worker serves
 * (about 7,000 elements with its first group of operations open, 22,000 with all of them), and rendering it and
 * running axe over it were the largest part of this project's test time.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedWorker, startWorker } from "../../bench/lib/worker.mjs";
import { ROUTE_TAGS } from "../../src/contract";
import { axe, haveChromium, launchChromium, shoot } from "../support/browser";

interface Violation {
  directive: string;
  blocked: string;
  sample: string;
}

let worker: StartedWorker;
let framer: Server;
let framerOrigin: string;
let browser: Browser;
let context: BrowserContext;
let origin: string;
const outside: string[] = [];

describe.skipIf(!haveChromium())("/docs in Chromium, under its CSP", () => {
  beforeAll(async () => {
    worker = await startWorker();
    origin = worker.url.origin;
    // Another origin (another port) whose page frames the reference.
    framer = createServer((_, res) => {
      res.setHeader("content-type", "text/html");
      res.end(`<!doctype html><html lang="en"><title>framer</title><iframe id="f" title="docs" src="${origin}/docs"></iframe></html>`);
    });
    await new Promise<void>((r) => framer.listen(0, "127.0.0.1", r));
    framerOrigin = `http://127.0.0.1:${(framer.address() as AddressInfo).port}`;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.route("**/*", (route) => {
      const url = route.request().url();
      const at = new URL(url).origin;
      if (url.startsWith("data:") || url.startsWith("blob:") || at === origin || at === framerOrigin) return route.continue();
      outside.push(url);
      return route.abort();
    });
    // Every refusal of the policy, as the page sees it.
    await context.addInitScript(() => {
      const w = globalThis as unknown as { __violations: Violation[]; addEventListener: (t: string, f: (e: any) => void) => void };
      w.__violations = [];
      w.addEventListener("securitypolicyviolation", (e) =>
        w.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample }),
      );
    });
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await worker?.close();
    await new Promise((r) => framer?.close(r));
  });

  it("renders the reference from the Worker's own assets, with nothing refused but zod's eval probe; accessible, and no wider than a phone", async () => {
    const page = await context.newPage();
    const res = await page.goto(`${origin}/docs`);
    expect(res!.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
    await page.getByText("Fit and store a calibration").first().waitFor({ timeout: 60_000 });
    // the repair script ran too (it is a script of the Worker's, not inline)
    await page.waitForFunction(() => (globalThis as any).document.documentElement.getAttribute("lang") === "en");
    const violations = await page.evaluate(() => (globalThis as unknown as { __violations: Violation[] }).__violations);
    // The reference bundles zod, which tests once whether `new Function("")` may run (to compile validators) and
    // falls back when it may not: under this policy it may not, and that is the only refusal.
    expect(violations.filter((v) => !(v.directive === "script-src" && v.blocked === "eval"))).toEqual([]);
    expect(violations.length).toBeLessThanOrEqual(1);
    // The operations are in groups (OpenAPI tags): the first is open, each other one is listed with a "Show More"
    // button. Opening the Monitoring group brings the one response with two media types (the series' JSON and CSV),
    // whose listbox /docs/a11y.js repairs; the other groups are the same components (operations, parameters, schemas,
    // examples) over other routes, and opening all of them would bring back the 22,000 elements of the whole API.
    const groups = Object.values(ROUTE_TAGS).map((t) => t.name);
    for (const name of groups.slice(1)) {
      await expect
        .poll(() => page.getByRole("button", { name: `Show More: all ${name} endpoints` }).count(), { message: name, timeout: 30_000 })
        .toBe(1);
    }
    await page.getByRole("button", { name: "Show More: all Monitoring endpoints" }).click();
    // The group has rendered when the series' media-type listbox is there, disabled by /docs/a11y.js (its title is in
    // the sidebar from the start, so waiting for the title would not do).
    await expect.poll(() => page.locator("main button button[disabled]").count(), { timeout: 60_000 }).toBeGreaterThan(0);
    // Read above before axe runs in the page: axe's own script is not the page's, and plays no part in the policy.
    await axe(page, "docs");
    await shoot(page, "docs", undefined, false, false);
    await page.close();
    // The reference is a large page: on a loaded machine (the suite shares two cores) rendering it, axe and the
    // screenshots take minutes.
  }, 300_000);

  it("a page of another origin cannot frame it", async () => {
    const page = await context.newPage();
    const refused = page.waitForEvent("console", { predicate: (m) => m.text().includes("frame-ancestors"), timeout: 30_000 });
    await page.goto(`${framerOrigin}/`);
    expect((await refused).text()).toContain("frame-ancestors 'none'");
    // Chromium shows its error page in place of the refused frame: the reference never loads in it.
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(frame).toBeDefined();
    expect(await frame!.content()).not.toContain("scoregate API reference");
    await page.close();
  });

  it("no page requested anything outside the Worker", () => {
    expect(outside).toEqual([]);
  });
});
