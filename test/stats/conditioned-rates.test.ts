import { describe, expect, it } from "vitest";
import type { CalibrationExpectation } from "../../src/stats/calibration-expectation";
import { conditionedAbstention, conditionedDropRate, conditionedTarget } from "../../src/stats/conditioned-rates";
import { driftBands, MIN_OWN_DESIGN_EFFECT_QUERIES } from "../../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { DROP_RATE_STRATA, dropStratumOf, emptyClusterSums } from "../../src/stats/per-query";

// A guarded, abstaining calibration that saw only queries of 10 candidates (one drop-rate stratum), and production
// whose queries all have 3: a size the calibration never saw, so no stratum of it is tested. What GET /v1/monitor and
// /metrics show as expected must still be comparable with what production shows, not 0.
const ten = dropStratumOf(10);
const three = dropStratumOf(3);
const cal: CalibrationExpectation = {
  expectedDropRate: 0.3,
  n: 4000,
  emptyContextRate: null,
  nQueries: 400,
  dropRateStrata: DROP_RATE_STRATA.map((_, b) =>
    b === ten ? { queries: 400, eligible: 3200, dropped: 1200 } : { queries: 0, eligible: 0, dropped: 0 },
  ),
  abstention: {
    // The calibration's expected rate (k/(n+1)-style), not its in-sample share 40/400: what unseen sizes are shown at.
    expectedRate: 0.1025,
    queries: 400,
    strata: DROP_RATE_STRATA.map((_, b) => (b === ten ? { queries: 400, abstained: 40 } : { queries: 0, abstained: 0 })),
  },
};

describe("the expectation shown for query sizes the calibration never saw", () => {
  const bands = driftBands(cal, DEFAULT_DRIFT_CONFIG, 1);

  it("is the calibration's pooled rate, untested, with a band that says nothing is known", () => {
    expect(three).not.toBe(ten);
    expect(bands.dropStrata![three]).toEqual({ expected: 1200 / 3200, band: { lo: 0, hi: 1 }, armable: false });
    expect(bands.abstentionStrata![three]).toEqual({ expected: 0.1025, band: { lo: 0, hi: 1 }, armable: false });
  });

  it("keeps the production-weighted expectation near the calibration's instead of 0", () => {
    const sums = { ...emptyClusterSums(), queries: 100, candidates: 300, dropped: 110 };
    sums.stratumEligible = DROP_RATE_STRATA.map((_, b) => (b === three ? 300 : 0));
    sums.stratumEligibleDropped = DROP_RATE_STRATA.map((_, b) => (b === three ? 110 : 0));
    sums.abstentionQueries = 100;
    sums.abstained = 12;
    sums.stratumAbstentionQueries = DROP_RATE_STRATA.map((_, b) => (b === three ? 100 : 0));
    sums.stratumAbstained = DROP_RATE_STRATA.map((_, b) => (b === three ? 12 : 0));
    expect(conditionedDropRate(sums, bands, cal.expectedDropRate).expected).toBeCloseTo(1200 / 3200, 12);
    expect(conditionedAbstention(sums, bands, 0.1025).expected).toBeCloseTo(0.1025, 12);
  });
});

