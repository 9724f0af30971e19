import { describe, expect, it } from "vitest";
import type { CalibrationExpectation } from "../../src/stats/calibration-expectation";
import { driftBands } from "../../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { type DriftTest, evaluateDetector, observeDetector } from "../../src/stats/drift-detector";
import { type DetectorState, detectorAdd, newDetector } from "../../src/stats/e-detector";
import { NO_GUARDS } from "../../src/stats/guarded-gate";
import { DETECTOR_BATCH as BATCH, DETECTOR_CALIBRATION as CAL, detectorDelay as delay, CANDIDATES as M } from "../support/monitor-runs";
import { clusteredDrops, createRng, deriveSeed } from "../support/prng";

// The seed counts here decide each property (a blind spot would miss on every seed); bench/suite-simulations.ts runs the same scenarios on the counts the
// suite used to run (5 seeds a start, 3 of the 100,000-query run): docs/benchmarks.md, "Test suite wall time".
describe("change detector: no blind spot for late shifts", () => {
  it.each([0, 10_000, 50_000])(
    "0.30 -> 0.40 at 20 candidates per query, rho 0.05, starting after %i quiet queries: detected within 400 queries (2 seeds)",
    (quiet) => {
      for (let run = 0; run < 2; run++) {
        const r = delay(deriveSeed(71 + quiet, run), quiet, 0.4, 0.05);
        expect(r.falseAlarms).toBe(0);
        expect(r.delay).not.toBeNull();
        expect(r.delay!).toBeLessThanOrEqual(400);
      }
    },
    60_000,
  );

  it("no false alarm over 100,000 queries whose candidates move together strongly (rho 0.2)", () => {
    expect(delay(deriveSeed(72, 0), 100_000, 0.3, 0.2, 0).falseAlarms).toBe(0);
  }, 60_000);
});

describe("detector state stays bounded", () => {
  it("keeps at most maxStarts candidate change points, always the newest, and counts every start it opened", () => {
    let state: DetectorState = newDetector();
    const limits = { blockQueries: 10, maxStarts: 4 };
    for (let b = 0; b < 50; b++) {
      state = detectorAdd(
        state,
        Array.from({ length: 10 }, () => [5, 1] as const),
        b,
        limits,
        (s) => -s.queries,
      );
      expect(state.starts.length).toBeLessThanOrEqual(4);
      expect(state.starts[state.starts.length - 1]!.openedAt).toBe(b);
    }
    expect(state.opened).toBe(50);
    expect(state.total.queries).toBe(500);
    expect(() => detectorAdd(state, [], 0, { blockQueries: 0, maxStarts: 4 }, () => 0)).toThrow(RangeError);
  });

  it("does not mutate its input", () => {
    const s0 = observeDetector(newDetector(), [[20, 6]], 1, CAL, DEFAULT_DRIFT_CONFIG);
    const copy = structuredClone(s0);
    observeDetector(s0, [[20, 20]], 2, CAL, DEFAULT_DRIFT_CONFIG);
    expect(s0).toEqual(copy);
  });

  it("reports where the evidence accumulates since: the start that opened at the change", () => {
    const rng = createRng(73);
    let state = newDetector();
    const quiet = clusteredDrops(rng, M, 0.3, 0.05);
    const shifted = clusteredDrops(rng, M, 0.45, 0.05);
    for (let q = 0; q < 2_000; q += BATCH)
      state = observeDetector(
        state,
        Array.from({ length: BATCH }, () => [M, quiet()]),
        q,
        CAL,
        DEFAULT_DRIFT_CONFIG,
      );
    for (let q = 0; q < 150; q += BATCH)
      state = observeDetector(
        state,
        Array.from({ length: BATCH }, () => [M, shifted()]),
        2_000 + q,
        CAL,
        DEFAULT_DRIFT_CONFIG,
      );
    const ev = evaluateDetector(state, CAL, DEFAULT_DRIFT_CONFIG);
    expect(ev.dropRate.since!).toBeGreaterThanOrEqual(1_950);
    expect(ev.dropRate.sinceQueries!).toBeLessThanOrEqual(200);
    // The rate since that start is the shifted one, where the cumulative rate barely moved.
    expect(ev.dropRate.observed!).toBeLessThan(0.32);
    expect(ev.dropRate.sinceObserved!).toBeGreaterThan(0.4);
    expect(ev.dropRate.sinceObserved!).toBeLessThan(0.5);
  });
});

