import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/drift.json" with { type: "json" };
import {
  addCluster,
  addObservation,
  type ClusterSums,
  cloneSums,
  DROP_RATE_STRATA,
  designEffect,
  dropStratumOf,
  eligibleSplit,
  emptyClusterSums,
  perQueryStats,
} from "../../src/stats/per-query";
import { clusteredDrops, createRng } from "../support/prng";

function sumsOf(m: readonly number[], d: readonly number[]): ClusterSums {
  const sums = emptyClusterSums();
  m.forEach((size, i) => {
    addCluster(sums, size, d[i]!);
  });
  return sums;
}

function simulatedSums(seed: number, queries: number, m: number, p: number, rho: number): ClusterSums {
  const drops = clusteredDrops(createRng(seed), m, p, rho);
  const sums = emptyClusterSums();
  for (let q = 0; q < queries; q++) addCluster(sums, m, drops());
  return sums;
}

describe("designEffect", () => {
  it.each(golden.designEffect)("matches the per-query residual form computed with numpy: $name", (c) => {
    const deff = designEffect(sumsOf(c.m, c.d));
    expect(Math.abs(deff - c.designEffect)).toBeLessThanOrEqual(1e-10 * c.designEffect);
  });

  it("is about 1 for independent Bernoulli drops", () => {
    for (const seed of [1, 2, 3]) {
      const deff = designEffect(simulatedSums(seed, 5_000, 20, 0.3, 0));
      expect(deff).toBeGreaterThanOrEqual(1);
      expect(deff).toBeLessThan(1.1);
    }
  });

  it("is m Q/(Q-1) exactly for all-or-nothing queries", () => {
    const m = 20;
    const d = [20, 0, 0, 20, 0, 20, 0, 0, 0, 20, 0, 0];
    const q = d.length;
    expect(designEffect(sumsOf(Array(q).fill(m), d))).toBeCloseTo((m * q) / (q - 1), 12);
    // Large Q: -> m.
    const rng = createRng(7);
    const big = emptyClusterSums();
    for (let i = 0; i < 10_000; i++) addCluster(big, m, rng.next() < 0.3 ? m : 0);
    expect(designEffect(big)).toBeCloseTo(m * (10_000 / 9_999), 9);
  });

  it("is about 1 + (m - 1) rho for beta-binomial queries (the Kish formula for equal clusters)", () => {
    for (const [rho, seed] of [
      [0.05, 11],
      [0.2, 12],
      [0.5, 13],
    ] as const) {
      const deff = designEffect(simulatedSums(seed, 20_000, 20, 0.3, rho));
      expect(Math.abs(deff - (1 + 19 * rho)) / (1 + 19 * rho)).toBeLessThan(0.06);
    }
  });

  it("is 1 when undefined: fewer than 2 queries, no candidates, no drops, all dropped", () => {
    expect(designEffect(emptyClusterSums())).toBe(1);
    expect(designEffect(sumsOf([20], [7]))).toBe(1);
    expect(designEffect(sumsOf([0, 0, 0], [0, 0, 0]))).toBe(1);
    expect(designEffect(sumsOf([5, 5], [0, 0]))).toBe(1);
    expect(designEffect(sumsOf([5, 5], [5, 5]))).toBe(1);
  });

  it("is floored at 1 when queries are more alike than binomial", () => {
    expect(designEffect(sumsOf([10, 10, 10, 10], [3, 3, 3, 3]))).toBe(1);
  });

  it("merges by addition and does not depend on the order of queries", () => {
    const c = golden.designEffect.find((x) => x.name.startsWith("rho 0.2"))!;
    const half = Math.floor(c.m.length / 2);
    const a = sumsOf(c.m.slice(0, half), c.d.slice(0, half));
    const b = sumsOf(c.m.slice(half), c.d.slice(half));
    const merged: ClusterSums = {
      queries: a.queries + b.queries,
      candidates: a.candidates + b.candidates,
      dropped: a.dropped + b.dropped,
      droppedSq: a.droppedSq + b.droppedSq,
      droppedTimesSize: a.droppedTimesSize + b.droppedTimesSize,
      sizeSq: a.sizeSq + b.sizeSq,
      empty: a.empty + b.empty,
      stratumQueries: a.stratumQueries!.map((x, i) => x + b.stratumQueries![i]!),
      stratumEmpty: a.stratumEmpty!.map((x, i) => x + b.stratumEmpty![i]!),
      stratumEligible: a.stratumEligible!.map((x, i) => x + b.stratumEligible![i]!),
      stratumEligibleDropped: a.stratumEligibleDropped!.map((x, i) => x + b.stratumEligibleDropped![i]!),
    };
    const whole = sumsOf(c.m, c.d);
    expect(merged).toEqual(whole);
    const reversed = sumsOf([...c.m].reverse(), [...c.d].reverse());
    expect(designEffect(reversed)).toBeCloseTo(designEffect(whole), 12);
  });

  it("starts strata on sums stored before them, counting only the queries added since", () => {
    const old = { queries: 5, candidates: 100, dropped: 30, droppedSq: 200, droppedTimesSize: 600, sizeSq: 2000, empty: 1 } as ClusterSums;
    addCluster(old, 20, 20);
    expect(old.queries).toBe(6);
    expect(old.empty).toBe(2);
    expect(old.stratumQueries).toEqual([0, 0, 0, 0, 0, 0, 1, 0]);
    expect(old.stratumEmpty).toEqual([0, 0, 0, 0, 0, 0, 1, 0]);
  });

  it("cloneSums shares no array with the original", () => {
    const a = sumsOf([3], [1]);
    const b = cloneSums(a);
    addCluster(b, 3, 3);
    expect(a.stratumQueries).toEqual([0, 0, 1, 0, 0, 0, 0, 0]);
    expect(b.stratumQueries).toEqual([0, 0, 2, 0, 0, 0, 0, 0]);
  });

  it("does not mutate its argument", () => {
    const sums = Object.freeze(sumsOf([20, 20, 20], [5, 9, 2]));
    expect(() => designEffect(sums)).not.toThrow();
  });
});

