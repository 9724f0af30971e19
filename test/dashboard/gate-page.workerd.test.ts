// The gate page of a gate with one calibration shows that calibration's distribution (not "no stored distribution"),
// the activation log names the calibration an activation replaced by its version, its id kept as the title, and the
// production chart of a gate younger than a day opens on the hours it has. Its hourly and windows tables gain an
// Unscored candidates column once services report candidates without a score, and only then.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { num, pct } from "../../src/dashboard/charts/scale";
import { DATA_RANGE_SHORT, DEFAULT_SERIES_RANGE, gateView, rangeStart, SERIES_RANGES, seriesRangeOf } from "../../src/dashboard/data/gate";
import type { Env } from "../../src/platform/env";
import { appDeps } from "../../src/worker/wiring";
import { callJson, counted, spreadScores, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

/** The HTML of the table marked data-table="name" (to its closing tag). */
function tableOf(html: string, name: string): string {
  const start = html.indexOf(`data-table="${name}"`);
  expect(start, `a ${name} table`).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf("</table>", start));
}

describe("gate page of a gate with one calibration", () => {
  it("draws its score distribution and threshold, with the calibration's quantiles", async () => {
    const gate = uniqueGate("single-dist");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(400), policy: { kind: "drop_rate", target: 0.25 } },
    });
    const html = await page(`/ui/gates/${calibration.gate_id}`, await session(TOKENS.read));
    expect(html).not.toContain("No stored distribution");
    expect(html).not.toContain('data-field="no-distribution"');
    expect(html).toContain("Score distributions of v1 (served)");
    expect(html).toContain("v1 (served) (400 scores)");
    // The implied-drop table: the served threshold on its own distribution (the calibration's expected drop).
    const implied = tableOf(html, "implied");
    const t = calibration.threshold!;
    expect(implied).toContain(`threshold ${num(t)}`);
    const cell = new RegExp(`data-cell="${t}@cur"[^>]*>([^<]*)<`, "u").exec(implied)?.[1];
    expect(cell).toBe(pct(0.25));
    // The plotted quantiles are the calibration's own.
    const q = calibration.summary.quantiles[Math.round(0.5 / calibration.summary.step)];
    expect(html).toMatch(new RegExp(`50\u00a0%</td><td class="num">${num(q).replace(".", "\\.")}<`, "u"));
    // The what-if answer reads the same distribution.
    const whatIf = await page(`/ui/gates/${calibration.gate_id}?x=${t}#what-if`, await session(TOKENS.read));
    expect(/data-field="what-if"[\s\S]*?<strong>([^<]*)<\/strong> of v1 \(served\)/u.exec(whatIf)?.[1]).toBe(pct(0.25));
  });
});

describe("activation log", () => {
  it("names the replaced calibration by its version, with its id as the title and a link to its row", async () => {
    const gate = uniqueGate("replaced");
    const upload = async (index_version: string) =>
      (
        await callJson("POST", "/v1/calibrations", 201, {
          token: TOKENS.calibrate,
          json: { ...gate, index_version, activate: true, scores: spreadScores(200), policy: { kind: "drop_rate", target: 0.2 } },
        })
      ).calibration;
    const v1 = await upload("v1");
    const v2 = await upload("v2");
    const html = await page(`/ui/gates/${v2.gate_id}`, await session(TOKENS.read));
    const log = html.slice(html.indexOf("Activation log"));
    const replaced = [...log.slice(0, log.indexOf("</table>")).matchAll(/data-field="replaced">([\s\S]*?)<\/td>/gu)].map((m) => m[1]);
    expect(replaced).toContain(`<a href="#calibration-${v1.id}" title="${v1.id}">v1</a>`);
    expect(replaced.join("")).not.toContain(`<code>${v1.id}</code>`);
    expect(html).toContain(`id="calibration-${v1.id}"`);
  });
});

/** Names every object inherits (Object.prototype's): unknown ranges, as any other name that is not one. */
const INHERITED = ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"];

