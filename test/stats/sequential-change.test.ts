import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/sequential.json";
import { csMultiplier, DESIGN_EFFECT_BOUND_LEVEL, decideChangeAnytime } from "../../src/stats/sequential-change";
import { createRng } from "../support/prng";

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

  it("takes the reference's design-effect bound only into `shifted`, and only to widen it", () => {
    // Seeded grid of sides, rates near 0 and 1 included (where a smaller reference size can shrink the edge's variance).
    const rng = createRng(20261205);
    const rates = [0, 0.001, 0.02, 0.05, 0.22, 0.5, 0.95, 1];
    let bounded = 0;
    let shifted = 0;
    for (let i = 0; i < 4000; i++) {
      const pick = (): number => (rng.next() < 0.5 ? rates[Math.floor(rng.next() * rates.length)]! : rng.next());
      const refQueries = 50 + Math.floor(rng.next() * 2000);
      const reference = { rate: pick(), effectiveSize: refQueries * (0.5 + 20 * rng.next()), queries: refQueries };
      const liveQueries = 50 + Math.floor(rng.next() * 6000);
      const live = { rate: pick(), effectiveSize: liveQueries * (0.5 + 20 * rng.next()), queries: liveQueries };
      const tol = [0, 0.01, 0.02, 0.05][i % 4]!;
      const withBound = decideChangeAnytime(reference, live, tol, levels);
      const estimate = decideChangeAnytime(reference, live, tol, { ...levels, designEffectBound: null });
      const explicit = decideChangeAnytime(reference, live, tol, { ...levels, designEffectBound: DESIGN_EFFECT_BOUND_LEVEL });
      expect(explicit).toEqual(withBound);
      // `shifted` with the bound implies `shifted` on the estimate; equivalence, se and the interval never move.
      if (withBound.decision === "shifted") {
        shifted++;
        expect(estimate.decision).toBe("shifted");
      }
      if (estimate.decision === "shifted" && withBound.decision !== "shifted") bounded++;
      if (estimate.decision === "equivalent") expect(withBound.decision).toBe("equivalent");
      expect(withBound.standardError).toBe(estimate.standardError);
      expect(withBound.interval95).toEqual(estimate.interval95);
    }
    // The grid reaches both answers, and the bound turns some `shifted` into `inconclusive`.
    expect(shifted).toBeGreaterThan(100);
    expect(bounded).toBeGreaterThan(0);
  });

  it("bounds a reference by its variance's degrees of freedom: none for a live side, a stratum's few for a guarded target", () => {
    // A 5 % reference of 2,000 queries against a live 9.3 % beyond the tolerance: `shifted` on the estimate and with the
    // bound at 1,999 df; a guarded target whose variance rests on a 30-query stratum (29 df) is bounded more.
    const live = { rate: 0.093, effectiveSize: 8000, queries: 3000 };
    const reference = { rate: 0.05, effectiveSize: 4000, queries: 2000 };
    const find = (varianceDf: number | undefined) =>
      decideChangeAnytime(varianceDf === undefined ? reference : { ...reference, varianceDf }, live, 0.02, levels).decision;
    expect(find(undefined)).toBe("shifted");
    expect(find(1999)).toBe("shifted");
    expect(find(29)).toBe("inconclusive");
    // A live reference (a control arm, the active gate) is re-estimated at every read: never bounded, whatever its size.
    const small = { rate: 0.05, effectiveSize: 150, queries: 50 };
    const far = { rate: 0.16, effectiveSize: 8000, queries: 3000 };
    const estimate = decideChangeAnytime(small, far, 0.02, { ...levels, designEffectBound: null });
    expect(decideChangeAnytime({ ...small, varianceDf: Number.POSITIVE_INFINITY }, far, 0.02, levels)).toEqual(estimate);
    expect(decideChangeAnytime(small, far, 0.02, levels).moreDataFactor).not.toEqual(estimate.moreDataFactor);
  });

  it("`equivalent` is monotone in |Delta_hat| along each direction, at reference rates 0, 0.001, 0.99 and 1 too", () => {
    // Reference 0.99 at effective size 500 against 5,000 live, tol 0.02: no change read inconclusive, a 0.25-point move
    // equivalent, before the test against the far edge was also read at no change.
    const lv = { alphaShift: 0.001, alphaEquivalence: 0.05, plannedQueries: 500, minQueries: 30 };
    let checked = 0;
    for (const p1 of [0, 0.001, 0.05, 0.3, 0.99, 1]) {
      for (const [n1, n2] of [
        [500, 5000],
        [50, 500],
        [5000, 500],
        [2000, 1e5],
      ] as const) {
        for (const tol of [0.02, 0.1]) {
          for (const dir of [1, -1]) {
            let seenNotEquivalent = false;
            for (let i = 0; i <= 80; i++) {
              const p2 = Math.min(1, Math.max(0, p1 + (dir * i) / 800));
              const d = decideChangeAnytime({ rate: p1, effectiveSize: n1, queries: 50 }, { rate: p2, effectiveSize: n2, queries: 500 }, tol, lv);
              checked++;
              if (d.decision !== "equivalent") seenNotEquivalent = true;
              else expect(seenNotEquivalent, `p1=${p1} n=${n1}/${n2} tol=${tol} p2=${p2}`).toBe(false);
            }
          }
        }
      }
    }
    expect(checked).toBe(6 * 4 * 2 * 2 * 81);
    const at = (p2: number) =>
      decideChangeAnytime({ rate: 0.99, effectiveSize: 500, queries: 50 }, { rate: p2, effectiveSize: 5000, queries: 500 }, 0.02, lv).decision;
    expect([0.99, 0.9875, 0.985].map(at)).toEqual(["inconclusive", "inconclusive", "inconclusive"]);
  });

  it("refuses a design-effect bound level outside (0, 0.5)", () => {
    const side = { rate: 0.05, effectiveSize: 500, queries: 100 };
    for (const designEffectBound of [0, 0.5, -1, Number.NaN]) {
      expect(() => decideChangeAnytime(side, side, 0.02, { ...levels, designEffectBound })).toThrow(RangeError);
    }
  });
});
