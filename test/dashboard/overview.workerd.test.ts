// The overview lists every gate in alarm, whatever their number and wherever their names sort, on every page, and
// pages through the others; a read session sees on an alert page what a read token sees in the API.
import { describe, expect, inject, it } from "vitest";
import { OVERVIEW_PAGE_SIZE } from "../../src/dashboard/data/overview";
import { callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

/** The gate ids of the rows of one table of the overview (data-table="alarms" or "gates"). */
const rowsOf = (html: string, table: string): string[] => {
  const start = html.indexOf(`data-table="${table}"`);
  if (start < 0) return [];
  const body = html.slice(start, html.indexOf("</table>", start));
  return [...body.matchAll(/data-gate="([0-9a-f]+)"/gu)].map((m) => m[1]!);
};

describe("overview with more gates than a page", () => {
  it("lists the gates in alarm first on every page and pages through the rest", async () => {
    const index = "ov-many";
    const total = OVERVIEW_PAGE_SIZE + 6;
    const ids: string[] = [];
    for (let i = 0; i < total; i++) {
      const gate = { index, embedding: "e5", reranker: `r-${String(i).padStart(3, "0")}` };
      const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
        token: TOKENS.calibrate,
        json: { ...gate, index_version: "v1", scores: spreadScores(400), policy: { kind: "drop_rate", target: 0.2 } },
      });
      ids.push(calibration.gate_id);
    }
    // The two gates whose names sort last drift: 60 % dropped where 20 % is expected.
    for (const i of [total - 1, total - 2]) {
      const r = await callJson("POST", "/v1/observations", 202, {
        token: TOKENS.read,
        json: {
          batch_id: `drift-${i}`,
          index,
          embedding: "e5",
          reranker: `r-${String(i).padStart(3, "0")}`,
          queries: Array.from({ length: 300 }, () => [20, 12]),
        },
      });
      expect(r.queued === false && r.alerts).toEqual(["drop_rate_drift"]);
    }
    const cookie = await session(TOKENS.read);
    const first = await page(`/ui?index=${index}`, cookie);
    expect(rowsOf(first, "alarms").sort()).toEqual([ids[total - 1], ids[total - 2]].sort());
    const firstRest = rowsOf(first, "gates");
    expect(firstRest).toEqual(ids.slice(0, OVERVIEW_PAGE_SIZE));
    expect(first).toContain("Page 1 of 2");
    const second = await page(`/ui?index=${index}&page=2`, cookie);
    expect(rowsOf(second, "alarms").sort()).toEqual([ids[total - 1], ids[total - 2]].sort());
    expect(rowsOf(second, "gates")).toEqual(ids.slice(OVERVIEW_PAGE_SIZE, total - 2));
    // A page past the last shows the last; a malformed one the first.
    expect(rowsOf(await page(`/ui?index=${index}&page=99`, cookie), "gates")).toEqual(ids.slice(OVERVIEW_PAGE_SIZE, total - 2));
    expect(rowsOf(await page(`/ui?index=${index}&page=1e1`, cookie), "gates")).toEqual(firstRest);
  }, 120_000);
});

