// The gate page's production section rendered from a gate view during a progressive promotion: the active v2 (a pooled
// test) and the guarded candidate v3 (a test stratified by query size) count in the same hours. The detector's
// expectation is named once per open window, the same whichever range is shown; the chart's description counts hours,
// not buckets, and gives each calibration its own observed range.
import { describe, expect, it } from "vitest";
import type { Calibration, MonitorSeries, Promotion, SeriesBucket } from "../../src/contract";
import type { GateView, SeriesRange } from "../../src/dashboard/data/gate";
import type { WindowPoint } from "../../src/dashboard/data/monitor-view";
import type { TrafficSpan } from "../../src/dashboard/data/traffic-spans";
import { FOR_SIZES, FOR_SIZES_THEN, WINDOW_SIZES } from "../../src/dashboard/pages/gate-expectation";
import { policyWords } from "../../src/dashboard/pages/gate-history";
import { ProductionSection } from "../../src/dashboard/pages/gate-production";
import { unscoredCell } from "../../src/dashboard/pages/unscored-column";

const HOUR = 3600 * 1000;
const NOW = Date.UTC(2026, 11, 4, 12);

function bucket(
  hoursAgo: number,
  calibration: string,
  version: string,
  dropRate: number,
  expected: number,
  o: Partial<SeriesBucket> = {},
): SeriesBucket {
  const start = NOW - hoursAgo * HOUR;
  return {
    calibration_id: calibration,
    index_version: version,
    start: new Date(start).toISOString(),
    end: new Date(start + HOUR).toISOString(),
    batches: 1,
    queries: 100,
    candidates: 1000,
    unscored_candidates: 0,
    dropped: Math.round(1000 * dropRate),
    empty_queries: 0,
    gated_queries: 100,
    drop_rate: dropRate,
    expected,
    band: { lo: expected - 0.02, hi: expected + 0.02 },
    log_evidence: 1,
    max_log_evidence: 1,
    log_threshold: 6.9,
    empty_context_log_evidence: null,
    abstention_queries: 0,
    abstained_queries: 0,
    abstention_rate: null,
    guard_bound_queries: 0,
    drop_rate_alarms: 0,
    empty_context_alarms: 0,
    abstention_alarms: 0,
    last_alarm_at: null,
    ...o,
  };
}

/** The open windows: v2's served traffic, v3's candidate arm (stratified: 4 of 6 strata tested). */
const point = (o: Partial<WindowPoint> & Pick<WindowPoint, "calibration_id" | "index_version" | "role">): WindowPoint => ({
  started_at: new Date(NOW - 10 * HOUR).toISOString(),
  ends_at: new Date(NOW + 14 * HOUR).toISOString(),
  queries: 300,
  candidates: 3000,
  unscored: 0,
  observed: 0.22,
  expected: 0.22,
  band: [0.2, 0.24],
  strata: null,
  window: null,
  alarmed: null,
  alarms: 0,
  empty_rate: 0,
  mean_candidates: 10,
  candidates_change: "none",
  empty_level: null,
  guard: null,
  abstention: null,
  open: true,
  ...o,
});
const POINTS = [
  point({
    calibration_id: "cal_v3",
    index_version: "v3",
    role: "candidate",
    expected: 0.325,
    band: [0.3, 0.35],
    strata: { tested: 4, total: 6, tested_share: 0.8 },
  }),
  point({ calibration_id: "cal_v2", index_version: "v2", role: "active" }),
];

const CALIBRATIONS = [
  { id: "cal_v2", index_version: "v2", expected_drop_rate: 0.22, current: true },
  { id: "cal_v3", index_version: "v3", expected_drop_rate: 0.3, current: false },
] as unknown as Calibration[];

/** v3's promotion, running: v3 is its candidate now. */
const PROMOTIONS = [
  { id: "prm_v3", candidate_calibration_id: "cal_v3", control_calibration_id: "cal_v2", state: "running", steps: [] },
] as unknown as Promotion[];

