import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/drift.json" with { type: "json" };
import { calibrationExpectation, expectationOf } from "../../src/calibrations/expectation";
import { fitCalibration } from "../../src/calibrations/fit";
import type { StoredCalibration } from "../../src/contract";
import type { CalibrationExpectation } from "../../src/stats/calibration-expectation";
import { evaluateDrift } from "../../src/stats/drift";
import { driftBands } from "../../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG, type DriftConfig } from "../../src/stats/drift-config";
import { sortedCopy } from "../../src/stats/order-statistics";
import { addCluster, type ClusterSums, emptyClusterSums } from "../../src/stats/per-query";
import { binomCdf } from "../../src/stats/special";
import { CANDIDATES, firstAlarm, maxAlarmsConsistentWithAlpha, windowsThatAlarm } from "../support/monitor-runs";
import { createRng, deriveSeed } from "../support/prng";

const M = CANDIDATES;

function calibration(expectedDropRate: number, n: number, empty: { rate: number; queries: number } | null = null): CalibrationExpectation {
  return { expectedDropRate, n, emptyContextRate: empty?.rate ?? null, nQueries: empty?.queries ?? null };
}

describe("evaluateDrift", () => {
  it.each(golden.evaluateDrift)("matches the python reference on deflated counts: $name", (c) => {
    const sums = emptyClusterSums();
    c.m.forEach((m, i) => {
      addCluster(sums, m, c.d[i]!);
    });
    const ev = evaluateDrift(sums, calibration(c.expectedDropRate, c.nCal), DEFAULT_DRIFT_CONFIG);
    expect(ev.designEffect).toBeCloseTo(c.designEffect, 10);
    expect(ev.dropRate.band.lo).toBeCloseTo(c.lo, 14);
    expect(ev.dropRate.band.hi).toBeCloseTo(c.hi, 14);
    expect(Math.abs(ev.dropRate.logEvidence - c.logEvidence)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(c.logEvidence)));
    expect(ev.dropRate.alarm).toBe(c.alarm);
    expect(ev.effectiveDropped * ev.designEffect).toBeCloseTo(sums.dropped, 8);
    expect(ev.effectiveDropped + ev.effectiveKept).toBeCloseTo(sums.candidates / ev.designEffect, 8);
    expect(ev.emptyContext).toBeNull();
  });

  // ln(2/alpha) = ln(2000) at alpha 0.001: alpha/2 goes to the calibration's error in the band, alpha/2 to the
  // sequential test (src/stats/drift-bands.ts).
  it("alarms at ln(2/alpha): alpha/2 is spent on the calibration's error", () => {
    const ev = evaluateDrift(emptyClusterSums(), calibration(0.3, 10_000), DEFAULT_DRIFT_CONFIG);
    expect(ev.logThreshold).toBeCloseTo(Math.log(2000), 14);
    expect(ev.dropRate).toMatchObject({ observed: null, logEvidence: 0, alarm: false });
  });

  it("rejects alpha outside (0, 1)", () => {
    for (const alpha of [0, 1, -0.1, Number.NaN]) {
      const config: DriftConfig = { ...DEFAULT_DRIFT_CONFIG, alpha };
      expect(() => evaluateDrift(emptyClusterSums(), calibration(0.3, 10_000), config)).toThrow(RangeError);
    }
  });

  it("does not mutate the sums", () => {
    const sums = emptyClusterSums();
    addCluster(sums, 20, 6);
    addCluster(sums, 20, 9);
    expect(() => evaluateDrift(Object.freeze(sums), calibration(0.3, 10_000), DEFAULT_DRIFT_CONFIG)).not.toThrow();
  });
});

