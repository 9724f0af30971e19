// The gate page of a guarded, abstaining gate shows the served guards and abstain_below with what they do on the
// calibration's queries, and the monitor's guard-binding and abstention figures per window, the numbers
// GET /v1/calibrations and GET /v1/monitor give.
import { describe, expect, it } from "vitest";
import { num, pct } from "../../src/dashboard/charts/scale";
import { FOR_SIZES } from "../../src/dashboard/pages/gate-expectation";
import { callJson, counted, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

/** The README's guarded example: 12 queries of 3 candidates, 10 of them answerable. */
const QUERIES = [
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
const RELEVANCE = QUERIES.map((_, i) => (i >= 10 ? [0, 0, 0] : [1, 0, 0]));

/** The `<tr>` of the open window in the windows table. */
function openWindowRow(html: string): string {
  const start = html.indexOf('data-table="windows"');
  expect(start, "a windows table").toBeGreaterThanOrEqual(0);
  const table = html.slice(start, html.indexOf("</table>", start));
  const row = table.split("<tr").find((tr) => tr.includes("(open)"));
  if (row === undefined) throw new Error("no open window row");
  return row;
}

describe("gate page of a guarded, abstaining gate", () => {
  it("shows the guards, abstain_below, guard binding and the abstention rate with the API's numbers", async () => {
    const gate = uniqueGate("guards-page");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        index_version: "v4",
        activate: true,
        queries: QUERIES,
        relevance: RELEVANCE,
        policy: { kind: "drop_rate", target: 0.5, min_keep: 1, max_keep: 2, abstention: { alpha: 0.1 } },
      },
    });
    const g = calibration.guards!;
    expect(g).toMatchObject({ min_keep: 1, max_keep: 2 });
    expect(calibration.abstain_below).toBe(0.55);
    // Production: 40 queries whose threshold alone drops all 3 (min_keep binds) and that abstain, 60 that keep 2.
    const queries = [...Array.from({ length: 40 }, () => [3, 2, 3, 1]), ...Array.from({ length: 60 }, () => [3, 1, 1, 0])];
    counted(await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: "guards-page-1", ...gate, queries } }));
    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    const w = monitor.windows[0]!;
    expect(w.empty_context_level).toBe(1);
    expect(w.empty_queries).toBe(40);
    expect(w.abstained_queries).toBe(40);
    expect(w.abstention?.observed).toBeCloseTo(0.4, 12);

    const html = await page(`/ui/gates/${calibration.gate_id}`, await session(TOKENS.read));
    const guards = /data-field="guards">([\s\S]*?)<\/div>/u.exec(html)?.[1] ?? "";
    expect(guards).toContain("min_keep 1, max_keep 2");
    expect(guards).toContain(`min_keep binds on ${pct(g.min_keep_binding_rate)}`);
    expect(guards).toContain(`max_keep on ${pct(g.max_keep_binding_rate)}`);
    expect(guards).toContain(`would drop ${pct(g.bare_drop_rate)}`);
    const abstain = /data-field="abstain-below">([\s\S]*?)<\/div>/u.exec(html)?.[1] ?? "";
    expect(abstain).toContain("abstain_below 0.55");
    expect(abstain).toContain(`expected abstention ${pct(calibration.abstention!.expected_rate)}`);

    const row = openWindowRow(html);
    expect(html).toContain("Empty context /<br/>guard binding");
    // Each figure on its own line, so the daily table fits the page (test/dashboard/dashboard.browser.test.ts).
    expect(row).toContain(`<div>guard bound ${pct(40 / 100)}</div><div class="muted">(min_keep 1)</div>`);
    expect(row).toContain(`<div>${pct(w.abstention!.observed)} of 100</div><div class="muted">(expected ${pct(w.abstention!.expected)})</div>`);

    // The hour's bucket counts the same (GET /v1/monitor/series), and the hourly table shows both rates.
    const series = await callJson("GET", `/v1/monitor/series?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(series.buckets[0]).toMatchObject({ abstention_queries: 100, abstained_queries: 40, guard_bound_queries: 40 });
    expect(series.buckets[0]!.abstention_rate).toBeCloseTo(0.4, 12);
    const start = html.indexOf('data-table="series"');
    expect(start, "an hourly table").toBeGreaterThanOrEqual(0);
    const hourly = html.slice(start, html.indexOf("</table>", start));
    expect(hourly).toContain(">Guard bound<");
    expect(hourly).toContain(">Abstained<");
    expect(hourly).toContain(`${pct(0.4)} (100)`);
    expect(row).toContain(">active<");

    // The hourly chart's abstention panel (both layouts): the hour's share, the expected rate and the band the monitor
    // tests, named in the legend and in the text alternative with the same numbers.
    const panels = html.split('data-panel="abstention"').slice(1);
    expect(panels).toHaveLength(2);
    for (const panel of panels) {
      const mine = panel.slice(0, panel.indexOf("</g></g>"));
      expect(mine).toContain('data-part="abstention-band"');
      expect(mine).toContain('data-part="abstention-expected"');
      expect(mine.match(/<circle [^>]*data-bucket="([^"]+)"/gu)).toEqual([expect.stringContaining(series.buckets[0]!.start)]);
    }
    expect(html).toContain("share of queries that abstained per hour");
    // Its expected rate is for production's query sizes when the monitor's abstention test is stratified (GET /v1/monitor).
    const bySizes = w.abstention!.strata_tested !== undefined ? ` ${FOR_SIZES} (dashes: its newest window's test)` : " (dashes)";
    expect(html.replaceAll("&#39;", "'")).toContain(
      `share of queries that abstained per hour (dotted line and dots), expected${bySizes}, tolerance band (shaded)`,
    );
    const a = w.abstention!;
    expect(html).toContain(
      `v4 (served) abstained on ${pct(0.4)} of queries per hour, expected ${pct(a.expected)} (band ${pct(a.band.lo)} to ${pct(a.band.hi)}).`,
    );

    // And the guard-binding panel above it: the hour's 40 %, against the window's guard-binding test.
    const guardPanels = html.split('data-panel="guard"').slice(1);
    expect(guardPanels).toHaveLength(2);
    for (const panel of guardPanels) {
      const mine = panel.slice(0, panel.indexOf('data-panel="abstention"'));
      expect(mine).toContain('data-part="guard-band"');
      expect(mine).toContain('data-part="guard-expected"');
      expect(mine.match(/<circle [^>]*data-bucket="([^"]+)"/gu)).toEqual([expect.stringContaining(series.buckets[0]!.start)]);
    }
    expect(html).toContain("share of queries where min_keep bound per hour");
    const e = w.empty_context!;
    expect(html).toContain(
      `v4 (served) had min_keep bind on ${pct(0.4)} of queries per hour, expected ${pct(e.expected)} (band ${pct(e.band.lo)} to ${pct(e.band.hi)}).`,
    );

    // The overview's row says the same as the windows table: where the guard bound (never "empty"), and the observed
    // drop of the open 24 h window named by when it opened, not "today".
    const overview = await page(`/ui?index=${gate.index}`, await session(TOKENS.read));
    const at = overview.indexOf(`data-gate="${calibration.gate_id}"`);
    expect(at, "an overview row").toBeGreaterThanOrEqual(0);
    const ovRow = overview.slice(at, overview.indexOf("</tr>", at));
    expect(overview).toContain(">Empty context / guard bound<");
    expect(/data-field="empty">([^<]*)</u.exec(ovRow)?.[1]).toBe(`guard bound ${pct(0.4)} (min_keep 1)`);
    expect(overview).toContain(">Observed drop (open 24 h window)<");
    expect(overview).not.toContain("(today)");
    expect(ovRow).toContain(`since <time datetime="${w.started_at}"`);
    expect(ovRow).toContain(`>${w.started_at.slice(5, 10)} ${w.started_at.slice(11, 16)} UTC</time>`);
  });

  it("says when the abstention test watches few of production's queries: sizes the calibration holds too few of", async () => {
    const gate = uniqueGate("guards-unwatched");
    // 300 labelled queries of 3 candidates (answerable: a relevant first one), certified at alpha 0.1
    const queries = Array.from({ length: 300 }, (_, i) => [0.3 + (i % 97) / 200, 0.2 + (i % 89) / 400, 0.1 + (i % 83) / 800]);
    const relevance = queries.map((_, i) => (i % 5 === 4 ? [0, 0, 0] : [1, 0, 0]));
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        index_version: "v1",
        activate: true,
        queries,
        relevance,
        policy: { kind: "drop_rate", target: 0.3, abstention: { alpha: 0.1 } },
      },
    });
    expect(calibration.abstain_below).not.toBeNull();
    // production sends queries of 40 candidates, a size the calibration holds none of: not tested
    const prod = Array.from({ length: 100 }, (_, i) => [40, 12, 12, i % 2]);
    counted(
      await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: "guards-unwatched-1", ...gate, queries: prod } }),
    );
    const w = (await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read })).windows[0]!;
    expect(w.abstention).toMatchObject({ strata_tested: expect.any(Number), tested_share: 0 });
    const row = openWindowRow(await page(`/ui/gates/${calibration.gate_id}`, await session(TOKENS.read)));
    expect(row).toContain(`<div>watched ${pct(0)}</div>`);
  });

  it("shows neither for a plain gate", async () => {
    const gate = uniqueGate("plain-page");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", activate: true, queries: QUERIES, policy: { kind: "drop_rate", target: 0.3 } },
    });
    counted(await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: "plain-page-1", ...gate, queries: [[3, 1]] } }));
    const html = await page(`/ui/gates/${calibration.gate_id}`, await session(TOKENS.read));
    expect(html).not.toContain('data-field="guards"');
    expect(html).not.toContain('data-field="abstain-below"');
    expect(html).not.toContain("guard binding");
    expect(openWindowRow(html)).not.toContain("guard bound");
    const overview = await page(`/ui?index=${gate.index}`, await session(TOKENS.read));
    const at = overview.indexOf(`data-gate="${calibration.gate_id}"`);
    const ovRow = overview.slice(at, overview.indexOf("</tr>", at));
    expect(/data-field="empty">([^<]*)</u.exec(ovRow)?.[1]).toBe(pct(0));
    const hourly = html.slice(html.indexOf('data-table="series"'));
    expect(hourly.slice(0, hourly.indexOf("</table>"))).not.toContain(">Abstained<");
    expect(html).not.toContain('data-panel="abstention"');
    expect(html).not.toContain('data-panel="guard"');
  });
});