// The last three hours: both arms in each, an alarm of both tests in the middle one, v3's hourly expectation moving
// with the sizes its arm saw. Three days ago (7 days only): v2 alone.
const RECENT = [2, 1, 0].flatMap((h, i) => {
  const alarm = h === 1 ? { drop_rate_alarms: 1, last_alarm_at: new Date(NOW - h * HOUR + 60_000).toISOString() } : {};
  return [bucket(h, "cal_v2", "v2", 0.21 + 0.01 * i, 0.22, alarm), bucket(h, "cal_v3", "v3", 0.3 + 0.03 * i, 0.3 + 0.01 * i, alarm)];
});
const OLDER = [bucket(72, "cal_v2", "v2", 0.2, 0.22)];

async function render(
  range: SeriesRange,
  buckets: SeriesBucket[],
  points: WindowPoint[] = POINTS,
  traffic: TrafficSpan[] = [],
  activations: MonitorSeries["activations"] = [],
): Promise<string> {
  const view = {
    calibrations: CALIBRATIONS,
    traffic,
    promotions: PROMOTIONS,
    monitor: { points, recall: [], state: null, error: null },
    series: {
      gate_id: "gate_promo",
      from: new Date(NOW - (range === "24h" ? 24 : 168) * HOUR).toISOString(),
      to: new Date(NOW).toISOString(),
      bucket_seconds: 3600,
      retention_days: 30,
      buckets,
      activations,
    },
    range,
  } as unknown as GateView;
  return ((await ProductionSection({ view, range, path: "/ui/gates/gate_promo" }).toString()) as string).replaceAll("&#39;", "'");
}

const text = (html: string): string =>
  html
    .replace(/<[^>]+>/gu, " ")
    .replace(/\s+/gu, " ")
    .trim();

/** The detector's expectation block, as text. */
const block = (html: string): string => {
  const at = html.indexOf('data-field="detector-expected"');
  expect(at, "the detector's expectation").toBeGreaterThanOrEqual(0);
  return text(html.slice(at, html.indexOf("</div>", at)).replace(/^[^>]*>/u, ""));
};

const desc = (html: string): string => /<desc id="series-wide-desc">([^<]*)<\/desc>/u.exec(html)?.[1] ?? "";

