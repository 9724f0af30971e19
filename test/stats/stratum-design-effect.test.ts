/**
 * A guarded calibration's drop-rate strata keep the design effect of their eligible-dropped share measured on their own
 * queries (per_query.drop_rate_by_candidates[].design_effect, calibrations/fit.ts), and the monitor's two stratum
 * variances use it (conditioned-rates.ts conditionedTarget, drift-bands.ts stratum bands). Golden values from numpy
 * (fixtures/golden/stratum-design-effect-generate.py), then a seeded simulation: beta-binomial queries at intra-query
 * correlation 0.3, a binding max_keep, queries of 5, 9, 12, 20 and 35 candidates, the variance given to each stratum's
 * share against that share's spread over calibrations.
 */
import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/stratum-design-effect.json";
import { calibrate } from "../../src/calibrations/calibrate";
import { parseRecord } from "../../src/calibrations/d1-rows";
import { calibrationExpectation, dropStrataOf, expectationOf } from "../../src/calibrations/expectation";
import { dropRateByCandidates, monitoredDropStrata } from "../../src/calibrations/fit";
import { CalibrationMeta, PerQuery, type StoredCalibration } from "../../src/contract";
import { targetSide } from "../../src/monitoring/live-decision";
import type { CalibrationExpectation, DropStratum } from "../../src/stats/calibration-expectation";
import { conditionedTarget } from "../../src/stats/conditioned-rates";
import { driftBands, MIN_OWN_DESIGN_EFFECT_QUERIES, ownDesignEffect } from "../../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG, type DriftConfig } from "../../src/stats/drift-config";
import { DROP_RATE_STRATA, dropStratumOf, emptyClusterSums, flattenQueries, perQueryStats } from "../../src/stats/per-query";
import { memoryDeps } from "../support/memory-deps";
import { clusteredDrops, createRng, deriveSeed } from "../support/prng";

const guardsOf = (minKeep: number, maxKeep: number | null) => ({ minKeep, maxKeep });

describe("each stratum's own design effect, as numpy computes it", () => {
  const { scores, offsets } = flattenQueries(golden.queries.map((q) => Float64Array.from(q)));

  for (const c of golden.cases) {
    it(`min_keep ${c.min_keep}, max_keep ${c.max_keep}, threshold ${c.threshold}`, () => {
      const strata = dropRateByCandidates(scores, offsets, c.threshold, guardsOf(c.min_keep, c.max_keep));
      expect(strata).toHaveLength(DROP_RATE_STRATA.length);
      strata.forEach((st, b) => {
        const { design_effect, ...counts } = c.strata[b]!;
        expect({ ...st, design_effect: undefined }).toEqual({ ...counts, design_effect: undefined });
        if (design_effect === null) expect(st.design_effect).toBeNull();
        else expect(st.design_effect).toBeCloseTo(design_effect, 12);
      });
    });
  }

  it("is null where it cannot be measured: no eligible candidate, one query, none or all of them dropped", () => {
    const [capped, minKeep, , saturated] = golden.cases.map((c) =>
      dropRateByCandidates(scores, offsets, c.threshold, guardsOf(c.min_keep, c.max_keep)),
    );
    // min_keep 2: a query of 1 or 2 candidates has nothing a threshold decides.
    expect(capped![0]).toMatchObject({ queries: 6, eligible: 0, design_effect: null });
    // The one query of 50 candidates is its stratum's only one.
    expect(capped![dropStratumOf(50)]).toMatchObject({ queries: 1, design_effect: null });
    expect(minKeep![dropStratumOf(50)]).toMatchObject({ queries: 1, design_effect: null });
    // Threshold 2.5 drops nearly everything: a stratum that dropped every eligible candidate has no spread to measure.
    const nine = saturated![dropStratumOf(9)]!;
    expect(nine.eligible_dropped).toBe(nine.eligible);
    expect(nine.design_effect).toBeNull();
    // Measured values are floored at 1 (the share of a stratum where queries agree less than chance).
    for (const c of golden.cases) for (const st of c.strata) if (st.design_effect !== null) expect(st.design_effect).toBeGreaterThanOrEqual(1);
  });
});

