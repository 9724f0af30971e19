// The overview with more gates in alarm than it reads monitors for (OVERVIEW_DETAIL_ROWS): every gate in alarm is
// still listed, the first OVERVIEW_DETAIL_ROWS with their monitor's view (alerts by id), the rest from D1 alone (their
// alerts link to the gate's alert list). The alarms are seeded through the alert store: raising a hundred drift
// alerts through the monitor would take a hundred batches and prove nothing more about the page.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { D1AlertStore } from "../../src/alerts/d1-store";
import type { Alert } from "../../src/contract";
import { OVERVIEW_DETAIL_ROWS } from "../../src/dashboard/data";
import { callJson, spreadScores, TOKENS } from "../support/worker";
import { page, session } from "./session-support";

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
      const alert: Alert = {
        id: `alr_ovdetail${String(i).padStart(4, "0")}`,
        gate_id: calibration.gate_id,
        gate,
        kind: "drop_rate_drift",
        status: "open",
        summary: "seeded drift",
        details: {},
        calibration_ids: [calibration.id],
        occurrences: 1,
        first_seen_at: at,
        last_seen_at: at,
        acknowledged_at: null,
        acknowledged_by: null,
        resolved_at: null,
        resolved_by: null,
        acknowledged_note: null,
        resolved_note: null,
      };
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
      expect(r.html).toContain("drop_rate_drift");
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