describe("production section during a promotion onto a guarded calibration", () => {
  it("names each open window's expectation once, the active one first, the same for 24 hours and 7 days", async () => {
    const day = await render("24h", RECENT);
    const week = await render("7d", [...OLDER, ...RECENT]);
    expect(block(week)).toBe(block(day));
    const lines = [...day.matchAll(/<li data-calibration="([^"]+)" data-role="([^"]+)">([^<]*)<\/li>/gu)].map((m) => [m[1], m[2], m[3]]);
    expect(lines.map(([id, role]) => `${id}:${role}`)).toEqual(["cal_v2:active", "cal_v3:candidate"]);
    // The pooled test: the figure and its band, nothing about query sizes.
    expect(lines[0]![2]).toBe("v2: 22.0\u00a0% (tolerated 20.0\u00a0% to 24.0\u00a0%).");
    // The stratified one: for production's sizes, beside the calibration's own rate, and how much of it is watched.
    expect(lines[1]![2]).toBe(
      `v3 (promotion candidate): 32.5\u00a0% ${FOR_SIZES} (tolerated 30.0\u00a0% to 35.0\u00a0%); the calibration's own expected drop rate is 30.0\u00a0%. ` +
        "4 of 6 size strata are tested, which held 80.0\u00a0% of the candidates a threshold decided since that reset.",
    );
  });

  it("counts hours, not buckets, and gives each calibration its own observed range and the detector's expectation", async () => {
    const day = desc(await render("24h", RECENT));
    expect(day).toContain("3 hours with observations in the last 24 hours;");
    expect(day).toContain(
      "v2 (served): observed 21.0\u00a0% to 23.0\u00a0% per hour, the detector expects 22.0\u00a0% (tolerated 20.0\u00a0% to 24.0\u00a0%) now;",
    );
    expect(day).toContain(
      `v3 (promotion candidate): observed 30.0\u00a0% to 36.0\u00a0% per hour, the detector expects 32.5\u00a0% ${FOR_SIZES} (tolerated 30.0\u00a0% to 35.0\u00a0%) now.`,
    );
    expect(day).toContain("1 hour with alarms, the last at");
    // The last hour's own figure (v3 expected 32.0 % then) is not what the description names.
    expect(day).not.toContain("32.0\u00a0%");
    const week = desc(await render("7d", [...OLDER, ...RECENT]));
    expect(week).toContain("4 hours with observations in the last 7 days;");
    expect(week).toContain("v2 (served): observed 20.0\u00a0% to 23.0\u00a0% per hour, the detector expects 22.0\u00a0%");
    expect(week).toContain(`v3 (promotion candidate): observed 30.0\u00a0% to 36.0\u00a0% per hour, the detector expects 32.5\u00a0% ${FOR_SIZES}`);
  });

  it("gives the test that alarmed beside the restarted detector's expectation while its alert stands", async () => {
    const at = new Date(NOW - HOUR).toISOString();
    const points: WindowPoint[] = [
      { ...POINTS[1]!, alarmed: { at, expected: 0.22, band: [0.2, 0.24], observed: 0.3, queries: 500, latest: { observed: 0.41, queries: 120 } } },
      // the restarted stratified detector has seen no candidate yet
      {
        ...POINTS[0]!,
        strata: { tested: 4, total: 6, tested_share: null },
        expected: 0.3,
        alarmed: { at, expected: 0.325, band: [0.3, 0.35], observed: 0.4, queries: 200, latest: null },
      },
    ];
    const html = await render("24h", RECENT, points);
    const items = [...html.matchAll(/<li data-calibration="[^"]+" data-role="[^"]+">([\s\S]*?)<\/li>/gu)].map((m) => text(m[1]!));
    expect(items).toEqual([
      "v2: 22.0 % (tolerated 20.0 % to 24.0 %). " +
        "It alarmed at 2026-12-04 11:00:00 UTC on 41.0 % over the latest 120 queries, against 22.0 % expected (tolerated 20.0 % to 24.0 %); its detector restarted then.",
      "v3 (promotion candidate): 30.0 % (tolerated 30.0 % to 35.0 %), with no candidate a threshold decides since the detector's last reset yet. " +
        "It alarmed at 2026-12-04 11:00:00 UTC on 40.0 % over the window's 200 queries, against 32.5 % expected for the query sizes production had sent since the detector's last reset (tolerated 30.0 % to 35.0 %); its detector restarted then.",
    ]);
  });

  it("labels the hourly expectation of a calibration whose test is stratified, and only then", async () => {
    const html = await render("24h", RECENT);
    expect(html).toContain(`expected at each hour (dashes: the detector's then, ${FOR_SIZES_THEN}, so it moves with their mix)`);
    expect(text(html)).toContain("v2 (served): observed (line and dots), expected (dashes), tolerance band (shaded)");
    expect(html).toContain(`Expected and Band: the detector's at the hour's last batch, ${FOR_SIZES_THEN}`);
    const pooled = await render(
      "24h",
      RECENT.filter((b) => b.calibration_id === "cal_v2"),
    );
    expect(pooled).not.toContain("Expected and Band: the detector's at the hour's last batch");
  });

  it("the windows table gives a stratified window's expectation for its own queries' sizes beside its observed rate", async () => {
    // after an alarm: the restarted detector expects 12.0 % (its queries since), the window's own queries 50.7 %
    const points: WindowPoint[] = [
      { ...POINTS[0]!, observed: 0.633, expected: 0.12, band: [0.1, 0.14], window: { expected: 0.507, band: [0.47, 0.545] } },
      POINTS[1]!,
    ];
    const html = await render("24h", RECENT, points);
    const windows = html.slice(html.indexOf("Daily monitor windows"));
    const row = windows
      .split("</tr>")
      .map(text)
      .find((r) => r.includes("v3") && r.includes("63.3 %"));
    expect(row).toBeDefined();
    expect(row).toContain("63.3 % 50.7 % 47.0 % – 54.5 %");
    expect(row).not.toContain("12.0 %");
    expect(windows).toContain(`Expected and Band: ${WINDOW_SIZES}`);
    // the detector's line above still gives the detector's own figure (what its evidence is about)
    expect(block(html)).toContain("v3 (promotion candidate): 12.0 %");
  });
});