/** One simulated calibration: Q queries of each size, below-threshold counts beta-binomial (mean mu, correlation rho). */
function calibration(seed: number, sizes: readonly number[], perSize: number, mu: number, rho: number) {
  const rng = createRng(seed);
  const queries: Float64Array[] = [];
  for (const m of sizes) {
    const drops = clusteredDrops(rng, m, mu, rho);
    for (let i = 0; i < perSize; i++) {
      const below = drops();
      // Scores below the threshold 0 for the dropped ones, above it for the others, in random order.
      queries.push(Float64Array.from({ length: m }, (_, j) => (j < below ? -1 : 1) * (1 + rng.next())));
    }
  }
  return flattenQueries(queries);
}

interface StratumRun {
  readonly share: number;
  /** Variance conditionedTarget gives the share, with the stratum's own design effect and as before (derived). */
  readonly varianceOwn: number;
  readonly varianceDerived: number;
  /** Whether the stratum's drift band (margin only) holds the true share, with the own and the derived design effect. */
  readonly bandOwn: boolean;
  readonly bandDerived: boolean;
}

// Margins only (no tolerance), at 2.5 % a side for each of the 5 strata: alphaPerTest / (4 S) = 0.5 / 20.
const MARGIN_ONLY: DriftConfig = { ...DEFAULT_DRIFT_CONFIG, alpha: 0.5, tolerance: 0, maxCalibrationMargin: 1 };

/**
 * Simulates `runs` calibrations and, per size, the variance conditionedTarget gives that stratum's share (a live side
 * whose candidates all fall in it), and whether its drift band holds the true share.
 */
function simulate(scenario: number, runs: number, sizes: readonly number[], perSize: number, minKeep: number, maxKeep: number | null) {
  const guards = guardsOf(minKeep, maxKeep);
  const truth = new Map(golden.expected_shares.filter((s) => s.min_keep === minKeep && s.max_keep === maxKeep).map((s) => [s.m, s.share] as const));
  const out = new Map<number, StratumRun[]>(sizes.map((m) => [m, []]));
  for (let r = 0; r < runs; r++) {
    const { scores, offsets } = calibration(deriveSeed(scenario, r), sizes, perSize, 0.5, 0.3);
    const fitted = dropRateByCandidates(scores, offsets, 0, guards);
    const pooled = perQueryStats(scores, offsets, 0, guards);
    const own: DropStratum[] = fitted.map((st) => ({
      queries: st.queries,
      eligible: st.eligible,
      dropped: st.eligible_dropped,
      designEffect: st.design_effect,
    }));
    // A calibration stored before the field: every stratum takes the value derived from the pooled design effect.
    const derived: DropStratum[] = own.map(({ designEffect: _, ...st }) => st);
    const bandsOf = (strata: DropStratum[]) => {
      const cal: CalibrationExpectation = {
        expectedDropRate: 0.5, // the pooled band is not looked at here
        n: scores.length,
        designEffect: pooled.designEffect,
        emptyContextRate: null,
        nQueries: pooled.queries,
        dropRateStrata: strata,
      };
      return driftBands(cal, MARGIN_ONLY, 1).dropStrata!;
    };
    const [bandsOwn, bandsDerived] = [bandsOf(own), bandsOf(derived)];
    for (const m of sizes) {
      const b = dropStratumOf(m);
      const live = { ...emptyClusterSums(), queries: 100, candidates: 1000, dropped: 0 };
      live.stratumEligible = DROP_RATE_STRATA.map((_, i) => (i === b ? 1000 : 0));
      live.stratumEligibleDropped = DROP_RATE_STRATA.map(() => 0);
      const withOwn = conditionedTarget(own, pooled.designEffect, pooled.meanCandidates, live, 0)!;
      const asBefore = conditionedTarget(derived, pooled.designEffect, pooled.meanCandidates, live, 0)!;
      expect(withOwn.rate).toBe(asBefore.rate);
      const p = truth.get(m)!;
      const holds = (band: { lo: number; hi: number }) => band.lo <= p && p <= band.hi;
      out.get(m)!.push({
        share: withOwn.rate,
        varianceOwn: withOwn.variance,
        varianceDerived: asBefore.variance,
        bandOwn: holds(bandsOwn[b]!.band),
        bandDerived: holds(bandsDerived[b]!.band),
      });
    }
  }
  return new Map(
    [...out].map(([m, rs]) => {
      const mean = rs.reduce((a, x) => a + x.share, 0) / rs.length;
      const spread = rs.reduce((a, x) => a + (x.share - mean) ** 2, 0) / (rs.length - 1);
      const avg = (f: (x: StratumRun) => number) => rs.reduce((a, x) => a + f(x), 0) / rs.length;
      return [
        m,
        {
          mean,
          truth: truth.get(m)!,
          // the variance given over the share's spread over calibrations: 1 is right, below 1 too small
          ratioOwn: avg((x) => x.varianceOwn) / spread,
          ratioDerived: avg((x) => x.varianceDerived) / spread,
          missOwn: 1 - avg((x) => (x.bandOwn ? 1 : 0)),
          missDerived: 1 - avg((x) => (x.bandDerived ? 1 : 0)),
        },
      ] as const;
    }),
  );
}