describe("bands on messy calibrations", () => {
  it("empty context: a calibration of 50 queries without an empty one is not armed; 2,000 queries are", () => {
    const small = driftBands({ ...CAL, emptyContextRate: 0, nQueries: 50 }, DEFAULT_DRIFT_CONFIG, 1);
    expect(small.emptyContext!.hi).toBeGreaterThan(0.1); // the exact bound, not the Wald band [0, 0.02]
    expect(small.emptyContextArmable).toBe(false);
    const large = driftBands({ ...CAL, emptyContextRate: 0, nQueries: 2_000 }, DEFAULT_DRIFT_CONFIG, 1);
    expect(large.emptyContextArmable).toBe(true);
    expect(large.emptyContext!.hi).toBe(0.02); // the tolerance, once the exact bound (about 0.003) is below it
  });

  it("a flat calibration's band is floored by the clustering production shows", () => {
    const flat = driftBands({ ...CAL, n: 2_000 }, DEFAULT_DRIFT_CONFIG, 1);
    const clustered = driftBands({ ...CAL, n: 2_000 }, DEFAULT_DRIFT_CONFIG, 4);
    expect(clustered.dropRate.hi - clustered.dropRate.lo).toBeGreaterThan(1.9 * (flat.dropRate.hi - flat.dropRate.lo));
  });

  it("a 1 % gate that stops dropping: never alarms with the default 2-point band, alarms with a relative tolerance", () => {
    const gate: CalibrationExpectation = { expectedDropRate: 0.01, n: 200_000, emptyContextRate: null, nQueries: null };
    expect(driftBands(gate, DEFAULT_DRIFT_CONFIG, 1).dropRate.lo).toBe(0);
    const tight = { ...gate, tolerance: 0.005 };
    expect(driftBands(tight, DEFAULT_DRIFT_CONFIG, 1).dropRate.lo).toBeGreaterThan(0);
    let state = newDetector();
    let alarmAt: number | null = null;
    for (let q = 0; q < 5_000 && alarmAt === null; q += BATCH) {
      state = observeDetector(
        state,
        Array.from({ length: BATCH }, () => [M, 0] as const),
        q,
        tight,
        DEFAULT_DRIFT_CONFIG,
      );
      if (evaluateDetector(state, tight, DEFAULT_DRIFT_CONFIG).dropRate.alarm) alarmAt = q + BATCH;
    }
    expect(alarmAt).not.toBeNull();
    let loose = newDetector();
    for (let q = 0; q < 5_000; q += BATCH)
      loose = observeDetector(
        loose,
        Array.from({ length: BATCH }, () => [M, 0] as const),
        q,
        gate,
        DEFAULT_DRIFT_CONFIG,
      );
    expect(evaluateDetector(loose, gate, DEFAULT_DRIFT_CONFIG).dropRate.alarm).toBe(false);
  });
});

describe("pruning by the tests that read the state", () => {
  it("drops the start with the least evidence for those tests: a drop-rate detector and an abstention detector keep different starts", () => {
    const cal: CalibrationExpectation = { ...CAL, abstention: { expectedRate: 0.2, queries: 2_000 } };
    const config = { ...DEFAULT_DRIFT_CONFIG, blockQueries: 50, maxStarts: 2 };
    const batch = (dropped: number, abstainEvery: number): [number, number, number, number][] =>
      Array.from({ length: 50 }, (_, i) => [20, dropped, dropped, i % abstainEvery === 0 ? 1 : 0]);
    // A: the drop rate at 60 %, abstention at 20 %. B: the drop rate at 30 %, abstention at 100 %. C: both as expected.
    // The start opened at A holds the drop-rate shift; the one opened at B the abstention shift, undiluted by A.
    const run = (tests: readonly DriftTest[]) =>
      [batch(12, 5), batch(6, 1), batch(6, 5)]
        .reduce((s, b, i) => observeDetector(s, b, i, cal, config, NO_GUARDS, tests), newDetector())
        .starts.map((s) => s.openedAt);
    expect(run(["dropRate"])).toEqual([0, 2]);
    expect(run(["abstention"])).toEqual([1, 2]);
  });
});
