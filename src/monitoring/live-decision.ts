/**
 * The live decision of a shadow or a promotion arm (docs/drift.md, "Shadow and promotion decisions on live traffic"):
 * the rebuild decision's three answers on production counts, queries as the unit, anytime-valid
 * (stats/sequential-change.ts). Two comparisons use it: a live side against its calibration's target (the calibration
 * side with its effective size, exactly the rebuild decision's input; for a guarded calibration the target for the live
 * side's own query sizes, targetSide) and a live side against another live side on the
 * same time span (the active gate, or a promotion's control arm). Mirrored queries correlate the two live sides
 * positively, so the unpaired standard error is conservative there: more `inconclusive`, never more false `shifted`.
 */

import { dropStrataOf, type Expectation } from "../calibrations/expectation";
import type { LiveDecision } from "../contract";
import { MIN_DECISION_QUERIES } from "../contract";
import { conditionedTarget, effectiveSizeFor } from "../stats/conditioned-rates";
import { type ClusterSums, designEffect } from "../stats/per-query";
import { type ChangeSide, decideChangeAnytime } from "../stats/sequential-change";
import type { LiveSums } from "./monitor-contract";

/** Level of `shifted` (a false stop), as the rebuild decision's. */
export const LIVE_SHIFT_ALPHA = 0.001;
/** Level of `equivalent` (a false go), as the rebuild decision's. */
export const LIVE_EQUIVALENCE_ALPHA = 0.05;

/** A live side from its cluster sums (null before any candidate). */
export function liveSide(s: Readonly<ClusterSums>): ChangeSide | null {
  if (s.candidates === 0) return null;
  // Re-estimated from more queries at every read: never bounded as a stored reference is (sequential-change.ts).
  return { rate: s.dropped / s.candidates, effectiveSize: s.candidates / designEffect(s), queries: s.queries, varianceDf: Number.POSITIVE_INFINITY };
}

/**
 * A calibration's side: its expected drop rate from its effective size (flat uploads count each score a query). With
 * `live`, the side it is compared with, a guarded calibration (min_keep or max_keep) with drop-rate strata expects the
 * rate for the live side's own query sizes (guardedTarget); otherwise, and always for an unguarded gate, whose drop
 * rate does not depend on query sizes, its pooled in-sample rate.
 */
export function targetSide(e: Expectation, live: Readonly<LiveSums> | null = null): ChangeSide {
  const deff = Math.max(1, e.design_effect ?? 1);
  const pooled: ChangeSide = { rate: e.expected_drop_rate, effectiveSize: e.n / deff, queries: e.n_queries ?? e.n };
  return (live && guardedTarget(e, live, pooled)) ?? pooled;
}

/**
 * A guarded gate's drop rate depends on each query's candidate count (min_keep keeps all of a short query, max_keep
 * drops the tail of a long one), so its pooled in-sample rate is the target only for the calibration's own mix of
 * sizes. The target for a live side is the calibration's per-stratum rates weighted by the live side's eligible
 * candidates per stratum, over all its candidates (stats/conditioned-rates.ts conditionedTarget: the live rate's
 * unit), and its effective size the one at which the decision's variance of a proportion matches that estimate's
 * (effectiveSizeFor: a target of 0 keeps its variance); the pooled effective size where that variance is 0 (every live candidate decided by the guards). null (the pooled
 * target) for an unguarded calibration, one without strata, or a live side whose strata were not split with the
 * calibration's guards (rows started before they were kept).
 */
function guardedTarget(e: Expectation, live: Readonly<LiveSums>, pooled: ChangeSide): ChangeSide | null {
  const g = e.guards;
  const strata = dropStrataOf(e);
  if (!g || !(g.min_keep > 0 || g.max_keep !== null) || !strata) return null;
  if (live.guards?.min_keep !== g.min_keep || live.guards.max_keep !== g.max_keep) return null;
  // The cap's drops from the queries' sizes (none without a cap), so drops a client makes against the guards show.
  const capDrops = g.max_keep === null ? 0 : (live.sums.capped ?? null);
  const t = conditionedTarget(strata, e.design_effect ?? 1, e.mean_candidates ?? null, live.sums, capDrops);
  if (t === null) return null;
  // the size at which the decision's own variance of the target equals this estimate's, a rate of 0 or 1 included
  const effectiveSize = t.variance > 0 ? effectiveSizeFor(t.rate, t.variance) : pooled.effectiveSize;
  return { rate: t.rate, effectiveSize, queries: pooled.queries, varianceDf: t.varianceDf };
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