describe("the range a query names", () => {
  it("is one of the page's ranges, never a name an object inherits", () => {
    for (const r of Object.keys(SERIES_RANGES)) expect(seriesRangeOf(r)).toBe(r);
    for (const name of [...INHERITED, "nonsense", "", "7D", undefined]) expect(seriesRangeOf(name), String(name)).toBeUndefined();
    expect(rangeStart("24h", new Date("2026-01-02T00:00:00.000Z"))).toBe("2026-01-01T00:00:00.000Z");
  });
});

describe("production range of a gate page", () => {
  const depsAt = (now: Date) =>
    appDeps(
      env as unknown as Env,
      () => {},
      () => now,
    );

  it("opens on 24 hours when the gate has less than a day of data, and keeps a range that was asked for", async () => {
    const gate = uniqueGate("young-range");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(200), policy: { kind: "drop_rate", target: 0.2 } },
    });
    counted(await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: "young-1", ...gate, queries: [[20, 4]] } }));
    const now = new Date();
    const young = await gateView(calibration.gate_id, depsAt(now), undefined);
    expect(young.range).toBe(DATA_RANGE_SHORT);
    expect(young.series!.buckets).toHaveLength(1);
    expect(Date.parse(young.series!.to) - Date.parse(young.series!.from)).toBe(SERIES_RANGES[DATA_RANGE_SHORT] * 3600 * 1000);
    // Asked for: kept, whatever the data.
    const asked = await gateView(calibration.gate_id, depsAt(now), "7d");
    expect(asked.range).toBe("7d");
    expect(Date.parse(asked.series!.to) - Date.parse(asked.series!.from)).toBe(SERIES_RANGES["7d"] * 3600 * 1000);
    // Two days later the same hour is older than a day: the default range again.
    const later = await gateView(calibration.gate_id, depsAt(new Date(now.getTime() + 2 * 24 * 3600 * 1000)), undefined);
    expect(later.range).toBe(DEFAULT_SERIES_RANGE);
    expect(later.series!.buckets).toHaveLength(1);
    // The page marks the range it shows: an explicit 7 days stays 7 days; without one (or with an unknown one, the
    // names an object inherits among them) the page opens on the narrowed range.
    const cookie = await session(TOKENS.read);
    const html = await page(`/ui/gates/${calibration.gate_id}?range=7d`, cookie);
    expect(html).toContain('<strong aria-current="true">7 days</strong>');
    for (const q of ["", "?range=nonsense", ...INHERITED.map((name) => `?range=${name}`)]) {
      const opened = await page(`/ui/gates/${calibration.gate_id}${q}`, cookie);
      expect(opened, q).not.toContain('<strong aria-current="true">7 days</strong>');
      expect(opened, q).toContain('<strong aria-current="true">24 hours</strong>');
    }
    // The CSV of an unknown range is the default range's, as with none named.
    const csv = (q: string) => page(`/ui/gates/${calibration.gate_id}/series.csv${q}`, cookie);
    const week = await csv(`?range=${DEFAULT_SERIES_RANGE}`);
    expect(week.trim().split("\n"), "a header and the hour").toHaveLength(2);
    for (const q of ["", "?range=nonsense", ...INHERITED.map((name) => `?range=${name}`)]) expect(await csv(q), q).toBe(week);
    // The hourly table counts each test's alarms, the windows table alarm events (detector restarts): named apart.
    expect(html).toMatch(/<th[^>]*>Test alarms<\/th>/u);
    expect(html).toMatch(/<th[^>]*>Alarm<br\/>events<\/th>/u);
    expect(html).not.toMatch(/<th[^>]*>Alarms<\/th>/u);
  });

  it("keeps the default range for a gate without observations", async () => {
    const gate = uniqueGate("empty-range");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(200), policy: { kind: "drop_rate", target: 0.2 } },
    });
    expect((await gateView(calibration.gate_id, depsAt(new Date()), undefined)).range).toBe(DEFAULT_SERIES_RANGE);
    // nothing to download: no CSV link (a file of column names only)
    const cookie = await session(TOKENS.read);
    expect(await page(`/ui/gates/${calibration.gate_id}`, cookie)).not.toContain("Download these hours as CSV");
    counted(
      await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: "empty-range-1", ...gate, queries: [[20, 4]] } }),
    );
    expect(await page(`/ui/gates/${calibration.gate_id}`, cookie)).toContain("Download these hours as CSV");
  });
});

