import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/guards.json" with { type: "json" };
import { rateInterval } from "../../src/stats/effective-size";
import { emptyRateByCandidates } from "../../src/stats/empty-context";
import { fitGate } from "../../src/stats/gate-fit";
import {
  bindingGuard,
  checkGuards,
  eligibleScores,
  fitGuardedGate,
  type Guards,
  guardedDropCount,
  guardedKept,
  NO_GUARDS,
} from "../../src/stats/guarded-gate";
import { sortedCopy } from "../../src/stats/order-statistics";
import { flattenQueries, perQueryStats } from "../../src/stats/per-query";
import { smallSampleFactor } from "../../src/stats/satterthwaite";
import { createRng } from "../support/prng";

const sets = golden.datasets as unknown as Record<string, number[][]>;
const guardsOf = (c: { min_keep: number; max_keep: number | null }): Guards => ({ minKeep: c.min_keep, maxKeep: c.max_keep });

describe("fitGuardedGate against a brute-force numpy search (fixtures/golden/guards-generate.py)", () => {
  for (const c of golden.guardedFit) {
    it(`${c.dataset} min_keep=${c.min_keep} max_keep=${c.max_keep} d=${c.target}`, () => {
      const { scores, offsets } = flattenQueries(sets[c.dataset]!);
      const g = guardsOf(c);
      const fit = fitGuardedGate(eligibleScores(scores, offsets, g), c.target);
      const e = c.expected as Record<string, any>;
      expect(fit.kind).toBe(e.kind);
      if (fit.kind === "too_few_scores") {
        expect(fit).toEqual({ kind: "too_few_scores", k: e.k, n: e.n, minimumN: e.minimumN });
        return;
      }
      expect(fit.k).toBe(e.k);
      expect(fit.floor).toBe(e.floor);
      expect(fit.ceiling).toBe(e.ceiling);
      if (fit.kind === "unreachable") {
        expect(fit.bound).toBe(e.bound);
        expect(fit.lowestTarget).toBeCloseTo(e.lowestTarget, 15);
        expect(fit.highestTarget).toBeCloseTo(e.highestTarget, 15);
        return;
      }
      expect(fit.threshold).toBe(e.threshold);
      expect(fit.eligibleRank).toBe(e.eligibleRank);
      expect(fit.below).toBe(e.below);
      expect(fit.ties).toBe(e.ties);
      expect(fit.dropped).toBe(e.dropped);
      expect(fit.expectedDropRate).toBeCloseTo(e.expectedDropRate, 15);
      expect(fit.inSampleDropRate).toBeCloseTo(e.inSampleDropRate, 15);
      expect(fit.conformalDropRate).toBeCloseTo(e.conformalDropRate, 15);
      // The per-query statistics of the guarded gate: queries are the units of its uncertainty.
      const pq = perQueryStats(scores, offsets, fit.threshold, g);
      expect(pq.designEffect).toBeCloseTo(e.designEffect, 10);
      if (e.degreesOfFreedom === null) expect(pq.degreesOfFreedom).toBe(Number.POSITIVE_INFINITY);
      else expect(pq.degreesOfFreedom).toBeCloseTo(e.degreesOfFreedom, 9);
      expect(pq.minKeepBindingRate).toBeCloseTo(e.minKeepBindingRate, 15);
      expect(pq.maxKeepBindingRate).toBeCloseTo(e.maxKeepBindingRate, 15);
      expect(pq.emptyContextRate).toBeCloseTo(e.emptyContextRate, 15);
      expect(pq.meanKept).toBeCloseTo(e.meanKept, 12);
      const iv = rateInterval(fit.expectedDropRate, (scores.length / pq.designEffect) * smallSampleFactor(pq.degreesOfFreedom));
      expect(iv[0]).toBeCloseTo(e.interval[0], 9);
      expect(iv[1]).toBeCloseTo(e.interval[1], 9);
    });
  }

  it("covers every outcome: fitted with and without ties, both bounds of reachability, too few scores", () => {
    const kinds = golden.guardedFit.map((c) => {
      const e = c.expected as { kind: string; bound?: string; ties?: number };
      return e.kind === "fitted" ? `fitted${(e.ties ?? 0) >= 2 ? "+ties" : ""}` : e.kind === "unreachable" ? `unreachable:${e.bound}` : e.kind;
    });
    for (const k of ["fitted", "fitted+ties", "unreachable:floor", "unreachable:ceiling", "too_few_scores"]) expect(kinds).toContain(k);
  });
});

