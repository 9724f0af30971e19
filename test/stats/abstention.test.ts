import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/guards.json" with { type: "json" };
import {
  ABSTENTION_TRADEOFF_ALPHAS,
  abstentionTradeoff,
  carriedRateSd,
  catchRate,
  fitAbstentionRate,
  fitFalseAbstention,
  splitTops,
  topScores,
} from "../../src/stats/abstention";
import { clopperPearsonInterval } from "../../src/stats/binomial-bound";
import { sortedCopy } from "../../src/stats/order-statistics";
import { flattenQueries } from "../../src/stats/per-query";
import { createRng, deriveSeed } from "../support/prng";

type AbstentionQuery = { scores: number[]; answerable: number };
const sets = golden.abstentionSets as unknown as Record<string, AbstentionQuery[]>;

function tops(queries: readonly AbstentionQuery[]) {
  const { scores, offsets } = flattenQueries(queries.map((q) => q.scores));
  const all = topScores(scores, offsets);
  return { all, split: splitTops(all, Uint8Array.from(queries.map((q) => q.answerable))) };
}

describe("fitFalseAbstention and catchRate against numpy/scipy (fixtures/golden/guards-generate.py)", () => {
  for (const c of golden.falseAbstention) {
    it(`${c.dataset} alpha=${c.alpha}`, () => {
      const { split } = tops(sets[c.dataset]!);
      const fit = fitFalseAbstention(split.answerable, c.alpha);
      const e = c.expected as Record<string, any>;
      expect(fit.kind).toBe(e.kind);
      if (fit.kind === "too_few_answerable") {
        expect(fit).toEqual({ kind: "too_few_answerable", n: e.n, minimumQueries: e.minimumQueries });
        return;
      }
      expect(fit.abstainBelow).toBe(e.abstainBelow);
      expect(fit.k).toBe(e.k);
      expect(fit.n).toBe(e.n);
      expect(fit.falseAbstentionBound).toBeCloseTo(e.falseAbstentionBound, 15);
      expect(fit.expectedFalseAbstention).toBeCloseTo(e.expectedFalseAbstention, 15);
      expect(fit.below).toBe(e.below);
      expect(fit.ties).toBe(e.ties);
      expect(fit.interval95[0]).toBeCloseTo(e.interval[0], 10);
      expect(fit.interval95[1]).toBeCloseTo(e.interval[1], 10);
      const caught = catchRate(split.unanswerable, fit.abstainBelow);
      expect(caught.queries).toBe(e.catch.queries);
      expect(caught.caught).toBe(e.catch.caught);
      expect(caught.rate).toBeCloseTo(e.catch.rate, 15);
      expect(caught.interval95![0]).toBeCloseTo(e.catch.interval[0], 10);
      expect(caught.interval95![1]).toBeCloseTo(e.catch.interval[1], 10);
    });
  }

  it("covers a fit with ties, one without, and too few answerable queries", () => {
    const e = golden.falseAbstention.map((c) => c.expected as { kind: string; ties?: number });
    expect(e.some((x) => x.kind === "fitted" && (x.ties ?? 0) >= 2)).toBe(true);
    expect(e.some((x) => x.kind === "fitted" && (x.ties ?? 0) <= 1)).toBe(true);
    expect(e.some((x) => x.kind === "too_few_answerable")).toBe(true);
  });

  it("the table lists every alpha once, and a stricter promise catches no more", () => {
    const { split, all } = tops(sets.a150_u60!);
    const rows = abstentionTradeoff(split, [0.07, 0.1]);
    expect(rows.map((r) => r.alpha)).toEqual([...new Set([...ABSTENTION_TRADEOFF_ALPHAS, 0.07])].sort((a, b) => a - b));
    const fitted = rows.filter((r) => r.catchRate !== null);
    for (let i = 1; i < fitted.length; i++) expect(fitted[i]!.catchRate!).toBeGreaterThanOrEqual(fitted[i - 1]!.catchRate!);
    const row = rows.find((r) => r.alpha === 0.1)!;
    expect(row.abstentionRate).toBeCloseTo(all.filter((t) => t < row.abstainBelow!).length / all.length, 15);
  });

  it("without unanswerable queries reports no catch rate rather than 0", () => {
    expect(catchRate(new Float64Array(), 0.5)).toEqual({ queries: 0, caught: 0, rate: null, interval95: null });
  });
});

