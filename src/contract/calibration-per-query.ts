import { z } from "zod";

// ---------------------------------------------------------------------------------------------------------------
// Calibration record: per-query statistics and the empty-context estimate
// ---------------------------------------------------------------------------------------------------------------

const ExtrapolationVerdict = z.enum(["passed", "failed", "inconclusive", "untested"]);

/** The calibration's empty-context rate for queries of a given size (docs/drift.md, "Empty context"). */
export const EmptyContextStratum = z.object({
  min_candidates: z.number().int(),
  /** null: the last stratum, open above. */
  max_candidates: z.number().int().nullable(),
  /** Estimated share of queries of this size that lose every candidate to the gate. */
  rate: z.number(),
  /**
   * The queries the estimate rests on: the stratum's own queries ("observed"), or the calibration queries with at
   * least min_candidates candidates ("hypergeometric").
   */
  queries: z.number().int(),
  /** Effective size of the estimate: `queries` (observed), Korn-Graubard (hypergeometric). */
  effective_queries: z.number(),
  /** No calibration query was this large: the estimate is that of the largest stratum measured. */
  extrapolated: z.boolean(),
  /**
   * "observed": the share of the calibration's own queries of this size that lost every candidate (used from
   * 50 such queries on); "hypergeometric": extrapolated from longer queries as random subsets of them. Absent on
   * calibrations fitted before it was kept (all hypergeometric).
   */
  source: z.enum(["observed", "hypergeometric"]).optional(),
  /** Empty queries behind `rate` (observed: counted; hypergeometric: rate x queries rounded up). */
  empty: z.number().int().optional(),
  /** Calibration queries whose own candidate count falls in this stratum, and the empty ones among them. */
  own_queries: z.number().int().optional(),
  own_empty: z.number().int().optional(),
  /**
   * The extrapolation tested on this stratum's own queries (each predicted from strictly longer ones): queries
   * checked, empty among them, the extrapolation's expected count and the exact binomial p-value of the excess.
   * null when no own query has a longer one.
   */
  check: z.object({ queries: z.number().int(), empty: z.number().int(), predicted_empty: z.number(), p_value: z.number() }).nullable().optional(),
  /**
   * For a hypergeometric stratum, the calibration's verdict on the extrapolation (`per_query.empty_context_check`);
   * null for an observed stratum. The stratum is tested only when it is "untested" (the calibration held nothing to
   * check the extrapolation with): after "passed", "failed" or "inconclusive" it is not (src/stats/drift-bands.ts).
   */
  extrapolation_check: ExtrapolationVerdict.nullable().optional(),
});

/** The extrapolation's check, pooled over the strata (docs/drift.md, "Empty context"). */
export const EmptyContextCheck = z.object({
  /**
   * "failed": the calibration's own short queries are empty far more often than extrapolated from its longer ones
   * (sizes and scores are coupled); "inconclusive": too few expected empty queries to tell; "passed"; "untested": no
   * calibration query has a longer one to be predicted from.
   */
  verdict: ExtrapolationVerdict,
  queries: z.number().int(),
  empty: z.number().int(),
  predicted_empty: z.number(),
  /** Exact binomial p-value of the pooled excess; null when nothing was checked. */
  p_value: z.number().nullable(),
});

export const PerQuery = z.object({
  mean_kept: z.number(),
  mean_candidates: z.number(),
  empty_context_rate: z.number(),
  design_effect: z.number(),
  /**
   * Guarded gates with min_keep = L >= 1 are never empty: `empty_context_rate`, its strata and its check then count the
   * queries the threshold leaves with fewer than min(L, m) candidates (where the guard binds), and this is L.
   * Absent: no min_keep guard, they count queries left with nothing.
   */
  empty_context_level: z.number().int().optional(),
  /**
   * Guarded gates: the guarded drop rate's counts on the calibration's own queries per drop-rate stratum (1, 2, 3, 4,
   * 5-6, 7-8, 9-11, ...: boundaries 1.25 times apart, 37 strata), which the production monitor's drop-rate test is
   * conditioned on.
   * Absent for gates without guards.
   */
  drop_rate_by_candidates: z
    .array(
      z.object({
        min_candidates: z.number().int(),
        max_candidates: z.number().int().nullable(),
        queries: z.number().int(),
        candidates: z.number().int(),
        dropped: z.number().int(),
        /** Candidates a threshold decides (ranks in (min_keep, max_keep]) and those of them dropped. */
        eligible: z.number().int(),
        eligible_dropped: z.number().int(),
        /**
         * Kish design effect of `eligible_dropped / eligible` measured on the stratum's own queries: the variance of that
         * ratio over its queries (those with an eligible candidate as units) against the binomial variance of as many
         * independent candidates, floored at 1. null where it cannot be measured: fewer than 2 queries with an eligible
         * candidate, or none or all of the eligible candidates dropped. The monitor reads it from
         * MIN_OWN_DESIGN_EFFECT_QUERIES (30) queries on (stats/drift-bands.ts). Absent on calibrations fitted before it
         * was kept, which take the stratum's design effect from the pooled `design_effect` as before.
         */
        design_effect: z.number().nullable().optional(),
        /**
         * The stratum's queries with an eligible candidate: the units `design_effect` was measured on (a query of the
         * stratum that min_keep covers has none and says nothing of it). The monitor reads `design_effect` from
         * MIN_OWN_DESIGN_EFFECT_QUERIES (30) of them and caps it at `eligible` over them. Absent on calibrations fitted
         * before it was kept, which take `queries` in its place.
         */
        design_effect_queries: z.number().int().optional(),
      }),
    )
    .optional(),
  /** Per candidate-count stratum; absent on calibrations fitted before it was kept. */
  empty_context_by_candidates: z.array(EmptyContextStratum).optional(),
  /** The extrapolation's check on the calibration's own short queries; absent on calibrations fitted before it. */
  empty_context_check: EmptyContextCheck.optional(),
});
