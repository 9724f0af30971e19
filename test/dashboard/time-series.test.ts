// The gate page's drop rate over time, rendered to SVG text from hourly buckets: a gap where no batch arrived, one
// line per calibration, the expected rate and band, the alarms and activations marked, evidence beyond the panel
// written out, in both layouts.
import { describe, expect, it } from "vitest";
import type { SeriesBucket } from "../../src/contract";
import { alarmsOf, DropRateSeriesChart } from "../../src/dashboard/charts/time-series";

const HOUR = 3600 * 1000;
const T0 = Date.UTC(2026, 11, 1);

function bucket(h: number, calibration: string, version: string, dropRate: number, o: Partial<SeriesBucket> = {}): SeriesBucket {
  return {
    calibration_id: calibration,
    index_version: version,
    start: new Date(T0 + h * HOUR).toISOString(),
    end: new Date(T0 + (h + 1) * HOUR).toISOString(),
    batches: 1,
    queries: 100,
    candidates: 2000,
    dropped: Math.round(2000 * dropRate),
    empty_queries: 0,
    gated_queries: 100,
    drop_rate: dropRate,
    expected: 0.22,
    band: { lo: 0.2, hi: 0.24 },
    log_evidence: 1,
    max_log_evidence: 1,
    log_threshold: 17.5,
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

// v1 for hours 0-9 and 13-19 (no batch in hours 10-12), alarms in hours 16 and 18 (the second far beyond the panel's
// top), then v2 from hour 20.
const buckets: SeriesBucket[] = [
  ...Array.from({ length: 20 }, (_, h) => h)
    .filter((h) => h < 10 || h > 12)
    .map((h) =>
      bucket(h, "cal_v1", "v1", h < 15 ? 0.22 : 0.3, {
        ...(h === 16 ? { drop_rate_alarms: 1, last_alarm_at: new Date(T0 + h * HOUR + 60_000).toISOString(), max_log_evidence: 20 } : {}),
        ...(h === 18 ? { drop_rate_alarms: 2, last_alarm_at: new Date(T0 + h * HOUR + 120_000).toISOString(), max_log_evidence: 400 } : {}),
      }),
    ),
  ...Array.from({ length: 4 }, (_, i) => bucket(20 + i, "cal_v2", "v2", 0.21)),
];

async function render(): Promise<string> {
  const node = DropRateSeriesChart({
    buckets,
    activations: [{ at: new Date(T0 + 20 * HOUR).toISOString(), index_version: "v2" }],
    fromMs: T0,
    toMs: T0 + 23.5 * HOUR,
    bucketMs: HOUR,
    title: "Production drop rate",
    desc: "test",
  });
  return (await node.toString()) as string;
}

/** The `d` of the path with data-part `part` in the group of `calibration` within one layout's SVG. */
function pathOf(svg: string, calibration: string, part: string): string {
  const group = svg.slice(svg.indexOf(`data-calibration="${calibration}"`));
  return new RegExp(`<path d="([^"]*)"[^>]*data-part="${part}"`, "u").exec(group)![1]!;
}

describe("drop rate over time chart", () => {
  it("marks an hour whose only alarm was the abstention test's, and counts every test's alarms", () => {
    const at = new Date(T0 + 3 * HOUR + 60_000).toISOString();
    const hours = [
      bucket(2, "cal_v1", "v1", 0.22),
      bucket(3, "cal_v1", "v1", 0.22, { abstention_alarms: 1, last_alarm_at: at }),
      bucket(4, "cal_v1", "v1", 0.3, { drop_rate_alarms: 1, empty_context_alarms: 1, abstention_alarms: 1, last_alarm_at: at.replace("T03", "T04") }),
    ];
    expect(alarmsOf(hours)).toEqual([
      { at, count: 1, index_version: "v1" },
      { at: at.replace("T03", "T04"), count: 3, index_version: "v1" },
    ]);
  });

  it("draws each calibration with its gaps, expected rate and band, and marks alarms and activations in both layouts", async () => {
    const html = await render();
    const layouts = html.split('data-chart="drop-rate-series"').slice(1);
    expect(layouts).toHaveLength(2);
    expect(html).toContain('data-layout="wide"');
    expect(html).toContain('data-layout="narrow"');
    for (const svg of layouts) {
      const part = svg.slice(0, svg.indexOf("</svg>"));
      // v1's observed line breaks at the three silent hours: two segments; v2's is one.
      expect(pathOf(part, "cal_v1", "observed").match(/M/gu)).toHaveLength(2);
      expect(pathOf(part, "cal_v2", "observed").match(/M/gu)).toHaveLength(1);
      for (const name of ["band", "expected", "evidence"]) expect(pathOf(part, "cal_v1", name).match(/M/gu), name).toHaveLength(2);
      // One dot per hour with observations.
      expect(part.match(/<circle /gu)).toHaveLength(buckets.length);
      // Two hours with alarms, one activation, and the evidence of 400 written out above the panel.
      expect(part.match(/data-marker="alarm"/gu)).toHaveLength(2);
      expect(part.match(/data-marker="activation"/gu)).toHaveLength(1);
      expect(part).toContain(">v2</text>");
      expect(part).toMatch(/data-part="off-scale"[^>]*>↑400</u);
      expect(part).not.toMatch(/NaN|undefined|Infinity/u);
      // Nothing is drawn right of the plot area, though the range ends inside the last bucket's hour.
      // the plot area's right edge: the width less the right margin (720 - 20, 360 - 12)
      const right = svg.startsWith(' data-layout="wide"') ? 700 : 348;
      for (const m of part.matchAll(/ (?:x|x1|x2|cx)="([\d.]+)"/gu)) expect(Number(m[1])).toBeLessThanOrEqual(right);
    }
  });
});