describe("an hour in which a calibration's traffic changed kind", () => {
  const iso = (hoursAgo: number) => new Date(NOW - hoursAgo * HOUR).toISOString();
  // v2 served for two days; v3 a shadow from 02:00 until its promotion started at 10:30, a candidate since.
  const TRAFFIC: TrafficSpan[] = [
    { calibration_id: "cal_v2", traffic: "served", from: iso(48), to: null },
    { calibration_id: "cal_v3", traffic: "shadow", from: iso(10), to: iso(1.5) },
    { calibration_id: "cal_v3", traffic: "promotion candidate", from: iso(1.5), to: null },
  ];
  const rows = (html: string) =>
    html
      .slice(html.indexOf('data-table="series"'))
      .split("</table>")[0]!
      .split("</tr>")
      .map(text)
      .filter((r) => r.startsWith("2026-"));

  it("marks the point that joins both (hollow, in both layouts), names each hour's traffic and says so in the description", async () => {
    const html = await render("24h", RECENT, POINTS, TRAFFIC);
    // v3's 10:00 bucket holds its shadow's batches before 10:30 and its candidate arm's after: one point.
    const mixed = [...html.matchAll(/<circle [^>]*data-bucket="([^"]+)" data-mixed="true"/gu)].map((m) => m[1]);
    expect(mixed).toEqual([iso(2), iso(2)]);
    expect(html).toContain('data-field="mixed-hours"');
    expect(rows(html)).toEqual([
      expect.stringMatching(/^2026-12-04 10:00:00 UTC v2 served 100 /u),
      expect.stringMatching(/^2026-12-04 10:00:00 UTC v3 shadow, then promotion candidate \(one count\) 100 /u),
      expect.stringMatching(/^2026-12-04 11:00:00 UTC v2 served 100 /u),
      expect.stringMatching(/^2026-12-04 11:00:00 UTC v3 promotion candidate 100 /u),
      expect.stringMatching(/^2026-12-04 12:00:00 UTC v2 served 100 /u),
      expect.stringMatching(/^2026-12-04 12:00:00 UTC v3 promotion candidate 100 /u),
    ]);
    expect(desc(html)).toContain(
      "1 point joins two kinds of one calibration's traffic (recorded before the monitor kept each traffic's hours apart): v3 at 2026-12-04 10:00:00 UTC (shadow, then promotion candidate).",
    );
  });

  it("draws each traffic's stored hours as their own series, with no mixed mark, whatever the log says", async () => {
    // The same hours recorded per traffic: v3's 10:00 hour is two buckets, its shadow's and its candidate arm's.
    const stored = RECENT.flatMap((b): SeriesBucket[] => {
      if (b.calibration_id === "cal_v2") return [{ ...b, traffic: "served" as const }];
      if (b.start !== iso(2)) return [{ ...b, traffic: "candidate" as const }];
      return [
        { ...b, traffic: "shadow" as const, queries: 60, drop_rate: 0.5, max_log_evidence: 2 },
        { ...b, traffic: "candidate" as const, queries: 40 },
      ];
    });
    const html = await render("24h", stored, POINTS, TRAFFIC);
    expect(html).not.toContain("data-mixed");
    expect(html).not.toContain('data-field="mixed-hours"');
    expect(desc(html)).not.toContain("joins two kinds");
    // one series per calibration and traffic, in both layouts: v3's shadow line holds its one hour, its candidate line three
    const wide = html.split('data-layout="narrow"')[0]!;
    const groups = [...wide.matchAll(/<g data-calibration="([^"]+)" data-traffic="([^"]+)">(.*?)<\/g>/gsu)].map((m) => [
      m[1],
      m[2],
      [...m[3]!.matchAll(/<circle [^>]*data-bucket="([^"]+)"/gu)].map((c) => c[1]),
    ]);
    expect(groups).toEqual([
      ["cal_v2", "served", [iso(2), iso(1), iso(0)]],
      ["cal_v3", "shadow", [iso(2)]],
      ["cal_v3", "candidate", [iso(2), iso(1), iso(0)]],
    ]);
    // a shadow's line is dotted, a candidate arm's dash-dotted, the served one solid
    const observed = [...wide.matchAll(/<path [^>]*data-part="observed"/gu)].map((m) => /stroke-dasharray="([^"]+)"/u.exec(m[0])?.[1] ?? "solid");
    expect(observed).toEqual(["solid", "2 3", "10 3 2 3"]);
    expect(rows(html)).toEqual([
      expect.stringMatching(/^2026-12-04 10:00:00 UTC v2 served 100 /u),
      expect.stringMatching(/^2026-12-04 10:00:00 UTC v3 shadow 60 50\.0 % /u),
      expect.stringMatching(/^2026-12-04 10:00:00 UTC v3 promotion candidate 40 30\.0 % /u),
      expect.stringMatching(/^2026-12-04 11:00:00 UTC v2 served 100 /u),
      expect.stringMatching(/^2026-12-04 11:00:00 UTC v3 promotion candidate 100 /u),
      expect.stringMatching(/^2026-12-04 12:00:00 UTC v2 served 100 /u),
      expect.stringMatching(/^2026-12-04 12:00:00 UTC v3 promotion candidate 100 /u),
    ]);
    // the description and the legend name v3's two lines apart
    // the shadow line's expectation is its own last hour's, not the candidate arm's detector of now
    expect(desc(html)).toMatch(
      /v3 \([^)]*\), its shadow traffic: observed 50\.0\u00a0% per hour, expected 30\.0\u00a0% [^;]*\(tolerated 28\.0\u00a0% to 32\.0\u00a0%\) at its last hour/u,
    );
    expect(desc(html)).toMatch(/its promotion candidate traffic: observed 30\.0\u00a0% to 36\.0\u00a0% per hour, the detector expects /u);
    expect(desc(html)).toMatch(/v3 \([^)]*\), its promotion candidate traffic: observed /u);
    expect(text(html)).toContain("its shadow traffic: observed (dotted line and dots)");
  });

  it("draws every point filled and says nothing of mixing when no hour joins two kinds; an hour before the log read is unnamed", async () => {
    const html = await render("24h", RECENT, POINTS, TRAFFIC.slice(0, 1));
    expect(html).not.toContain("data-mixed");
    expect(html).not.toContain('data-field="mixed-hours"');
    expect(desc(html)).not.toContain("joins two kinds");
    expect(rows(html)[1]).toMatch(/^2026-12-04 10:00:00 UTC v3 – 100 /u);
  });
});

