import { describe, expect, it } from "vitest";
import { dropRateAt, ecdfPoints, histogram, pct } from "../../src/dashboard/charts/scale";
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
    expect(pct(0.22)).toBe("22.0 %");
  });
});
