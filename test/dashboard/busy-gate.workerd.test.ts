// What an on-call engineer sees of a gate's promotion and shadows: the gate page of a gate whose log holds more rows
// than one read (its shadow set and the hours' traffic from the newest rows, not the oldest), the overview's
// "Promotion / shadows" cell of gates in each state (paused, running, rolled back, shadow removed), and the gate page's
// words for a promotion that ended (rolled back, superseded by an activation).
import { describe, expect, it } from "vitest";
import { GATE_LOG_PAGE_ROWS } from "../../src/dashboard/data/gate-log";
import { writeLongPast } from "../support/promotions";
import { callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

const text = (html: string): string =>
  html
    .replace(/<[^>]+>/gu, " ")
    .replaceAll("&#39;", "'")
    .replace(/\s+/gu, " ")
    .trim();

const upload = async (gate: ReturnType<typeof uniqueGate>, version: string, offset: number, activate: boolean) =>
  (
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: version, scores: spreadScores(4000, offset), policy: { kind: "drop_rate", target: 0.25 }, activate },
    })
  ).calibration;

/** The overview row of a gate, and its Promotion / shadows cell in words. */
function splitCell(overview: string, gateId: string): { html: string; words: string } {
  const row = overview.slice(overview.indexOf(`data-gate="${gateId}"`));
  const html = /<td data-field="split">([\s\S]*?)<\/td>/u.exec(row.slice(0, row.indexOf("</tr>")))![1]!;
  return { html, words: text(html) };
}

/** The gate page's words after its (only) promotion's state. */
const nowWords = (html: string): string | undefined => /data-field="promotion-now">([^<]*)</u.exec(html)?.[1];

describe("a gate whose log holds more rows than one read", () => {
  it("names its shadow and the shadow's hour from the newest rows, and the overview counts the shadow", async () => {
    const gate = uniqueGate("busy-log");
    const v1 = await upload(gate, "v1", 0, false);
    const v2 = await upload(gate, "v2", 0.02, false);
    // A long past before the range shown: more rows of rate changes than one read, ten days ago (rows written by hand,
    // as rows from before the log kept events are read: rebuilt from the row and its calibration).
    await writeLongPast(v1.gate_id, v1.id, GATE_LOG_PAGE_ROWS + 100);
    await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { json: {} });
    await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { json: { sample_rate: 0.2 } });
    await callJson("POST", "/v1/observations", 202, {
      token: TOKENS.read,
      json: { batch_id: "busy-log-1", calibration_id: v2.id, role: "shadow", queries: Array.from({ length: 60 }, () => [20, 5]) },
    });
    const cookie = await session(TOKENS.read);
    const html = await page(`/ui/gates/${v1.gate_id}`, cookie);
    // the history names v2 a shadow, the shadows section lists it with its rate ...
    const row = html.slice(html.indexOf(`<tr data-calibration="${v2.id}"`));
    expect(text(/<td data-field="state">([\s\S]*?)<\/td>/u.exec(row)![1]!)).toBe("shadow");
    const shadows = html.slice(html.indexOf('id="shadows"'), html.indexOf("</table>", html.indexOf('id="shadows"')));
    expect(text(shadows)).toContain("Shadows (1)");
    expect(shadows).toContain(`data-shadow="${v2.id}"`);
    expect(/data-field="sample-rate">([^<]*)</u.exec(shadows)?.[1]).toBe("20.0\u00a0%");
    // ... and the hour of its mirrored queries is named shadow traffic, not "–"
    const series = html.slice(html.indexOf('data-table="series"'), html.indexOf("</table>", html.indexOf('data-table="series"')));
    expect([...series.matchAll(/data-field="traffic">([^<]*)</gu)].map((m) => m[1])).toEqual(["shadow"]);

    const overview = splitCell(await page(`/ui?index=${gate.index}`, cookie), v1.gate_id);
    expect(overview.words).toBe("1 shadow");
    expect(overview.html).toContain(`href="/ui/gates/${v1.gate_id}#shadows"`);
  });
});

describe("the overview's promotion and shadows", () => {
  it("draws a paused promotion as needing a person, a running one with its step of the plan's and share, and says none once they end", async () => {
    const gate = uniqueGate("ov-split");
    const cookie = await session(TOKENS.read);
    const v1 = await upload(gate, "v1", 0, true);
    const v2 = await upload(gate, "v2", 0.01, false);
    const v3 = await upload(gate, "v3", 0.02, false);
    const overview = async () => splitCell(await page(`/ui?index=${gate.index}`, cookie), v1.gate_id);
    expect((await overview()).words).toBe("none");

    await callJson("POST", `/v1/calibrations/${v3.id}/shadow`, 200, { json: { sample_rate: 0.1 } });
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { json: { steps: [10, 50, 100], min_queries: 500 } });
    const running = await overview();
    expect(running.words).toBe("promoting step 1 of 3, 10 % of keyed traffic 1 shadow");
    expect(running.html).toContain(`href="/ui/gates/${v1.gate_id}?promotion=${p.id}#promotion-${p.id}"`);
    expect(running.html).toContain('<span class="badge running">');

    await callJson("POST", `/v1/promotions/${p.id}/pause`, 200, { json: { reason: "on-call look" } });
    const paused = await overview();
    expect(paused.words).toBe("promotion paused step 1 of 3, 10 % of keyed traffic waits for a person: resume or roll back 1 shadow");
    // drawn as the overview draws an alarm
    expect(paused.html).toContain('<span class="badge paused">');

    await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { json: { reason: "regressed" } });
    await callJson("DELETE", `/v1/calibrations/${v3.id}/shadow`, 200, { json: {} });
    expect((await overview()).words).toBe("none");
    const gatePage = await page(`/ui/gates/${v1.gate_id}`, cookie);
    expect(nowWords(gatePage)).toBe(" at step 1 of 3: its keyed traffic went back to the control");
    expect(text(gatePage)).toContain("Shadows (0) No calibration of this gate is in shadow now.");
  });

  it("says a promotion superseded by an activation ended, without a share its candidate no longer has", async () => {
    const gate = uniqueGate("ov-superseded");
    const cookie = await session(TOKENS.read);
    const v1 = await upload(gate, "v1", 0, true);
    const v2 = await upload(gate, "v2", 0.01, false);
    const v3 = await upload(gate, "v3", 0.02, false);
    await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { json: { steps: [10, 50, 100], min_queries: 500 } });
    await callJson("POST", `/v1/calibrations/${v3.id}/activate`, 200, { json: { reason: "hotfix" } });
    const gatePage = await page(`/ui/gates/${v1.gate_id}`, cookie);
    expect(nowWords(gatePage)).toBe(" at step 1 of 3: an activation of the gate ended it");
    expect(gatePage).not.toContain("% of keyed traffic)");
    expect(splitCell(await page(`/ui?index=${gate.index}`, cookie), v1.gate_id).words).toBe("none");
  });
});