describe("addCluster", () => {
  it("accumulates the running sums, skips queries without candidates, and counts a query as empty when it lost all", () => {
    const sums = emptyClusterSums();
    addCluster(sums, 4, 4);
    addCluster(sums, 0, 0);
    addCluster(sums, 3, 1);
    // Strata [1], [2], [3], [4, 5], ...: the 3-candidate query in the third, the empty 4-candidate one in the fourth.
    expect(sums).toEqual({
      queries: 2,
      candidates: 7,
      dropped: 5,
      droppedSq: 17,
      droppedTimesSize: 19,
      sizeSq: 25,
      empty: 1,
      stratumQueries: [0, 0, 1, 1, 0, 0, 0, 0],
      stratumEmpty: [0, 0, 0, 1, 0, 0, 0, 0],
      // Without guards every candidate is one a threshold decides.
      stratumEligible: DROP_RATE_STRATA.map((_, b) => (b === 2 ? 3 : b === 3 ? 4 : 0)),
      stratumEligibleDropped: DROP_RATE_STRATA.map((_, b) => (b === 2 ? 1 : b === 3 ? 4 : 0)),
    });
    expect(() => addCluster(sums, 3, 4)).toThrow(RangeError);
    expect(() => addCluster(sums, 3, 1, { below: 4 })).toThrow(RangeError);
    expect(() => addCluster(sums, 3, 1, { level: 0 })).toThrow(RangeError);
    expect(() => addCluster(sums, -1, 0)).toThrow(RangeError);
    expect(() => addCluster(sums, 2.5, 1)).toThrow(RangeError);
  });

  it("with a min_keep level counts where the guard binds (from below), and counts abstention when the query says", () => {
    const sums = emptyClusterSums();
    // min_keep 3: 10 candidates, the threshold keeps 2 of them (8 below), the guard keeps 3 (7 dropped): binds.
    const guards = { minKeep: 3, maxKeep: null };
    addObservation(sums, [10, 7, 8, 0], guards);
    // The threshold keeps 5: the guard does not bind.
    addObservation(sums, [10, 5, 5, 1], guards);
    // A short query the threshold empties: binds (fewer than min(3, 2) = 2 left).
    addObservation(sums, [2, 0, 2, 0], guards);
    // An old client's [m, d]: below is taken as d, the guard never seen binding; abstention not said.
    addObservation(sums, [10, 7], guards);
    expect(sums).toMatchObject({ queries: 4, empty: 2, abstentionQueries: 3, abstained: 1, dropped: 19 });
    expect(sums.stratumEmpty).toEqual([0, 1, 0, 0, 0, 1, 0, 0]);
    // Ranks 4..10 of the 10-candidate queries are what the threshold decides; the 2-candidate query has none.
    // [9, 11] is drop-rate stratum 6.
    expect(sums.stratumEligible).toEqual(DROP_RATE_STRATA.map((_, b) => (b === 6 ? 21 : 0)));
    expect(sums.stratumEligibleDropped).toEqual(DROP_RATE_STRATA.map((_, b) => (b === 6 ? 19 : 0)));
  });

  it("splits a capped query's drops into the cap's and those the threshold decides", () => {
    expect(eligibleSplit(200, 100, { minKeep: 3, maxKeep: 120 })).toEqual({ eligible: 117, dropped: 20 });
    expect(eligibleSplit(50, 10, { minKeep: 3, maxKeep: 120 })).toEqual({ eligible: 47, dropped: 10 });
    expect(eligibleSplit(2, 0, { minKeep: 3, maxKeep: null })).toEqual({ eligible: 0, dropped: 0 });
    // A client that did not apply the cap reports fewer drops than the cap makes: none counted as the threshold's.
    expect(eligibleSplit(200, 50, { minKeep: 0, maxKeep: 120 })).toEqual({ eligible: 120, dropped: 0 });
    expect([1, 5, 6, 7, 9, 147, 148, 184, 185, 10_000].map(dropStratumOf)).toEqual([0, 4, 4, 5, 6, 17, 18, 18, 19, 36]);
    expect(DROP_RATE_STRATA).toHaveLength(37);
  });

  it("counts the cap's drops from each query's size under a max_keep guard, and nothing without one", () => {
    const capped = emptyClusterSums();
    addObservation(capped, [200, 100, 100, 0], { minKeep: 3, maxKeep: 120 });
    addObservation(capped, [50, 10, 10, 0], { minKeep: 3, maxKeep: 120 });
    // A client that did not apply the cap: the cap's 80 are still what it should have dropped.
    addObservation(capped, [200, 50, 50, 0], { minKeep: 3, maxKeep: 120 });
    expect(capped.capped).toBe(160);
    const floor = emptyClusterSums();
    addObservation(floor, [200, 100, 100, 0], { minKeep: 3, maxKeep: null });
    expect(floor.capped).toBeUndefined();
  });
});

