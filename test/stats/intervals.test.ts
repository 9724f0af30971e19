import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/intervals.json";
import { dropRateInterval, orderStatisticRanks, scoresNeededFor } from "../../src/stats/intervals";

/** |actual - expected| <= rtol |expected| (exact when expected is 0). */
function expectRel(actual: number, expected: number, rtol: number, label: string): void {
  const error = Math.abs(actual - expected);
  expect(error, `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rtol * Math.abs(expected));
}

describe("dropRateInterval against scipy.stats.beta(k, n+1-k).ppf", () => {
  it(`matches ${golden.dropRate.length} (k, n, level) cases to 1e-9 relative`, () => {
    for (const c of golden.dropRate) {
      const [lo, hi] = dropRateInterval(c.k, c.n, c.level);
      const label = `k=${c.k} n=${c.n} level=${c.level}`;
      expectRel(lo, c.lower, 1e-9, `${label} lower`);
      expectRel(hi, c.upper, 1e-9, `${label} upper`);
    }
  });

  it("is [0, 0] for k = 0 (no gate drops nothing) and uses level 0.95 by default", () => {
    expect(dropRateInterval(0, 100)).toEqual([0, 0]);
    const c = golden.dropRate.find((r) => r.k === 3001 && r.n === 10000 && r.level === 0.95)!;
    expect(c).toBeDefined();
    expect(dropRateInterval(3001, 10000)).toEqual(dropRateInterval(3001, 10000, 0.95));
    expectRel(dropRateInterval(3001, 10000)[0], c.lower, 1e-9, "default level");
  });

  it("rejects k outside 0..n and non-integers", () => {
    for (const [k, n] of [
      [-1, 10],
      [11, 10],
      [1.5, 10],
      [1, 2.5],
    ] as const) {
      expect(() => dropRateInterval(k, n)).toThrow(RangeError);
    }
  });
});

describe("orderStatisticRanks against scipy.stats.quantile_test(...).confidence_interval()", () => {
  it("n = 10000, p = 0.3 gives ranks 2910 and 3091 (docs/methods.md)", () => {
    expect(orderStatisticRanks(10_000, 0.3)).toEqual({ lower: 2910, upper: 3091 });
  });

  it(`matches ${golden.orderStatisticRanks.length} (n, p, level) cases, unbounded ends as null`, () => {
    for (const c of golden.orderStatisticRanks) {
      expect(orderStatisticRanks(c.n, c.p, c.level), `n=${c.n} p=${c.p} level=${c.level}`).toEqual({
        lower: c.lower,
        upper: c.upper,
      });
    }
  });

  it("has cases with each end unbounded and with both bounded (the matrix is not vacuous)", () => {
    const rows = golden.orderStatisticRanks;
    expect(rows.some((r) => r.lower === null && r.upper !== null)).toBe(true);
    expect(rows.some((r) => r.lower !== null && r.upper === null)).toBe(true);
    expect(rows.some((r) => r.lower === null && r.upper === null)).toBe(true);
    expect(rows.some((r) => r.lower !== null && r.upper !== null && r.n < 30)).toBe(true);
  });

  it("rejects n < 1 and p outside (0, 1)", () => {
    for (const n of [0, -1, 2.5]) expect(() => orderStatisticRanks(n, 0.5)).toThrow(RangeError);
    for (const p of [0, 1, -0.1, NaN]) expect(() => orderStatisticRanks(10, p)).toThrow(RangeError);
  });
});

describe("scoresNeededFor against ceil((norm.ppf(1 - a/2) / h)^2 d (1 - d))", () => {
  it(`matches ${golden.scoresNeeded.length} cases`, () => {
    for (const c of golden.scoresNeeded) {
      expect(scoresNeededFor(c.d, c.halfWidth, c.level), `d=${c.d} h=${c.halfWidth} level=${c.level}`).toBe(c.expected);
    }
  });

  it("gives about 8.1k scores for +-1 point at d = 0.3 and 1.8k at d = 0.05 (docs/methods.md)", () => {
    const c = golden.scoresNeeded.find((r) => r.d === 0.3 && r.halfWidth === 0.01 && r.level === 0.95)!;
    expect(scoresNeededFor(0.3, 0.01)).toBe(c.expected);
    expect(scoresNeededFor(0.3, 0.01)).toBe(8068);
    expect(scoresNeededFor(0.05, 0.01)).toBe(1825); // "1.8k at d = 0.05" (docs/methods.md, intervals.ts)
  });
});
