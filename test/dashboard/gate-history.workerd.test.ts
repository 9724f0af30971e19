// The gate page's calibration history: each Activate / Roll back form's reason field has a valid HTML id (no spaces),
// derived from the calibration id alone, and its label points at it.
import { describe, expect, it } from "vitest";
import { MAX_NOTE_LENGTH } from "../../src/contract";
import { call, callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

describe("calibration history forms", () => {
  it("give each reason field an id made of its calibration id, with a label for it", async () => {
    const gate = uniqueGate("history-ids");
    const upload = async (index_version: string, activate: boolean) =>
      (
        await callJson("POST", "/v1/calibrations", 201, {
          token: TOKENS.calibrate,
          json: { ...gate, index_version, activate, scores: spreadScores(200), policy: { kind: "drop_rate", target: 0.2 } },
        })
      ).calibration;
    const v1 = await upload("v1", true);
    const v2 = await upload("v2", true);
    const v3 = await upload("v3", false);
    const html = await page(`/ui/gates/${v2.gate_id}`, await session(TOKENS.admin));
    const start = html.indexOf('data-table="history"');
    const table = html.slice(start, html.indexOf("</table>", start));
    const ids = [...table.matchAll(/<input id="([^"]*)" name="reason"/gu)].map((m) => m[1]!);
    expect(ids).toEqual([`reason-${v3.id}`, `reason-${v1.id}`]);
    for (const id of ids) {
      expect(id).toMatch(/^\S+$/u);
      expect(table).toContain(`<label for="${id}" class="muted">Reason</label>`);
    }
    // the buttons keep their words as their accessible names
    expect(table).toContain(`aria-label="Roll back to v1 ${v1.id}">Roll back</button>`);
    expect(table).toContain(`aria-label="Activate v3 ${v3.id}">Activate</button>`);
    expect(table).toContain(`<input type="hidden" name="calibration_id" value="${v1.id}"/>`);
    // a reason as long as the API takes (MAX_NOTE_LENGTH), not cut at another length
    expect(table).toContain(`maxlength="${MAX_NOTE_LENGTH}"`);
    // calibration ids in tables stay on one line (the table scrolls instead)
    const css = await (await call("GET", "/ui/style.css", { token: null })).text();
    expect(css).toContain(".table-wrap td code { overflow-wrap: normal; white-space: nowrap; }");
  });
});