const SIZES = [5, 9, 12, 20, 35];
const RUNS = 400;
// 400 calibrations: the spread's own relative standard error is about sqrt(2 / 399) = 7 %, so a ratio within
// [0.8, 1.25] is a right variance (3 standard errors); a band's miss rate at 5 % nominal has a standard error of 1.1 %.
const RIGHT: [number, number] = [0.8, 1.25];

describe("the variance given to a stratum's share under a binding cap (min_keep 2, max_keep 10)", () => {
  const sim = simulate(1, RUNS, SIZES, 60, 2, 10);

  it("simulates the stratum shares numpy expects (scipy.stats.betabinom)", () => {
    for (const [, s] of sim) expect(Math.abs(s.mean - s.truth)).toBeLessThan(0.01);
  });

  it("matches the share's spread over calibrations with the stratum's own design effect", () => {
    for (const [m, s] of sim) {
      expect(s.ratioOwn, `queries of ${m}`).toBeGreaterThan(RIGHT[0]);
      expect(s.ratioOwn, `queries of ${m}`).toBeLessThan(RIGHT[1]);
    }
  });

  it("was 1.5 times or more too small with the design effect derived from the pooled one, where the cap binds", () => {
    for (const m of [12, 20, 35]) expect(sim.get(m)!.ratioDerived, `queries of ${m}`).toBeLessThan(1 / 1.5);
    // about half the spread at 20 and 35 candidates
    expect(sim.get(35)!.ratioDerived).toBeLessThan(0.55);
  });

  it("gives drift bands that miss the true share near their nominal 5 %, where the derived ones missed it 2 to 4 times as often", () => {
    // measured: 5 to 8.5 % with the own design effect; 11.5 to 19 % with the derived one where the cap binds
    for (const [m, s] of sim) expect(s.missOwn, `queries of ${m}`).toBeLessThan(0.1);
    for (const m of [12, 20, 35]) expect(sim.get(m)!.missDerived, `queries of ${m}`).toBeGreaterThan(0.1);
    for (const m of [20, 35]) expect(sim.get(m)!.missDerived, `queries of ${m}`).toBeGreaterThan(0.15);
  });

  it("holds from MIN_OWN_DESIGN_EFFECT_QUERIES queries a stratum", () => {
    const few = simulate(2, RUNS, SIZES, MIN_OWN_DESIGN_EFFECT_QUERIES, 2, 10);
    for (const [m, s] of few) {
      expect(s.ratioOwn, `queries of ${m}`).toBeGreaterThan(RIGHT[0]);
      expect(s.ratioOwn, `queries of ${m}`).toBeLessThan(RIGHT[1]);
    }
    for (const m of [12, 20, 35]) expect(few.get(m)!.ratioDerived, `queries of ${m}`).toBeLessThan(1 / 1.5);
  });
});