describe("a guarded calibration's target for a live side's own query sizes", () => {
  const four = dropStratumOf(4);
  const strata = DROP_RATE_STRATA.map((_, b) =>
    b === ten
      ? { queries: 400, eligible: 2800, dropped: 1400 }
      : b === four
        ? { queries: 100, eligible: 100, dropped: 80 }
        : { queries: 0, eligible: 0, dropped: 0 },
  );

  it("weighs each stratum's share by the live eligible candidates, over all live candidates, cap drops as counted", () => {
    // Live: 50 queries of 4 (1 eligible each: 50), 10 of 10 (7 eligible each: 70), 10 of 3 (unseen: 0 eligible with
    // min_keep 3); 5 drops outside the eligible candidates (a cap's). Candidates 200 + 100 + 30 = 330.
    const sums = { ...emptyClusterSums(), queries: 70, candidates: 330, dropped: 5 + 40 + 35 };
    sums.stratumEligible = DROP_RATE_STRATA.map((_, b) => (b === four ? 50 : b === ten ? 70 : 0));
    sums.stratumEligibleDropped = DROP_RATE_STRATA.map((_, b) => (b === four ? 40 : b === ten ? 35 : 0));
    const t = conditionedTarget(strata, 2, 11, sums)!;
    expect(t.rate).toBeCloseTo((5 + 50 * 0.8 + 70 * 0.5) / 330, 12);
    // Each share at its effective size eligible / deff_b, Agresti-Caffo adjusted, weighted by (E_b / C)^2. Queries of 4
    // hold one eligible candidate each: independent units (deff_b 1, not the pooled 2). Queries of 10 hold 7: rho =
    // (2 - 1) / (11 - 1) gives 1.6, floored at the pooled 2.
    const av = (p: number, n: number) => {
      const a = (p * n + 1) / (n + 2);
      return (a * (1 - a)) / (n + 2);
    };
    expect(t.variance).toBeCloseTo((50 / 330) ** 2 * av(0.8, 100) + (70 / 330) ** 2 * av(0.5, 1400), 14);
    // Without the calibration's mean size, rho is taken at 1: deff_b = k_b, 7 for the queries of 10.
    const bound = conditionedTarget(strata, 2, null, sums)!;
    expect(bound.rate).toBe(t.rate);
    expect(bound.variance).toBeCloseTo((50 / 330) ** 2 * av(0.8, 100) + (70 / 330) ** 2 * av(0.5, 400), 14);
  });

  it("takes the cap's drops from the queries' sizes when given, not from the drops outside the eligible candidates", () => {
    const sums = { ...emptyClusterSums(), queries: 50, candidates: 200, dropped: 60 };
    sums.stratumEligible = DROP_RATE_STRATA.map((_, b) => (b === four ? 50 : 0));
    sums.stratumEligibleDropped = DROP_RATE_STRATA.map((_, b) => (b === four ? 40 : 0));
    // 20 drops outside the eligible candidates: with no cap (capDrops 0) they are not expected.
    expect(conditionedTarget(strata, 1, null, sums, 0)!.rate).toBeCloseTo((50 * 0.8) / 200, 12);
    expect(conditionedTarget(strata, 1, null, sums, 5)!.rate).toBeCloseTo((5 + 50 * 0.8) / 200, 12);
    expect(conditionedTarget(strata, 1, null, sums)!.rate).toBeCloseTo((20 + 50 * 0.8) / 200, 12);
  });

  it("takes the calibration's pooled eligible share where it saw no eligible candidate of that size", () => {
    const sums = { ...emptyClusterSums(), queries: 10, candidates: 50, dropped: 20 };
    const five = dropStratumOf(5);
    sums.stratumEligible = DROP_RATE_STRATA.map((_, b) => (b === five ? 20 : 0));
    sums.stratumEligibleDropped = DROP_RATE_STRATA.map((_, b) => (b === five ? 20 : 0));
    const t = conditionedTarget(strata, 1, null, sums)!;
    expect(t.rate).toBeCloseTo((20 * (1480 / 2900)) / 50, 12);
  });

  it("gives its variance Satterthwaite's degrees of freedom: a stratum on its own design effect its own queries - 1", () => {
    // Queries of 10 (400 of them, design effect measured on their own: 399 df) and of 4 (35 queries, measured: 34 df).
    const own = DROP_RATE_STRATA.map((_, b) =>
      b === ten
        ? { queries: 400, eligible: 2800, dropped: 1400, designEffect: 2.5 }
        : b === four
          ? { queries: 35, eligible: 35, dropped: 28, designEffect: 1 }
          : { queries: 0, eligible: 0, dropped: 0 },
    );
    const sums = { ...emptyClusterSums(), queries: 60, candidates: 300, dropped: 75 };
    sums.stratumEligible = DROP_RATE_STRATA.map((_, b) => (b === four ? 50 : b === ten ? 70 : 0));
    sums.stratumEligibleDropped = DROP_RATE_STRATA.map((_, b) => (b === four ? 40 : b === ten ? 35 : 0));
    const av = (p: number, n: number) => {
      const a = (p * n + 1) / (n + 2);
      return (a * (1 - a)) / (n + 2);
    };
    const v4 = 50 ** 2 * av(0.8, 35);
    const v10 = 70 ** 2 * av(0.5, 2800 / 2.5);
    const t = conditionedTarget(own, 2, 11, sums)!;
    expect(t.variance).toBeCloseTo((v4 + v10) / 300 ** 2, 14);
    expect(t.varianceDf).toBeCloseTo((v4 + v10) ** 2 / (v4 ** 2 / 34 + v10 ** 2 / 399), 8);
    // The short stratum holds most of the variance: the sum has about its 34 df, not the calibration's 434.
    expect(t.varianceDf).toBeLessThan(60);
    // Without own design effects every term scales with the one pooled estimate: the calibration's queries - 1.
    const derived = own.map(({ designEffect: _, ...st }) => st);
    expect(conditionedTarget(derived, 2, 11, sums)!.varianceDf).toBeCloseTo(434, 8);
    // Every live candidate on an unseen size: the fixed 1/12 allowance, which is no estimate, dwarfs the pooled share's
    // sampling part, so the sum's df is far above the calibration's.
    const unseen = { ...emptyClusterSums(), queries: 10, candidates: 50, dropped: 20 };
    unseen.stratumEligible = DROP_RATE_STRATA.map((_, b) => (b === dropStratumOf(5) ? 20 : 0));
    unseen.stratumEligibleDropped = DROP_RATE_STRATA.map((_, b) => (b === dropStratumOf(5) ? 20 : 0));
    expect(conditionedTarget(derived, 2, 11, unseen)!.varianceDf).toBeGreaterThan(434);
    // Nothing a threshold decides: no variance, no df to bound.
    const none = { ...emptyClusterSums(), queries: 10, candidates: 30, dropped: 0 };
    none.stratumEligible = DROP_RATE_STRATA.map(() => 0);
    none.stratumEligibleDropped = DROP_RATE_STRATA.map(() => 0);
    expect(conditionedTarget(own, 2, 11, none)!.varianceDf).toBe(Number.POSITIVE_INFINITY);
  });

  it("is null without the live side's strata, without live candidates, or with strata of another layout", () => {
    const sums = { ...emptyClusterSums(), queries: 1, candidates: 4, dropped: 1 };
    const { stratumEligible: _, ...unsplit } = sums;
    expect(conditionedTarget(strata, 1, null, unsplit)).toBeNull();
    expect(conditionedTarget(strata, 1, null, sums)).not.toBeNull();
    expect(conditionedTarget(strata, 1, null, emptyClusterSums())).toBeNull();
    expect(conditionedTarget(strata.slice(1), 1, null, sums)).toBeNull();
  });
});

