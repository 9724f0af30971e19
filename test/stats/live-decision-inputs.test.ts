import { describe, expect, it } from "vitest";
import { adjustedVariance, decideChange } from "../../src/stats/change-decision";
import { effectiveSizeFor, UNSEEN_SHARE_VARIANCE } from "../../src/stats/conditioned-rates";
import { decideChangeAnytime } from "../../src/stats/sequential-change";

// Inputs that used to come back as numbers (or NaN) without a word: a non-finite effective size made every field of
// the live decision NaN, and effectiveSizeFor turned a NaN rate into a size of 1e-6.
const levels = { alphaShift: 0.001, alphaEquivalence: 0.05, plannedQueries: 200, minQueries: 50 };

describe("decideChangeAnytime refuses an effective size that is not a finite number", () => {
  it("throws for Infinity on either side instead of answering with NaN", () => {
    const ok = { rate: 0.2, effectiveSize: 500, queries: 100 };
    const inf = { rate: 0.2, effectiveSize: Number.POSITIVE_INFINITY, queries: 100 };
    expect(() => decideChangeAnytime(inf, ok, 0.02, levels)).toThrow(RangeError);
    expect(() => decideChangeAnytime(ok, inf, 0.02, levels)).toThrow(RangeError);
  });

  it("still answers at the largest finite sizes, every field finite", () => {
    const big = { rate: 0.2, effectiveSize: 1e15, queries: 1e9 };
    const d = decideChangeAnytime(big, { ...big, rate: 0.21 }, 0.02, levels);
    expect(d.decision).toBe("equivalent");
    for (const v of [d.change, d.standardError, ...(d.interval95 ?? [])]) expect(Number.isFinite(v)).toBe(true);
  });
});

describe("effectiveSizeFor", () => {
  it("refuses a rate outside [0, 1] or NaN, and a variance that is negative or NaN", () => {
    expect(() => effectiveSizeFor(Number.NaN, 0.01)).toThrow(RangeError);
    expect(() => effectiveSizeFor(1.5, 0.01)).toThrow(RangeError);
    expect(() => effectiveSizeFor(0.3, Number.NaN)).toThrow(RangeError);
    expect(() => effectiveSizeFor(0.3, -1e-9)).toThrow(RangeError);
  });

  it("gives Infinity for a variance of 0 (a target known exactly)", () => {
    expect(effectiveSizeFor(0.3, 0)).toBe(Number.POSITIVE_INFINITY);
  });

  it("returns the size whose Agresti-Caffo variance is the one given, rates 0 and 1 included", () => {
    for (const rate of [0, 1e-6, 0.21, 0.5, 1]) {
      for (const v of [1e-12, 1e-6, 1e-3, UNSEEN_SHARE_VARIANCE]) {
        const n = effectiveSizeFor(rate, v);
        expect(Math.abs(adjustedVariance(rate, n) - v) / v).toBeLessThan(1e-8);
      }
    }
  });
});

describe("the more-data factor stays a finite number", () => {
  // A tolerance a hair above 0 (shift_tolerance accepts any number in [0, 1]) squared the ratio past the largest
  // double: Infinity, which JSON writes as null, the value that means "on the tolerance's edge".
  const side = { rate: 0.2, effectiveSize: 1000, queries: 100 };

  it("in the live decision", () => {
    const d = decideChangeAnytime(side, side, 1e-160, levels);
    expect(d.decision).toBe("inconclusive");
    expect(Number.isFinite(d.moreDataFactor)).toBe(true);
    expect(d.moreDataFactor!).toBeGreaterThan(1e30);
  });

  it("in the rebuild decision", () => {
    const d = decideChange(0.2, 1000, 0.2, 1000, 1e-160, 0.001, 0.05);
    expect(d.decision).toBe("inconclusive");
    expect(Number.isFinite(d.moreDataFactor)).toBe(true);
    expect(d.moreDataFactor!).toBeGreaterThan(1e30);
  });
});
