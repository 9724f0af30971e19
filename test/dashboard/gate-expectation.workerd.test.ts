// A guarded gate's expected drop rate is its detector's for the query sizes production sent since its last reset
// (a stratified test), so it moves as the mix of sizes does. The gate page shows one figure per calibration, the one
// GET /v1/monitor reports, whatever range the chart shows; the hourly figures, which move with the sizes, are labelled
// so. The gate here saw short queries three days ago and long ones two hours ago: 24 hours and 7 days hold different
// hours with different hourly expectations, and the same detector figure.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { pct } from "../../src/dashboard/charts/scale";
import { FOR_SIZES, FOR_SIZES_THEN, WINDOW_SIZES } from "../../src/dashboard/pages/gate-expectation";
import { resolveBatchTarget } from "../../src/monitoring/batch-target";
import type { GateMonitorRpc } from "../../src/monitoring/monitor-contract";
import type { Env } from "../../src/platform/env";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { appDeps } from "../../src/worker/wiring";
import { createRng } from "../support/prng";
import { callJson, qs, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

const HOUR = 3600 * 1000;

/** 120 calibration queries of 4 candidates and 120 of 12, seeded: two size strata with queries enough to be tested. */
function calibrationQueries(): number[][] {
  const rng = createRng(20261204);
  return [...Array.from({ length: 120 }, () => 4), ...Array.from({ length: 120 }, () => 12)].map((m) => Array.from({ length: m }, () => rng.next()));
}

/** The page's apostrophes as written (hono/jsx escapes them). */
const unescaped = (html: string): string => html.replaceAll("&#39;", "'");

/** The HTML of the table marked data-table="name" (to its closing tag), apostrophes unescaped. */
function tableOf(html: string, name: string): string {
  const start = html.indexOf(`data-table="${name}"`);
  expect(start, `a ${name} table`).toBeGreaterThanOrEqual(0);
  return unescaped(html.slice(start, html.indexOf("</table>", start)));
}

/** The text of the element marked data-field="name" (tags dropped, spaces collapsed). */
function fieldText(html: string, name: string): string {
  const start = html.indexOf(`data-field="${name}"`);
  expect(start, name).toBeGreaterThanOrEqual(0);
  return unescaped(html.slice(start, html.indexOf("</div>", start)))
    .replace(/^[^>]*>/u, "")
    .replace(/<[^>]+>/gu, " ")
    .replace(/[ \t\r\n]+/gu, " ")
    .trim();
}

/** The hourly table's Expected cells (its sixth column: hour, version, traffic, queries, observed, expected), oldest hour first. */
const hourlyExpected = (html: string): string[] =>
  tableOf(html, "series")
    .split("<tr")
    .slice(2)
    .map((row) => [...row.matchAll(/<td[^>]*>([^<]*)<\/td>/gu)].map((m) => m[1]!)[4]!);

describe("gate page of a guarded gate whose query sizes changed", () => {
  it("shows the detector's expectation once, the same for 24 hours and 7 days and as GET /v1/monitor, and labels the hourly one", async () => {
    const gate = uniqueGate("sizes-moved");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v5", activate: true, queries: calibrationQueries(), policy: { kind: "drop_rate", target: 0.5, min_keep: 2 } },
    });
    const deps = appDeps(
      env as unknown as Env,
      () => {},
      () => new Date(),
    );
    const target = await resolveBatchTarget({ calibration_id: calibration.id }, deps);
    const rpc = env.GATE_MONITOR.get(env.GATE_MONITOR.idFromName(calibration.gate_id)) as unknown as GateMonitorRpc;
    // Fewer than the 100 queries that arm the detector: no alarm restarts it, so its expectation spans both batches.
    const observe = (id: string, at: number, m: number, below: number, n: number) =>
      rpc.observe({
        gate: { gate_id: calibration.gate_id, ...gate },
        calibration: target.calibration,
        batch_id: id,
        batch_hash: `hash-${id}`,
        // [candidates, dropped, below the threshold]: min_keep 2 keeps two of a short query the threshold would empty
        queries: Array.from({ length: n }, () => [m, Math.min(below, m - 2), below]),
        scores: null,
        now_ms: at,
        config: DEFAULT_DRIFT_CONFIG,
      });
    const now = Date.now();
    await observe("sizes-short", now - 3 * 24 * HOUR, 4, 4, 40);
    await observe("sizes-long", now - 2 * HOUR, 12, 7, 50);

    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    const open = monitor.windows.find((w) => w.calibration_id === calibration.id)!;
    expect(open.drop_rate.strata_tested, "a stratified test").toBeGreaterThanOrEqual(1);
    const expected = pct(open.drop_rate.expected);
    expect(expected, "production's sizes move the expectation off the calibration's own").not.toBe(pct(calibration.expected_drop_rate));

    const cookie = await session(TOKENS.read);
    const day = await page(`/ui/gates/${calibration.gate_id}?range=24h`, cookie);
    const week = await page(`/ui/gates/${calibration.gate_id}?range=7d`, cookie);

    // One figure per calibration, the detector's as the API reports it, with what it is for: the same in both ranges.
    const line = fieldText(day, "detector-expected");
    expect(fieldText(week, "detector-expected")).toBe(line);
    expect(line).toContain(`v5: ${expected} ${FOR_SIZES} (tolerated ${pct(open.drop_rate.band.lo)} to ${pct(open.drop_rate.band.hi)})`);
    expect(line).toContain(`the calibration's own expected drop rate is ${pct(calibration.expected_drop_rate)}`);
    expect(line).toContain(`${open.drop_rate.strata_tested} of ${open.drop_rate.strata_total} size strata are tested`);
    // The chart's text alternative names the same figure in both ranges.
    const desc = (html: string) => unescaped(/<desc id="series-wide-desc">([^<]*)<\/desc>/u.exec(html)?.[1] ?? "");
    for (const html of [day, week]) expect(desc(html)).toContain(`per hour, the detector expects ${expected} ${FOR_SIZES}`);
    expect(desc(day)).toContain(`1 hour with observations in the last 24 hours; v5 (served): observed ${pct(7 / 12)} per hour,`);
    expect(desc(week)).toContain(`2 hours with observations in the last 7 days; v5 (served): observed ${pct(0.5)} to ${pct(7 / 12)} per hour,`);

    // The hourly figures are the detector's as each hour ended: the short queries' hour (7 days only) expected another
    // rate than the hour that added the long ones, and both tables say what the column holds.
    expect(hourlyExpected(day)).toEqual([expected]);
    const weekly = hourlyExpected(week);
    expect(weekly).toHaveLength(2);
    expect(weekly[1]).toBe(expected);
    expect(weekly[0]).not.toBe(expected);
    for (const html of [day, week]) {
      expect(tableOf(html, "series")).toContain(`Expected and Band: the detector's at the hour's last batch, ${FOR_SIZES_THEN}`);
      expect(unescaped(html)).toContain(`expected at each hour (dashes: the detector's then, ${FOR_SIZES_THEN}, so it moves with their mix)`);
    }
    // The windows table: each window's expectation for its own queries' sizes, beside its observed rate (the open
    // window holds the long queries only: not the detector's figure, which also weighs the short ones).
    const windows = tableOf(week, "windows");
    expect(windows).toContain(`Expected and Band: ${WINDOW_SIZES}`);
    const own = open.drop_rate.expected_window;
    expect(own, "the open window's own expectation").toEqual(expect.any(Number));
    expect(windows).toContain(`>${pct(own!)}<`);
    expect(pct(own!)).not.toBe(expected);

    // The overview's row gives the calibration's own expected drop and, under it, the detector's.
    const overview = await page(`/ui?index=${gate.index}`, cookie);
    const at = overview.indexOf(`data-gate="${calibration.gate_id}"`);
    expect(at, "an overview row").toBeGreaterThanOrEqual(0);
    const row = unescaped(overview.slice(at, overview.indexOf("</tr>", at)));
    expect(row).toContain(`<div>${pct(calibration.expected_drop_rate)}</div>`);
    expect(row).toContain(`<td data-field="policy">drop 50\u00a0%, min_keep 2</td>`);
    expect(row).toContain(`data-field="detector-expected">detector now: ${expected} for the query sizes since its last reset</div>`);
  });
});
