/**
 * The clustered live model of the anytime decision's level checks (test/stats/sequential-level.test.ts,
 * bench/small-reference.ts): a query of `sizes` candidates (3 to 40 uniform unless fixed) whose drops are beta-binomial
 * at mean p and intra-query correlation ICC (queries move together), accumulated into the cluster sums the Worker keeps.
 */
import { type ClusterSums, designEffect } from "../../src/stats/per-query";
import type { ChangeSide } from "../../src/stats/sequential-change";
import { betaForIcc, type Rng } from "./prng";

/** The intra-query correlation of the level checks. */
export const LEVEL_ICC = 0.3;

/** Adds one query of m candidates with d dropped to the sums (mutates them: they are the accumulator). */
export function addQuery(s: ClusterSums, m: number, d: number): void {
  s.queries += 1;
  s.candidates += m;
  s.dropped += d;
  s.droppedSq += d * d;
  s.droppedTimesSize += d * m;
  s.sizeSq += m * m;
}

/** One query: [candidates, dropped], 3 to 40 candidates (or exactly `size`), drops beta-binomial at p and `icc`. */
export function clusteredDropQuery(rng: Rng, p: number, size: number | null = null, icc = LEVEL_ICC): [number, number] {
  const m = size ?? 3 + Math.floor(rng.next() * 38);
  const { a, b } = betaForIcc(p, icc)!;
  return [m, rng.binomial(m, rng.beta(a, b))];
}

/** The decision's side from cluster sums, as the Worker builds it (monitoring/live-decision.ts liveSide). */
export const sideOf = (s: ClusterSums): ChangeSide => ({
  rate: s.dropped / s.candidates,
  effectiveSize: s.candidates / designEffect(s),
  queries: s.queries,
});
