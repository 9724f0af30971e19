// The gate page's promotion timeline: a gate without promotions shows none; one whose promotion was started, paused,
// resumed, advanced and rolled back shows its state, the share after every transition on the line (pause and rollback
// marked) and each transition as a row of its audit table, oldest first; the rebuild decision made at the candidate's upload then says the rollback by hand agreed with it.
// While it runs, the step's live numbers are shown as the API gives them.
import { describe, expect, it } from "vitest";
import { num, pct } from "../../src/dashboard/charts/scale";
import { asQueries, callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

const upload = async (gate: ReturnType<typeof uniqueGate>, index_version: string, offset: number, activate: boolean) =>
  (
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version, queries: asQueries(spreadScores(4000, offset)), policy: { kind: "drop_rate", target: 0.2 }, activate },
    })
  ).calibration;

describe("the gate page's promotion timeline", () => {
  it("shows each transition of the gate's promotion on the line and in the audit table; nothing without one", async () => {
    const gate = uniqueGate("dash-promotion");
    const v1 = await upload(gate, "v1", 0, true);
    const cookie = await session(TOKENS.read);
    expect(await page(`/ui/gates/${v1.gate_id}`, cookie)).not.toContain('id="promotions"');

    const v2 = await upload(gate, "v2", 0.3, false);
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { json: { steps: [10, 50, 100], min_queries: 500 } });
    // Some evidence at step 0 (too little to decide): the pause records it, and the table shows it.
    const arm = (arm: "candidate" | "control", calibration_id: string, dropped: number) => ({
      batch_id: `dash-${arm}`,
      calibration_id,
      promotion: { id: p.id, step: 0, arm },
      queries: Array.from({ length: 60 }, () => [20, dropped]),
    });
    await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: arm("control", v1.id, 4) });
    await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: arm("candidate", v2.id, 5) });
    // Running: the upload-time decision stands alone, and the step's live numbers are those of GET /v1/promotions/{id},
    // the calibrations named by their versions.
    const running = await page(`/ui/gates/${v1.gate_id}`, cookie);
    expect(running).not.toContain('data-field="overruled"');
    const live = (await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).evidence!;
    const at = running.indexOf('data-field="step-evidence"');
    expect(at, "the running step's numbers").toBeGreaterThanOrEqual(0);
    const now = running
      .slice(at, running.indexOf("</ul>", at))
      .replace(/<[^>]+>/gu, " ")
      .replace(/[ \t\r\n]+/gu, " ")
      .replaceAll("&#39;", "'");
    expect(now).toContain("Step 1 so far (10\u00a0% of keyed traffic):");
    expect(now).toContain(
      `candidate arm: ${pct(live.candidate_drop_rate)} dropped over 60 queries; control arm: ${pct(live.control_drop_rate)} over 60 queries`,
    );
    expect(live.candidate_drop_rate).toBeCloseTo(0.25, 12);
    expect(now).toMatch(/against control: inconclusive, \+5\.0\u00a0points \(95 %: [+-][\d.]+ to \+[\d.]+\)/u);
    expect(now).toContain(`against the candidate calibration's expected rate: ${live.vs_target.decision}`);
    // The decisions' levels, so a 95 % interval clear of the tolerance beside "inconclusive" reads as it should.
    expect(now).toContain(
      `shifted when the 99.8\u00a0% confidence sequence lies beyond ±${num(live.vs_control.tolerance * 100, 1)}\u00a0points, equivalent when the 90\u00a0% one lies within`,
    );
    const drift = live.candidate_drift!.window.drop_rate;
    expect(now).toContain(`candidate arm's drift detector: not armed, ln R ${num(drift.log_evidence, 1)}`);
    expect(now).toContain(`expected ${pct(drift.expected)} (tolerated ${pct(drift.band.lo)} to ${pct(drift.band.hi)})`);
    expect(running).toContain(`<abbr title="${v2.id}">v2</abbr> over <abbr title="${v1.id}">v1</abbr>`);
    for (const action of ["pause", "resume", "advance", "rollback"])
      await callJson("POST", `/v1/promotions/${p.id}/${action}`, 200, { json: { reason: `by hand: ${action}` } });

    const html = await page(`/ui/gates/${v1.gate_id}`, cookie);
    expect(html).toContain('id="promotions"');
    expect(html).toMatch(/data-field="promotion-state">rolled_back</u);
    const section = html.slice(html.indexOf(`data-promotion="${p.id}"`));
    const chart = section.slice(section.indexOf('data-chart="promotion"'), section.indexOf("</svg>"));
    expect([...chart.matchAll(/<g data-step="(\w+)"/gu)].map((m) => m[1])).toEqual(["started", "paused", "resumed", "advanced", "rolled_back"]);
    const table = section.slice(section.indexOf('data-table="promotion-steps"'), section.indexOf("</table>"));
    expect([...table.matchAll(/<tr data-step="(\w+)"/gu)].map((m) => m[1])).toEqual(["started", "paused", "resumed", "advanced", "rolled_back"]);
    expect(table).toContain("by hand: advance");
    expect(table).toContain("50\u00a0%");
    // Each override's row shows the candidate against control as it stood: the pause's with the step's numbers.
    const pause = table.slice(table.indexOf('<tr data-step="paused"'), table.indexOf('<tr data-step="resumed"'));
    expect(pause).toMatch(/inconclusive, \+5\.0\u00a0points \(95 %: [+-][\d.]+ to \+[\d.]+\)/u);
    // The rebuild decision made at v2's upload (shifted: v1's threshold drops almost nothing of v2) stays on the page,
    // under it the rollback by hand, which agreed with it, linked.
    const rebuild = html.slice(html.indexOf('id="rebuild"'), html.indexOf('id="promotions"'));
    expect(rebuild).toContain('data-field="decision">shifted<');
    expect(rebuild).not.toContain('data-field="overruled"');
    const confirmed = rebuild.slice(rebuild.indexOf('<p data-field="confirmed"'));
    expect(confirmed.replace(/<[^>]+>/gu, "")).toMatch(
      new RegExp(
        `^rolled back A person confirmed this decision: the promotion of v2 \\(${p.id}\\) was rolled back at 50\u00a0% of traffic on .+ UTC \\(admin: by hand: rollback\\)\\.`,
        "u",
      ),
    );
    expect(confirmed).toContain(`href="#promotion-${p.id}"`);
    expect(html).toContain(`id="promotion-${p.id}"`);
  });
});