describe("a gate with a shadow", () => {
  it("shows the shadow's window as the shadow's: never as the gate's observed drop, named with its role on the gate page", async () => {
    const gate = uniqueGate("ov-shadow");
    const upload = async (index_version: string, activate: boolean) =>
      (
        await callJson("POST", "/v1/calibrations", 201, {
          token: TOKENS.calibrate,
          json: { ...gate, index_version, scores: spreadScores(400), policy: { kind: "drop_rate", target: 0.2 }, activate },
        })
      ).calibration;
    const v1 = await upload("v1", true);
    const v2 = await upload("v2", false);
    await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { token: TOKENS.admin, json: {} });
    // Only the shadow has counts: 60 mirrored queries, 25 % dropped.
    await callJson("POST", "/v1/observations", 202, {
      token: TOKENS.read,
      json: { batch_id: "ov-shadow-1", calibration_id: v2.id, role: "shadow", queries: Array.from({ length: 60 }, () => [20, 5]) },
    });
    const cookie = await session(TOKENS.read);
    const overview = await page(`/ui?index=${gate.index}`, cookie);
    const row = overview.slice(overview.indexOf(`data-gate="${v1.gate_id}"`));
    expect(/data-field="observed">([^<]*)</u.exec(row)?.[1]).toBe("–");
    const gatePage = await page(`/ui/gates/${v1.gate_id}`, cookie);
    const windows = gatePage.slice(gatePage.indexOf('data-table="windows"'), gatePage.indexOf("</table>", gatePage.indexOf('data-table="windows"')));
    expect([...windows.matchAll(/data-field="role">([^<]*)</gu)].map((m) => m[1])).toEqual(["shadow"]);
    expect(gatePage).toContain("v2 (shadow): observed (dotted line and dots)");
  });
});

describe("a gate's policy on the overview", () => {
  it("gives the drop-rate target as it was set, not rounded to a whole percent", async () => {
    const gate = uniqueGate("ov-target");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(400), policy: { kind: "drop_rate", target: 0.225 } },
    });
    expect(calibration.policy).toMatchObject({ target: 0.225 });
    const overview = await page(`/ui?index=${gate.index}`, await session(TOKENS.read));
    const row = overview.slice(overview.indexOf(`data-gate="${calibration.gate_id}"`));
    expect(/data-field="policy">([^<]*)</u.exec(row)?.[1]).toBe("drop 22.5\u00a0%");
  });
});

describe("a read session on an alert page", () => {
  it("sees what a read token sees in the API: the alert, none of its webhook deliveries", async () => {
    const hook = await callJson("POST", "/v1/webhooks", 201, {
      token: TOKENS.admin,
      json: { url: `${inject("receiverOrigin")}/hook/read-scope`, description: "read-scope" },
    });
    const gate = uniqueGate("read-scope");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(2000), policy: { kind: "drop_rate", target: 0.2 } },
    });
    const r = await callJson("POST", "/v1/observations", 202, {
      token: TOKENS.read,
      json: { batch_id: "read-scope-1", ...gate, queries: Array.from({ length: 300 }, () => [20, 12]) },
    });
    expect(r.queued === false && r.alerts).toEqual(["drop_rate_drift"]);
    const [alert] = (await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "drop_rate_drift" })}`, 200, { token: TOKENS.read })).alerts as {
      id: string;
    }[];
    if (alert === undefined) throw new Error("no drift alert");
    // The alert's delivery row is written when the alert is stored (the monitor stores it right after the batch).
    let deliveries: { alert_id: string; endpoint_id: string }[] = [];
    for (let i = 0; i < 50 && deliveries.length === 0; i++) {
      const all = (await callJson("GET", `/v1/webhooks/deliveries?endpoint_id=${hook.id}`, 200, { token: TOKENS.admin })).deliveries;
      deliveries = all.filter((d: { alert_id: string }) => d.alert_id === alert.id);
      if (deliveries.length === 0) await new Promise((done) => setTimeout(done, 100));
    }
    expect(deliveries).toHaveLength(1);
    // The API refuses deliveries to a read token ...
    await callJson("GET", "/v1/webhooks/deliveries", 403, { token: TOKENS.read });
    // ... and the dashboard shows a read session the alert without them, an admin session with them.
    const asRead = await page(`/ui/alerts/${alert.id}`, await session(TOKENS.read));
    expect(asRead).toContain(`<h1>drop_rate_drift <span class="badge open" data-field="status">open</span></h1>`);
    expect(asRead).toContain('data-field="deliveries-hidden"');
    expect(asRead).not.toContain("data-delivery=");
    expect(asRead).not.toContain(hook.id);
    const asAdmin = await page(`/ui/alerts/${alert.id}`, await session(TOKENS.admin));
    expect(asAdmin).toContain(`data-delivery="`);
    expect(asAdmin).toContain(hook.id);
  });
});
