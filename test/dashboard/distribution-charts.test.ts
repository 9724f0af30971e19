// The gate page's score-distribution charts (ECDF and histogram) rendered to SVG text: both layouts, wide and narrow,
// with their own ids, and every label inside the chart in each, thresholds at the right edge included.
import { describe, expect, it } from "vitest";
import { EcdfChart, HistogramChart, type Marker, type Series } from "../../src/dashboard/charts/charts";
import { sameShares } from "../../src/dashboard/charts/scale";
import { buildDistribution } from "../../src/stats/distribution";

const dist = (lo: number, hi: number) =>
  buildDistribution(
    Float64Array.from({ length: 1000 }, (_, i) => lo + ((hi - lo) * i) / 999),
    2000,
  );
const series: Series[] = [
  { label: "v1", dist: dist(0, 1), tone: "prev" },
  { label: "v2", dist: dist(-0.3, 0.9), tone: "cur" },
];
// the old threshold near the top of the scores, so its labels meet the chart's right edge
const markers: Marker[] = [
  { label: "old 0.9731", value: 0.9731 },
  { label: "carried 0.1823", value: 0.1823 },
];

/** Each layout's SVG: its layout, width, ids, and its text elements' x, anchor and text. */
function layoutsOf(html: string) {
  return [...html.matchAll(/<svg [^>]*viewBox="0 0 (\d+) (\d+)"[^>]*>([\s\S]*?)<\/svg>/gu)].map((m) => {
    const open = m[0].slice(0, m[0].indexOf(">"));
    return {
      layout: /data-layout="(\w+)"/u.exec(open)?.[1],
      width: Number(m[1]),
      labelledBy: /aria-labelledby="([^"]+)"/u.exec(open)?.[1],
      texts: [...m[3]!.matchAll(/<text ([^>]*)>([^<]*)<\/text>/gu)].map((t) => ({
        x: Number(/\bx="([\d.-]+)"/u.exec(t[1]!)![1]),
        anchor: /text-anchor="(\w+)"/u.exec(t[1]!)?.[1] ?? "start",
        text: t[2]!,
      })),
    };
  });
}