describe("candidates without a score in the gate page's tables", () => {
  /** The cells of a table's Unscored candidates column, as text. */
  const unscoredCells = (html: string, name: string): string[] =>
    [...tableOf(html, name).matchAll(/<td[^>]*data-field="unscored"[^>]*>([^<]*)<\/td>/gu)].map((m) => m[1]!);

  /** A calibrated gate with one batch of these queries counted; its page over the last 24 hours. */
  async function pageAfter(name: string, queries: number[][]): Promise<string> {
    const gate = uniqueGate(name);
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(200), policy: { kind: "drop_rate", target: 0.2 } },
    });
    counted(await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: `${name}-1`, ...gate, queries } }));
    return page(`/ui/gates/${calibration.gate_id}?range=24h`, await session(TOKENS.read));
  }

  it("has no column for a gate whose services report none", async () => {
    const html = await pageAfter("scored-tables", [
      [20, 4],
      [20, 4, 4, 0],
    ]);
    for (const name of ["series", "windows"]) {
      expect(tableOf(html, name), name).toContain("Queries");
      expect(tableOf(html, name), name).not.toContain("Unscored");
      expect(unscoredCells(html, name), name).toEqual([]);
    }
  });

  it("gives the hour's and the window's count and share of the reported candidates", async () => {
    // one batch (one hour, one window): 40 scored candidates and 5 unscored, 5 of the 45 reported
    const html = await pageAfter("unscored-tables", [
      [20, 4],
      [20, 4, 4, 0, 5],
    ]);
    expect(unscoredCells(html, "series")).toEqual([`5 (${pct(5 / 45)})`]);
    expect(unscoredCells(html, "windows")).toEqual([`5 (${pct(5 / 45)})`]);
    expect(tableOf(html, "windows")).toMatch(/<th[^>]*>Unscored<br\/>candidates<\/th>/u);
  });
});

describe("score distributions of two versions with the same scores", () => {
  it("says the two curves are one, and says nothing of the kind when they differ", async () => {
    const gate = uniqueGate("same-dist");
    const upload = async (index_version: string, scores: number[]) =>
      (
        await callJson("POST", "/v1/calibrations", 201, {
          token: TOKENS.calibrate,
          json: { ...gate, index_version, activate: true, scores, policy: { kind: "drop_rate", target: 0.2 } },
        })
      ).calibration;
    // v2 holds every score of v1 twice: other sizes, the same share below every score.
    await upload("v1", spreadScores(200));
    const v2 = await upload("v2", [...spreadScores(200), ...spreadScores(200)]);
    const cookie = await session(TOKENS.read);
    const ecdf = await page(`/ui/gates/${v2.gate_id}?view=ecdf`, cookie);
    expect(/data-field="same-distribution"[^>]*>([^<]*)</u.exec(ecdf)?.[1]).toContain(
      "v1 and v2 (served) have the same share of scores below every score",
    );
    expect(ecdf).toContain("one curve, the dashed line drawn over the solid one");
    const hist = await page(`/ui/gates/${v2.gate_id}?view=histogram`, cookie);
    expect(hist).toContain("each pair of bars is the same height");
    // A third version with other scores: the page compares v2 and v3, which differ.
    const v3 = await upload(
      "v3",
      spreadScores(200).map((s) => s * 0.9),
    );
    expect(await page(`/ui/gates/${v3.gate_id}`, cookie)).not.toContain('data-field="same-distribution"');
  });
});
