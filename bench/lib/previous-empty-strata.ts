/**
 * The empty-context strata as they shipped before the calibration's own short queries were used, kept only as the
 * benchmarks' baseline: every stratum is the hypergeometric mean over the calibration queries with at least its lower
 * end (a k-candidate production query treated as a random k-subset of a longer calibration query), bounded at its
 * Korn-Graubard effective size, never checked. Right when a query's size does not depend on its scores.
 */
import type { CalibrationExpectation, CalibrationStratum } from "../../src/stats/calibration-expectation";
import { allDroppedProbability, EMPTY_CONTEXT_STRATA, KG_MIN_NONZERO } from "../../src/stats/empty-context";

export function previousStrata(scores: Float64Array, offsets: Uint32Array, threshold: number): CalibrationStratum[] {
  const sizes: number[] = [];
  const drops: number[] = [];
  for (let q = 0; q + 1 < offsets.length; q++) {
    const m = offsets[q + 1]! - offsets[q]!;
    if (m === 0) continue;
    let d = 0;
    for (let j = offsets[q]!; j < offsets[q + 1]!; j++) if (scores[j]! < threshold) d++;
    sizes.push(m);
    drops.push(d);
  }
  let last: CalibrationStratum | null = null;
  return EMPTY_CONTEXT_STRATA.map((k) => {
    const values: number[] = [];
    let draws = 0;
    sizes.forEach((m, i) => {
      if (m < k) return;
      values.push(allDroppedProbability(m, drops[i]!, k));
      draws += Math.floor(m / k);
    });
    if (values.length === 0) return { ...last!, extrapolated: true };
    const rate = values.reduce((a, b) => a + b, 0) / values.length;
    let eff = values.length;
    if (values.length >= 2 && values.filter((v) => v > 0).length >= KG_MIN_NONZERO) {
      const v = values.reduce((a, x) => a + (x - rate) ** 2, 0) / (values.length - 1) / values.length;
      eff = v > 0 ? Math.min(draws, Math.max(values.length, (rate * (1 - rate)) / v)) : draws;
    }
    last = { rate, queries: values.length, effectiveQueries: eff, extrapolated: false };
    return last;
  });
}

/** The same expectation with the previous strata in place of the calibration's own. */
export function withPreviousStrata(cal: CalibrationExpectation, strata: CalibrationStratum[]): CalibrationExpectation {
  return { ...cal, emptyContextStrata: strata };
}