describe("perQueryStats", () => {
  // Three queries: [0.1, 0.5, 0.9], [0.2, 0.3], [0.5, 0.7, 0.8, 0.95].
  const scores = new Float64Array([0.1, 0.5, 0.9, 0.2, 0.3, 0.5, 0.7, 0.8, 0.95]);
  const offsets = new Uint32Array([0, 3, 5, 9]);

  it("drops scores strictly below the threshold (a tie with the threshold is kept)", () => {
    const stats = perQueryStats(scores, offsets, 0.5);
    expect(stats.queries).toBe(3);
    expect(stats.meanCandidates).toBeCloseTo(3, 14);
    expect(stats.meanKept).toBeCloseTo(6 / 3, 14);
    expect(stats.emptyContextRate).toBeCloseTo(1 / 3, 14);
    expect(stats.designEffect).toBe(designEffect(sumsOf([3, 2, 4], [1, 2, 0])));
  });

  it("keeps everything with no threshold", () => {
    const stats = perQueryStats(scores, offsets, null);
    expect(stats.meanKept).toBe(3);
    expect(stats.emptyContextRate).toBe(0);
    expect(stats.designEffect).toBe(1);
  });

  it("handles negative scores and a query with one candidate", () => {
    const stats = perQueryStats(new Float64Array([-3, -1, -2]), new Uint32Array([0, 1, 3]), -1.5);
    expect(stats.emptyContextRate).toBe(0.5);
    expect(stats.meanKept).toBe(0.5);
  });

  it("rejects an empty query list", () => {
    expect(() => perQueryStats(new Float64Array(0), new Uint32Array([0]), 0.5)).toThrow(RangeError);
  });
});

describe("the simulation model used by the drift tests and bench (test/support/prng.ts)", () => {
  it("is reproducible and has mean p and beta-binomial variance m p (1-p) (1 + (m-1) rho)", () => {
    const draw = (seed: number): number[] => {
      const drops = clusteredDrops(createRng(seed), 20, 0.3, 0.05);
      return Array.from({ length: 5 }, () => drops());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    const drops = clusteredDrops(createRng(5), 20, 0.3, 0.05);
    const n = 100_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const d = drops();
      s += d;
      s2 += d * d;
    }
    const mean = s / n;
    const variance = s2 / n - mean * mean;
    expect(mean).toBeCloseTo(6, 1);
    expect(Math.abs(variance / (20 * 0.21 * 1.95) - 1)).toBeLessThan(0.03);
  });
});