describe("the windows table's abstention", () => {
  it("gives a stratified window's abstention expectation for its own queries' sizes beside its observed rate", async () => {
    // after an alarm: the restarted detector expects 5.0 % (its queries since), the window's own queries 10.0 %
    const abstention = {
      observed: 0.2,
      expected: 0.05,
      band: [0.01, 0.12] as const,
      queries: 51,
      alarm: false,
      stratified: true,
      tested_share: 0.95,
    };
    const own = { ...POINTS[1]!, abstention: { ...abstention, window: { expected: 0.1, band: [0.02, 0.27] as const } } };
    const row = (html: string) =>
      html
        .slice(html.indexOf('data-table="windows"'))
        .split("</tr>")
        .map(text)
        .find((r) => r.includes("20.0 % of 51"));
    expect(row(await render("24h", RECENT, [POINTS[0]!, own]))).toContain("20.0 % of 51 (expected 10.0 %)");
    // a pooled test (or a window recorded before the figure): the detector's, the only one there is
    const pooled = { ...POINTS[1]!, abstention: { ...abstention, window: null } };
    expect(row(await render("24h", RECENT, [POINTS[0]!, pooled]))).toContain("20.0 % of 51 (expected 5.0 %)");
  });
});

describe("the share panels' sentences", () => {
  it("give one figure when every hour's share reads alike, a range otherwise", async () => {
    // v9 (not in the listed history) qualifies by its hours: its guard bound on 20 of 100 queries in each.
    const alike = [2, 1].map((h) => bucket(h, "cal_v9", "v9", 0.3, 0.3, { guard_bound_queries: 20 }));
    expect(desc(await render("24h", alike))).toContain("v9 (not served) had min_keep bind on 20.0\u00a0% of queries per hour.");
    const apart = [
      bucket(2, "cal_v9", "v9", 0.3, 0.3, { guard_bound_queries: 20 }),
      bucket(1, "cal_v9", "v9", 0.3, 0.3, { guard_bound_queries: 25 }),
    ];
    expect(desc(await render("24h", apart))).toContain("v9 (not served) had min_keep bind on 20.0\u00a0% to 25.0\u00a0% of queries per hour.");
  });
});

