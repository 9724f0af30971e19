// The overview with more gates in alarm than it reads monitors for (OVERVIEW_DETAIL_ROWS): every gate in alarm is
// still listed, the first OVERVIEW_DETAIL_ROWS with their monitor's view (alerts by id), the rest from D1 alone (their
// alerts link to the gate's alert list). The alert list and a gate page with more alerts than a page (ALERT_LIST_PAGE_SIZE):
// an old open alert is listed first, the pages reach every alert, the index filter reaches past the first page.
// Alerts are seeded through the alert store: raising a hundred drift alerts through the monitor would take a hundred
// batches and prove nothing more about the pages.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { D1AlertStore } from "../../src/alerts/d1-store";
import type { Alert } from "../../src/contract";
import { ALERT_LIST_PAGE_SIZE } from "../../src/dashboard/data/alerts";
import { OVERVIEW_DETAIL_ROWS } from "../../src/dashboard/data/overview";
import { openAlert } from "../support/alert-record";
import { callJson, spreadScores, TOKENS } from "../support/worker";
import { page, session } from "./session-support";

const worker = (exports as unknown as { default: Fetcher }).default;

/** Per row of one table of the overview (data-table="alarms" or "gates"): its gate id and its row's HTML. */
const rowsOf = (html: string, table: string): { gate: string; html: string }[] => {
  const start = html.indexOf(`data-table="${table}"`);
  if (start < 0) return [];
  const body = html.slice(start, html.indexOf("</table>", start));
  return body
    .split("<tr ")
    .slice(1)
    .flatMap((tr) => {
      const gate = /data-gate="([0-9a-f]+)"/u.exec(tr)?.[1];
      return gate === undefined ? [] : [{ gate, html: tr }];
    });
};

/** An alert as the store takes it (open, seen once at `at`). */
const seeded = (id: string, gate_id: string, gate: Alert["gate"], kind: Alert["kind"], at: string, calibration_ids: string[] = []): Alert =>
  openAlert({ id, gate_id, gate, kind, summary: "seeded", calibration_ids, at });

describe("overview with more gates in alarm than it reads monitors for", () => {
  it("lists every gate in alarm, newest alarm first; rows past the detail limit come from D1", async () => {
    const index = "ov-detail";
    const total = OVERVIEW_DETAIL_ROWS + 3;
    const store = new D1AlertStore((env as unknown as { DB: D1Database }).DB);
    const ids: string[] = [];
    for (let i = 0; i < total; i++) {
      const gate = { index, embedding: "e5", reranker: `r-${String(i).padStart(3, "0")}` };
      const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
        token: TOKENS.calibrate,
        json: { ...gate, index_version: "v1", scores: spreadScores(50), policy: { kind: "drop_rate", target: 0.2 } },
      });
      ids.push(calibration.gate_id);
      // Gate i's alarm opened i minutes after the first: the newest (the last gate) is listed first.
      const at = new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString();
      const alert = openAlert({
        id: `alr_ovdetail${String(i).padStart(4, "0")}`,
        gate_id: calibration.gate_id,
        gate,
        kind: "drop_rate_drift",
        summary: "seeded drift",
        calibration_ids: [calibration.id],
        at,
      });
      const raised = await store.raise(alert, { id: `evt_ovdetail${i}`, type: "alert.opened", payload: "{}" });
      expect(raised?.opened).toBe(true);
    }
    const html = await page(`/ui?index=${index}`, await session(TOKENS.read));
    expect(html).toContain(`In alarm (${total})`);
    const alarms = rowsOf(html, "alarms");
    expect(alarms.map((r) => r.gate)).toEqual([...ids].reverse());
    expect(rowsOf(html, "gates")).toEqual([]);
    // Every row says it is in alarm and names its drift alert ...
    for (const r of alarms) {
      expect(r.html).toContain('<span class="badge alarm">alarm</span>');
      expect(r.html.replaceAll("<wbr/>", "")).toContain("drop_rate_drift");
    }
    // ... the first OVERVIEW_DETAIL_ROWS from their monitor's view, which links the alert itself ...
    alarms.slice(0, OVERVIEW_DETAIL_ROWS).forEach((r, i) => {
      expect(r.html).toContain(`href="/ui/alerts/alr_ovdetail${String(total - 1 - i).padStart(4, "0")}"`);
    });
    // ... and the rest from D1 alone: the gate's alert list, no monitor read.
    for (const r of alarms.slice(OVERVIEW_DETAIL_ROWS)) {
      expect(r.html).toContain(`href="/ui/alerts?gate_id=${r.gate}"`);
      expect(r.html).not.toContain('href="/ui/alerts/alr_');
    }
    expect(alarms.slice(OVERVIEW_DETAIL_ROWS)).toHaveLength(3);
  }, 180_000);
});

