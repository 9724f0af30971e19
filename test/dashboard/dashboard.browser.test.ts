/**
 * The dashboard and /docs in a real browser: Debian's Chromium driven by playwright-core against a seeded local
 * Worker (workerd through Miniflare, bench/lib/worker.mjs, ENVIRONMENT=development). Checks the content that
 * matters, clicks a rollback and a re-activation and asks the API, runs axe on every page, refuses every request
 * that leaves the Worker, and saves screenshots (desktop and 375 px) under test-artifacts/. With
 * SCOREGATE_README_SCREENSHOTS=1 it also writes the README's screenshots to docs/images/.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type StartedWorker, startWorker } from "../../bench/lib/worker.mjs";

/**
 * Debian's Chromium: its old headless shell when installed (package chromium-headless-shell: the same Blink without
 * the full browser around it, about a quarter less CPU for these pages, the same axe results and widths), else the
 * full browser in headless mode. SCOREGATE_CHROMIUM names another binary.
 */
const CHROMIUM =
  process.env.SCOREGATE_CHROMIUM ??
  ["/usr/lib/chromium/chromium-headless-shell", "/usr/lib/chromium/chromium"].find((p) => existsSync(p)) ??
  "/usr/lib/chromium/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  const msg = `\n!!! browser tests SKIPPED: no Chromium at ${CHROMIUM}. Install it with: apt-get install -y chromium chromium-headless-shell fonts-dejavu-core (.ci/run does)\n`;
  console.warn(msg);
  // CI installs Chromium (.ci/run): a missing browser there is a failure, not a skip.
  if (process.env.CI) throw new Error(msg);
}

const ARTIFACTS = join(ROOT, "test-artifacts", "screenshots");
const README_IMAGES = process.env.SCOREGATE_README_SCREENSHOTS ? join(ROOT, "docs", "images") : null;
const GATE = { index: "docs", embedding: "intfloat/e5-large-v2", reranker: "BAAI/bge-reranker-v2-m3" };

let worker: StartedWorker;
let receiver: Server;
let browser: Browser;
let context: BrowserContext;
let origin: string;
/** Every request the pages made that was not to the Worker (each is aborted). */
const outside: string[] = [];
let v1: any;
let v2: any;
let receiverHits = 0;

