/**
 * The seeded monitor simulations of test/stats/drift.test.ts and test/stats/drift-detector.test.ts, shared with
 * bench/suite-simulations.ts, which runs them on the seed counts the suite used to run: the suite keeps each property
 * on fewer seeds, where the smaller run still decides it, and the benchmark keeps the large run.
 *
 * Model: queries of M = 20 candidates, each query's drop probability drawn with intra-query correlation rho
 * (clusteredDrops); the calibration's expected rate is 0.30 from 10,000 candidates unless stated.
 */
import type { CalibrationExpectation } from "../../src/stats/calibration-expectation";
import { evaluateDrift } from "../../src/stats/drift";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { evaluateDetector, observeDetector } from "../../src/stats/drift-detector";
import { newDetector } from "../../src/stats/e-detector";
import { addCluster, emptyClusterSums } from "../../src/stats/per-query";
import { binomIsf } from "../../src/stats/special";
import { clusteredDrops, createRng } from "./prng";

/** Candidates per query in every scenario here. */
export const CANDIDATES = 20;
/** Queries per batch the per-window test is evaluated after (peeking). */
export const WINDOW_BATCH = 10;
/** Queries per batch the change detector observes and is evaluated after. */
export const DETECTOR_BATCH = 25;
/** The calibration the change detector's scenarios expect. */
export const DETECTOR_CALIBRATION: CalibrationExpectation = { expectedDropRate: 0.3, n: 10_000, emptyContextRate: null, nQueries: null };

/** The most alarms a valid level-alpha test could give in `runs` windows, except with probability 1e-4. */
export const maxAlarmsConsistentWithAlpha = (runs: number): number => binomIsf(1e-4, runs, DEFAULT_DRIFT_CONFIG.alpha);

/**
 * One monitoring window of the per-window test (evaluateDrift), evaluated after every batch of WINDOW_BATCH queries.
 * Returns the number of queries seen at the first drop-rate alarm, or null. p0hat is drawn from the calibration's
 * sampling distribution (10,000 candidates at 0.30) unless given.
 */
export function firstAlarm(seed: number, queries: number, p: number, rho: number, p0hat: number | null): number | null {
  const rng = createRng(seed);
  const expected = p0hat ?? rng.binomial(10_000, 0.3) / 10_000;
  const cal: CalibrationExpectation = { expectedDropRate: expected, n: 10_000, emptyContextRate: null, nQueries: null };
  const drops = clusteredDrops(rng, CANDIDATES, p, rho);
  const sums = emptyClusterSums();
  for (let q = 1; q <= queries; q++) {
    addCluster(sums, CANDIDATES, drops());
    if (q % WINDOW_BATCH === 0 && evaluateDrift(sums, cal, DEFAULT_DRIFT_CONFIG).dropRate.alarm) return q;
  }
  return null;
}

/** How many of `runs` windows alarm at all, window `run` seeded with `seedOf(run)`. */
export function windowsThatAlarm(
  runs: number,
  seedOf: (run: number) => number,
  queries: number,
  p: number,
  rho: number,
  p0hat: number | null,
): number {
  let alarms = 0;
  for (let run = 0; run < runs; run++) if (firstAlarm(seedOf(run), queries, p, rho, p0hat) !== null) alarms++;
  return alarms;
}

/**
 * The change detector fed `quiet` queries at 0.30, then queries at `after` (both with correlation rho), reset after
 * every alarm: the alarms during the quiet part, and the queries from the change to the first alarm after it (null
 * when none within `limit`).
 */
export function detectorDelay(seed: number, quiet: number, after: number, rho: number, limit = 5_000): { falseAlarms: number; delay: number | null } {
  const rng = createRng(seed);
  let state = newDetector();
  let falseAlarms = 0;
  const feed = (draw: () => number, t: number): boolean => {
    const batch: [number, number][] = Array.from({ length: DETECTOR_BATCH }, () => [CANDIDATES, draw()]);
    state = observeDetector(state, batch, t, DETECTOR_CALIBRATION, DEFAULT_DRIFT_CONFIG);
    const alarm = evaluateDetector(state, DETECTOR_CALIBRATION, DEFAULT_DRIFT_CONFIG).dropRate.alarm;
    if (alarm) state = newDetector();
    return alarm;
  };
  const before = clusteredDrops(rng, CANDIDATES, 0.3, rho);
  for (let q = 0; q < quiet; q += DETECTOR_BATCH) if (feed(before, q)) falseAlarms++;
  const shifted = clusteredDrops(rng, CANDIDATES, after, rho);
  for (let q = 0; q < limit; q += DETECTOR_BATCH) if (feed(shifted, quiet + q)) return { falseAlarms, delay: q + DETECTOR_BATCH };
  return { falseAlarms, delay: null };
}