/** The alert ids listed on a page (rows of the alert table, or items of a gate page's list) and its next page's path. */
function listed(html: string): { ids: string[]; next: string | null } {
  const ids = [...html.matchAll(/data-alert="(alr_[a-z0-9]+)"/gu)].map((m) => m[1]!);
  const next = /<a href="([^"]+)" rel="next"/u.exec(html)?.[1]?.replaceAll("&amp;", "&") ?? null;
  return { ids, next };
}

/** Every alert id of a list, following its "Next page" links from `path`. */
async function allPages(path: string, cookie: string): Promise<{ pages: string[][] }> {
  const pages: string[][] = [];
  for (let at: string | null = path; at !== null && pages.length < 20; ) {
    const { ids, next } = listed(await page(at, cookie));
    pages.push(ids);
    at = next;
  }
  return { pages };
}

describe("alert lists with more alerts than a page", () => {
  it("list an old open alert first, reach every alert page by page, and filter by index beyond the first page", async () => {
    const store = new D1AlertStore((env as unknown as { DB: D1Database }).DB);
    const gate = { index: "al-list", embedding: "e5", reranker: "r-alerts" };
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(50), policy: { kind: "drop_rate", target: 0.2 } },
    });
    const minute = (i: number) => new Date(Date.UTC(2026, 1, 1, 0, i)).toISOString();
    const raise = async (a: Alert, resolve: boolean) => {
      expect((await store.raise(a, { id: `evt_${a.id}`, type: "alert.opened", payload: "{}" }))?.opened).toBe(true);
      if (resolve) await store.resolve(a.id, "test", a.first_seen_at, { id: `evt_${a.id}_r`, type: "alert.resolved", payload: "{}" }, null);
    };
    // Oldest: a resolved alert of another gate of the index. Then the gate's open drift alert, then more than a page
    // of newer resolved alerts: the gate's own (a kind it has no open alert of) and other indexes'.
    const oldest = seeded("alr_allistold", "f".repeat(64), { ...gate, reranker: "r-other" }, "empty_context", minute(0));
    await raise(oldest, true);
    const open = seeded("alr_allistopen", calibration.gate_id, gate, "drop_rate_drift", minute(1), [calibration.id]);
    await raise(open, false);
    const newer: string[] = [];
    for (let i = 0; i < ALERT_LIST_PAGE_SIZE + 10; i++) {
      const own = i % 10 !== 0;
      const id = `alr_allist${String(i).padStart(3, "0")}`;
      const a = own
        ? seeded(id, calibration.gate_id, gate, "uncalibrated_request", minute(2 + i))
        : seeded(
            id,
            `${String(i).padStart(3, "0")}${"e".repeat(61)}`,
            { index: "al-list-other", embedding: "e5", reranker: `r-${i}` },
            "uncalibrated_request",
            minute(2 + i),
          );
      await raise(a, true);
      newer.push(id);
    }
    const mine = new Set([oldest.id, open.id, ...newer]);
    const cookie = await session(TOKENS.read);

    // The whole list: the open alert on the first page, ahead of every resolved one; the pages together hold every
    // alert once (the file's other alerts too), in urgency order.
    const whole = await allPages("/ui/alerts", cookie);
    expect(whole.pages.length).toBeGreaterThan(1);
    expect(whole.pages[0]).toContain(open.id);
    const flat = whole.pages.flat();
    expect(new Set(flat).size).toBe(flat.length);
    expect(flat.filter((id) => mine.has(id)).sort()).toEqual([...mine].sort());
    expect(flat.filter((id) => mine.has(id))).toEqual([open.id, ...[...newer].reverse(), oldest.id]);

    // The index filter pages in the store: it finds the index's oldest alert beyond the first page of the list.
    const byIndex = await allPages("/ui/alerts?index=al-list", cookie);
    const indexed = [open.id, ...newer.filter((_, i) => i % 10 !== 0).reverse(), oldest.id];
    expect(byIndex.pages.flat()).toEqual(indexed);
    expect(byIndex.pages.length).toBe(Math.ceil(indexed.length / ALERT_LIST_PAGE_SIZE));
    // Filters stay on later pages; a status filter lists only that status.
    expect((await allPages("/ui/alerts?index=al-list&status=open", cookie)).pages.flat()).toEqual([open.id]);

    // The gate page lists the gate's open alert first and links to the rest of its alerts.
    const gatePage = listed(await page(`/ui/gates/${calibration.gate_id}`, cookie));
    expect(gatePage.ids[0]).toBe(open.id);
    expect(gatePage.ids).toHaveLength(ALERT_LIST_PAGE_SIZE);
    expect(gatePage.next).toMatch(/^\/ui\/alerts\?gate_id=[0-9a-f]+&cursor=[0-9a-z]+$/u);
    const rest = await allPages(gatePage.next!, cookie);
    const ownIds = [open.id, ...newer.filter((_, i) => i % 10 !== 0).reverse()];
    expect([...gatePage.ids, ...rest.pages.flat()]).toEqual(ownIds);

    // A cursor the list did not make is not read as a page of it (an edited address, or one made for other filters):
    // the first page of the same filters, saying so.
    const own = gatePage.next!.split("cursor=")[1]!;
    for (const [address, filters] of [
      ["/ui/alerts?cursor=not%20a%20cursor", ""],
      [`/ui/alerts?index=al-list&status=open&cursor=${own}`, "status=open&index=al-list&"],
    ] as const) {
      const bad = await worker.fetch(`http://scoregate.test${address}`, { headers: { cookie }, redirect: "manual" });
      expect(bad.status, address).toBe(303);
      expect(bad.headers.get("location"), address).toBe(`/ui/alerts?${filters}done=other-list-cursor`);
    }
    const landed = await page("/ui/alerts?status=open&index=al-list&done=other-list-cursor", cookie);
    expect(landed).toContain("That page is not one of this list&#39;s");
    expect(listed(landed).ids).toEqual([open.id]);
    // A filter value the page does not know (an edited address; the API answers 400) is ignored, saying so and what
    // the values are; the list is the one without that filter.
    const typo = await page("/ui/alerts?status=opened&index=al-list", cookie);
    expect(typo).toContain("Filter ignored: status &quot;opened&quot; is not one (open, acknowledged, resolved). Alerts of every status are shown.");
    expect(listed(typo).ids).toEqual(listed(await page("/ui/alerts?index=al-list", cookie)).ids);
    const both = await page("/ui/alerts?status=opened&kind=bogus&index=al-list", cookie);
    expect(both).toContain("kind &quot;bogus&quot; is not one (");
    expect(both).toContain("Alerts of every status and kind are shown.");
    expect(await page("/ui/alerts?status=open&index=al-list", cookie)).not.toContain("Filter ignored");
  }, 120_000);
});

