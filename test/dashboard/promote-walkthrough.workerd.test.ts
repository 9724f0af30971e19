/**
 * The gate page and the rebuild_shift alert's page after README.md's walk-through and its "Promote an index rebuild
 * safely" steps, the states driven through the API (the promotions' steps by the admin overrides where the README's
 * mirror lets the arms' counts decide: the end states are the same). Every calibration is named by what it is now and
 * what it was in the range shown, two calibrations of one index version by their ids' ends; the rebuild decision's
 * report says whether it was made at upload or at an activation, and links the alert that activation raised; a
 * rebuild_shift alert resolved by a rollback says what was served when it was raised and what is served now.
 */
import { beforeAll, describe, expect, it } from "vitest";
import v1Body from "../../fixtures/walkthrough/v1.json";
import v2Body from "../../fixtures/walkthrough/v2.json";
import incidentBody from "../../fixtures/walkthrough/v2-at-0.4.json";
import { callJson, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

type Gate = ReturnType<typeof uniqueGate>;

const uploadWalk = async (gate: Gate, body: object) =>
  (await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...body, ...gate } })).calibration;

let batch = 0;
/** `n` queries of 20 candidates with `dropped` of them dropped, counted for `calibration_id` as `extra` says. */
const report = (calibration_id: string, n: number, dropped: number, extra: object = {}) =>
  callJson("POST", "/v1/observations", 202, {
    token: TOKENS.read,
    json: { batch_id: `promote-walk-${++batch}`, calibration_id, queries: Array.from({ length: n }, () => [20, dropped]), ...extra },
  });

/** The text of the element carrying `data-field="name"` (tags dropped, entities decoded, spaces folded). */
function field(html: string, name: string): string {
  const at = html.indexOf(`data-field="${name}"`);
  expect(at, name).toBeGreaterThanOrEqual(0);
  const open = html.lastIndexOf("<", at);
  const tag = /^<(\w+)/u.exec(html.slice(open))![1]!;
  let depth = 0;
  const re = new RegExp(`<(/?)${tag}\\b[^>]*>`, "gu");
  re.lastIndex = open;
  for (let m = re.exec(html); m !== null; m = re.exec(html)) {
    depth += m[1] === "/" ? -1 : 1;
    if (depth === 0) return text(html.slice(html.indexOf(">", at) + 1, m.index));
  }
  throw new Error(`unclosed ${name}`);
}

const text = (html: string): string =>
  html
    .replace(/<[^>]+>/gu, "")
    .replaceAll("&#39;", "'")
    .replaceAll("&quot;", '"')
    .replaceAll("&amp;", "&")
    .replace(/[ \t\r\n]+/gu, " ")
    .trim();

/** The production chart's legend, one entry per series (the calibration's name before its first colon). */
const legend = (html: string): string[] => {
  const at = html.indexOf('<ul class="legend">', html.indexOf('id="production"'));
  return [...html.slice(at, html.indexOf("</ul>", at)).matchAll(/<li(?: data-traffic="[a-z]+")?>([\s\S]*?)<\/li>/gu)].map((m) => text(m[1]!));
};

