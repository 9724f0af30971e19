import { describe, expect, it } from "vitest";
import type { CalibrationExpectation } from "../../src/stats/calibration-expectation";
import { conditionedAbstention, conditionedDropRate } from "../../src/stats/conditioned-rates";
import { driftBands } from "../../src/stats/drift-bands";
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