describe("a stratum's own design effect (drop_rate_by_candidates[].design_effect)", () => {
  const ten = dropStratumOf(10);
  const av = (p: number, n: number) => {
    const a = (p * n + 1) / (n + 2);
    return (a * (1 - a)) / (n + 2);
  };
  // 400 queries of 10 with 7 eligible candidates each (min_keep 3), half of them dropped.
  const strataWith = (designEffect: number | null | undefined, queries = 400) =>
    DROP_RATE_STRATA.map((_, b) =>
      b === ten
        ? { queries, eligible: 7 * queries, dropped: 3.5 * queries, ...(designEffect !== undefined ? { designEffect } : {}) }
        : { queries: 0, eligible: 0, dropped: 0 },
    );
  const sums = { ...emptyClusterSums(), queries: 10, candidates: 100, dropped: 35 };
  sums.stratumEligible = DROP_RATE_STRATA.map((_, b) => (b === ten ? 70 : 0));
  sums.stratumEligibleDropped = DROP_RATE_STRATA.map((_, b) => (b === ten ? 35 : 0));
  const variance = (designEffect: number | null | undefined, queries = 400) =>
    conditionedTarget(strataWith(designEffect, queries), 2, 11, sums, 0)!.variance;

  it("is the stratum's design effect in conditionedTarget from MIN_OWN_DESIGN_EFFECT_QUERIES queries, capped at k_b", () => {
    expect(MIN_OWN_DESIGN_EFFECT_QUERIES).toBe(30);
    expect(variance(4.5)).toBeCloseTo(0.7 ** 2 * av(0.5, 2800 / 4.5), 14);
    // Below the derived value (2: rho = 1/10 gives 1.6, floored at the pooled 2) too: it is measured, not a floor.
    expect(variance(1.2)).toBeCloseTo(0.7 ** 2 * av(0.5, 2800 / 1.2), 14);
    // Never above k_b = 7, its value when a query's eligible candidates move as one.
    expect(variance(9)).toBeCloseTo(0.7 ** 2 * av(0.5, 2800 / 7), 14);
  });

  it("falls back to the value derived from the pooled design effect: absent, not measurable, or too few queries", () => {
    const derived = (queries: number) => 0.7 ** 2 * av(0.5, (7 * queries) / 2);
    expect(variance(undefined)).toBeCloseTo(derived(400), 14);
    expect(variance(null)).toBeCloseTo(derived(400), 14);
    expect(variance(4.5, MIN_OWN_DESIGN_EFFECT_QUERIES - 1)).toBeCloseTo(derived(MIN_OWN_DESIGN_EFFECT_QUERIES - 1), 14);
    expect(variance(4.5, MIN_OWN_DESIGN_EFFECT_QUERIES)).toBeCloseTo(0.7 ** 2 * av(0.5, (7 * MIN_OWN_DESIGN_EFFECT_QUERIES) / 4.5), 14);
  });

  it("sets the stratum's drift band as the pooled design effect would if it were that value", () => {
    const base: CalibrationExpectation = { expectedDropRate: 0.5, n: 4000, emptyContextRate: null, nQueries: 400 };
    const own = driftBands({ ...base, designEffect: 1.5, dropRateStrata: strataWith(4.5) }, DEFAULT_DRIFT_CONFIG, 1).dropStrata![ten]!;
    const asPooled = driftBands({ ...base, designEffect: 4.5, dropRateStrata: strataWith(undefined) }, DEFAULT_DRIFT_CONFIG, 1).dropStrata![ten]!;
    expect(own).toEqual(asPooled);
    // Without it (or with too few queries), the pooled value as before, production's design effect flooring it.
    const before = driftBands({ ...base, designEffect: 1.5, dropRateStrata: strataWith(undefined) }, DEFAULT_DRIFT_CONFIG, 3).dropStrata![ten]!;
    const floored = driftBands({ ...base, designEffect: 3, dropRateStrata: strataWith(undefined) }, DEFAULT_DRIFT_CONFIG, 1).dropStrata![ten]!;
    expect(before).toEqual(floored);
    expect(before.band.hi - before.band.lo).toBeLessThan(own.band.hi - own.band.lo);
  });
});
