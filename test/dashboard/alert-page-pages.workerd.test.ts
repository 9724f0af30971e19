/**
 * An alert page lists its occurrences a page at a time and says so: which numbers of how many, with links to the
 * older and back to the newest (GET /v1/alerts/{id}/occurrences's cursors), the latest occurrence leading every page;
 * and it lists the alert's own webhook deliveries however many other alerts delivered since.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { openedAlert, raiseAlert } from "../../src/alerts/lifecycle";
import { ALERT_PAGE_OCCURRENCES } from "../../src/dashboard/data/alerts";
import type { Env } from "../../src/platform/env";
import { alertDeps } from "../../src/worker/wiring";
import { callJson, deleteWebhook, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

const worker = (exports as unknown as { default: Fetcher }).default;
const deps = () => alertDeps(env as unknown as Env, () => undefined);

/** Raises a drop_rate_drift alert on a fresh gate `times` times ("occurrence 1" .. "occurrence <times>"). */
async function raised(label: string, times: number): Promise<string> {
  const gate = uniqueGate(label);
  let id = "";
  for (let i = 1; i <= times; i++) {
    const input = {
      gate_id: `gate-${gate.reranker}`,
      gate,
      kind: "drop_rate_drift" as const,
      summary: `occurrence ${i}`,
      details: { i },
      calibration_ids: [],
    };
    id = (await raiseAlert(input, deps())).alert.id;
  }
  return id;
}

/** What an alert page shows of its occurrences: the numbers listed, the caption, the page links, the lead. */
function occurrencesOf(html: string) {
  const table = /<table[^>]*data-table="occurrences"[\s\S]*?<\/table>/u.exec(html)![0];
  const nav = /<nav[^>]*data-field="occurrence-pages"[\s\S]*?<\/nav>/u.exec(html)?.[0] ?? "";
  return {
    numbers: [...table.matchAll(/<tr data-occurrence="\d+"><td class="num">(\d+)<\/td>/gu)].map((m) => Number(m[1])),
    caption: /<caption[^>]*>([^<]*)<\/caption>/u.exec(table)?.[1],
    older: /<a href="([^"]+)" rel="next" data-field="older-occurrences">Older occurrences<\/a>/u.exec(html)?.[1] ?? null,
    newest: nav.includes(">Newest occurrences</a>"),
    lead: /<p class="lead" data-field="summary">([^<]*)<\/p>/u.exec(html)?.[1],
  };
}

const range = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, k) => from - k);

