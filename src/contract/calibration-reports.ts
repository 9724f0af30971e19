import { z } from "zod";
import { CoverageNotion } from "./common";
import { Guards } from "./serving";

// ---------------------------------------------------------------------------------------------------------------
// Calibration record: what the policy's fit reports (carry, labels, recall, guards, abstention)
// ---------------------------------------------------------------------------------------------------------------

export const Carry = z.object({
  reference: z.union([
    z.object({ kind: z.literal("calibration"), calibration_id: z.string() }),
    z.object({ kind: z.literal("inline"), n: z.number().int() }),
  ]),
  reference_threshold: z.number().nullable(),
  /**
   * Share of the reference's candidates its gate drops at the reference threshold (those strictly below it; for a
   * guarded reference, what its guarded gate drops): the drop rate being carried.
   */
  reference_drop_rate: z.number(),
  /**
   * The reference gate's guards (`{min_keep: 0, max_keep: null}`: none; always none for inline scores). A carry that
   * states no guards is fitted with these. Absent on calibrations carried before guards were inherited.
   */
  reference_guards: Guards.optional(),
  reference_n: z.number().int(),
  /** sd of the carried drop rate from both samples: sqrt(d(1-d)(1/n_ref + 1/n)). */
  carried_drop_rate_sd: z.number(),
});

/** What the labels of a labelled upload say, whatever the policy: coverage at the fitted threshold, in sample. */
export const Labels = z.object({
  /** Queries uploaded, queries with at least one relevant candidate (the labelled n), and those without. */
  queries: z.number().int(),
  labelled_queries: z.number().int(),
  queries_without_relevant: z.number().int(),
  relevant_candidates: z.number().int(),
  relevant_at: z.number().nullable(),
  /** Share of labelled queries covered at this calibration's threshold, per coverage notion (in sample). */
  coverage_at_threshold: z.object({ any_relevant: z.number(), all_relevant: z.number(), candidates: z.number() }),
  /** Share of all relevant candidates kept at the threshold, pooled (candidates coverage is a per-query average). */
  pooled_relevant_kept: z.number().optional(),
  /**
   * For a calibration that abstains: `coverage_at_threshold` with the queries that abstain (top score below
   * `abstain_below`) counted as covering nothing, since an abstaining query hands the LLM no candidate. null when the
   * calibration does not abstain; absent in calibrations stored before it.
   */
  coverage_with_abstention: z.object({ any_relevant: z.number(), all_relevant: z.number(), candidates: z.number() }).nullable().optional(),
});
export type Labels = z.infer<typeof Labels>;

/**
 * Why a recall target cannot be fitted on these queries, as the 422 a recall fit at that target gets:
 * "too_few_labelled_queries" (labelling more queries makes it reachable) or "target_unreachable" (max_keep loses the
 * relevant candidates of too many queries at every threshold: more queries of the same kind do not help).
 */
export const RecallUnfitReason = z.enum(["too_few_labelled_queries", "target_unreachable"]);
export type RecallUnfitReason = z.infer<typeof RecallUnfitReason>;

/** One row of the recall-against-drop-rate table: what a target costs. */
export const RecallTradeoffRow = z.object({
  target: z.number(),
  /** null: this target cannot be fitted on these queries (`unfit_reason` says why). */
  threshold: z.number().nullable(),
  coverage_bound: z.number().nullable(),
  /** Share of ALL calibration candidates below the threshold, and of queries left with none. */
  drop_rate: z.number().nullable(),
  empty_context_rate: z.number().nullable(),
  /** Why the fields above are null; null on a fitted row. Absent on calibrations fitted before it was kept. */
  unfit_reason: RecallUnfitReason.nullable().optional(),
  /** "too_few_labelled_queries": the labelled queries (with a relevant candidate) this target needs; else null. */
  minimum_queries: z.number().int().nullable().optional(),
  /** "target_unreachable": the highest target these guards allow on these queries (null: none); else null. */
  highest_target: z.number().nullable().optional(),
});

/** The guarantee of a recall calibration (policy kind "recall"). */
export const RecallReport = z.object({
  target: z.number(),
  coverage: CoverageNotion,
  /** The rank rule: "floor((n+1)(1-r))" (any/all relevant) or "risk_control" (candidates). */
  rule: z.enum(["rank_floor", "risk_control"]),
  /** Labelled queries used (those with a relevant candidate). */
  n: z.number().int(),
  k: z.number().int(),
  /** (n+1) times the miss level the rule spent: k (rank rule), sum of losses + 1 (risk control). */
  miss_mass: z.number(),
  /**
   * Guaranteed coverage on fresh exchangeable queries (>= target) and its upper companion; with ties at the threshold
   * (tied relevant scores are kept, so the gate covers more than the rank says) the companion is tie-aware.
   */
  coverage_bound: z.number(),
  coverage_upper: z.number(),
  /**
   * Where the coverage this fitted gate achieves is centred: the bound without ties, 1 - miss_below/n with them (what
   * recall_drift's tolerance is measured from). Absent on calibrations fitted before it was kept.
   */
  expected_coverage: z.number().optional(),
  /** What the threshold misses in the calibration (#{s_i < t}, or sum of losses for candidates), and the values tied at it. */
  miss_below: z.number().optional(),
  ties_at_threshold: z.number().int().optional(),
  /** 95 % interval of the coverage this fitted gate achieves on fresh queries (tie-aware). */
  coverage_interval_95: z.tuple([z.number(), z.number()]),
  in_sample_coverage: z.number(),
  /**
   * Share of ALL relevant calibration candidates kept at the threshold (pooled). For "candidates" the coverage is a
   * per-query average: broad queries with many lower-scoring relevant candidates count once each there, so this can
   * be far lower. Absent on calibrations fitted before it was kept.
   */
  pooled_relevant_kept: z.number().optional(),
  /** The drop rate on all candidates this threshold implies: what the production drift monitor watches. */
  implied_drop_rate: z.number(),
  empty_context_rate: z.number(),
  tradeoff: z.array(RecallTradeoffRow),
});
export type RecallReport = z.infer<typeof RecallReport>;