describe("the variance given to a stratum's share with min_keep alone (min_keep 3)", () => {
  const sim = simulate(3, RUNS, SIZES, 60, 3, null);

  it("matches the spread with the own design effect, where the derived one overstated it (so it is no floor)", () => {
    for (const [m, s] of sim) {
      expect(s.ratioOwn, `queries of ${m}`).toBeGreaterThan(RIGHT[0]);
      expect(s.ratioOwn, `queries of ${m}`).toBeLessThan(RIGHT[1]);
    }
    // Flooring the own value at the derived one would have kept these too wide: 1.3 to 1.9 times the spread.
    expect(sim.get(9)!.ratioDerived).toBeGreaterThan(1.5);
    expect(sim.get(12)!.ratioDerived).toBeGreaterThan(1.3);
  });
});

describe("stored calibrations with and without the strata's design effects", () => {
  async function capped(): Promise<StoredCalibration> {
    const { scores, offsets } = calibration(9, SIZES, 60, 0.5, 0.3);
    const meta = CalibrationMeta.parse({
      index: "docs",
      embedding: "e5@v1",
      reranker: "bge@v2",
      index_version: "v1",
      policy: { kind: "drop_rate", target: 0.6, min_keep: 2, max_keep: 10 },
    });
    return (await calibrate({ meta, scores, offsets }, "alice", memoryDeps({ startMs: Date.UTC(2026, 11, 5) }).deps)).calibration;
  }

  it("are fitted with it and read back from their stored row (JSON) with it", async () => {
    const c = await capped();
    const strata = c.per_query!.drop_rate_by_candidates!;
    const twenty = strata[dropStratumOf(20)]!;
    expect(twenty.design_effect).toBeGreaterThan(c.per_query!.design_effect);
    const read = parseRecord(JSON.stringify(c));
    expect(read).toEqual(c);
    expect(PerQuery.parse(read.per_query)).toEqual(c.per_query);
    expect(dropStrataOf(expectationOf(read))![dropStratumOf(20)]).toEqual({
      queries: twenty.queries,
      eligible: twenty.eligible,
      dropped: twenty.eligible_dropped,
      designEffect: twenty.design_effect,
      designEffectQueries: twenty.design_effect_queries,
    });
    expect(twenty.design_effect_queries).toBe(twenty.queries);
  });

  it("are read without the design effect's queries as before: all the stratum's queries take their place", async () => {
    const c = await capped();
    const pq = c.per_query!;
    const old = { ...c, per_query: { ...pq, drop_rate_by_candidates: pq.drop_rate_by_candidates!.map(({ design_effect_queries: _, ...st }) => st) } };
    const read = parseRecord(JSON.stringify(old));
    expect(PerQuery.parse(read.per_query)).toEqual(old.per_query);
    const e = expectationOf(read);
    expect(e.drop_rate_strata!.every((st) => !("design_effect_queries" in st) && "design_effect" in st)).toBe(true);
    expect(dropStrataOf(e)!.every((st) => !("designEffectQueries" in st))).toBe(true);
    // Every query of this calibration has a decided candidate (min_keep 2 < 5 candidates): the same bands either way.
    const bands = (x: typeof e) => driftBands(calibrationExpectation(x), DEFAULT_DRIFT_CONFIG, 1).dropStrata;
    expect(bands(e)).toEqual(bands(expectationOf(c)));
  });

  it("are read without it as before: the schema accepts the row, and the monitor and live target derive it", async () => {
    const c = await capped();
    const pq = c.per_query!;
    const old = {
      ...c,
      per_query: { ...pq, drop_rate_by_candidates: pq.drop_rate_by_candidates!.map(({ design_effect: _, ...st }) => st) },
    };
    const read = parseRecord(JSON.stringify(old));
    expect(PerQuery.parse(read.per_query)).toEqual(old.per_query);
    const e = expectationOf(read);
    expect(e.drop_rate_strata!.every((st) => !("design_effect" in st))).toBe(true);
    expect(dropStrataOf(e)!.every((st) => !("designEffect" in st))).toBe(true);
    // Its bands and live target are today's: those of the same calibration with every stratum's value unusable (null).
    const unusable = expectationOf({
      ...c,
      per_query: { ...pq, drop_rate_by_candidates: pq.drop_rate_by_candidates!.map((st) => ({ ...st, design_effect: null })) },
    });
    const bands = (x: typeof e) => driftBands(calibrationExpectation(x), DEFAULT_DRIFT_CONFIG, 1).dropStrata;
    expect(bands(e)).toEqual(bands(unusable));
    expect(bands(e)).not.toEqual(bands(expectationOf(c)));
    const live = { ...emptyClusterSums(), queries: 100, candidates: 3500, dropped: 2000, capped: 2500 };
    live.stratumEligible = DROP_RATE_STRATA.map((_, b) => (b === dropStratumOf(35) ? 800 : 0));
    live.stratumEligibleDropped = DROP_RATE_STRATA.map(() => 0);
    const arm = { since: 0, sums: live, guards: { min_keep: 2, max_keep: 10 } };
    expect(targetSide(e, arm)).toEqual(targetSide(unusable, arm));
    // The stratum's own, larger design effect makes the live target's effective size smaller.
    expect(targetSide(expectationOf(c), arm).effectiveSize).toBeLessThan(targetSide(e, arm).effectiveSize / 1.5);
  });
});