describe("candidates without a score", () => {
  it("says which share of the reported candidates had no score, over the range's own traffic, and nothing when every one had one", async () => {
    expect(await render("24h", RECENT)).not.toContain('data-field="unscored"');
    const outage = [
      bucket(1, "cal_v2", "v2", 0.22, 0.22, { candidates: 700, unscored_candidates: 300 }),
      bucket(0, "cal_v2", "v2", 0.22, 0.22, { candidates: 1000, unscored_candidates: 0 }),
      // a shadow's mirrored queries are not the gate's own
      bucket(0, "cal_v3", "v3", 0.3, 0.3, { traffic: "shadow", candidates: 0, unscored_candidates: 5000 }),
    ];
    const html = await render("24h", outage);
    const at = html.indexOf('data-field="unscored"');
    expect(at).toBeGreaterThanOrEqual(0);
    expect(text(html.slice(at, html.indexOf("</p>", at)).replace(/^[^>]*>/u, ""))).toBe(
      "15.0 % of the reported candidates had no score in the last 24 hours (300 of 2,000): a reranker failing or timing out for them, a wrong score key, scores sent as strings. The rates here are of the scored candidates.",
    );
  });
});

describe("the tables' unscored column", () => {
  /** A table's header cells and its rows, as text. */
  const table = (html: string, name: string) => {
    const t = html.slice(html.indexOf(`data-table="${name}"`)).split("</table>")[0]!;
    const headers = [...t.matchAll(/<th scope="col"[^>]*>(.*?)<\/th>/gsu)].map((m) => text(m[1]!));
    const rows = t
      .split("</tr>")
      .map(text)
      .filter((r) => r.startsWith("2026-"));
    return { headers, rows, cells: [...t.matchAll(/<td[^>]*data-field="unscored"[^>]*>(.*?)<\/td>/gsu)].map((m) => text(m[1]!)) };
  };

  it("writes a count with thousands separators beside its share", () => {
    expect(unscoredCell({ unscored: 3473, scored: 45_677 })).toBe("3,473 (7.1\u00a0%)");
    expect(unscoredCell({ unscored: 0, scored: 10 })).toBe("0");
  });

  it("is absent from both tables of a gate whose services never reported one", async () => {
    const html = await render("24h", RECENT);
    for (const name of ["series", "windows"]) {
      const t = table(html, name);
      expect(t.headers, name).toContain("Queries");
      expect(t.headers, name).not.toContain("Unscored candidates");
      expect(t.cells, name).toEqual([]);
    }
  });

  it("gives each hour's and each window's count and share of the reported candidates, 0 where all had a score", async () => {
    // v2's served hours: 300 of 1,000 reported candidates unscored at 11:00, none at 12:00; v3's candidate arm none
    const hours = [
      bucket(1, "cal_v2", "v2", 0.22, 0.22, { candidates: 700, unscored_candidates: 300 }),
      bucket(0, "cal_v2", "v2", 0.22, 0.22),
      bucket(0, "cal_v3", "v3", 0.3, 0.3),
    ];
    // yesterday's finished v2 window had none; today's open one 300 beside its 2,700 scored candidates
    const points = [
      point({ calibration_id: "cal_v2", index_version: "v2", role: "active", open: false, started_at: new Date(NOW - 34 * HOUR).toISOString() }),
      ...POINTS.map((p) => (p.calibration_id === "cal_v2" ? { ...p, candidates: 2700, unscored: 300 } : p)),
    ];
    const html = await render("24h", hours, points);
    const series = table(html, "series");
    expect(series.headers.slice(0, 5)).toEqual(["Hour (UTC)", "Version", "Traffic", "Queries", "Unscored candidates"]);
    expect(series.cells).toEqual(["300 (30.0 %)", "0", "0"]);
    expect(series.rows[0]).toMatch(/^2026-12-04 11:00:00 UTC v2 – 100 300 \(30\.0 %\) 22\.0 % /u);
    const windows = table(html, "windows");
    expect(windows.headers.slice(0, 5)).toEqual(["Window start", "Version", "Role", "Queries", "Unscored candidates"]);
    expect(windows.cells).toEqual(["0", "0", "300 (10.0 %)"]);
  });

  it("shows the column in one table only when only its rows have unscored candidates", async () => {
    const hours = [bucket(1, "cal_v2", "v2", 0.22, 0.22, { candidates: 950, unscored_candidates: 50 })];
    const html = await render("24h", hours);
    expect(table(html, "series").cells).toEqual(["50 (5.0 %)"]);
    expect(table(html, "windows").headers).not.toContain("Unscored candidates");
  });
});

