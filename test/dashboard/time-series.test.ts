// The gate page's drop rate over time, rendered to SVG text from hourly buckets: a gap where no batch arrived, one
// line per calibration, the expected rate and band, the alarms and activations marked, evidence beyond the panel
// written out, in both layouts.
import { describe, expect, it } from "vitest";
import type { SeriesBucket } from "../../src/contract";
import type { ShareLine } from "../../src/dashboard/charts/share-panel";
import { alarmsOf, type ChartActivation, DropRateSeriesChart, offScaleLabels } from "../../src/dashboard/charts/time-series";

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
    unscored_candidates: 0,
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

async function render(
  input: { buckets?: SeriesBucket[]; abstention?: ShareLine[]; guard?: ShareLine[]; activations?: ChartActivation[]; hours?: number } = {},
): Promise<string> {
  const node = DropRateSeriesChart({
    buckets: input.buckets ?? buckets,
    ...(input.abstention ? { abstention: input.abstention } : {}),
    ...(input.guard ? { guard: input.guard } : {}),
    activations: input.activations ?? [{ at: new Date(T0 + 20 * HOUR).toISOString(), name: "v2" }],
    fromMs: T0,
    toMs: T0 + (input.hours ?? 23.5) * HOUR,
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
      expect(part).toMatch(/data-part="activation-label"[^>]*><title>v2 activated at 2026-12-01 20:00:00 UTC<\/title><text [^>]*>v2<\/text>/u);
      expect(part).toMatch(/data-part="off-scale"><tspan fill="#1f5fa8" data-calibration="cal_v1">↑400 v1<\/tspan>/u);
      expect(part).not.toMatch(/NaN|undefined|Infinity/u);
      // Nothing is drawn right of the plot area, though the range ends inside the last bucket's hour.
      // the plot area's right edge: the width less the right margin (720 - 20, 360 - 12)
      const right = svg.startsWith(' data-layout="wide"') ? 700 : 348;
      for (const m of part.matchAll(/ (?:x|x1|x2|cx)="([\d.]+)"/gu)) expect(Number(m[1])).toBeLessThanOrEqual(right);
    }
  });

  it("draws an abstaining calibration's share of abstaining queries per hour in a panel of its own, with its expected rate and band", async () => {
    // v1 abstains: 10 % in hours 0-9 and 30 % from hour 13 (hours 10-12 silent); v2 does not (no panel line for it).
    const withAbstention = buckets.map((b) =>
      b.calibration_id === "cal_v1"
        ? { ...b, abstention_queries: 100, abstained_queries: 10, abstention_rate: Date.parse(b.start) < T0 + 12 * HOUR ? 0.1 : 0.3 }
        : b,
    );
    const plain = await render();
    const html = await render({
      buckets: withAbstention,
      abstention: [{ calibration_id: "cal_v1", traffic: "served", expected: 0.12, band: [0.05, 0.2] }],
    });
    const heights = (h: string) => [...h.matchAll(/viewBox="0 0 \d+ (\d+)"/gu)].map((m) => Number(m[1]));
    // The panel (110 px and a 44 px gap) is added only where there is abstention to show.
    expect(heights(html)).toEqual(heights(plain).map((h) => h + 154));
    expect(await render({ abstention: [{ calibration_id: "cal_v1", traffic: "served", expected: 0.12, band: [0.05, 0.2] }] })).toBe(plain);
    for (const svg of html.split('data-chart="drop-rate-series"').slice(1)) {
      const panel = svg.slice(svg.indexOf('data-panel="abstention"'), svg.indexOf("</g></g>", svg.indexOf('data-panel="abstention"')));
      expect(panel).toContain(">Abstention per hour (share of queries)</text>");
      expect(panel).not.toContain("cal_v2");
      // Broken at the silent hours like the drop rate: two segments of each part.
      for (const name of ["abstention", "abstention-expected", "abstention-band"])
        expect(pathOf(panel, "cal_v1", name).match(/M/gu), name).toHaveLength(2);
      // One dot per hour of v1, 30 % drawn above 10 %, all of them between the panel's axis lines.
      const dots = [...panel.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"[^>]*data-bucket="([^"]+)"/gu)].map((m) => ({ y: Number(m[1]), at: m[2]! }));
      expect(dots).toHaveLength(withAbstention.filter((b) => b.abstention_rate !== null).length);
      const y = (rate: number) => new Set(dots.filter((d) => (Date.parse(d.at) < T0 + 12 * HOUR ? 0.1 : 0.3) === rate).map((d) => d.y));
      expect(y(0.1).size).toBe(1);
      expect(y(0.3).size).toBe(1);
      expect([...y(0.3)][0]!).toBeLessThan([...y(0.1)][0]!);
      // the panel's vertical axis: its first dark line
      const axis = /<line x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)" y2="([\d.]+)" stroke="#333"/u.exec(panel)!;
      const [top, bottom] = [Number(axis[1]), Number(axis[2])];
      for (const d of dots) expect(d.y > top && d.y < bottom, `${d.y} in [${top}, ${bottom}]`).toBe(true);
      expect(panel).not.toMatch(/NaN|undefined|Infinity/u);
    }
  });

  it("draws a min_keep calibration's guard binding per hour in its own panel above the abstention one", async () => {
    // v1's guard binds on 20 % of queries in hours 0-9 and 40 % from hour 13; it also abstains (10 %).
    const guarded = buckets.map((b) =>
      b.calibration_id === "cal_v1"
        ? {
            ...b,
            guard_bound_queries: Date.parse(b.start) < T0 + 12 * HOUR ? 20 : 40,
            abstention_queries: 100,
            abstained_queries: 10,
            abstention_rate: 0.1,
          }
        : b,
    );
    const line = { calibration_id: "cal_v1", traffic: "served" as const, expected: 0.22, band: [0.15, 0.3] as const };
    const plain = await render();
    const heights = (h: string) => [...h.matchAll(/viewBox="0 0 \d+ (\d+)"/gu)].map((m) => Number(m[1]));
    // no hour where the guard bound: no panel
    expect(await render({ guard: [line] })).toBe(plain);
    const both = await render({ buckets: guarded, guard: [line], abstention: [{ ...line, expected: 0.1, band: [0.05, 0.15] }] });
    expect(heights(both)).toEqual(heights(plain).map((h) => h + 2 * 154));
    for (const svg of both.split('data-chart="drop-rate-series"').slice(1)) {
      const at = svg.indexOf('data-panel="guard"');
      expect(at).toBeGreaterThan(0);
      expect(at).toBeLessThan(svg.indexOf('data-panel="abstention"'));
      const panel = svg.slice(at, svg.indexOf('data-panel="abstention"'));
      expect(panel).toContain(">Guard binding per hour (share of queries where min_keep bound)</text>");
      expect(panel).not.toContain("cal_v2");
      for (const name of ["guard", "guard-expected", "guard-band"]) expect(pathOf(panel, "cal_v1", name).match(/M/gu), name).toHaveLength(2);
      // v1's buckets hold 100 queries: 20 and 40 bound, drawn at two heights, 40 % above 20 %
      const dots = [...panel.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"[^>]*data-bucket="([^"]+)"/gu)].map((m) => ({ y: Number(m[1]), at: m[2]! }));
      expect(dots).toHaveLength(guarded.filter((b) => b.calibration_id === "cal_v1").length);
      const y = (early: boolean) => new Set(dots.filter((d) => Date.parse(d.at) < T0 + 12 * HOUR === early).map((d) => d.y));
      expect(y(true).size).toBe(1);
      expect(y(false).size).toBe(1);
      expect([...y(false)][0]!).toBeLessThan([...y(true)][0]!);
      expect(panel).not.toMatch(/NaN|undefined|Infinity/u);
    }
  });

  /** What `read` finds in each layout (wide, narrow) of the drop-rate chart, with the layout's name. */
  function eachLayout<T>(html: string, read: (part: string) => T): (T & { layout: string })[] {
    return html
      .split('data-chart="drop-rate-series"')
      .slice(1)
      .map((svg) => {
        const part = svg.slice(0, svg.indexOf("</svg>"));
        return { layout: /data-layout="(\w+)"/u.exec(part)![1]!, ...read(part) };
      });
  }

  describe("off-scale evidence labels", () => {
    /** Each layout's off-scale labels: x, the parts' texts and colours, and the tooltip. */
    function offScaleOf(html: string) {
      return eachLayout(html, (part) => ({
        labels: [
          ...part.matchAll(
            /data-part="off-scale-label"[^>]*><title>([^<]*)<\/title><text x="([\d.]+)"[^>]*>((?:<tspan[^>]*>[^<]*<\/tspan>)+)<\/text>/gu,
          ),
        ].map((m) => ({
          title: m[1]!.replaceAll("&#39;", "'"),
          x: Number(m[2]),
          parts: [...m[3]!.matchAll(/<tspan fill="([^"]+)"[^>]*>([^<]*)<\/tspan>/gu)].map((t) => ({ color: t[1]!, text: t[2]! })),
        })),
      }));
    }

    it("names each series of an hour where two are above the panel's top, in its colour, once", async () => {
      // v1 served peaks at 94.7, v3's promotion candidate arm at 74.8, in the same hour (the panel's top is 35)
      const hours = [
        ...Array.from({ length: 6 }, (_, h) => bucket(h, "cal_v1", "v1", 0.22, h === 5 ? { max_log_evidence: 94.7 } : {})),
        ...Array.from({ length: 3 }, (_, i) =>
          bucket(3 + i, "cal_v3", "v3", 0.3, { traffic: "candidate", ...(i === 2 ? { max_log_evidence: 74.8 } : {}) }),
        ),
      ];
      for (const hoursShown of [23.5, 7 * 24]) {
        for (const { layout, labels } of offScaleOf(await render({ buckets: hours, activations: [], hours: hoursShown }))) {
          expect(labels, `${hoursShown} h ${layout}`).toHaveLength(1);
          expect(labels[0]!.parts).toEqual([
            { color: "#1f5fa8", text: "↑95 v1" },
            { color: "#a8401a", text: "↑75 v3" },
          ]);
          expect(labels[0]!.title).toBe(
            "v1: evidence ln R 94.7 in the hour from 2026-12-01 05:00:00 UTC, above the panel's top; v3: evidence ln R 74.8 in the hour from 2026-12-01 05:00:00 UTC, above the panel's top",
          );
        }
      }
    });

    it("keeps labels of neighbouring hours apart at every range, each inside the plot, and loses no bucket", () => {
      // off-scale evidence every hour for 12 hours on two lines, at 24 hours of 650 px (27 px an hour) down to 7 days
      const items = Array.from({ length: 24 }, (_, i) => ({
        b: bucket(i >> 1, i % 2 === 0 ? "cal_v1" : "cal_v2", i % 2 === 0 ? "v1" : "v2", 0.3, { max_log_evidence: 40 + i }),
        x: 58 + ((i >> 1) * 650) / 24,
        name: i % 2 === 0 ? "v1 (d247b3)" : "v2 shadow",
        color: i % 2 === 0 ? "#1f5fa8" : "#a8401a",
      }));
      for (const scale of [1, 1 / 7, 1 / 30]) {
        const labels = offScaleLabels(
          items.map((it) => ({ ...it, x: 58 + (it.x - 58) * scale })),
          58,
          700,
        );
        for (const [i, l] of labels.entries()) {
          expect(l.left).toBeGreaterThanOrEqual(58);
          expect(l.right).toBeLessThanOrEqual(700);
          if (i > 0) expect(l.left, `${scale}`).toBeGreaterThanOrEqual(labels[i - 1]!.right);
          // at 0.6 em a character of the 11 px font, a floor independent of the chart's estimate
          expect(l.right - l.left).toBeGreaterThanOrEqual(l.parts.map((p) => [...p.text].length * 6.6).reduce((a, b) => a + b, 0));
          for (const p of l.parts) expect(p.text).toMatch(/^↑\d+ (?:v1 \(d247b3\)|v2 shadow)$|^\+\d+ more$/u);
        }
        expect(labels.flatMap((l) => l.members)).toHaveLength(items.length);
      }
    });
  });

  describe("activation labels", () => {
    /** Each layout's activation markers and labels: the labels' x, y and text, and their tooltips. */
    function labelsOf(html: string) {
      return eachLayout(html, (part) => ({
        markers: part.match(/data-marker="activation"/gu)?.length ?? 0,
        labels: [
          ...part.matchAll(/data-part="activation-label"[^>]*><title>([^<]*)<\/title><text x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)<\/text>/gu),
        ].map((m) => ({ title: m[1]!, x: Number(m[2]), y: Number(m[3]), text: m[4]! })),
      }));
    }

    /**
     * No two labels on one row closer than the first one's text is wide, at 0.6 em a character of the 12 px font
     * (a floor, independent of the chart's own estimate), and each label inside the chart.
     */
    function expectApart(labels: { x: number; y: number; text: string }[], width: number) {
      const sorted = [...labels].sort((a, b) => a.y - b.y || a.x - b.x);
      for (let i = 1; i < sorted.length; i++) {
        const [a, b] = [sorted[i - 1]!, sorted[i]!];
        if (a.y === b.y) expect(b.x - a.x, `${a.text} at ${a.x}, ${b.text} at ${b.x}`).toBeGreaterThanOrEqual([...a.text].length * 7.2);
      }
      for (const l of labels) {
        expect(l.x).toBeGreaterThanOrEqual(0);
        expect(l.x + [...l.text].length * 7.2).toBeLessThanOrEqual(width);
      }
    }

    const at = (ms: number) => new Date(ms).toISOString();
    // An incident: upload, auto-activate, roll forward, roll back, roll forward, all within an hour, in hour 20.
    const incident: ChartActivation[] = [
      { at: at(T0 + 20 * HOUR), name: "v1 (d247b3)" },
      { at: at(T0 + 20 * HOUR + 60_000), name: "v1 (1c9699)" },
      { at: at(T0 + 20 * HOUR + 600_000), name: "v2" },
      { at: at(T0 + 20 * HOUR + 1_200_000), name: "v1 (1c9699)" },
      { at: at(T0 + 20 * HOUR + 3_000_000), name: "v2" },
    ];

    it("draws activations within an hour as one label at every range, keeping a marker for each and naming all of them", async () => {
      // the chart runs from hour 0: 24 hours, 7 days, 30 days
      for (const hours of [23.5, 7 * 24, 30 * 24]) {
        for (const { layout, markers, labels } of labelsOf(await render({ activations: incident, hours }))) {
          expect(markers, `${hours} h ${layout}`).toBe(5);
          // too long to join: counted, with every activation in the label's tooltip
          if (hours > 24) expect(labels.map((l) => l.text)).toEqual(["5 activations"]);
          expectApart(labels, layout === "wide" ? 720 : 360);
          expect(labels.map((l) => l.title).join("; ")).toBe(
            incident.map((a) => `${a.name} activated at ${a.at.replace("T", " ").replace(".000Z", " UTC")}`).join("; "),
          );
        }
      }
    });

    it("joins the names of a few close activations, and keeps distant ones apart", async () => {
      const close: ChartActivation[] = [
        { at: at(T0 + 2 * HOUR), name: "v1" },
        { at: at(T0 + 2 * HOUR + 60_000), name: "v2" },
        { at: at(T0 + 2 * HOUR + 120_000), name: "v1" },
        { at: at(T0 + 12 * HOUR), name: "v3" },
      ];
      for (const { layout, labels } of labelsOf(await render({ activations: close }))) {
        expect(
          labels.map((l) => l.text),
          layout,
        ).toEqual(["v1→v2→v1", "v3"]);
        expectApart(labels, layout === "wide" ? 720 : 360);
      }
    });

    it("joins activations at one moment at the right edge into one label, in both layouts", async () => {
      // v1, v2 and v1 again within 20 s, minutes before the range ends: their lines are at the chart's right edge, where
      // a label goes left of its lines, so a later one's reaches no further right than the joined label's lines
      const edge: ChartActivation[] = [
        { at: at(T0 + 23.4 * HOUR), name: "v1" },
        { at: at(T0 + 23.4 * HOUR + 10_000), name: "v2" },
        { at: at(T0 + 23.4 * HOUR + 20_000), name: "v1" },
      ];
      for (const { layout, markers, labels } of labelsOf(await render({ activations: edge }))) {
        expect(markers).toBe(3);
        expect(
          labels.map((l) => l.text),
          layout,
        ).toEqual(["v1→v2→v1"]);
        expectApart(labels, layout === "wide" ? 720 : 360);
      }
    });

    it("keeps labels apart where activations crowd the chart's right edge and are spread over the range", async () => {
      // every 40 minutes over the last 6 hours of the range, and every 5 hours before that
      const crowded: ChartActivation[] = [
        ...Array.from({ length: 4 }, (_, i) => ({ at: at(T0 + i * 5 * HOUR), name: i % 2 === 0 ? "v1 (d247b3)" : "v2" })),
        ...Array.from({ length: 9 }, (_, i) => ({ at: at(T0 + 17.5 * HOUR + i * 40 * 60_000), name: i % 2 === 0 ? "v3" : "v1 (1c9699)" })),
      ];
      for (const hours of [23.5, 7 * 24]) {
        for (const { layout, markers, labels } of labelsOf(await render({ activations: crowded, hours }))) {
          expect(markers).toBe(crowded.length);
          expectApart(labels, layout === "wide" ? 720 : 360);
          // nothing is lost: the tooltips name every activation once, in order
          expect(
            labels
              .map((l) => l.title)
              .join("; ")
              .split("; "),
          ).toHaveLength(crowded.length);
        }
      }
    });
  });
});
