/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core against a seeded local Worker (workerd
 * through Miniflare, bench/lib/worker.mjs, ENVIRONMENT=development). Checks the content that matters, clicks a
 * rollback and a re-activation and asks the API, runs axe on every page, refuses every request that leaves the
 * Worker, and with SCOREGATE_SCREENSHOTS=1 saves screenshots (desktop and 375 px) under test-artifacts/. With
 * SCOREGATE_README_SCREENSHOTS=1 it also writes the README's screenshots to docs/images/. /docs, the API reference, has its own file
 * (test/reference/docs.browser.test.ts), which checks it the same way.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type StartedWorker, startWorker } from "../../bench/lib/worker.mjs";
import { pct } from "../../src/dashboard/charts/scale";
import { ARTIFACTS, axe, haveChromium, launchChromium, SCREENSHOTS, shoot } from "../support/browser";
import { labelledQueries } from "../support/labelled";

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

describe.skipIf(!haveChromium())("dashboard in Chromium", () => {
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
    // Production counts under v2: about 30 % dropped where 22 % is expected (the detector alarms and restarts), then
    // 35 % (it alarms again: the drift alert's second occurrence).
    for (const [batch, base] of [
      ["seed-1", 4],
      ["seed-2", 5],
    ] as const) {
      const queries = Array.from({ length: 400 }, (_, i) => [20, base + (i % 5)]);
      const r = await api("POST", "/v1/observations", { batch_id: batch, calibration_id: v2.id, queries }, "dev-read");
      expect(r.alerts, batch).toEqual(["drop_rate_drift"]);
    }
    browser = await launchChromium();
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

  it("overview: the gate with its threshold, policy, version, drop rates, detector state and open alerts, all on screen at 1280 px", async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/ui`);
    const row = page.locator(`tr[data-gate="${v2.gate_id}"]`);
    await row.waitFor();
    const text = (await row.textContent()) ?? "";
    expect(text).toContain("docs / intfloat/e5-large-v2 / BAAI/bge-reranker-v2-m3");
    expect(await row.locator('[data-field="threshold"]').textContent()).toBe(String(v2.threshold));
    expect(text).toContain("carry");
    expect(text).toContain("v2");
    expect(await row.locator('[data-field="expected"]').textContent()).toBe("22.0\u00a0%");
    // 32.5 % dropped over the 800 seeded queries: the alarms restarted the detector, not the day's window.
    // The open window is 24 h from its first batch: named by when it opened, not "today".
    expect(await row.locator('[data-field="observed"]').textContent()).toMatch(/^32\.5\u00a0% \(800 queries\)since \d\d-\d\d \d\d:\d\d UTC$/u);
    expect(text).toContain("rebuild_shift");
    expect(text).toContain("drop_rate_drift");
    // In alarm, listed with every gate in alarm, with since when (never the green "watching" of a restarted detector).
    const alarmRow = page.locator(`table[data-table="alarms"] tr[data-gate="${v2.gate_id}"]`);
    expect(await alarmRow.locator('[data-field="detector"] .badge').textContent()).toBe("alarm");
    expect(await alarmRow.locator('[data-field="detector"]').textContent()).toMatch(/^alarmsince \d\d-\d\d \d\d:\d\d UTC$/u);
    expect(await page.locator('table[data-table="gates"]').count()).toBe(0);
    // The page's first words count what needs a person and link it.
    expect(await page.locator('[data-field="attention"]').textContent()).toBe("Needs attention: 2 unresolved alerts on 1 gate in alarm.");
    // At 1280 px the whole table fits the page: the alerts, detector and promotion cells are on screen, not behind the
    // sideways scroll.
    const wrap = page.locator('section.table-wrap:has(table[data-table="alarms"])');
    expect(await wrap.evaluate((e) => e.scrollWidth - e.clientWidth)).toBeLessThanOrEqual(0);
    for (const field of ["alerts", "detector", "split", "empty"]) {
      const box = await alarmRow.locator(`[data-field="${field}"]`).boundingBox();
      expect(box !== null && box.x + box.width, field).toBeLessThanOrEqual(1280);
    }
    await axe(page, "overview");
    await shoot(page, "overview", "overview.png");
    await page.close();
  });

  it("gate page: v1 and v2 ECDFs, the old 0.4 and the carried threshold, and the drop rate each implies on each", async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/ui/gates/${v2.gate_id}`);
    expect(await page.locator('[data-field="headline"]').textContent()).toContain("0.4 drops 22\u00a0% of v1 and 59\u00a0% of v2");
    expect(await page.locator('[data-field="current-threshold"]').textContent()).toBe(String(v2.threshold));
    // The detector reads alarm, since when, and links the drift alert.
    expect(await page.locator('[data-field="detector"] .badge').textContent()).toBe("alarm");
    expect(await page.locator('[data-field="detector"]').textContent()).toContain("drop_rate_drift");
    expect(await page.locator('[data-field="detector"] a[href^="/ui/alerts/alr_"]', { hasText: "drop_rate_drift" }).count()).toBe(1);
    // and the gate's other unresolved alert (v2's rebuild_shift, which holds no drift alarm) beside it
    expect(await page.locator('[data-field="other-open-alerts"]').textContent()).toBe("Also unresolved: rebuild_shift");
    // drawn in two layouts, the wide one shown at 1280 px
    const svg = page.locator('svg[data-chart="ecdf"][data-layout="wide"]');
    expect(await svg.isVisible()).toBe(true);
    expect(await page.locator('svg[data-chart="ecdf"][data-layout="narrow"]').isVisible()).toBe(false);
    expect(await svg.locator("path[data-series]").count()).toBe(2);
    expect(await svg.locator("g[data-threshold]").count()).toBe(2);
    const cell = (t: number, tone: string) => page.locator(`[data-table="implied"] td[data-cell="${t}@${tone}"]`).textContent();
    expect(await cell(0.4, "prev")).toBe("22.0\u00a0%");
    expect(await cell(0.4, "cur")).toBe("59.0\u00a0%");
    expect(await cell(v2.threshold, "cur")).toBe("22.0\u00a0%");
    // The upload's shift report is the last rebuild decision; newer servers add `decision` and its interval.
    const shift = (await page.locator('[data-field="shift"]').textContent()) ?? "";
    expect(shift).toContain("22.0\u00a0% → 59.0\u00a0%");
    if (v2.shift?.decision) expect(shift).toContain(v2.shift.decision);
    expect(await page.locator('[data-table="windows"] tbody tr').count()).toBeGreaterThanOrEqual(1);
    // Candidates per query of the seeded window (20, as in calibration: no change noted).
    expect(await page.locator('[data-table="windows"] td[data-field="candidates"]').allTextContents()).toContain("20.0");
    await axe(page, "gate");
    await shoot(page, "gate");
    // At 375 px the narrow layout: its text keeps at least 90 % of its 12 px, and every label stays inside the chart.
    await page.setViewportSize({ width: 375, height: 812 });
    const narrow = page.locator('svg[data-chart="ecdf"][data-layout="narrow"]');
    expect(await narrow.isVisible()).toBe(true);
    expect(await svg.isVisible()).toBe(false);
    const box = (await narrow.boundingBox())!;
    expect(box.width / Number((await narrow.getAttribute("viewBox"))!.split(" ")[2])).toBeGreaterThanOrEqual(0.9);
    expect(box.x + box.width).toBeLessThanOrEqual(375);
    for (const text of await narrow.locator("text").all()) {
      const t = (await text.boundingBox())!;
      expect(t.x, (await text.textContent()) ?? "").toBeGreaterThanOrEqual(box.x - 0.5);
      expect(t.x + t.width, (await text.textContent()) ?? "").toBeLessThanOrEqual(box.x + box.width + 0.5);
    }
    // Key/value cards stack each label above its value on a phone: the values get the card's width, no word is split.
    const pairs = page.locator("dl.kv dt:visible");
    expect(await pairs.count()).toBeGreaterThan(0);
    for (const dt of await pairs.all()) {
      const label = (await dt.textContent()) ?? "";
      const k = (await dt.boundingBox())!;
      const v = (await dt.locator("xpath=following-sibling::dd[1]").boundingBox())!;
      expect(v.y, `${label}: value below its label`).toBeGreaterThanOrEqual(k.y + k.height - 0.5);
      expect(v.x, `${label}: value starts where its label does`).toBeCloseTo(k.x, 0);
    }
    await axe(page, "gate at 375 px");
    await page.setViewportSize({ width: 1280, height: 900 });

    // What would threshold x drop? answered from both stored distributions
    await page.getByLabel("Threshold x").fill("0.4");
    await page.getByRole("button", { name: "Compute" }).click();
    await page.waitForURL(/x=0\.4/u);
    const answer = (await page.locator('[data-field="what-if"]').textContent()) ?? "";
    expect(answer).toContain("59.0\u00a0% of v2 (served) lies below 0.4");
    expect(answer).toContain("22.0\u00a0% of v1 lies below 0.4");
    await axe(page, "gate what-if");

    await page.getByRole("link", { name: "histogram" }).click();
    await page.locator('svg[data-chart="histogram"][data-layout="wide"]').waitFor();
    await axe(page, "gate histogram");
    await shoot(page, "gate-histogram");
    await page.close();
  });

  it("gate page: drop rate and evidence per hour with expected rate, band, alarms and activations, at 1280 and 375 px", async () => {
    const page = await context.newPage();
    await page.goto(`${origin}/ui/gates/${v2.gate_id}?range=24h#production`);
    const series = await api(
      "GET",
      `/v1/monitor/series?${new URLSearchParams(GATE)}&from=${new Date(Date.now() - 24 * 3600e3).toISOString()}`,
      undefined,
      "dev-read",
    );
    // This hour's bucket under v2 (800 queries, both alarms) and the two activations of the walk-through.
    expect(series.buckets).toHaveLength(1);
    expect(series.buckets[0]).toMatchObject({ calibration_id: v2.id, queries: 800, drop_rate_alarms: 2 });
    expect(series.activations.map((a: { index_version: string }) => a.index_version).sort()).toEqual(["v1", "v2"]);
    for (const [width, height, shown, hidden] of [
      [1280, 900, "wide", "narrow"],
      [375, 812, "narrow", "wide"],
    ] as const) {
      await page.setViewportSize({ width, height });
      const chart = page.locator(`svg[data-chart="drop-rate-series"][data-layout="${shown}"]`);
      expect(await chart.isVisible(), `${shown} chart at ${width} px`).toBe(true);
      expect(await page.locator(`svg[data-chart="drop-rate-series"][data-layout="${hidden}"]`).isVisible()).toBe(false);
      const part = (name: string) => chart.locator(`g[data-calibration="${v2.id}"] [data-part="${name}"]`);
      for (const name of ["band", "expected", "observed", "evidence", "alarm-level"]) expect(await part(name).count(), name).toBe(1);
      for (const name of ["band", "expected", "evidence"]) expect(await part(name).getAttribute("d"), name).toMatch(/^M[\d.]+,[\d.]+/u);
      expect(await chart.locator(`circle[data-bucket="${series.buckets[0].start}"]`).count()).toBe(1);
      expect(await chart.locator('g[data-marker="alarm"]').count()).toBe(1);
      expect(await chart.locator('g[data-marker="activation"]').count()).toBe(2);
      // seconds apart, the two share one label ("v1→v2"); its tooltip names each
      const labels = chart.locator('g[data-part="activation-label"]');
      expect(await labels.locator("text").allTextContents()).toEqual(["v1→v2"]);
      expect(await labels.locator("title").allTextContents()).toEqual([expect.stringMatching(/^v1 activated at .+ UTC; v2 activated at .+ UTC$/u)]);
      // Drawn for its width: the text keeps at least 90 % of its 12 px (no phone-sized labels shrunk to dots), and
      // the chart fits the screen.
      const box = (await chart.boundingBox())!;
      const viewBoxWidth = Number((await chart.getAttribute("viewBox"))!.split(" ")[2]);
      expect(box.width / viewBoxWidth, `label scale at ${width} px`).toBeGreaterThanOrEqual(0.9);
      expect(box.x + box.width).toBeLessThanOrEqual(width);
      await axe(page, `gate series at ${width} px`);
      if (SCREENSHOTS) {
        mkdirSync(ARTIFACTS, { recursive: true });
        await page.locator("#production ~ section figure").screenshot({ path: join(ARTIFACTS, `gate-series-${width}.png`) });
      }
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    // The text alternative and the plotted numbers say the same.
    const desc = (await page.locator('svg[data-chart="drop-rate-series"][data-layout="wide"] desc').textContent()) ?? "";
    expect(desc).toContain(
      "1 hour with observations in the last 24 hours; v2 (served): observed 32.5\u00a0% per hour, the detector expects 22.0\u00a0%",
    );
    expect(desc).toMatch(/1 hour with alarms/u);
    await page.getByText("Plotted numbers (per hour)").click();
    const cells = await page.locator('[data-table="series"] tbody tr').first().locator("td").allTextContents();
    expect(cells.slice(0, 5)).toEqual(["v2", "served", "800", "32.5\u00a0%", "22.0\u00a0%"]);
    const csv = await (await page.request.get(`${origin}/ui/gates/${v2.gate_id}/series.csv?range=24h`)).text();
    expect(csv.split("\r\n")[1]).toContain(`,${v2.id},v2,2,800,16000,5200,`);
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
    // the notice is on screen where the browser lands, not thousands of px above it
    const notice = (await page.getByRole("status").boundingBox())!;
    expect(notice.y, "notice top in the viewport").toBeGreaterThanOrEqual(0);
    expect(notice.y + notice.height, "notice bottom in the viewport").toBeLessThanOrEqual(900);
    const q = new URLSearchParams(GATE).toString();
    let served = await api("GET", `/v1/threshold?${q}`, undefined, "dev-read");
    expect(served).toMatchObject({ calibration_id: v1.id, threshold: 0.4, index_version: "v1" });
    expect(await page.locator('[data-field="current-threshold"]').textContent()).toBe("0.4");
    const log = await api("GET", `/v1/calibrations?${q}`, undefined, "dev-read");
    expect(log.activations[0]).toMatchObject({ calibration_id: v1.id, actor: "dev-admin", reason: "v2 hurt recall" });
    // After the rollback the page reads as README.md says (and its screenshot, taken here, shows): the rebuild's
    // comparison whichever side is served, v1 served again, v2's decision kept.
    await page.goto(`${origin}/ui/gates/${v2.gate_id}`);
    // each figure joined to its "%" by a non-breaking space, read here as README.md writes it
    const big = ((await page.locator('[data-field="headline"] .big').textContent()) ?? "").trim();
    expect(big).toBe("0.4 drops 22\u00a0% of v1 and 59\u00a0% of v2");
    const headline = big.replace(/\s+/gu, " ");
    expect(readFileSync(join(ROOT, "README.md"), "utf8").replace(/\s+/gu, " ")).toContain(`the gate page reads "${headline}"`);
    expect(await page.locator('[data-field="rolled-back"]').textContent()).toMatch(/^Rolled back from v2 at .* UTC by dev-admin: "v2 hurt recall"$/u);
    expect(await page.locator('[data-field="decision"]').first().textContent()).toBe("shifted");
    await axe(page, "gate after the rollback");
    await shoot(page, "gate-after-rollback", "gate.png");

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

  it("alert page: the latest occurrence's summary and numbers by meaning, every occurrence, readable at 1280 and 375 px", async () => {
    const q = new URLSearchParams({ ...GATE, kind: "drop_rate_drift" }).toString();
    const [alert] = (await api("GET", `/v1/alerts?${q}`, undefined, "dev-read")).alerts;
    const { occurrences } = await api("GET", `/v1/alerts/${alert.id}/occurrences`, undefined, "dev-read");
    expect(occurrences).toHaveLength(2);
    const [latest, first] = occurrences;
    // The alert reads the latest occurrence's summary and keeps the first's; the page leads with the latest one's.
    expect(alert.summary).toBe(latest.summary);
    expect(alert.first_summary).toBe(first.summary);
    expect(latest.summary).not.toBe(first.summary);
    const page = await context.newPage();
    await page.goto(`${origin}/ui/alerts/${alert.id}`);
    // the server's sentence, each figure joined to its unit by a non-breaking space (nothing else changed)
    const shown = (s: string): string => s.replace(/(\d) (%|points\b)/gu, "$1\u00a0$2");
    expect(await page.locator('[data-field="summary"]').textContent()).toBe(shown(latest.summary));
    expect(await page.locator("h2#latest").textContent()).toMatch(/^Latest occurrence \(\d{4}-/u);
    const w = latest.details.window;
    const pct = (x: number) => `${(100 * x).toFixed(1)}\u00a0%`;
    const group = (name: string) => page.locator(`section[data-group="${name}"]`);
    expect(await group("rate").locator('[data-field="observed"]').textContent()).toBe(pct(w.drop_rate.observed));
    expect(await group("rate").locator('[data-field="expected"]').textContent()).toBe(pct(w.drop_rate.expected));
    expect(await group("rate").locator('[data-field="band"]').textContent()).toBe(`${pct(w.drop_rate.band.lo)} to ${pct(w.drop_rate.band.hi)}`);
    // the evidence and its level to one decimal, as the summary writes them
    expect(await group("evidence").locator('[data-field="evidence"]').textContent()).toBe(
      `${w.drop_rate.log_evidence.toFixed(1)} (alarm at ${w.log_threshold.toFixed(1)})`,
    );
    expect(await group("window").textContent()).toContain(`Queries${w.queries}`);
    expect(await group("calibration").textContent()).toContain(v2.id);
    const rows = page.locator('[data-table="occurrences"] tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.first().locator("td").last().textContent()).toBe(shown(latest.summary));
    expect(await rows.last().locator("td").last().textContent()).toBe(shown(first.summary));
    // Readable: one screen and a half at 1280 px, not a column of 4-character cells; the numbers' labels have room.
    const height = await page.evaluate(
      () => (globalThis as unknown as { document: { documentElement: { scrollHeight: number } } }).document.documentElement.scrollHeight,
    );
    expect(height, "page height at 1280 px").toBeLessThan(1800);
    for (const dt of await page.locator("section[data-group] dt").all()) expect((await dt.boundingBox())!.width).toBeGreaterThan(20);
    // No number or word of the cards breaks mid-word at 1400 px ("21:2 / 9:31 UTC", "querie / s"): each word of each
    // label and value lies on one line (a word broken across lines has two client rectangles).
    await page.setViewportSize({ width: 1400, height: 900 });
    const broken = await page.evaluate(() => {
      type Doc = {
        querySelectorAll(s: string): Iterable<{ textContent: string | null; childNodes: Iterable<{ nodeType: number; textContent: string | null }> }>;
        createRange(): { setStart(n: unknown, o: number): void; setEnd(n: unknown, o: number): void; getClientRects(): { length: number } };
      };
      const doc = (globalThis as unknown as { document: Doc }).document;
      const out: string[] = [];
      for (const cell of doc.querySelectorAll("section[data-group] dt, section[data-group] dd, section[data-group] code")) {
        for (const node of cell.childNodes) {
          if (node.nodeType !== 3) continue;
          const text = node.textContent ?? "";
          for (const m of text.matchAll(/\S+/gu)) {
            const range = doc.createRange();
            range.setStart(node, m.index);
            range.setEnd(node, m.index + m[0].length);
            if (range.getClientRects().length > 1) out.push(m[0]);
          }
        }
      }
      return out;
    });
    expect(broken, "words broken across lines at 1400 px").toEqual([]);
    await page.setViewportSize({ width: 1280, height: 900 });
    await axe(page, "drift alert");
    await shoot(page, "alert-drift");
    await page.setViewportSize({ width: 375, height: 812 });
    await axe(page, "drift alert at 375 px");
    await page.close();
  });

  it("tables that scroll sideways at 375 px keep their captions on the screen, wrapped, on the overview, alerts and gate pages", async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 375, height: 812 });
    let scrolling = 0;
    for (const path of ["/ui", "/ui/alerts", `/ui/gates/${v2.gate_id}`]) {
      await page.goto(`${origin}${path}`);
      for (const wrap of await page.locator(".table-wrap").all()) {
        const caption = wrap.locator("caption");
        if ((await caption.count()) === 0 || !(await caption.isVisible())) continue;
        const w = (await wrap.boundingBox())!;
        const c = (await caption.boundingBox())!;
        const text = (await caption.textContent()) ?? "";
        // the table is wider than the screen, its caption is not: it wraps within the scrolling region
        if (await wrap.evaluate((e) => e.scrollWidth > e.clientWidth)) scrolling++;
        expect(c.x, `${path}: ${text}`).toBeGreaterThanOrEqual(w.x - 0.5);
        expect(c.x + c.width, `${path}: ${text}`).toBeLessThanOrEqual(w.x + w.width + 0.5);
        expect(c.x + c.width, `${path}: ${text}`).toBeLessThanOrEqual(375);
      }
    }
    // the alerts list at least scrolls sideways here, so the captions were put to the test
    expect(scrolling).toBeGreaterThanOrEqual(1);
    await page.close();
  });

  it("gate page of a guarded, abstaining gate: the daily windows table fits at 1280 px, every column visible", async () => {
    // The README's guarded example: 12 queries of 3 candidates, 10 answerable; production queries bind min_keep and abstain.
    const queries = [
      [0.91, 0.4, 0.12],
      [0.55, 0.31, 0.08],
      [0.77, 0.52, 0.3],
      [0.35, 0.62, 0.21],
      [0.88, 0.15, 0.44],
      [0.49, 0.58, 0.11],
      [0.82, 0.33, 0.27],
      [0.66, 0.71, 0.05],
      [0.93, 0.47, 0.38],
      [0.58, 0.2, 0.61],
      [0.18, 0.09, 0.02],
      [0.31, 0.12, 0.07],
    ];
    const gate = { index: "support", embedding: "e5", reranker: "bge" };
    const { calibration } = await api(
      "POST",
      "/v1/calibrations",
      {
        ...gate,
        index_version: "v4",
        activate: true,
        queries,
        relevance: queries.map((_, i) => (i >= 10 ? [0, 0, 0] : [1, 0, 0])),
        policy: { kind: "drop_rate", target: 0.5, min_keep: 1, max_keep: 2, abstention: { alpha: 0.1 } },
      },
      "dev-calibrate",
    );
    const observed = [...Array.from({ length: 40 }, () => [3, 2, 3, 1]), ...Array.from({ length: 60 }, () => [3, 1, 1, 0])];
    await api("POST", "/v1/observations", { batch_id: "support-1", ...gate, queries: observed }, "dev-read");
    const page = await context.newPage();
    await page.goto(`${origin}/ui/gates/${calibration.gate_id}`);
    const table = page.locator('[data-table="windows"]');
    expect(await table.locator("th").allTextContents()).toContain("Abstention");
    const wrap = page.locator('section.table-wrap:has([data-table="windows"])');
    const { scroll, client } = await wrap.evaluate((el: { scrollWidth: number; clientWidth: number }) => ({
      scroll: el.scrollWidth,
      client: el.clientWidth,
    }));
    expect(scroll, "windows table width at 1280 px").toBeLessThanOrEqual(client);
    await axe(page, "guarded gate");
    await page.close();
  });

  it("a gate with a rolled-back promotion and a drift alarm: the In alarm table fits at 1280 px, the step chart's labels fit at 1280 and 375 px", async () => {
    const gate = { index: "faq", embedding: "intfloat/e5-large-v2", reranker: "BAAI/bge-reranker-v2-m3" };
    const scores = Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);
    const upload = async (index_version: string, activate: boolean) =>
      (
        await api(
          "POST",
          "/v1/calibrations",
          { ...gate, index_version, activate, scores, policy: { kind: "drop_rate", target: 0.22 } },
          "dev-calibrate",
        )
      ).calibration;
    const served = await upload("v1", true);
    const candidate = await upload("v2", false);
    const promotion = await api("POST", `/v1/calibrations/${candidate.id}/promote`, { steps: [10, 50, 100], min_queries: 200, tolerance: 0.08 });
    // the candidate drops far more than control in its first step: the promotion rolls back and alerts
    const arm = (calibration_id: string, n: number, dropped: number, a: string) =>
      api(
        "POST",
        "/v1/observations",
        {
          batch_id: `faq-${a}`,
          calibration_id,
          queries: Array.from({ length: n }, () => [20, dropped]),
          promotion: { id: promotion.id, step: 0, arm: a },
        },
        "dev-read",
      );
    await arm(served.id, 200, 4, "control");
    await arm(candidate.id, 74, 12, "candidate");
    expect((await api("GET", `/v1/promotions/${promotion.id}`, undefined, "dev-read")).state).toBe("rolled_back");
    let alarmed = false;
    for (let i = 0; i < 20 && !alarmed; i++) {
      const queries = Array.from({ length: 200 }, (_, j) => [20, 11 + (j % 3)]);
      const r = await api("POST", "/v1/observations", { batch_id: `faq-${i}`, calibration_id: served.id, queries }, "dev-read");
      alarmed = r.alerts.includes("drop_rate_drift");
    }
    expect(alarmed).toBe(true);
    const page = await context.newPage();
    await page.goto(`${origin}/ui`);
    const row = page.locator(`table[data-table="alarms"] tr[data-gate="${served.gate_id}"]`);
    expect(await row.locator('[data-field="alerts"]').textContent()).toContain("promotion_rolled_back");
    const wrap = page.locator('section.table-wrap:has(table[data-table="alarms"])');
    expect(await wrap.evaluate((e) => e.scrollWidth - e.clientWidth), "In alarm table wider than its frame").toBeLessThanOrEqual(0);
    for (const field of ["alerts", "detector", "split", "empty"]) {
      const box = await row.locator(`[data-field="${field}"]`).boundingBox();
      expect(box !== null && box.x + box.width, field).toBeLessThanOrEqual(1280);
    }
    // the alarm's start in the Observed column's short form, the full time as its title
    expect(await row.locator('[data-field="detector"]').textContent()).toMatch(/^alarmsince \d\d-\d\d \d\d:\d\d UTC$/u);

    // The gate page's promotion step chart, drawn for its width: every label inside the chart (the last, "rolled back",
    // not cut at the right edge) and at least 90 % of its 12 px on a phone.
    await page.goto(`${origin}/ui/gates/${served.gate_id}#promotions`);
    for (const [width, height, shown, hidden] of [
      [1280, 900, "wide", "narrow"],
      [375, 812, "narrow", "wide"],
    ] as const) {
      await page.setViewportSize({ width, height });
      const chart = page.locator(`svg[data-chart="promotion"][data-layout="${shown}"]`);
      expect(await chart.isVisible(), `${shown} promotion chart at ${width} px`).toBe(true);
      expect(await page.locator(`svg[data-chart="promotion"][data-layout="${hidden}"]`).isVisible()).toBe(false);
      const box = (await chart.boundingBox())!;
      expect(box.width / Number((await chart.getAttribute("viewBox"))!.split(" ")[2]), `label scale at ${width} px`).toBeGreaterThanOrEqual(0.9);
      expect(box.x + box.width).toBeLessThanOrEqual(width);
      const labels = chart.locator("g[data-step] text");
      expect(await labels.allTextContents()).toEqual(["started", "rolled back"]);
      for (const text of await labels.all()) {
        const t = (await text.boundingBox())!;
        expect(t.x, `${(await text.textContent()) ?? ""} at ${width} px`).toBeGreaterThanOrEqual(box.x - 0.5);
        expect(t.x + t.width, `${(await text.textContent()) ?? ""} at ${width} px`).toBeLessThanOrEqual(box.x + box.width + 0.5);
      }
    }
    await page.setViewportSize({ width: 1280, height: 900 });

    // Three promotions later that one is older than the page's newest three: a link naming it (the alert page's) lands
    // on its timeline, the page says what it shows of how many, and a link naming no promotion gets a notice; accessible.
    for (let i = 0; i < 3; i++) {
      const later = await api("POST", `/v1/calibrations/${candidate.id}/promote`, { steps: [10, 50, 100], min_queries: 200 });
      await api("POST", `/v1/promotions/${later.id}/rollback`, { reason: `attempt ${i + 2}` });
    }
    await page.goto(`${origin}/ui/gates/${served.gate_id}?promotion=${promotion.id}#promotion-${promotion.id}`);
    const older = page.locator(`section#promotion-${promotion.id}`);
    expect(await older.locator('[data-field="asked-promotion"]').textContent()).toBe(
      "Older than the newest 3: shown because the link you followed named it.",
    );
    expect(await older.evaluate((e) => e.getBoundingClientRect().top), "the linked promotion scrolled to").toBeLessThan(900);
    expect(await page.locator('[data-field="promotions-shown"]').textContent()).toContain("The newest 3 of 4 promotions are shown");
    await axe(page, "gate page with an older promotion linked");
    await page.goto(`${origin}/ui/gates/${served.gate_id}?promotion=prm_none`);
    expect(await page.locator('[data-field="promotion-notice"]').textContent()).toContain("There is no promotion prm_none");
    await axe(page, "gate page with a link naming no promotion");
    await page.close();
  });

  it("gate page of a recall gate: its promise and the monitor's coverage test, accessible", async () => {
    const gate = { index: "faq", embedding: "e5", reranker: "bge" };
    const data = labelledQueries(21, 500);
    const { calibration } = await api(
      "POST",
      "/v1/calibrations",
      {
        ...gate,
        index_version: "v1",
        policy: { kind: "recall", target: 0.9 },
        queries: data.map((q) => q.scores),
        relevance: data.map((q) => q.relevance),
      },
      "dev-calibrate",
    );
    const judged = labelledQueries(23, 200);
    await api("POST", "/v1/judgments", { batch_id: "faq-1", ...gate, queries: judged }, "dev-read");
    const monitor = await api("GET", `/v1/monitor?${new URLSearchParams(gate)}`, undefined, "dev-read");
    const page = await context.newPage();
    await page.goto(`${origin}/ui/gates/${calibration.gate_id}`);
    expect(await page.locator('[data-field="coverage-target"]').textContent()).toBe("90.0\u00a0%");
    expect(await page.locator('[data-field="coverage-observed"]').textContent()).toBe(pct(monitor.recall[0].observed));
    expect(await page.locator('[data-field="coverage-queries"]').textContent()).toMatch(/^200 with a relevant candidate/u);
    await axe(page, "recall gate");
    await page.setViewportSize({ width: 375, height: 812 });
    await axe(page, "recall gate at 375 px");
    const pageWidth = await page.evaluate(
      () => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth,
    );
    expect(pageWidth, "nothing wider than a 375 px screen").toBeLessThanOrEqual(375);
    await page.close();
  });

  it("no page requested anything outside the Worker", () => {
    expect(outside).toEqual([]);
  });
});
