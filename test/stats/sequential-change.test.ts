import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/sequential.json";
import { csMultiplier, decideChangeAnytime } from "../../src/stats/sequential-change";

interface Side {
  rate: number;
  effective: number;
  queries: number;
}
const side = (s: Side) => ({ rate: s.rate, effectiveSize: s.effective, queries: s.queries });

describe("csMultiplier (fixtures/golden/sequential.json)", () => {
  it("matches numpy at every t, level and planned size, and is wider than the fixed-n quantile", () => {
    expect(golden.multipliers.length).toBe(72);
    for (const m of golden.multipliers) {
      const k = csMultiplier(m.t, m.alpha, m.t_star);
      expect(k).toBeCloseTo(m.k, 9);
      expect(k).toBeGreaterThan(m.z);
    }
  });

  it("refuses t <= 0, alpha outside (0, 1) and tStar < 1", () => {
    expect(() => csMultiplier(0, 0.05, 100)).toThrow(RangeError);
    expect(() => csMultiplier(10, 1, 100)).toThrow(RangeError);
    expect(() => csMultiplier(10, 0.05, 0.5)).toThrow(RangeError);
    expect(() => csMultiplier(Number.NaN, 0.05, 100)).toThrow(RangeError);
  });
});

describe("decideChangeAnytime (fixtures/golden/sequential.json)", () => {
  it("reproduces every decision, change, se, interval and more-data factor", () => {
    const kinds = new Set<string>();
    for (const c of golden.decisions) {
      const got = decideChangeAnytime(side(c.reference), side(c.live), c.tol, {
        alphaShift: c.alpha_shift,
        alphaEquivalence: c.alpha_equivalence,
        plannedQueries: c.t_star,
        minQueries: c.min_queries,
      });
      const e = c.expected;
      kinds.add(e.decision);
      expect(got.decision).toBe(e.decision);
      expect(got.change).toBeCloseTo(e.change, 12);
      expect(got.standardError).toBeCloseTo(e.se, 12);
      if (e.interval95 === null) expect(got.interval95).toBeNull();
      else {
        expect(got.interval95![0]).toBeCloseTo(e.interval95[0]!, 10);
        expect(got.interval95![1]).toBeCloseTo(e.interval95[1]!, 10);
      }
      if (e.more_data_factor === null) expect(got.moreDataFactor).toBeNull();
      else expect(got.moreDataFactor).toBeCloseTo(e.more_data_factor, 8);
    }
    expect([...kinds].sort()).toEqual(["equivalent", "inconclusive", "shifted"]);
  });

  const levels = { alphaShift: 0.001, alphaEquivalence: 0.05, plannedQueries: 2000, minQueries: 50 };

  it("answers nothing during burn-in, however large the change", () => {
    const d = decideChangeAnytime({ rate: 0.22, effectiveSize: 1000, queries: 400 }, { rate: 0.59, effectiveSize: 200, queries: 49 }, 0.02, levels);
    expect(d).toMatchObject({ decision: "inconclusive", interval95: null, moreDataFactor: null });
  });

  it("handles rates of 0 and 1 (se never 0) and refuses NaN", () => {
    const d = decideChangeAnytime({ rate: 0, effectiveSize: 50, queries: 50 }, { rate: 0, effectiveSize: 50, queries: 50 }, 0.02, levels);
    expect(d.standardError).toBeGreaterThan(0);
    expect(d.decision).not.toBe("equivalent");
    expect(
      decideChangeAnytime({ rate: 1, effectiveSize: 1e5, queries: 1e5 }, { rate: 0, effectiveSize: 1e5, queries: 1e5 }, 0.02, levels).decision,
    ).toBe("shifted");
    expect(() =>
      decideChangeAnytime({ rate: Number.NaN, effectiveSize: 1, queries: 1 }, { rate: 0, effectiveSize: 1, queries: 1 }, 0.02, levels),
    ).toThrow(RangeError);
  });
});
