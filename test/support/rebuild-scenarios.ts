/**
 * The rebuild-shift scenarios of test/calibrations/rebuild-shift.test.ts, shared with bench/rebuild-shift-scenarios.ts,
 * which runs them with the seed counts the suite used to run (and more): the suite keeps the same property on fewer
 * seeds where the smaller run still decides it, the benchmark keeps the large run.
 *
 * Score model: Q queries of 20 candidates, sigmoid(base + query effect N(0, 0.6^2) + noise N(0, 1.2^2)); the previous
 * calibration is drawn at base 0.3, the new one at 0.3 + baseShift, both fitted at target 0.3 with their queries.
 */
import { fitCalibration } from "../../src/calibrations/fit";
import { rebuildShift } from "../../src/calibrations/rebuild-shift";
import type { StoredCalibration } from "../../src/contract";
import { sortedCopy } from "../../src/stats/order-statistics";
import { createRng, deriveSeed, type Rng } from "./prng";

/** The rebuild rule's tolerance in these scenarios (drop-rate points as a share). */
export const REBUILD_TOLERANCE = 0.02;

/** Clustered reranker scores: Q queries of m candidates, sigmoid(base + query effect + noise). */
export function clusteredSample(rng: Rng, queries: number, m: number, base: number): { scores: Float64Array; offsets: Uint32Array } {
  const scores = new Float64Array(queries * m);
  const offsets = new Uint32Array(queries + 1);
  for (let q = 0; q < queries; q++) {
    const effect = 0.6 * rng.normal();
    for (let j = 0; j < m; j++) scores[q * m + j] = 1 / (1 + Math.exp(-(base + effect + 1.2 * rng.normal())));
    offsets[q + 1] = (q + 1) * m;
  }
  return { scores, offsets };
}

export function calibrationOf(byQuery: { scores: Float64Array; offsets: Uint32Array }, target: number) {
  const sorted = sortedCopy(byQuery.scores);
  const fitted = fitCalibration(sorted, target, byQuery);
  const record = { id: "cal_prev", index_version: "v1", ...fitted.fields } as unknown as StoredCalibration;
  return { sorted, fitted, record };
}

export interface RebuildOutcome {
  readonly runs: number;
  /** Rebuilds the rule alerted on (decision "shifted"). */
  readonly alerts: number;
  /** Rebuilds whose observed change exceeded the tolerance: where only the rule's significance test stands between a chance move and an alert. */
  readonly beyondTolerance: number;
}

/** Rebuilds over seeds deriveSeed(scenario, 0 .. runs - 1), v2 drawn with `baseShift` added to v1's base. */
export function rebuildOutcomes(scenario: number, runs: number, queries: number, baseShift: number): RebuildOutcome {
  let alerts = 0;
  let beyondTolerance = 0;
  for (let run = 0; run < runs; run++) {
    const rng = createRng(deriveSeed(scenario, run));
    const prev = calibrationOf(clusteredSample(rng, queries, 20, 0.3), 0.3);
    const nextQ = clusteredSample(rng, queries, 20, 0.3 + baseShift);
    const next = calibrationOf(nextQ, 0.3);
    const shift = rebuildShift({
      previous: prev.record,
      previousDistribution: prev.fitted.distribution,
      sorted: next.sorted,
      distribution: next.fitted.distribution,
      byQuery: nextQ,
      tolerance: REBUILD_TOLERANCE,
      comparedWith: "gate_current",
    });
    if (shift.alert) alerts++;
    if (Math.abs(shift.change_points) > 100 * REBUILD_TOLERANCE) beyondTolerance++;
  }
  return { runs, alerts, beyondTolerance };
}
