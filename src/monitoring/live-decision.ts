/**
 * The live decision of a shadow or a promotion arm (docs/drift.md, "Shadow and promotion decisions on live traffic"):
 * the rebuild decision's three answers on production counts, queries as the unit, anytime-valid
 * (stats/sequential-change.ts). Two comparisons use it: a live side against its calibration's target (the calibration
 * side with its effective size, exactly the rebuild decision's input) and a live side against another live side on the
 * same time span (the active gate, or a promotion's control arm). Mirrored queries correlate the two live sides
 * positively, so the unpaired standard error is conservative there: more `inconclusive`, never more false `shifted`.
 */

import type { Expectation } from "../calibrations/expectation";
import type { LiveDecision } from "../contract";
import { MIN_DECISION_QUERIES } from "../contract";
import { type ClusterSums, designEffect } from "../stats/per-query";
import { type ChangeSide, decideChangeAnytime } from "../stats/sequential-change";

/** Level of `shifted` (a false stop), as the rebuild decision's. */
export const LIVE_SHIFT_ALPHA = 0.001;
/** Level of `equivalent` (a false go), as the rebuild decision's. */
export const LIVE_EQUIVALENCE_ALPHA = 0.05;

/** A live side from its cluster sums (null before any candidate). */
export function liveSide(s: Readonly<ClusterSums>): ChangeSide | null {
  if (s.candidates === 0) return null;
  return { rate: s.dropped / s.candidates, effectiveSize: s.candidates / designEffect(s), queries: s.queries };
}

/** A calibration's side: its expected drop rate from its effective size (flat uploads count each score a query). */
export function targetSide(e: Expectation): ChangeSide {
  const deff = Math.max(1, e.design_effect ?? 1);
  return { rate: e.expected_drop_rate, effectiveSize: e.n / deff, queries: e.n_queries ?? e.n };
}

/** The decision on `live` against `reference` with tolerance `tol`, tightest at `plannedQueries` live queries. */
export function liveDecision(reference: ChangeSide | null, live: ChangeSide | null, tol: number, plannedQueries: number): LiveDecision {
  const queries = live?.queries ?? 0;
  const base = { tolerance: tol, queries, reference_queries: reference?.queries ?? null, effective_queries: live?.effectiveSize ?? null };
  if (reference === null || live === null) {
    return { ...base, decision: "inconclusive", change: null, interval95: null, more_data_factor: null };
  }
  const d = decideChangeAnytime(reference, live, tol, {
    alphaShift: LIVE_SHIFT_ALPHA,
    alphaEquivalence: LIVE_EQUIVALENCE_ALPHA,
    plannedQueries: Math.max(1, plannedQueries),
    minQueries: MIN_DECISION_QUERIES,
  });
  return { ...base, decision: d.decision, change: d.change, interval95: d.interval95, more_data_factor: d.moreDataFactor };
}