describe("activations on the production chart", () => {
  // Two calibrations of index version v1 (re-calibrated on the same index), then v2: five activations within one hour.
  const [first, second] = ["cal_0000d247b3", "cal_00001c9699"];
  const at = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000).toISOString();
  const activation = (minutesAgo: number, calibration_id: string, index_version: string) => ({
    at: at(minutesAgo),
    calibration_id,
    index_version,
    previous_calibration_id: null,
  });
  const incident = [
    activation(50, first, "v1"),
    activation(49, second, "v1"),
    activation(40, "cal_v2", "v2"),
    activation(30, second, "v1"),
    activation(10, "cal_v2", "v2"),
  ];
  const hours = [bucket(1, first, "v1", 0.2, 0.2), bucket(0, second, "v1", 0.2, 0.2), bucket(0, "cal_v2", "v2", 0.22, 0.22)];

  it("names each activation as the page names its calibration, with the id's end where two share a version", async () => {
    const html = await render("7d", hours, POINTS, [], incident);
    expect(desc(html)).toContain(
      [
        `Activated v1 (d247b3) at ${at(50).replace("T", " ").replace(".000Z", " UTC")}.`,
        `Activated v1 (1c9699) at ${at(49).replace("T", " ").replace(".000Z", " UTC")}.`,
        `Activated v2 at ${at(40).replace("T", " ").replace(".000Z", " UTC")}.`,
      ].join(" "),
    );
    expect(desc(html)).not.toMatch(/Activated v1 at/u);
    // in each layout, labels over the five (no two overprinting: test/dashboard/time-series.test.ts) whose tooltips
    // name all of them, in order, the same way
    const layouts = html.split('data-chart="drop-rate-series"').slice(1);
    expect(layouts).toHaveLength(2);
    for (const svg of layouts) {
      const titles = [...svg.matchAll(/data-part="activation-label"[^>]*><title>([^<]*)<\/title>/gu)].map((m) => m[1]!);
      expect(titles.join("; ").replace(/ activated at [^;]+/gu, "")).toBe("v1 (d247b3); v1 (1c9699); v2; v1 (1c9699); v2");
    }
    expect(html.match(/data-marker="activation"/gu)).toHaveLength(10);
  });

  it("names a version by itself when no other calibration the chart shows has it", async () => {
    const html = await render("24h", [bucket(0, "cal_v2", "v2", 0.22, 0.22)], POINTS, [], [activation(600, "cal_v2", "v2")]);
    expect(desc(html)).toContain(`Activated v2 at ${at(600).replace("T", " ").replace(".000Z", " UTC")}.`);
    expect(html).toMatch(/data-part="activation-label"[^>]*><title>v2 activated at [^<]+<\/title><text [^>]*>v2<\/text>/u);
  });
});

describe("the calibration history's policy", () => {
  it("names a calibration's guards and abstention beside its kind and target", () => {
    expect(policyWords({ kind: "drop_rate", target: 0.5 })).toBe("drop_rate 50.0\u00a0%");
    expect(policyWords({ kind: "drop_rate", target: 0.5, min_keep: 2, max_keep: 8, abstention: { alpha: 0.1 } })).toBe(
      "drop_rate 50.0\u00a0%, min_keep 2, max_keep 8, abstains (alpha 10.0\u00a0%)",
    );
    expect(policyWords({ kind: "recall", target: 0.9, coverage: "any_relevant", min_keep: 0, max_keep: null })).toBe("recall 90.0\u00a0%");
    expect(policyWords({ kind: "carry", threshold: 0.4, reference: "active", abstention: "carry" })).toBe("carry, abstains (carried)");
  });
});