describe("fitGuardedGate without guards is the bare gate", () => {
  it("gives fitGate's threshold, rank and centre on every data set and target", () => {
    for (const name of Object.keys(sets)) {
      const { scores, offsets } = flattenQueries(sets[name]!);
      const sorted = sortedCopy(scores);
      for (const d of [0, 0.01, 0.3, 0.5, 0.77, 0.99]) {
        const bare = fitGate(sorted, d);
        const guarded = fitGuardedGate(eligibleScores(scores, offsets, NO_GUARDS), d);
        if (bare.kind === "too_few_scores") {
          expect(guarded.kind).toBe("too_few_scores");
          continue;
        }
        expect(guarded.kind).toBe("fitted");
        if (guarded.kind !== "fitted") continue;
        expect(guarded.threshold).toBe(bare.threshold);
        expect(guarded.k).toBe(bare.k);
        expect(guarded.inSampleDropRate).toBe(bare.inSampleDropRate);
        expect(guarded.conformalDropRate).toBe(bare.expectedDropRate);
      }
    }
  });
});

describe("the guarded drop count", () => {
  it("is monotone in the threshold and equals the per-query rule at every calibration score", () => {
    const rng = createRng(31);
    const queries = Array.from({ length: 60 }, () =>
      Array.from({ length: 1 + Math.floor(rng.next() * 25) }, () => Math.round(rng.normal() * 10) / 10),
    );
    const { scores, offsets } = flattenQueries(queries);
    for (const g of [NO_GUARDS, { minKeep: 2, maxKeep: null }, { minKeep: 1, maxKeep: 4 }, { minKeep: 0, maxKeep: 7 }]) {
      const e = eligibleScores(scores, offsets, g);
      let previous = -1;
      for (const t of [...new Set(sortedCopy(scores))]) {
        const direct = queries.reduce((sum, q) => sum + q.length - guardedKept(q.length, q.filter((s) => s >= t).length, g), 0);
        expect(guardedDropCount(e, t)).toBe(direct);
        expect(direct).toBeGreaterThanOrEqual(previous);
        previous = direct;
      }
      expect(guardedDropCount(e, null)).toBe(e.floor);
    }
  });

  it("keeps the top ranks: min(m, M, max(min(m0, m), c)), and names the guard that binds", () => {
    const g = { minKeep: 2, maxKeep: 5 };
    expect([0, 1, 2, 3, 5, 6, 9].map((c) => guardedKept(9, c, g))).toEqual([2, 2, 2, 3, 5, 5, 5]);
    expect(guardedKept(1, 0, g)).toBe(1);
    expect([0, 1, 2, 5, 6].map((c) => bindingGuard(9, c, g))).toEqual(["min_keep", "min_keep", null, null, "max_keep"]);
    // A query shorter than min_keep keeps all it has; the guard binds only when the threshold would drop some.
    expect(bindingGuard(1, 1, g)).toBe(null);
    expect(bindingGuard(1, 0, g)).toBe("min_keep");
  });

  it("refuses guards that contradict each other", () => {
    expect(() => checkGuards({ minKeep: -1, maxKeep: null })).toThrow(RangeError);
    expect(() => checkGuards({ minKeep: 1.5, maxKeep: null })).toThrow(RangeError);
    expect(() => checkGuards({ minKeep: 3, maxKeep: 2 })).toThrow(RangeError);
    expect(() => checkGuards({ minKeep: 0, maxKeep: 0 })).toThrow(RangeError);
    expect(() => fitGuardedGate(eligibleScores(new Float64Array(), new Uint32Array([0]), NO_GUARDS), 0.3)).toThrow(RangeError);
  });
});

describe("guard-binding strata (empty-context.ts with a level) against scipy.stats.hypergeom", () => {
  for (const c of golden.bindingStrata) {
    it(`${c.dataset} t=${c.threshold} level=${c.level}`, () => {
      const { scores, offsets } = flattenQueries(sets[c.dataset]!);
      const got = emptyRateByCandidates(scores, offsets, c.threshold, c.level).strata;
      c.strata.forEach((e, b) => {
        const s = got[b]!;
        expect(s.minCandidates).toBe(e.min_candidates);
        expect(s.source).toBe(e.source);
        expect(s.queries).toBe(e.queries);
        expect(s.rate).toBeCloseTo(e.rate, 12);
        expect(s.extrapolated).toBe(e.extrapolated);
        expect(s.ownQueries).toBe(e.own_queries);
        expect(s.ownEmpty).toBe(e.own_empty);
      });
    });
  }

  it("at level 1 counts the empty queries, and a higher level never counts fewer", () => {
    const { scores, offsets } = flattenQueries(sets.m1to30_rho03!);
    const one = emptyRateByCandidates(scores, offsets, -0.2, 1).strata;
    const three = emptyRateByCandidates(scores, offsets, -0.2, 3).strata;
    for (const [b, s] of one.entries()) expect(three[b]!.rate).toBeGreaterThanOrEqual(s.rate - 1e-15);
    expect(() => emptyRateByCandidates(scores, offsets, 0, 0)).toThrow(RangeError);
  });
});