// The run counts here decide each property; bench/suite-simulations.ts runs the same scenarios on the counts the suite
// used to run (300 windows a scenario, 20,000 short heavily clustered windows): docs/benchmarks.md, "Test suite wall
// time". bench/drift-sim.ts measures the rates on 5,000 full windows.
describe("drop-rate monitor in simulation (peeking every 10 queries, 20 candidates a query)", () => {
  const RUNS = 100;
  const QUERIES = 2_000;

  it("does not alarm without a shift, with clustered queries (rho 0.05) and a noisy calibration", () => {
    const alarms = windowsThatAlarm(RUNS, (run) => deriveSeed(1, run), QUERIES, 0.3, 0.05, null);
    expect(alarms).toBeLessThanOrEqual(maxAlarmsConsistentWithAlpha(RUNS));
  }, 60_000);

  it("does not alarm more than alpha allows at the edge of the band (true rate 0.32, expected 0.30), rho 0.2", () => {
    const alarms = windowsThatAlarm(RUNS, (run) => deriveSeed(2, run), QUERIES, 0.32, 0.2, 0.3);
    expect(alarms).toBeLessThanOrEqual(maxAlarmsConsistentWithAlpha(RUNS));
  }, 60_000);

  // Regression test for a defect found by bench/drift-sim.ts, now fixed: before DEFAULT_DRIFT_CONFIG.minQueries
  // existed, heavy clustering false-alarmed at 10-20 queries, where the design effect estimated from those few queries
  // is far below the truth (1.0-2.5 against 10.5). evaluateDrift now raises no alarm before minQueries (100) queries;
  // this pins that windows of 100 heavily clustered queries stay within alpha. Full-window rates: bench/results/drift.md.
  it("heavy clustering (rho 0.5) stays within alpha: no alarm in the first 100 queries, where deff is underestimated", () => {
    const runs = 5_000;
    const alarms = windowsThatAlarm(runs, (run) => deriveSeed(5, run), 100, 0.3, 0.5, 0.3);
    expect(alarms).toBeLessThanOrEqual(maxAlarmsConsistentWithAlpha(runs));
  }, 60_000);

  it("alarms on a 0.30 -> 0.40 shift within 3000 queries", () => {
    const delays: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const at = firstAlarm(deriveSeed(3, run), 3_000, 0.4, 0.05, null);
      if (at !== null) delays.push(at);
    }
    expect(delays.length / RUNS).toBeGreaterThanOrEqual(0.95);
    delays.sort((a, b) => a - b);
    expect(delays[Math.floor(delays.length / 2)]).toBeLessThanOrEqual(500);
  }, 60_000);

  it("alarms on a fall as well as a rise (0.30 -> 0.20)", () => {
    expect(windowsThatAlarm(50, (run) => deriveSeed(4, run), 3_000, 0.2, 0.05, null)).toBe(50);
  }, 60_000);
});

describe("empty-context monitor", () => {
  /** Queries of M candidates, a share `emptyShare` of them losing every candidate, the rest dropping at `p`. */
  function window(seed: number, queries: number, emptyShare: number, p: number): ClusterSums {
    const rng = createRng(seed);
    const sums = emptyClusterSums();
    for (let q = 0; q < queries; q++) addCluster(sums, M, rng.next() < emptyShare ? M : rng.binomial(M, p));
    return sums;
  }
  const cal = calibration(0.3, 10_000, { rate: 0.01, queries: 2_000 });

  it("is absent when the calibration has no per-query statistics", () => {
    expect(evaluateDrift(window(1, 100, 0, 0.3), calibration(0.3, 10_000), DEFAULT_DRIFT_CONFIG).emptyContext).toBeNull();
  });

  it("alarms when the empty-context rate rises from 1 % to 8 %", () => {
    const ev = evaluateDrift(window(2, 2_000, 0.08, 0.24), cal, DEFAULT_DRIFT_CONFIG);
    expect(ev.emptyContext).not.toBeNull();
    expect(ev.emptyContext!.observed).toBeGreaterThan(0.06);
    expect(ev.emptyContext!.alarm).toBe(true);
    expect(ev.emptyContext!.logEvidence).toBeGreaterThanOrEqual(ev.logThreshold);
    expect(ev.emptyContext!.band).toEqual({ lo: 0, hi: 0.03 });
  });

  it("does not alarm when the empty-context rate stays within tolerance or falls (one-sided)", () => {
    expect(evaluateDrift(window(3, 5_000, 0.02, 0.29), cal, DEFAULT_DRIFT_CONFIG).emptyContext!.alarm).toBe(false);
    const higherCal = calibration(0.3, 10_000, { rate: 0.1, queries: 2_000 });
    const fallen = evaluateDrift(window(4, 5_000, 0, 0.3), higherCal, DEFAULT_DRIFT_CONFIG).emptyContext!;
    expect(fallen.observed).toBe(0);
    expect(fallen.alarm).toBe(false);
    expect(fallen.logEvidence).toBeLessThanOrEqual(0);
  });
});