describe("an alert page's occurrences", () => {
  it("lists a page of them, says which of how many, and links to the older ones and back; the lead is the latest on every page", async () => {
    expect(ALERT_PAGE_OCCURRENCES).toBe(50);
    const id = await raised("page-many", 120);
    const cookie = await session(TOKENS.read);
    const first = occurrencesOf(await page(`/ui/alerts/${id}`, cookie));
    expect(first.numbers).toEqual(range(120, 71));
    expect(first.caption).toBe("Occurrences 120 to 71 of 120, newest first");
    expect(first.newest).toBe(false);
    expect(first.older).toMatch(new RegExp(`^/ui/alerts/${id}\\?cursor=[0-9a-z]{7,17}#occurrences$`, "u"));
    expect(first.lead).toBe("occurrence 120");

    // repeated while it is read: the next page goes on where the first stopped
    await raised("page-many-other", 1);
    const second = occurrencesOf(await page(first.older!, cookie));
    expect(second.numbers).toEqual(range(70, 21));
    expect(second.caption).toBe("Occurrences 70 to 21 of 120, newest first");
    expect(second.newest).toBe(true);
    expect(second.lead).toBe("occurrence 120");
    const third = occurrencesOf(await page(second.older!, cookie));
    expect(third.numbers).toEqual(range(20, 1));
    expect(third.caption).toBe("Occurrences 20 to 1 of 120, newest first");
    expect(third.older).toBeNull();
    expect(third.newest).toBe(true);
    expect(await page(`/ui/alerts/${id}`, cookie)).toContain('<h2 id="occurrences">Occurrences (120)</h2>');

    // an alert of one page: no page links, and the caption does not say "of"
    const few = await raised("page-few", 3);
    const one = occurrencesOf(await page(`/ui/alerts/${few}`, cookie));
    expect(one).toMatchObject({ numbers: [3, 2, 1], caption: "Newest first", older: null, newest: false });

    // a cursor this alert's pages did not make is not read as a page of it (another alert's, a tampered one): the page
    // sends the reader to the alert's newest occurrences, saying why
    const otherCursor = occurrencesOf(await page(`/ui/alerts/${await raised("page-many-third", 60)}`, cookie))
      .older!.split("cursor=")[1]!
      .split("#")[0]!;
    const own = first.older!.split("cursor=")[1]!.split("#")[0]!;
    for (const bad of [otherCursor, `${own.slice(0, -1)}${own.endsWith("1") ? "2" : "1"}`, "not a cursor"]) {
      const res = await worker.fetch(`http://scoregate.test/ui/alerts/${id}?cursor=${encodeURIComponent(bad)}`, {
        headers: { cookie },
        redirect: "manual",
      });
      expect(res.status, bad).toBe(303);
      expect(res.headers.get("location"), bad).toBe(`/ui/alerts/${id}?done=other-cursor`);
    }
    const redirected = await page(`/ui/alerts/${id}?done=other-cursor`, cookie);
    expect(redirected).toContain("That page of occurrences is not one of this alert&#39;s");
    expect(occurrencesOf(redirected).numbers).toEqual(range(120, 71));
    // the API keeps refusing it: a client that passes cursors back must hear it mixed them up
    const api = await worker.fetch(`http://scoregate.test/v1/alerts/${id}/occurrences?cursor=${encodeURIComponent(otherCursor)}`, {
      headers: { authorization: `Bearer ${TOKENS.read}` },
    });
    expect(api.status).toBe(400);
    // and an unknown alert is 404 whatever the cursor
    const unknown = await worker.fetch(`http://scoregate.test/v1/alerts/alr_nope/occurrences?cursor=${encodeURIComponent(own)}`, {
      headers: { authorization: `Bearer ${TOKENS.read}` },
    });
    expect(unknown.status).toBe(404);
  }, 30_000);

  it("lists the alert's own webhook deliveries, also after more than a page of other alerts' deliveries", async () => {
    const endpoint = await callJson("POST", "/v1/webhooks", 201, { json: { url: `${inject("receiverOrigin")}/hook/alert-page-pages` } });
    // recorded as a raise records them, without being sent
    const store = deps().alerts;
    const open = async (label: string) => {
      const gate = uniqueGate(label);
      const alert = openedAlert(
        `alr_${label}`,
        { gate_id: `gate-${gate.reranker}`, gate, kind: "empty_context", summary: label, details: {}, calibration_ids: [] },
        new Date().toISOString(),
      );
      await store.raise(alert, { id: `msg_${alert.id}_opened`, type: "alert.opened", payload: "{}" });
      return alert.id;
    };
    const target = await open("deliveries-target");
    for (let i = 0; i < 110; i++) await open(`deliveries-other-${i}`);
    const admin = await session(TOKENS.admin);
    const html = await page(`/ui/alerts/${target}`, admin);
    const rows = [...html.matchAll(/<tr data-delivery="([^"]+)">/gu)].map((m) => m[1]);
    expect(rows).toEqual([`msg_${target}_opened:${endpoint.id}`]);
    expect(html).not.toContain("No webhook deliveries for this alert");
    // the delivery names its receiver's host (never the URL's path, which may hold a secret), not only whk_…
    expect(html).toContain(`<code>${endpoint.id}</code> (${new URL(inject("receiverOrigin")).host})`);
    expect(html).not.toContain("/hook/alert-page-pages");
    // recorded, never sent: its next attempt has passed, and the page says it is overdue
    expect(html).toMatch(/<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(overdue\)<\/td>/u);
    // resolved while its opening is pending: the resolution waits for it (the sender keeps the order), not overdue
    await store.resolve(target, "alice", new Date().toISOString(), { id: `msg_${target}_resolved`, type: "alert.resolved", payload: "{}" }, null);
    const resolved = await page(`/ui/alerts/${target}`, admin);
    const cells = (id: string) => {
      const at = resolved.indexOf(`<tr data-delivery="${id}">`);
      return resolved.slice(at, resolved.indexOf("</tr>", at));
    };
    expect(cells(`msg_${target}_resolved:${endpoint.id}`)).toMatch(/UTC \(waits for alert\.opened to this endpoint\)<\/td>/u);
    expect(cells(`msg_${target}_resolved:${endpoint.id}`)).not.toContain("(overdue)");
    expect(cells(`msg_${target}_opened:${endpoint.id}`)).toContain("(overdue)");
    await deleteWebhook(endpoint.id);
  }, 30_000);
});

