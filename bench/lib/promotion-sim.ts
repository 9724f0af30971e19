/**
 * The seed incident as a seeded model, shared by the shadow-evidence and guarded-promotion benchmarks.
 *
 * v1 scores follow test/support/score-models.ts (query effect rho, every score N(0, 1) marginally); v2 scores the same
 * query with the same query effect, shifted by V2_SHIFT (lower) (v2's reranker scores lower), so a mirrored query is correlated
 * across versions as in production. v1 is fitted at 22 % on CAL_QUERIES queries of M candidates. The good v2 is carried
 * (fitted at v1's 22 % on v2's own calibration scores); the incident's v2 keeps v1's absolute threshold, which drops
 * Phi(t1 - V2_SHIFT) = 59 % of v2's scores (its calibration says so: its target is 59 %, the change is against v1).
 * Calibrations go through the server's fitCalibration and expectationOf, as an upload would.
 */
import { type Expectation, expectationOf } from "../../src/calibrations/expectation";
import { fitCalibration } from "../../src/calibrations/fit";
import type { StoredCalibration } from "../../src/contract";
import { sortedCopy } from "../../src/stats/order-statistics";
import { flattenQueries, type QueryObservation } from "../../src/stats/per-query";
import { zInv } from "../../src/stats/special";
import type { Rng } from "../../test/support/prng";
import { clusteredQuery } from "../../test/support/score-models";

export const M = 20;
export const CAL_QUERIES = 400;
export const V1_DROP = 0.22;
export const INCIDENT_DROP = 0.59;
/** v2 scores are v1's plus this (negative: v2 scores lower); v1's threshold then drops 59 % of v2's candidates. */
export const V2_SHIFT = zInv(V1_DROP) - zInv(INCIDENT_DROP);

export interface Gate {
  readonly threshold: number;
  readonly expectation: Expectation;
  /** The calibration queries and the drop rate it was fitted at: an upload of these fits the same gate. */
  readonly queries: readonly Float64Array[];
  readonly target: number;
}

/** Fits `target`, or with `at` the drop rate v1's absolute threshold has on these scores (what the incident served). */
function calibrate(rng: Rng, rho: number, shift: number, target: number, at?: number): Gate {
  const queries = Array.from({ length: CAL_QUERIES }, () => clusteredQuery(rng, M, rho, shift));
  const byQuery = flattenQueries(queries);
  const sorted = sortedCopy(byQuery.scores);
  const d = at === undefined ? target : sorted.filter((x) => x < at).length / sorted.length;
  const fitted = fitCalibration(sorted, d, byQuery);
  const record = { ...fitted.fields, drift_tolerance: null, empty_context_tolerance: null } as unknown as StoredCalibration;
  return { threshold: record.threshold as number, expectation: expectationOf(record), queries, target: d };
}

/** v1, the carried (good) v2 and the incident's v2, each fitted on its own calibration sample. */
export function calibrations(rng: Rng, rho: number): { v1: Gate; good: Gate; incident: Gate } {
  const v1 = calibrate(rng, rho, 0, V1_DROP);
  return { v1, good: calibrate(rng, rho, V2_SHIFT, V1_DROP), incident: calibrate(rng, rho, V2_SHIFT, V1_DROP, v1.threshold) };
}

/** One live query scored by v1 and by v2 (same query effect): [v1 observation at t1, v2 observation at t2]. */
export function mirroredQuery(rng: Rng, rho: number, t1: number, t2: number, v2Extra = 0): [QueryObservation, QueryObservation] {
  const u = Math.sqrt(rho) * rng.normal();
  const e = Math.sqrt(1 - rho);
  let d1 = 0;
  let d2 = 0;
  for (let j = 0; j < M; j++) if (u + e * rng.normal() < t1) d1++;
  for (let j = 0; j < M; j++) if (u + V2_SHIFT + v2Extra + e * rng.normal() < t2) d2++;
  return [
    [M, d1],
    [M, d2],
  ];
}

/** Quantiles of a sample (nearest rank), for the reports. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