describe("the drop-rate band's calibration margin for small calibrations at extreme targets (exact Beta law)", () => {
  /** The monitor's expectation of a gate fitted on n continuous scores at target d, as the server publishes it. */
  function served(n: number, d: number) {
    const scores = sortedCopy(Float64Array.from({ length: n }, (_, i) => (i + 0.5) / n));
    const fitted = fitCalibration(scores, d, null);
    const record = { ...fitted.fields, drift_tolerance: null, empty_context_tolerance: null } as unknown as StoredCalibration;
    return { k: fitted.fields.k, cal: calibrationExpectation(expectationOf(record)) };
  }
  // P(Beta(k, n+1-k) <= x) = P(Binomial(n, x) >= k): the exact law of the fitted gate's true drop rate.
  const lawCdf = (x: number, k: number, n: number): number => 1 - binomCdf(k - 1, n, x);

  it.each([
    [100, 0.01],
    [200, 0.01],
    [300, 0.01],
    [200, 0.99],
    [100, 0.99],
  ])("n = %i, d = %f: the true rate leaves the band with probability at most alpha/2", (n, d) => {
    const { k, cal } = served(n, d);
    const { dropRate: band } = driftBands(cal, DEFAULT_DRIFT_CONFIG, 1);
    const miss = (band.lo > 0 ? lawCdf(band.lo, k, n) : 0) + (1 - lawCdf(band.hi, k, n));
    // The normal margin missed 5.9 % (n = 100), 3.0 % (200), 2.0 % (300) at d = 0.01 against 0.05 %.
    expect(miss).toBeLessThanOrEqual((DEFAULT_DRIFT_CONFIG.alpha / 2) * (1 + 1e-9));
  });

  it("is centred where the true rate is, k/(n+1), and leaves a calibration too small to bound its rate unarmed", () => {
    const { k, cal } = served(200, 0.01);
    expect(cal.expectedDropRate).toBe(k / 201);
    // docs/drift.md: armed from 43 independent scores at d = 0.5 (default alpha, the drop-rate test alone), 35 at 0.1.
    for (const [d, first] of [
      [0.5, 43],
      [0.1, 35],
    ] as const) {
      expect(driftBands(served(first - 1, d).cal, DEFAULT_DRIFT_CONFIG, 1).dropRateArmable, `n=${first - 1} d=${d}`).toBe(false);
      expect(driftBands(served(first, d).cal, DEFAULT_DRIFT_CONFIG, 1).dropRateArmable, `n=${first} d=${d}`).toBe(true);
    }
    const tiny = served(42, 0.5).cal;
    const bands = driftBands(tiny, DEFAULT_DRIFT_CONFIG, 1);
    expect(bands.dropRateArmable).toBe(false);
    const sums = emptyClusterSums();
    for (let i = 0; i < 200; i++) addCluster(sums, 20, 20);
    const ev = evaluateDrift(sums, tiny, DEFAULT_DRIFT_CONFIG);
    expect(ev.dropRate).toMatchObject({ armed: false, alarm: false, notArmedReason: "calibration_too_small" });
  });
});