async function api(method: string, path: string, body?: unknown, token = "dev-admin"): Promise<any> {
  const res = await fetch(new URL(path, origin), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

async function axe(page: Page, label: string): Promise<void> {
  // The same rules and the same violations as the default analysis, without its cost (on /docs, about 11,000 elements,
  // 55 s against 14 s): legacy mode runs axe.run() in the page instead of runPartial() per frame plus finishRun() in a
  // second, blank page, and differs only for cross-origin frames, which these pages cannot have (every request that
  // leaves the Worker is aborted, and the last test asserts there were none); resultTypes keeps the full result for
  // violations, the only list read here, and one example node for passes and incomplete checks.
  const result = await new AxeBuilder({ page })
    .setLegacyMode(true)
    .options({ resultTypes: ["violations"] })
    .analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(
    bad.map((v) => `${label}: ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    label,
  ).toEqual([]);
}

/**
 * Saves the page at 1280 px and at 375 px, whole pages by default; `fullPage: false` keeps the first screen only, for
 * /docs (about 20,000 px tall at 1280 px, 43,000 at 375 px: seconds to capture, and a picture no one reads). The
 * width check covers the whole page either way.
 */
async function shoot(page: Page, name: string, readmeName?: string, fullPage = true): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: join(ARTIFACTS, `${name}-desktop.png`), fullPage });
  if (README_IMAGES !== null && readmeName !== undefined) {
    mkdirSync(README_IMAGES, { recursive: true });
    await page.screenshot({ path: join(README_IMAGES, readmeName), fullPage: false });
  }
  await page.setViewportSize({ width: 375, height: 812 });
  await page.screenshot({ path: join(ARTIFACTS, `${name}-375.png`), fullPage });
  // At phone width nothing but the scrollable table wrappers may be wider than the screen.
  const width = await page.evaluate(
    () => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth,
  );
  expect(width, `${name} at 375 px`).toBeLessThanOrEqual(375);
  await page.setViewportSize({ width: 1280, height: 900 });
}

describe.skipIf(!haveChromium)("dashboard in Chromium", () => {
  beforeAll(async () => {
    // A webhook receiver that fails the first delivery (so the alert page has a failed attempt to replay).
    receiver = createServer((req, res) => {
      req.resume();
      receiverHits += 1;
      res.statusCode = receiverHits === 1 ? 500 : 204;
      res.end();
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    worker = await startWorker();
    origin = worker.url.origin;
    await api("POST", "/v1/webhooks", { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, description: "on-call" });
    v1 = (await api("POST", "/v1/calibrations", readFileSync(join(ROOT, "fixtures/walkthrough/v1.json"), "utf8"), "dev-calibrate")).calibration;
    v2 = (await api("POST", "/v1/calibrations", readFileSync(join(ROOT, "fixtures/walkthrough/v2.json"), "utf8"), "dev-calibrate")).calibration;
    // Production counts under v2: about 30 % dropped where 22 % is expected.
    const queries = Array.from({ length: 400 }, (_, i) => [20, 4 + (i % 5)]);
    await api("POST", "/v1/observations", { batch_id: "seed-1", calibration_id: v2.id, queries }, "dev-read");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("data:") || url.startsWith("blob:") || new URL(url).origin === origin) return route.continue();
      outside.push(url);
      return route.abort();
    });
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await worker?.close();
    await new Promise((r) => receiver?.close(r));
  });

  it("signs in with a token: HttpOnly, SameSite=Strict cookie (not Secure in development)", async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    expect(new URL(page.url()).pathname).toBe("/ui/login");
    await axe(page, "login");
    await shoot(page, "login");
    await page.getByLabel("API token").fill("not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("Unknown token.");
    await page.getByLabel("API token").fill("dev-admin");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${origin}/ui`);
    const [cookie] = await context.cookies(origin);
    expect(cookie).toMatchObject({ name: "scoregate_session", httpOnly: true, sameSite: "Strict", secure: false });
    await page.close();
  });

  it("overview: the gate with its threshold, policy, version, drop rates, detector state and open alert", async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/ui`);
    const row = page.locator(`tr[data-gate="${v2.gate_id}"]`);
    await row.waitFor();
    const text = (await row.textContent()) ?? "";
    expect(text).toContain("docs / intfloat/e5-large-v2 / BAAI/bge-reranker-v2-m3");
    expect(await row.locator('[data-field="threshold"]').textContent()).toBe(String(v2.threshold));
    expect(text).toContain("carry");
    expect(text).toContain("v2");
    expect(await row.locator('[data-field="expected"]').textContent()).toBe("22.0 %");
    // 30 % dropped over the 400 seeded queries (the alarm they raised restarted the window: the overview shows the
    // window that holds them).
    expect(await row.locator('[data-field="observed"]').textContent()).toBe("30.0 % (400 queries)");
    expect(text).toContain("rebuild_shift");
    await axe(page, "overview");
    await shoot(page, "overview", "overview.png");
    await page.close();
  });

  it("gate page: v1 and v2 ECDFs, the old 0.4 and the carried threshold, and the drop rate each implies on each", async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/ui/gates/${v2.gate_id}`);
    expect(await page.locator('[data-field="headline"]').textContent()).toContain("0.4 drops 22 % of v1 and 59 % of v2");
    expect(await page.locator('[data-field="current-threshold"]').textContent()).toBe(String(v2.threshold));
    const svg = page.locator('svg[data-chart="ecdf"]');
    expect(await svg.locator("path[data-series]").count()).toBe(2);
    expect(await svg.locator("g[data-threshold]").count()).toBe(2);
    const cell = (t: number, tone: string) => page.locator(`[data-table="implied"] td[data-cell="${t}@${tone}"]`).textContent();
    expect(await cell(0.4, "prev")).toBe("22.0 %");
    expect(await cell(0.4, "cur")).toBe("59.0 %");
    expect(await cell(v2.threshold, "cur")).toBe("22.0 %");
    // The upload's shift report is the last rebuild decision; newer servers add `decision` and its interval.
    const shift = (await page.locator('[data-field="shift"]').textContent()) ?? "";
    expect(shift).toContain("22.0 % → 59.0 %");
    if (v2.shift?.decision) expect(shift).toContain(v2.shift.decision);
    expect(await page.locator('[data-table="windows"] tbody tr').count()).toBeGreaterThanOrEqual(1);
    // Candidates per query of the seeded window (20, as in calibration: no change noted).
    expect(await page.locator('[data-table="windows"] td[data-field="candidates"]').allTextContents()).toContain("20.0");
    await axe(page, "gate");
    await shoot(page, "gate", "gate.png");

    // What would threshold x drop? answered from both stored distributions
    await page.getByLabel("Threshold x").fill("0.4");
    await page.getByRole("button", { name: "Compute" }).click();
    await page.waitForURL(/x=0\.4/u);
    const answer = (await page.locator('[data-field="what-if"]').textContent()) ?? "";
    expect(answer).toContain("59.0 % of v2 current");
    expect(answer).toContain("22.0 % of v1 previous");
    await axe(page, "gate what-if");

    await page.getByRole("link", { name: "histogram" }).click();
    await page.locator('svg[data-chart="histogram"]').waitFor();
    await axe(page, "gate histogram");
    await shoot(page, "gate-histogram");
    await page.close();
  });

  it("rolls back to v1 and activates v2 again from the page, and the API agrees each time", async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/ui/gates/${v2.gate_id}`);
    await page.locator(`tr[data-calibration="${v1.id}"]`).getByLabel("Reason").fill("v2 hurt recall");
    await page
      .locator(`tr[data-calibration="${v1.id}"]`)
      .getByRole("button", { name: /Roll back/u })
      .click();
    await page.waitForURL(/done=activated/u);
    expect(await page.getByRole("status").textContent()).toContain("Activated");
    const q = new URLSearchParams(GATE).toString();
    let served = await api("GET", `/v1/threshold?${q}`, undefined, "dev-read");
    expect(served).toMatchObject({ calibration_id: v1.id, threshold: 0.4, index_version: "v1" });
    expect(await page.locator('[data-field="current-threshold"]').textContent()).toBe("0.4");
    const log = await api("GET", `/v1/calibrations?${q}`, undefined, "dev-read");
    expect(log.activations[0]).toMatchObject({ calibration_id: v1.id, actor: "dev-admin", reason: "v2 hurt recall" });

    await page
      .locator(`tr[data-calibration="${v2.id}"]`)
      .getByRole("button", { name: /Activate/u })
      .click();
    await page.locator(`tr[data-calibration="${v2.id}"] strong`).waitFor();
    served = await api("GET", `/v1/threshold?${q}`, undefined, "dev-read");
    expect(served).toMatchObject({ calibration_id: v2.id, threshold: v2.threshold, index_version: "v2" });
    await page.close();
  });

  it("alerts: list, detail with its numbers, delivery status and replay, acknowledge and resolve", async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/ui/alerts?status=open`);
    const row = page.locator("tr[data-alert]").filter({ hasText: "rebuild_shift" }).first();
    const id = await row.getAttribute("data-alert");
    expect(id).toMatch(/^alr_/u);
    await axe(page, "alerts");
    await shoot(page, "alerts");
    await row.getByRole("link", { name: "rebuild_shift" }).click();
    await page.waitForURL(/\/ui\/alerts\/alr_/u);
    expect(await page.locator('[data-table="details"]').textContent()).toContain("shift.drop_rate_at_previous_threshold");
    // the first delivery attempt failed (the receiver answered 500): replay it
    const delivery = page.locator("tr[data-delivery]").first();
    await delivery.waitFor();
    expect(await delivery.textContent()).toMatch(/HTTP 500|pending|delivered/u);
    await axe(page, "alert");
    await shoot(page, "alert");
    await delivery.getByRole("button", { name: /Replay/u }).click();
    await page.waitForURL(/done=replayed/u);
    expect(await page.getByRole("status").textContent()).toContain("Delivery queued again");

    await page.getByRole("button", { name: "Acknowledge" }).click();
    await page.waitForURL(/done=acknowledged/u);
    expect(await page.locator('[data-field="status"]').textContent()).toBe("acknowledged");
    expect((await api("GET", `/v1/alerts/${id}`, undefined, "dev-read")).status).toBe("acknowledged");
    await page.getByRole("button", { name: "Resolve" }).click();
    await page.waitForURL(/done=resolved/u);
    expect(await page.locator('[data-field="status"]').textContent()).toBe("resolved");
    expect((await api("GET", `/v1/alerts/${id}`, undefined, "dev-read")).status).toBe("resolved");
    await page.close();
  });

  it("/docs renders the API reference from the Worker's own assets", async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/docs`);
    await page.getByText("Fit and store a calibration").first().waitFor({ timeout: 30_000 });
    await axe(page, "docs");
    await shoot(page, "docs", undefined, false);
    await page.close();
  });

  it("no page requested anything outside the Worker", () => {
    expect(outside).toEqual([]);
  });
});
