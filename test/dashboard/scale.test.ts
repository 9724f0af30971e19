import { describe, expect, it } from "vitest";
import { counted, dropRateAt, ecdfPoints, fixed, histogram, inPoints, pct, percent, points } from "../../src/dashboard/charts/scale";
import { pctTick } from "../../src/dashboard/charts/series-parts";
import { buildDistribution } from "../../src/stats/distribution";

const dist = buildDistribution(
  Float64Array.from({ length: 100 }, (_, i) => i / 100),
  2000,
);

describe("chart helpers", () => {
  it("ECDF points, histogram shares and drop rates come from the stored distribution", () => {
    const pts = ecdfPoints(dist, 10);
    expect(pts.length).toBeLessThanOrEqual(11);
    expect(pts.at(-1)).toEqual([0.99, 1]);
    const bins = histogram(dist, 0, 1, 4);
    expect(bins.reduce((s, b) => s + b.share, 0)).toBeCloseTo(1, 10);
    expect(dropRateAt(dist, 0.4)).toBe(0.4);
    expect(dropRateAt(dist, null)).toBe(0);
  });

  it("joins every figure to its unit with a non-breaking space, so a line never ends between them", () => {
    expect(pct(0.22)).toBe("22.0\u00a0%");
    expect(pct(0.22, 0)).toBe("22\u00a0%");
    expect(pct(null)).toBe("–");
    expect(pctTick(0.125)).toBe("12.5\u00a0%");
    expect(percent(50)).toBe("50\u00a0%");
    expect(points(0.38)).toBe("+38.0\u00a0points");
    expect(points(-0.0004)).toBe("0.0\u00a0points");
    expect(inPoints(fixed(0.02 * 100, 1))).toBe("2.0\u00a0points");
  });

  it("writes a count with its noun, singular for one and with thousands separators", () => {
    expect(counted(1, "batch", "batches")).toBe("1 batch");
    expect(counted(0, "batch", "batches")).toBe("0 batches");
    expect(counted(1200, "query", "queries")).toBe("1,200 queries");
    expect(counted(2, "hour")).toBe("2 hours");
  });
});