describe("an alert's deliveries name their receiver", () => {
  it("by host and, when the endpoint has one, its description: two endpoints on one host read apart", async () => {
    const origin = inject("receiverOrigin");
    const [a, b] = [
      await callJson("POST", "/v1/webhooks", 201, { json: { url: `${origin}/hook/named-a`, description: "on-call" } }),
      await callJson("POST", "/v1/webhooks", 201, { json: { url: `${origin}/hook/named-b` } }),
    ];
    const gate = uniqueGate("named-receivers");
    const alert = openedAlert(
      "alr_named_receivers",
      { gate_id: `gate-${gate.reranker}`, gate, kind: "empty_context", summary: "s", details: {}, calibration_ids: [] },
      new Date().toISOString(),
    );
    await deps().alerts.raise(alert, { id: `msg_${alert.id}_opened`, type: "alert.opened", payload: "{}" });
    const html = await page(`/ui/alerts/${alert.id}`, await session(TOKENS.admin));
    const host = new URL(origin).host;
    expect(html).toContain(`<code>${a.id}</code> (${host}, on-call)`);
    expect(html).toContain(`<code>${b.id}</code> (${host})`);
    await deleteWebhook(a.id);
    await deleteWebhook(b.id);
  });
});

describe("a drift alert whose calibration is no longer served", () => {
  it("says so, naming what the gate serves now; not while its calibration is served, nor once resolved", async () => {
    const gate = uniqueGate("not-served");
    const upload = async (index_version: string, target: number) =>
      (
        await callJson("POST", "/v1/calibrations", 201, {
          token: TOKENS.calibrate,
          json: {
            ...gate,
            index_version,
            scores: Array.from({ length: 400 }, (_, i) => i / 400),
            policy: { kind: "drop_rate", target },
            activate: true,
          },
        })
      ).calibration;
    const v1 = await upload("v1", 0.2);
    const { alert } = await raiseAlert(
      { gate_id: v1.gate_id, gate, kind: "drop_rate_drift", summary: "production drops 41 % against 20 %", details: {}, calibration_ids: [v1.id] },
      deps(),
    );
    const admin = await session(TOKENS.admin);
    expect(await page(`/ui/alerts/${alert.id}`, admin)).not.toContain('data-field="not-served"');
    const v2 = await upload("v2", 0.25);
    const html = await page(`/ui/alerts/${alert.id}`, admin);
    expect(html).toMatch(
      new RegExp(
        `data-field="not-served">Its calibration <code>${v1.id}</code> is no longer served: the gate serves v2 \\(<code>${v2.id}</code>\\) now\\.`,
        "u",
      ),
    );
    await callJson("POST", `/v1/alerts/${alert.id}/resolve`, 200, { token: TOKENS.admin, json: {} });
    expect(await page(`/ui/alerts/${alert.id}`, admin)).not.toContain('data-field="not-served"');
  });
});