describe("the gate page after README.md's promotion steps 1 to 7", () => {
  /** What the steps left: the pages after step 6 and after step 7, and the ids the page names. */
  let state: {
    step6: string;
    html: string;
    v2: { id: string; threshold: number | null };
    good6: string;
    bad6: string;
    alertId: string;
    incidentId: string;
  };

  beforeAll(async () => {
    const gate = uniqueGate("promote-walk");
    // 1. v1 active, v2 stored unserved with the README's edits.
    const v1 = await uploadWalk(gate, v1Body);
    const v2 = await uploadWalk(gate, { ...v2Body, activate: false, shift_tolerance: 0.08 });
    expect(v2.current).toBe(false);
    await report(v1.id, 100, 4);
    // 2.-4. v2 in shadow on a fifth of the queries, its mirrored batches counted.
    await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { json: { sample_rate: 0.2 } });
    await report(v2.id, 100, 4, { role: "shadow" });
    // 6. promoted to everyone: each step's arms counted, then advanced to completion (v2's activation).
    const good = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, {
      json: { steps: [10, 50, 100], min_queries: 200, tolerance: 0.08 },
    });
    for (let step = 0; step < 3; step++) {
      const p = await callJson("GET", `/v1/promotions/${good.id}`, 200, { token: TOKENS.read });
      if (p.state === "completed") break;
      await report(v1.id, 50, 4, { promotion: { id: good.id, step: p.step, arm: "control" } });
      await report(v2.id, 50, 4, { promotion: { id: good.id, step: p.step, arm: "candidate" } });
      const after = await callJson("GET", `/v1/promotions/${good.id}`, 200, { token: TOKENS.read });
      if (after.state !== "completed") await callJson("POST", `/v1/promotions/${good.id}/advance`, 200, { json: { reason: "README step 6" } });
    }
    expect((await callJson("GET", `/v1/promotions/${good.id}`, 200, { token: TOKENS.read })).state).toBe("completed");
    await report(v2.id, 100, 4);
    const alerts = await callJson("GET", `/v1/alerts?gate_id=${v2.gate_id}&kind=rebuild_shift`, 200, { token: TOKENS.read });
    const shiftAlert = alerts.alerts[0]!;
    expect(shiftAlert.status).toBe("open");
    // What the server reads v2 with now: the report its activation alerted with.
    const read = await callJson("GET", `/v1/calibrations/${v2.id}`, 200, { token: TOKENS.read });
    expect(read.shift).toMatchObject({ alert: true, not_alerted: null, alert_id: shiftAlert.id });
    const cookie = await session(TOKENS.read);
    const step6 = await page(`/ui/gates/${v2.gate_id}`, cookie);

    // 7. the incident's v2 (the old absolute 0.4 on v2's scores) promoted over v2 and rolled back in its first step.
    const bad = await uploadWalk(gate, incidentBody);
    const incident = await callJson("POST", `/v1/calibrations/${bad.id}/promote`, 201, {
      json: { steps: [10, 50, 100], min_queries: 200, tolerance: 0.08 },
    });
    await report(v2.id, 200, 4, { promotion: { id: incident.id, step: 0, arm: "control" } });
    await report(bad.id, 74, 12, { promotion: { id: incident.id, step: 0, arm: "candidate" } });
    if ((await callJson("GET", `/v1/promotions/${incident.id}`, 200, { token: TOKENS.read })).state !== "rolled_back")
      await callJson("POST", `/v1/promotions/${incident.id}/rollback`, 200, { json: { reason: "README step 7" } });
    expect((await callJson("GET", `/v1/promotions/${incident.id}`, 200, { token: TOKENS.read })).state).toBe("rolled_back");
    const html = await page(`/ui/gates/${v2.gate_id}`, cookie);
    state = { step6, html, v2, good6: v2.id.slice(-6), bad6: bad.id.slice(-6), alertId: shiftAlert.id, incidentId: incident.id };
  });

  it("after step 6, reads the rebuild report as made at v2's activation, with the alert it raised linked", () => {
    const { step6, alertId } = state;
    expect(step6).toContain(`<a href="/ui/alerts/${alertId}" class="badge alarm" data-field="shift-alert">`);
    expect(field(step6, "report-made")).toMatch(
      new RegExp(
        `^Made when v2 was activated on .+ UTC \\(after its upload\\); the activation raised the rebuild_shift alert ${alertId}; v2 is served now\\.$`,
        "u",
      ),
    );
  });

  it("labels each production series by what it is now and was in the range, never the served v2 as a shadow", () => {
    const { html, good6, bad6 } = state;
    const names = legend(html).map((l) => l.slice(0, l.indexOf(": observed")));
    // The good v2's hours of each traffic are their own series (the monitor keeps them apart), named by the traffic.
    const good = `v2 (${good6}, served; earlier in this range: shadow, promotion candidate)`;
    expect(names.slice(0, 5)).toEqual([
      "v1 (not served; earlier in this range: served)",
      `${good}, its promotion candidate traffic`,
      `${good}, its served traffic`,
      `${good}, its shadow traffic`,
      `v2 (${bad6}, promotion candidate, rolled back)`,
    ]);
    const desc = /<desc id="series-wide-desc">([^<]*)<\/desc>/u.exec(html)![1]!.replaceAll("&#39;", "'");
    expect(desc).toContain(`v2 (${bad6}, promotion candidate, rolled back): observed 60.0\u00a0% per hour, expected 59.0\u00a0%`);
    expect(desc).toContain(
      `v2 (${good6}, served; earlier in this range: shadow, promotion candidate), its served traffic: observed 20.0\u00a0% per hour, the detector expects`,
    );
    expect(desc).not.toMatch(/v2 \((shadow|promotion candidate)\)/u);
    // The hourly table names the two v2s apart too.
    const hourly = html.slice(html.indexOf('data-table="series"'), html.indexOf("</table>", html.indexOf('data-table="series"')));
    expect(new Set([...hourly.matchAll(/<\/th><td>([^<]*)<\/td>/gu)].map((m) => m[1]))).toEqual(new Set(["v1", `v2 (${good6})`, `v2 (${bad6})`]));
    // The detector's lines: v2's shadow window ended when it became the promotion's candidate (it left the shadow set);
    // its hours stay in the series above.
    const lines = [...html.matchAll(/<li data-calibration="[^"]+" data-role="([^"]+)">([^<]*)</gu)].map((m) => `${m[1]}: ${text(m[2]!)}`);
    expect(lines.map((l) => l.slice(0, l.indexOf(":", l.indexOf(":") + 1)))).toEqual([
      "active: v2",
      "previous: v1 (previous window, not served now)",
    ]);
  });

  it("names each hour's traffic: the served v2's hours as a shadow, a candidate and served are each one kind's, none marked mixed", () => {
    const { html, good6, bad6 } = state;
    const hourly = html.slice(html.indexOf('data-table="series"'), html.indexOf("</table>", html.indexOf('data-table="series"')));
    const rows = [...hourly.matchAll(/<\/th><td>([^<]*)<\/td><td data-field="traffic">([^<]*)<\/td>/gu)].map((m) => ({
      version: m[1]!,
      traffic: m[2]!,
    }));
    const of = (version: string) => rows.filter((r) => r.version === version).map((r) => r.traffic);
    expect(new Set(of("v1"))).toEqual(new Set(["served"]));
    expect(new Set(of(`v2 (${bad6})`))).toEqual(new Set(["promotion candidate"]));
    // The steps ran within seconds, in one hour or two: the good v2's hours of its three kinds of traffic are rows of
    // their own (the monitor keeps each traffic's hours apart), so no row joins two and no point is hollow.
    const good = of(`v2 (${good6})`);
    expect(new Set(good)).toEqual(new Set(["shadow", "promotion candidate", "served"]));
    expect(good.every((t) => !t.includes(", then ") && !t.endsWith(" (one count)"))).toBe(true);
    expect(html).not.toContain('data-mixed="true"');
    expect(html).not.toContain('data-field="mixed-hours"');
  });

  it("names both calibrations of v2 in the headline, the markers and the rebuild decision, and says which is served", () => {
    const { html, v2, good6, bad6, incidentId } = state;
    const headline = field(html, "headline");
    expect(headline).toMatch(/^What each calibration's own threshold drops of its own scores/u);
    expect(headline.replace(/^What each calibration's own threshold drops of its own scores/u, "")).toBe(
      `v2 (${good6}, served) drops 22\u00a0% at ${v2.threshold}; v2 (${bad6}, promotion candidate, rolled back) would drop 59\u00a0% at 0.4`,
    );
    const markers = [...html.matchAll(/<g data-threshold="[^"]+">\s*<line[^>]*\/?>(?:<\/line>)?\s*<text[^>]*>([^<]*)<\/text>/gu)].map((m) => m[1]);
    // in each of the chart's two layouts
    expect(markers).toEqual([`v2 (${good6}) ${v2.threshold}`, `v2 (${bad6}) 0.4`, `v2 (${good6}) ${v2.threshold}`, `v2 (${bad6}) 0.4`]);
    const rebuild = html.slice(html.indexOf('id="rebuild"'), html.indexOf('id="promotions"'));
    expect(text(rebuild.slice(rebuild.indexOf(">") + 1, rebuild.indexOf("</h2>")))).toBe(`Rebuild decision: v2 (${good6}) → v2 (${bad6})`);
    expect(field(html, "report-made")).toBe(
      `Made when v2 (${bad6}) was uploaded; v2 (${bad6}) is not served now (promotion candidate, rolled back): v2 (${good6}) is.`,
    );
    expect(field(html, "overruled")).toContain(`the promotion of v2 (${bad6}) (${incidentId}) was rolled back`);
    expect(html).toContain(`data-field="shift-alert">no alert<`);
    // the promotions section names the two v2 calibrations apart, as the rest of the page does
    const promotions = text(html.slice(html.indexOf('id="promotions"')));
    expect(promotions).toContain(`v2 (${bad6}) over v2 (${good6})`);
  });
});

describe("a rebuild_shift alert with a second shift on it, then a rollback of that second shift", () => {
  it("stays open (the first shift stands), and its page names the calibrations of the shift it shows", async () => {
    const gate = uniqueGate("walk-alert-2");
    const v1 = await uploadWalk(gate, v1Body);
    const v2 = await uploadWalk(gate, v2Body);
    // v3: v1's scores served by request; v2's threshold drops a fraction of them (shifted: a second occurrence)
    const v3 = (
      await callJson("POST", "/v1/calibrations", 201, {
        token: TOKENS.calibrate,
        json: { ...v1Body, ...gate, index_version: "v3", policy: { kind: "drop_rate", target: 0.22 }, activate: true },
      })
    ).calibration;
    const list = async () => (await callJson("GET", `/v1/alerts?gate_id=${v1.gate_id}&kind=rebuild_shift`, 200, { token: TOKENS.read })).alerts;
    const [raised] = await list();
    expect(raised).toMatchObject({ status: "open", occurrences: 2, calibration_ids: [v1.id, v2.id] });
    // the rollback of v3 brings back v2, not v1: its answer does not claim to resolve the alert, and it stays open
    const rollback = await callJson("POST", `/v1/calibrations/${v2.id}/activate`, 200, { json: { reason: "v3 looks wrong" } });
    expect(rollback.shift?.not_alerted).toBe("rollback");
    expect(rollback.shift?.reason).toContain(
      "Not alerted: a rollback to the calibration served before this one; the gate's rebuild_shift alert is resolved once the calibration served before its first shift is current again",
    );
    const [after] = await list();
    expect(after).toMatchObject({ id: raised!.id, status: "open" });
    const html = await page(`/ui/alerts/${raised!.id}`, await session(TOKENS.read));
    // the latest occurrence's shift, v2 -> v3, with v3's own id (the alert keeps its first occurrence's ids)
    expect(field(html, "served-before")).toBe(`v2, threshold ${v2.threshold} (${v2.id})`);
    expect(field(html, "served-when-raised")).toBe(`v3, threshold ${v3.threshold} (${v3.id})`);
    expect(field(html, "served-now")).toBe(
      `v2, threshold ${v2.threshold} (${v2.id}), the calibration served before this shift: rolled back from it, while the alert's first shift, from ${v1.id}, stands`,
    );
    expect(html).not.toContain('data-field="resolved-by-rollback"');
    // back to v1: the calibration served before the first shift, which ends it
    await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { json: { reason: "back to v1" } });
    expect((await list())[0]).toMatchObject({ id: raised!.id, status: "resolved" });
  });
});

describe("a rebuild_shift alert resolved by the walk-through's rollback", () => {
  it("says what was served when it was raised, what is served now, and that the rollback resolved it", async () => {
    const gate = uniqueGate("walk-alert");
    const v1 = await uploadWalk(gate, v1Body);
    const v2 = await uploadWalk(gate, v2Body);
    const rollback = await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { json: { reason: "v2 hurt recall" } });
    const [alert] = (await callJson("GET", `/v1/alerts?gate_id=${v1.gate_id}&kind=rebuild_shift`, 200, { token: TOKENS.read })).alerts;
    expect(alert!.status).toBe("resolved");
    const html = await page(`/ui/alerts/${alert!.id}`, await session(TOKENS.read));
    expect(field(html, "served-before")).toBe(`v1, threshold 0.4 (${v1.id})`);
    expect(field(html, "served-when-raised")).toBe(`v2, threshold ${v2.threshold} (${v2.id})`);
    expect(field(html, "served-now")).toBe(`v1, threshold 0.4 (${v1.id}), the calibration served before the shift: rolled back`);
    expect(field(html, "resolved-by-rollback")).toMatch(
      new RegExp(`^by the rollback to v1 at .+ UTC \\(activation ${rollback.activation!.id}\\)$`, "u"),
    );
    expect(html).not.toContain("Served since");

    // The gate page's rebuild section: v2's report was made at its upload, which served it at once and raised the alert.
    const gatePage = await page(`/ui/gates/${v1.gate_id}`, await session(TOKENS.read));
    expect(field(gatePage, "report-made")).toBe(
      `Made when v2 was uploaded and served at once; serving it raised the rebuild_shift alert ${alert!.id}; v2 is not served now (rolled back): v1 is.`,
    );
  });
});