/** What the guards of a guarded calibration do on its own queries (docs/methods.md, "Guards and abstention"). */
export const GuardsReport = z.object({
  min_keep: z.number().int(),
  max_keep: z.number().int().nullable(),
  /** Share of calibration queries where min_keep keeps candidates below the threshold, and where max_keep drops some above it. */
  min_keep_binding_rate: z.number(),
  max_keep_binding_rate: z.number(),
  /** Share of calibration candidates below the threshold: what `score >= threshold` alone would drop. */
  bare_drop_rate: z.number(),
  /**
   * Drop-rate targets these guards can reach on these queries: (lowest, highest] (and 0 when lowest is 0). max_keep
   * drops `lowest` at every threshold; min_keep keeps all but `highest`.
   */
  reachable: z.object({ lowest: z.number(), highest: z.number() }),
});
export type GuardsReport = z.infer<typeof GuardsReport>;

/** One row of the false-abstention table: what a stricter promise costs in unanswerable queries caught. */
export const AbstentionTradeoffRow = z.object({
  alpha: z.number(),
  /** null: too few answerable queries for this alpha. */
  abstain_below: z.number().nullable(),
  false_abstention_bound: z.number().nullable(),
  catch_rate: z.number().nullable(),
  catch_interval_95: z.tuple([z.number(), z.number()]).nullable(),
  /** Share of all calibration queries that abstain. */
  abstention_rate: z.number().nullable(),
});

/** Certified abstention of a calibration (policy field `abstention`). */
export const AbstentionReport = z.object({
  /** "false_abstention": fitted on labels for `alpha`; "rate": a target share of queries; "carry": the reference's rate. */
  mode: z.enum(["false_abstention", "rate", "carry"]),
  /** A query abstains iff its top score is below this; null: never (a rate of 0). */
  abstain_below: z.number().nullable(),
  /** Calibration queries (top scores) and the rank of abstain_below among them. */
  queries: z.number().int(),
  k: z.number().int(),
  /** Calibration top scores equal to abstain_below (they do not abstain). */
  ties: z.number().int(),
  /** Share of fresh queries expected to abstain (what the production monitor watches), in sample, and its 95 % interval. */
  expected_rate: z.number(),
  in_sample_rate: z.number(),
  rate_interval_95: z.tuple([z.number(), z.number()]),
  /** The target rate ("rate", "carry"); null for "false_abstention". */
  target_rate: z.number().nullable(),
  /** "false_abstention" only (null otherwise): the promise, its guarantee and what it catches. */
  alpha: z.number().nullable(),
  answerable_queries: z.number().int().nullable(),
  unanswerable_queries: z.number().int().nullable(),
  /** A fresh answerable query abstains with probability at most this (k/(n+1) <= alpha, n answerable queries). */
  false_abstention_bound: z.number().nullable(),
  expected_false_abstention: z.number().nullable(),
  false_abstention_interval_95: z.tuple([z.number(), z.number()]).nullable(),
  /** Share of unanswerable calibration queries that abstain, with its exact (Clopper-Pearson) 95 % interval. */
  catch_rate: z.number().nullable(),
  catch_interval_95: z.tuple([z.number(), z.number()]).nullable(),
  tradeoff: z.array(AbstentionTradeoffRow).nullable(),
  /**
   * The calibration's queries and those that abstain per drop-rate stratum of candidate counts (1, 2, 3, 4, 5-6, 7-8,
   * 9-11, ... : boundaries 1.25 times apart, 37 strata), which the production monitor's abstention test is conditioned
   * on. Absent on calibrations fitted before it was kept (their monitor compares every query with `expected_rate`).
   */
  by_candidates: z
    .array(
      z.object({
        min_candidates: z.number().int(),
        max_candidates: z.number().int().nullable(),
        queries: z.number().int(),
        abstained: z.number().int(),
      }),
    )
    .optional(),
  /** "carry" only: the reference's abstention rate and the carried rate's sd sqrt(p(1-p)(1/Q_ref + 1/Q)). */
  carry: z
    .object({
      reference_calibration_id: z.string(),
      reference_abstain_below: z.number().nullable(),
      reference_rate: z.number(),
      reference_queries: z.number().int(),
      carried_rate_sd: z.number(),
    })
    .nullable(),
});
export type AbstentionReport = z.infer<typeof AbstentionReport>;