describe("a stratum whose queries are not all decided: the design effect's own queries", () => {
  it("are the queries with a decided candidate, as numpy counts them", () => {
    const { scores, offsets } = flattenQueries(golden.queries.map((q) => Float64Array.from(q)));
    const c = golden.cases.at(-1)!;
    expect(c.min_keep).toBe(16);
    // min_keep 16 splits the stratum of 15 to 18 candidates: its queries of 15 and 16 have no candidate to decide.
    const split = dropRateByCandidates(scores, offsets, c.threshold, guardsOf(c.min_keep, c.max_keep))[dropStratumOf(15)]!;
    expect(split).toMatchObject({ queries: 12, design_effect_queries: 8 });
    expect(split.design_effect).toBeGreaterThan(1);
  });

  it("gate the measured value and cap it at eligible over them, not over all the stratum's queries", () => {
    // 100 queries, 5 of them with 20 decided candidates each: a 5-query estimate, too noisy to use.
    expect(ownDesignEffect({ queries: 100, designEffectQueries: 5, eligible: 100, dropped: 40, designEffect: 8 })).toBeNull();
    // 40 of them with 10 each: the cap is 10, not 400 / 100 = 4.
    expect(ownDesignEffect({ queries: 100, designEffectQueries: 40, eligible: 400, dropped: 160, designEffect: 8 })).toBe(8);
    expect(ownDesignEffect({ queries: 100, designEffectQueries: 40, eligible: 400, dropped: 160, designEffect: 12 })).toBe(10);
    // A calibration fitted before the count was kept: all the stratum's queries, as before.
    expect(ownDesignEffect({ queries: 100, eligible: 400, dropped: 160, designEffect: 8 })).toBe(4);
    expect(ownDesignEffect({ queries: 100, eligible: 100, dropped: 40, designEffect: 8 })).toBe(1);
  });

  // Queries of 190 and 230 candidates share the stratum [185, 231]; with min_keep 200 only those of 230 have candidates
  // a threshold decides (their 30 lowest ranks), a third of the stratum's queries.
  const SPLIT_SIZES = [190, 190, 230];
  const truth = golden.expected_shares.find((s) => s.min_keep === 200)!;
  const b = dropStratumOf(230);
  // Margins only, at 2.5 % a side for the one stratum with decided candidates: alphaPerTest / 4 = 0.1 / 4.
  const ONE_STRATUM_MARGIN: DriftConfig = { ...MARGIN_ONLY, alpha: 0.1 };

  function splitStratum(scenario: number, runs: number) {
    const rows: { share: number; varianceNew: number; varianceOld: number; holdsNew: boolean; holdsOld: boolean; own: boolean }[] = [];
    for (let r = 0; r < runs; r++) {
      const { scores, offsets } = calibration(deriveSeed(scenario, r), SPLIT_SIZES, 40, truth.mu, truth.rho);
      const fitted = dropRateByCandidates(scores, offsets, 0, guardsOf(200, null));
      const pooled = perQueryStats(scores, offsets, 0, guardsOf(200, null));
      const strata = monitoredDropStrata(fitted);
      // The same calibration stored before the count was kept.
      const old: DropStratum[] = strata.map(({ designEffectQueries: _, ...st }) => st);
      const bandOf = (s: DropStratum[]) => {
        const cal: CalibrationExpectation = {
          expectedDropRate: 0.5,
          n: scores.length,
          designEffect: pooled.designEffect,
          emptyContextRate: null,
          nQueries: pooled.queries,
          dropRateStrata: s,
        };
        return driftBands(cal, ONE_STRATUM_MARGIN, 1).dropStrata![b]!.band;
      };
      const live = { ...emptyClusterSums(), queries: 100, candidates: 1000, dropped: 0 };
      live.stratumEligible = DROP_RATE_STRATA.map((_, i) => (i === b ? 1000 : 0));
      live.stratumEligibleDropped = DROP_RATE_STRATA.map(() => 0);
      const now = conditionedTarget(strata, pooled.designEffect, pooled.meanCandidates, live, 0)!;
      const before = conditionedTarget(old, pooled.designEffect, pooled.meanCandidates, live, 0)!;
      const holds = (band: { lo: number; hi: number }) => band.lo <= truth.share && truth.share <= band.hi;
      rows.push({
        share: now.rate,
        varianceNew: now.variance,
        varianceOld: before.variance,
        holdsNew: holds(bandOf(strata)),
        holdsOld: holds(bandOf(old)),
        own: ownDesignEffect(strata[b]!) !== null,
      });
    }
    const mean = rows.reduce((a, x) => a + x.share, 0) / runs;
    const spread = rows.reduce((a, x) => a + (x.share - mean) ** 2, 0) / (runs - 1);
    const avg = (f: (x: (typeof rows)[number]) => number) => rows.reduce((a, x) => a + f(x), 0) / runs;
    return {
      mean,
      ratioNew: avg((x) => x.varianceNew) / spread,
      ratioOld: avg((x) => x.varianceOld) / spread,
      missNew: 1 - avg((x) => (x.holdsNew ? 1 : 0)),
      missOld: 1 - avg((x) => (x.holdsOld ? 1 : 0)),
      ownShare: avg((x) => (x.own ? 1 : 0)),
    };
  }

  it("give the split stratum's share its spread over calibrations, where the cap over all its queries gave half of it", () => {
    // measured: variance 1.07 times the spread, bands missing the true share in 6.25 % of calibrations at a nominal
    // 5 %; with the cap over all 120 queries 0.48 and 17 %.
    const s = splitStratum(4, RUNS);
    expect(Math.abs(s.mean - truth.share)).toBeLessThan(0.02);
    expect(s.ownShare).toBeGreaterThan(0.95);
    expect(s.ratioNew).toBeGreaterThan(RIGHT[0]);
    expect(s.ratioNew).toBeLessThan(RIGHT[1]);
    expect(s.missNew).toBeLessThan(0.1);
    // Capped at 1200 / 120 = 10 where the 40 decided queries' own value is about twice that.
    expect(s.ratioOld).toBeLessThan(0.6);
    expect(s.missOld).toBeGreaterThan(0.15);
  });
});