describe("gate page comparing two calibrations of one index version", () => {
  it("tells them apart by their ids' ends in the headline, each with what its own threshold drops, not 'of v2 and of v2'", async () => {
    const gate = uniqueGate("same-version");
    const upload = async (target: number) =>
      (
        await callJson("POST", "/v1/calibrations", 201, {
          token: TOKENS.calibrate,
          json: { ...gate, index_version: "v2", activate: true, scores: spreadScores(400), policy: { kind: "drop_rate", target } },
        })
      ).calibration;
    const older = await upload(0.2);
    const newer = await upload(0.3);
    const html = await page(`/ui/gates/${newer.gate_id}`, await session(TOKENS.read));
    const start = html.indexOf('data-field="headline"');
    expect(start).toBeGreaterThanOrEqual(0);
    const big = html.indexOf('class="big"', start);
    const headline = html.slice(big, html.indexOf("</div>", big));
    // No rebuild between them: neither threshold is the "old" one; the served one first.
    expect(headline).toBe(
      `class="big">v2 (${newer.id.slice(-6)}, served) drops 30\u00a0% at ${num(newer.threshold)}; v2 (${older.id.slice(-6)}) would drop 20\u00a0% at ${num(older.threshold)}`,
    );
    expect(html.slice(start, big)).toContain("What each calibration&#39;s own threshold drops of its own scores");
  });
});