describe("fitAbstentionRate against numpy/scipy", () => {
  for (const c of golden.abstentionRate) {
    it(`${c.dataset} p=${c.target}`, () => {
      const { all } = tops(sets[c.dataset]!);
      const fit = fitAbstentionRate(sortedCopy(all), c.target);
      const e = c.expected as Record<string, any>;
      expect(fit.kind).toBe(e.kind);
      if (fit.kind !== "fitted") {
        expect(fit.n).toBe(e.n);
        return;
      }
      expect(fit.abstainBelow).toBe(e.abstainBelow);
      expect(fit.k).toBe(e.k);
      expect(fit.expectedRate).toBeCloseTo(e.expectedRate, 15);
      expect(fit.below).toBe(e.below);
      expect(fit.ties).toBe(e.ties);
      expect(fit.interval95[0]).toBeCloseTo(e.interval[0], 10);
      expect(fit.interval95[1]).toBeCloseTo(e.interval[1], 10);
    });
  }

  it("refuses a target when the lowest top scores all tie (nothing would abstain)", () => {
    expect(fitAbstentionRate(Float64Array.from([0.5, 0.5, 0.5, 0.5, 0.9]), 0.3)).toEqual({ kind: "unreachable", n: 5, tiesAtMinimum: 4 });
  });
});

describe("carriedRateSd and clopperPearsonInterval", () => {
  it.each(golden.carriedRateSd)("sd at p=$p, Q_ref=$qRef, Q=$q", ({ p, qRef, q, sd }) => {
    expect(carriedRateSd(p, qRef, q)).toBeCloseTo(sd, 15);
  });

  it("refuses what is not a rate or a count", () => {
    expect(() => carriedRateSd(1.2, 10, 10)).toThrow(RangeError);
    expect(() => carriedRateSd(0.2, 0, 10)).toThrow(RangeError);
    expect(() => clopperPearsonInterval(3, 2)).toThrow(RangeError);
    expect(() => topScores(Float64Array.from([1]), Uint32Array.from([0, 1, 1]))).toThrow(RangeError);
    expect(() => fitFalseAbstention(Float64Array.from([1, 2]), 0)).toThrow(RangeError);
  });

  it("is [0, .] at x = 0 and [., 1] at x = n", () => {
    expect(clopperPearsonInterval(0, 10)[0]).toBe(0);
    expect(clopperPearsonInterval(10, 10)[1]).toBe(1);
  });
});

describe("false abstention on fresh answerable queries (simulation, 1,000 seeds)", () => {
  it.each([0.05, 0.1])("stays at most alpha = %s on average, within its bound k/(n+1)", (alpha) => {
    const n = 99; // (n+1) alpha is whole: the bound is alpha exactly
    let sum = 0;
    for (let s = 0; s < 1000; s++) {
      const rng = createRng(deriveSeed(1907, s));
      const top = () => 1 + 0.8 * rng.normal() + Math.abs(rng.normal());
      const fit = fitFalseAbstention(sortedCopy(Array.from({ length: n }, top)), alpha);
      if (fit.kind !== "fitted") throw new Error("fits");
      let abstained = 0;
      for (let i = 0; i < 100; i++) if (top() < fit.abstainBelow) abstained++;
      sum += abstained / 100;
    }
    // Per seed: the Beta(k, n+1-k) law of the fitted threshold plus the binomial noise of 100 fresh queries; the mean
    // over 1,000 seeds has sd about sqrt(alpha (1 - alpha) (1/(n+2) + 1/100) / 1000): 4 sd of slack.
    const sd = Math.sqrt((alpha * (1 - alpha) * (1 / (n + 2) + 1 / 100)) / 1000);
    expect(sum / 1000).toBeLessThanOrEqual(alpha + 4 * sd);
    expect(sum / 1000).toBeGreaterThanOrEqual(alpha - 4 * sd);
  });
});