describe("score distribution charts", () => {
  for (const [name, render] of [
    ["ECDF", () => EcdfChart({ series, markers, title: "Score distributions", desc: "test" })],
    ["histogram", () => HistogramChart({ series, markers, bins: 24, title: "Score distributions", desc: "test" })],
  ] as const) {
    it(`draws the ${name} in a wide and a narrow layout, one shown at a time, with every label inside`, async () => {
      const html = (await render().toString()) as string;
      expect(html).toMatch(/^<div class="layouts"><div class="wide-only"><svg /u);
      expect(html).toContain('<div class="narrow-only"><svg ');
      const layouts = layoutsOf(html);
      expect(layouts.map((l) => [l.layout, l.width])).toEqual([
        ["wide", 720],
        ["narrow", 360],
      ]);
      // each SVG names its own title and description
      expect(new Set(layouts.map((l) => l.labelledBy)).size).toBe(2);
      for (const { layout, width, texts } of layouts) {
        expect(texts.map((t) => t.text)).toEqual(expect.arrayContaining(["old 0.9731", "carried 0.1823"]));
        // inside the chart at 0.6 em a character of the 12 px font, the rotated axis title aside
        for (const t of texts.filter((t) => !t.text.startsWith("share of"))) {
          const w = [...t.text].length * 7.2;
          const [left, right] = t.anchor === "end" ? [t.x - w, t.x] : t.anchor === "middle" ? [t.x - w / 2, t.x + w / 2] : [t.x, t.x + w];
          expect(left, `${layout}: ${t.text}`).toBeGreaterThanOrEqual(0);
          // a share's tick label (right-aligned) clear of the rotated axis title at x = 14 (its glyphs reach x = 18)
          if (t.anchor === "end" && t.text.endsWith("%")) expect(left, `${layout}: ${t.text}`).toBeGreaterThanOrEqual(18);
          expect(right, `${layout}: ${t.text}`).toBeLessThanOrEqual(width);
        }
      }
      // The narrow layout asks for fewer score ticks: its labels do not run into each other.
      const ticks = (l: (typeof layouts)[number]) => l.texts.filter((t) => t.anchor === "middle" && /^-?[\d.]+$/u.test(t.text));
      expect(ticks(layouts[1]!).length).toBeLessThan(ticks(layouts[0]!).length);
      expect(html).not.toMatch(/NaN|undefined|Infinity/u);
    });
  }

  it("draws the drop-rate label of two calibrations with the same scores once at each threshold, and close ones apart", async () => {
    const same: Series[] = [
      { label: "v2 (e52e90)", dist: dist(0, 1), tone: "prev" },
      { label: "v2 (7ba9be)", dist: dist(0, 1), tone: "cur" },
    ];
    const html = (await EcdfChart({ series: same, markers, title: "t", desc: "d" }).toString()) as string;
    const svgs = [...html.matchAll(/<svg [\s\S]*?<\/svg>/gu)].map((m) => m[0]);
    expect(svgs).toHaveLength(2);
    for (const svg of svgs) {
      // the bold dot labels: one per threshold, not two printed over each other
      const shares = [...svg.matchAll(/<text [^>]*font-weight="bold"[^>]*>([^<]*)<\/text>/gu)].map((m) => m[1]);
      expect(shares.sort()).toEqual(["18\u00a0%", "97\u00a0%"]);
    }
    // two different shares a point apart: both drawn, at different heights
    const close: Series[] = [
      { label: "v1", dist: dist(0, 1), tone: "prev" },
      { label: "v2", dist: dist(0.01, 1.01), tone: "cur" },
    ];
    const closeHtml = (await EcdfChart({ series: close, markers: [{ label: "t 0.5", value: 0.5 }], title: "t", desc: "d" }).toString()) as string;
    const ys = [...closeHtml.matchAll(/<text [^>]*y="([\d.]+)"[^>]*font-weight="bold"[^>]*>([^<]*)<\/text>/gu)].slice(0, 2).map((m) => Number(m[1]));
    expect(ys).toHaveLength(2);
    expect(Math.abs(ys[0]! - ys[1]!)).toBeGreaterThanOrEqual(14);
  });

  it("draws the dashed curve over the solid one, whatever order the series come in, so that coinciding curves both show", async () => {
    for (const order of [series, [...series].reverse()]) {
      const html = (await EcdfChart({ series: order, markers, title: "t", desc: "d" }).toString()) as string;
      for (const svg of [...html.matchAll(/<svg [\s\S]*?<\/svg>/gu)].map((m) => m[0])) {
        const paths = [...svg.matchAll(/<path [^>]*data-series="([^"]+)"[^>]*>/gu)].map((m) => ({
          label: m[1],
          dashed: m[0].includes("stroke-dasharray"),
        }));
        expect(paths.map((p) => p.label)).toEqual(["v2", "v1"]);
        expect(paths.map((p) => p.dashed)).toEqual([false, true]);
      }
    }
  });
});

describe("sameShares", () => {
  it("is true for the same scores at any multiplicity, false for another score or another share", () => {
    const scores = Float64Array.from({ length: 300 }, (_, i) => ((i * 0.618034) % 1) - 0.2).sort();
    const twice = Float64Array.from([...scores, ...scores]).sort();
    expect(sameShares(buildDistribution(scores, 2000), buildDistribution(twice, 2000))).toBe(true);
    const moved = Float64Array.from(scores, (s, i) => (i === 7 ? s + 1e-9 : s)).sort();
    expect(sameShares(buildDistribution(scores, 2000), buildDistribution(moved, 2000))).toBe(false);
    // the same knots, one score counted twice: another share below the scores above it
    const oneMore = Float64Array.from([...scores, scores[0]!]).sort();
    expect(sameShares(buildDistribution(scores, 2000), buildDistribution(oneMore, 2000))).toBe(false);
  });
});