describe("overview row after an activation, before the served calibration has a window", () => {
  it("marks the replaced calibration's open window as its, not the served one's", async () => {
    const gate = { index: "ov-window-of", embedding: "e5", reranker: "bge" };
    const upload = async (index_version: string, target: number) =>
      (
        await callJson("POST", "/v1/calibrations", 201, {
          token: TOKENS.calibrate,
          json: { ...gate, index_version, scores: spreadScores(4000), policy: { kind: "drop_rate", target }, activate: true },
        })
      ).calibration;
    const v1 = await upload("v1", 0.2);
    await callJson("POST", "/v1/observations", 202, {
      token: TOKENS.read,
      json: { batch_id: "ov-window-of-1", calibration_id: v1.id, queries: Array.from({ length: 40 }, () => [20, 4]) },
    });
    const cookie = await session(TOKENS.read);
    const mark = (html: string) => rowsOf(html, "gates").find((r) => r.gate === v1.gate_id)?.html ?? "";
    // v1 served: its own window, unmarked
    expect(mark(await page("/ui?index=ov-window-of", cookie))).not.toContain('data-field="window-of"');
    // v2 served, no batch of its own yet: the row still shows v1's window, and says whose it is
    await upload("v2", 0.25);
    const row = mark(await page("/ui?index=ov-window-of", cookie));
    expect(row).toContain("(40 queries)");
    expect(row).toMatch(/data-field="window-of"[^>]*>\s*of v1, served before the last activation\s*</u);
  });
});
