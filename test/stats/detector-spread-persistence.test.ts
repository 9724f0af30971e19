/**
 * The detector's stratum spread (stratum-spread.ts) as the monitor stores it: its state goes through JSON
 * (monitoring/gate-monitor/state-table.ts) between batches, an alarm restarts the detector (monitoring/window.ts
 * restartDetector), and states stored before the spread was kept, or over another strata layout, are read back.
 */
import { describe, expect, it } from "vitest";
import type { Expectation } from "../../src/calibrations/expectation";
import { addBatch, evaluateWindow, newWindow, restartDetector, windowStatus } from "../../src/monitoring/window";
import { productionStratumDesignEffects } from "../../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { evaluateDetector, observeDetector } from "../../src/stats/drift-detector";
import { type DetectorState, newDetector } from "../../src/stats/e-detector";
import { DROP_RATE_STRATA, designEffect, dropStratumOf, type QueryObservation } from "../../src/stats/per-query";
import { emptyStratumSpread } from "../../src/stats/stratum-spread";
import { DETECTOR_CALIBRATION as CAL } from "../support/monitor-runs";
import { clusteredDrops, createRng, deriveSeed } from "../support/prng";

const START = Date.UTC(2026, 11, 1);
const FLAT: Expectation = { n: 5000, expected_drop_rate: 0.3, empty_context_rate: null, n_queries: null };

/** `batches` batches of 50 queries of 20 candidates, drops beta-binomial at 0.3, intra-query correlation 0.3. */
function batchesOf(seed: number, batches: number): QueryObservation[][] {
  const drops = clusteredDrops(createRng(seed), 20, 0.3, 0.3);
  return Array.from({ length: batches }, () => Array.from({ length: 50 }, () => [20, drops()] as const));
}

const noRandom = (): number => {
  throw new Error("random() is for the score reservoir, and these batches carry no scores");
};
const roundTrip = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const B20 = dropStratumOf(20);

describe("the detector's stratum spread through storage", () => {
  it("survives the JSON round trip: the same spread, the same evidence, and the next batch adds to it", () => {
    let direct: DetectorState = newDetector();
    let stored: DetectorState = newDetector();
    for (const [i, batch] of batchesOf(deriveSeed(95, 0), 3).entries()) {
      direct = observeDetector(direct, batch, i, CAL, DEFAULT_DRIFT_CONFIG);
      stored = roundTrip(observeDetector(stored, batch, i, CAL, DEFAULT_DRIFT_CONFIG));
    }
    expect(stored.stratumSpread).toEqual(direct.stratumSpread);
    expect(stored.stratumSpread!.queries[B20]).toBe(150);
    expect(stored.stratumSpread!.eligible[B20]).toBe(3_000);
    expect(evaluateDetector(stored, CAL, DEFAULT_DRIFT_CONFIG)).toEqual(evaluateDetector(direct, CAL, DEFAULT_DRIFT_CONFIG));
    // The stratum's own design effect is in use (rho 0.3 on 20 candidates: about 6.7).
    const own = productionStratumDesignEffects(stored.stratumSpread, designEffect(stored.total))!;
    expect(own[B20]).toBeGreaterThan(3);
  });

  it("is restarted with the detector by an alarm, and counted again from the next batch", () => {
    let w = newWindow("cal_a", "v1", FLAT, START);
    for (const batch of batchesOf(deriveSeed(95, 1), 2)) w = roundTrip(addBatch(w, batch, null, noRandom, START));
    expect(w.detector!.stratumSpread!.queries[B20]).toBe(100);
    const ev = evaluateWindow(w, DEFAULT_DRIFT_CONFIG);
    const restarted = roundTrip(restartDetector(w, windowStatus(w, ev), { ...ev, dropRate: { ...ev.dropRate, alarm: true } }, START + 1));
    expect(restarted.detector!.stratumSpread).toBeUndefined();
    expect(restarted.detector!.total.queries).toBe(0);
    const next = addBatch(restarted, batchesOf(deriveSeed(95, 2), 1)[0]!, null, noRandom, START + 2);
    expect(next.detector!.stratumSpread!.queries[B20]).toBe(50);
    expect(next.sums.queries).toBe(150);
  });

  it("reads a state stored before the spread was kept: every stratum at the pooled value, the spread counted from the next batch", () => {
    const [a, b] = batchesOf(deriveSeed(95, 3), 2);
    const { stratumSpread: _, ...old } = observeDetector(newDetector(), a!, 0, CAL, DEFAULT_DRIFT_CONFIG);
    const stored = roundTrip(old as DetectorState);
    expect(productionStratumDesignEffects(stored.stratumSpread, 2)).toBeNull();
    expect(evaluateDetector(stored, CAL, DEFAULT_DRIFT_CONFIG).queries).toBe(50);
    const next = observeDetector(stored, b!, 1, CAL, DEFAULT_DRIFT_CONFIG);
    expect(next.total.queries).toBe(100);
    expect(next.stratumSpread!.queries[B20]).toBe(50);
  });

  it("drops a stored spread laid out over another number of strata instead of misreading it", () => {
    const [a, b] = batchesOf(deriveSeed(95, 4), 2);
    const state = observeDetector(newDetector(), a!, 0, CAL, DEFAULT_DRIFT_CONFIG);
    const short = { ...emptyStratumSpread(), queries: Array.from({ length: DROP_RATE_STRATA.length - 1 }, () => 1_000) };
    const long = { ...state.stratumSpread!, eligible: [...state.stratumSpread!.eligible, 5] };
    for (const spread of [short, long]) {
      const stored = roundTrip({ ...state, stratumSpread: spread });
      expect(productionStratumDesignEffects(stored.stratumSpread, 2)).toBeNull();
      const ev = evaluateDetector(stored, CAL, DEFAULT_DRIFT_CONFIG);
      expect(Number.isFinite(ev.dropRate.logEvidence)).toBe(true);
      const next = observeDetector(stored, b!, 1, CAL, DEFAULT_DRIFT_CONFIG);
      expect(next.stratumSpread!.queries.length).toBe(DROP_RATE_STRATA.length);
      expect(next.stratumSpread!.queries[B20]).toBe(50);
      expect(next.stratumSpread!.eligible.every(Number.isFinite)).toBe(true);
    }
  });
});
