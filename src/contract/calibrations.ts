import { z } from "zod";
import { CoverageNotion, GateRef, Id, Policy, Score, ScoreScale, Scores, StoredPolicy } from "./common";
import { DEFAULT_SHIFT_TOLERANCE, MAX_ABSOLUTE_TOLERANCE, MAX_CANDIDATES_PER_QUERY, MAX_QUERIES, MAX_RELATIVE_TOLERANCE } from "./limits";

// ---------------------------------------------------------------------------------------------------------------
// Calibration upload
// ---------------------------------------------------------------------------------------------------------------

/**
 * A drift tolerance: absolute, in rate units (0.005 = half a point), or relative to the calibration's expected rate
 * (`{"relative": 0.5}`: half of it), so a 1 % gate can alarm when it stops dropping.
 */
export const Tolerance = z.union([
  z
    .number({ error: "must be a number in 0..0.5 or {relative: 0..1}" })
    .min(0, { error: "must be at least 0" })
    .max(MAX_ABSOLUTE_TOLERANCE, {
      error: `must be at most ${MAX_ABSOLUTE_TOLERANCE}`,
    }),
  z.strictObject({
    relative: z
      .number()
      .gt(0, { error: "must be above 0" })
      .max(MAX_RELATIVE_TOLERANCE, { error: `must be at most ${MAX_RELATIVE_TOLERANCE}` }),
  }),
]);
export type Tolerance = z.infer<typeof Tolerance>;

/** Everything but the scores; shared by the JSON body, the NDJSON header line and the float32 query string. */
export const CalibrationMeta = GateRef.extend({
  index_version: Id,
  policy: Policy,
  activate: z.boolean({ error: "must be true or false" }).default(true),
  score_scale: ScoreScale.default("unbounded"),
  /** Rebuild shift alert tolerance, in drop-rate units (default 0.02 = 2 points). */
  shift_tolerance: z.number().min(0).max(1).default(DEFAULT_SHIFT_TOLERANCE),
  /** Tolerance of the production drop-rate band (default: the server's, 2 points). */
  drift_tolerance: Tolerance.optional(),
  /** Tolerance of the production empty-context band (default: the server's, 2 points). */
  empty_context_tolerance: Tolerance.optional(),
  /**
   * Graded relevance labels: a candidate is relevant iff its label >= relevant_at. Omitted: labels must be 0 or 1.
   */
  relevant_at: z.number({ error: "must be a finite number" }).optional(),
});
export type CalibrationMeta = z.infer<typeof CalibrationMeta>;

export const Query = z
  .array(Score, { error: "must be an array of numbers" })
  .min(1, { error: "a query must have at least one candidate score" })
  .max(MAX_CANDIDATES_PER_QUERY, { error: `a query may have at most ${MAX_CANDIDATES_PER_QUERY} candidates` });

/** An NDJSON line of a labelled upload: one query's scores and its relevance labels. */
export const LabelledQueryLine = z.strictObject({
  scores: Query,
  relevance: z.array(Score, { error: "must be an array of numbers" }),
  /** Whether the corpus holds a good answer to this query; omitted: iff it has a relevant candidate. */
  answerable: z.boolean({ error: "must be true or false" }).optional(),
});

export const CalibrationUpload = z.strictObject({
  ...CalibrationMeta.shape,
  scores: Scores.optional(),
  queries: z
    .array(Query, { error: "must be an array of arrays of numbers" })
    .min(1, { error: "must not be empty" })
    .max(MAX_QUERIES, { error: `must hold at most ${MAX_QUERIES} queries` })
    .optional(),
  /** Relevance labels parallel to `queries`: one array per query, one label per candidate (0/1, or graded with relevant_at). */
  relevance: z
    .array(z.array(Score, { error: "must be an array of numbers" }), { error: "must be an array of arrays of numbers" })
    .max(MAX_QUERIES, { error: `must hold at most ${MAX_QUERIES} queries` })
    .optional(),
  /**
   * Per query: does the corpus hold a good answer (for abstention with `{"alpha"}`)? Parallel to `queries`. Omitted:
   * a query is answerable iff it has a relevant candidate.
   */
  answerable: z
    .array(z.boolean({ error: "must be true or false" }), { error: "must be an array of true/false" })
    .max(MAX_QUERIES, { error: `must hold at most ${MAX_QUERIES} queries` })
    .optional(),
});
export type CalibrationUpload = z.infer<typeof CalibrationUpload>;

/** Query parameters of a float32 (application/octet-stream) upload: the policy is flattened. */
/**
 * A number in a query string: a JSON-style decimal literal. An empty value is an error, never 0 (z.coerce would turn
 * `target=` into 0, silently deploying "keep everything").
 */
const QueryNumber = z
  .string()
  .regex(/^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/u, { error: "must be a number" })
  .transform(Number)
  .pipe(z.number({ error: "must be a finite number" }));

/** Query parameters of a float32 (application/octet-stream) upload: the policy is flattened. Unknown names are refused. */
export const BinaryUploadQuery = z.strictObject({
  ...GateRef.shape,
  index_version: Id,
  kind: z.enum(["drop_rate", "carry"], { error: 'must be "drop_rate" or "carry"' }),
  target: QueryNumber.optional(),
  threshold: QueryNumber.optional(),
  /** "active" or a calibration id. */
  reference: z.string().min(1).optional(),
  activate: z.enum(["true", "false"], { error: 'must be "true" or "false"' }).default("true"),
  score_scale: ScoreScale.default("unbounded"),
  shift_tolerance: QueryNumber.pipe(z.number().min(0).max(1)).default(DEFAULT_SHIFT_TOLERANCE),
  /** Absolute drift tolerances, or relative to the expected rate (`*_relative`); give at most one of each pair. */
  drift_tolerance: QueryNumber.optional(),
  drift_tolerance_relative: QueryNumber.optional(),
  empty_context_tolerance: QueryNumber.optional(),
  empty_context_tolerance_relative: QueryNumber.optional(),
  /** Split the scores into consecutive queries of this many candidates (per-query statistics). */
  candidates_per_query: QueryNumber.pipe(z.number().int().min(1).max(MAX_CANDIDATES_PER_QUERY)).optional(),
  /** The policy's guards (they need candidates_per_query) and its abstention rate (float32 uploads carry no labels). */
  min_keep: QueryNumber.optional(),
  max_keep: QueryNumber.optional(),
  abstention_rate: QueryNumber.optional(),
});

// ---------------------------------------------------------------------------------------------------------------
// Calibration record
// ---------------------------------------------------------------------------------------------------------------

const Interval = z.tuple([z.number().nullable(), z.number().nullable()]);

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
   * null for an observed stratum. After "failed" or "inconclusive" the stratum is not tested.
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
   * Guarded gates: the guarded drop rate's counts on the calibration's own queries per candidate-count stratum, which
   * the production monitor's drop-rate expectation is conditioned on. Absent for gates without guards.
   */
  drop_rate_by_candidates: z
    .array(
      z.object({
        min_candidates: z.number().int(),
        max_candidates: z.number().int().nullable(),
        queries: z.number().int(),
        candidates: z.number().int(),
        dropped: z.number().int(),
      }),
    )
    .optional(),
  /** Per candidate-count stratum; absent on calibrations fitted before it was kept. */
  empty_context_by_candidates: z.array(EmptyContextStratum).optional(),
  /** The extrapolation's check on the calibration's own short queries; absent on calibrations fitted before it. */
  empty_context_check: EmptyContextCheck.optional(),
});

export const Carry = z.object({
  reference: z.union([
    z.object({ kind: z.literal("calibration"), calibration_id: z.string() }),
    z.object({ kind: z.literal("inline"), n: z.number().int() }),
  ]),
  reference_threshold: z.number().nullable(),
  /** Share of the reference strictly below the reference threshold: the drop rate being carried. */
  reference_drop_rate: z.number(),
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
});
export type Labels = z.infer<typeof Labels>;

/** One row of the recall-against-drop-rate table: what a target costs. */
export const RecallTradeoffRow = z.object({
  target: z.number(),
  /** null: too few labelled queries for this target. */
  threshold: z.number().nullable(),
  coverage_bound: z.number().nullable(),
  /** Share of ALL calibration candidates below the threshold, and of queries left with none. */
  drop_rate: z.number().nullable(),
  empty_context_rate: z.number().nullable(),
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

export const Warning = z.object({ code: z.string(), message: z.string() });
export type Warning = z.infer<typeof Warning>;

export const ShiftReport = z.object({
  /** What the new calibration was compared with: the gate's current calibration, or (for a new gate, e.g. after an
   * embedding or reranker upgrade) the calibration its carry policy referenced. */
  compared_with: z.enum(["gate_current", "carry_reference"]),
  previous_gate_id: z.string(),
  previous_calibration_id: z.string(),
  previous_index_version: z.string(),
  previous_threshold: z.number().nullable(),
  previous_expected_drop_rate: z.number(),
  /** The previous threshold's drop rate on the previous calibration (in sample). */
  previous_drop_rate_at_previous_threshold: z.number(),
  /** Share of the NEW scores below the previous threshold: what the old gate would drop now. */
  drop_rate_at_previous_threshold: z.number(),
  change_points: z.number(),
  change_relative: z.number().nullable(),
  z: z.number(),
  p_value: z.number(),
  ks: z.number(),
  psi: z.object({ value: z.number(), bins: z.number().int(), threshold: z.number(), exceeds: z.boolean() }),
  tolerance: z.number(),
  /**
   * "shifted": the move is beyond the tolerance (minimum-effect test at 0.1 %: the alert); "equivalent": shown to be
   * within it (TOST at 5 %: safe to promote); "inconclusive": too little data to say either.
   */
  decision: z.enum(["equivalent", "shifted", "inconclusive"]),
  /** 95 % interval of the change of the previous threshold's drop rate, in rate units (design-effect aware). */
  change_interval_95: z.tuple([z.number(), z.number()]),
  /** When inconclusive: how many times more data on each side the same estimate needs to be decided (else null). */
  more_data_factor: z.number().nullable(),
  /**
   * The design effect both sample sizes were divided by, and where it came from: "both" / "previous" / "new" (the
   * larger of the sides uploaded as queries; a flat side borrows it), or "assumed_ceiling" when both were uploaded
   * flat (a documented ceiling of 50: the decision holds its levels for any clustering up to it). Absent on reports
   * made before they were kept.
   */
  design_effect: z.number().optional(),
  design_effect_source: z.enum(["both", "previous", "new", "assumed_ceiling"]).optional(),
  /** Welch-Satterthwaite df of the change's standard error (Student's t quantiles); null: normal (flat uploads). */
  degrees_of_freedom: z.number().nullable().optional(),
  /** True exactly when `decision` is "shifted", unless `not_alerted` says why not. */
  alert: z.boolean(),
  /**
   * "intended_carry": a new gate compared with the calibration it carries from (an embedding or reranker change moves
   * the old threshold's drop rate by design), so a "shifted" decision raises no rebuild_shift alert. null otherwise.
   */
  not_alerted: z.enum(["intended_carry"]).nullable().optional(),
  /**
   * When both calibrations carry relevance labels: coverage at the previous threshold on the previous labels (in
   * sample) and on the new ones, in the previous recall policy's notion (any_relevant for other policies).
   */
  coverage_at_previous_threshold: z
    .object({ coverage: CoverageNotion, previous: z.number(), current: z.number(), change_points: z.number(), labelled_queries: z.number().int() })
    .nullable()
    .optional(),
  reason: z.string(),
});
export type ShiftReport = z.infer<typeof ShiftReport>;

export const Calibration = z.object({
  id: z.string(),
  gate_id: z.string(),
  index: z.string(),
  embedding: z.string(),
  reranker: z.string(),
  index_version: z.string(),
  policy: StoredPolicy,
  score_scale: ScoreScale,
  threshold: z.number().nullable(),
  target_drop_rate: z.number(),
  expected_drop_rate: z.number(),
  in_sample_drop_rate: z.number(),
  /** k/(n+1): the expected drop rate if the scores had no tie at the threshold (the split-conformal value). */
  conformal_drop_rate: z.number(),
  /** Calibration scores equal to the threshold (1 for continuous scores); all of them are kept. */
  ties_at_threshold: z.number().int(),
  /** n divided by the design effect: the number of independent scores the calibration is worth. */
  effective_n: z.number(),
  /**
   * Satterthwaite degrees of freedom of the design effect's estimate (queries uploads): few or very unequal queries,
   * or an extreme target whose drops sit in a few queries, give few; the intervals then use Student's t with them.
   * null for flat uploads. Absent on calibrations fitted before it was kept.
   */
  interval_degrees_of_freedom: z.number().nullable().optional(),
  /** 95 % interval of the drop rate the gate achieves on fresh candidates (Beta at the effective size, t-corrected). */
  drop_rate_interval_95: z.tuple([z.number(), z.number()]),
  threshold_interval_95: Interval,
  k: z.number().int(),
  n: z.number().int(),
  n_queries: z.number().int().nullable(),
  per_query: PerQuery.nullable(),
  carry: Carry.nullable(),
  /** Relevance labels of the upload (null: unlabelled). */
  labels: Labels.nullable(),
  /** The recall guarantee (policy kind "recall"; null otherwise). */
  recall: RecallReport.nullable(),
  /**
   * The guards the gate applies and what they do (null: none). Absent on calibrations fitted before guards: none.
   * `expected_drop_rate` and its interval are those of the guarded gate.
   */
  guards: GuardsReport.nullable().optional(),
  /** A query abstains iff its top score is below this (null: never); absent on calibrations fitted before it: never. */
  abstain_below: z.number().nullable().optional(),
  abstention: AbstentionReport.nullable().optional(),
  summary: z.object({ step: z.number(), quantiles: z.array(z.number()) }),
  min: z.number(),
  max: z.number(),
  warnings: z.array(Warning),
  shift: ShiftReport.nullable(),
  /** The rebuild shift tolerance this calibration was uploaded with (reused when it is activated later). */
  shift_tolerance: z.number(),
  /** The drift tolerances this calibration was uploaded with, resolved to absolute rate units (null: the server's). */
  drift_tolerance: z.number().nullable(),
  empty_context_tolerance: z.number().nullable(),
  created_at: z.string(),
  created_by: z.string(),
  /** Derived at read time: is this the active calibration of its (gate, index_version)? */
  active: z.boolean(),
  /** Derived: is this the gate's current calibration (the most recently activated)? */
  current: z.boolean(),
});
export type Calibration = z.infer<typeof Calibration>;
/** The immutable part that is stored. */
export type StoredCalibration = Omit<Calibration, "active" | "current">;

export const CalibrationCreated = z.object({
  calibration: Calibration,
  shift: ShiftReport.nullable(),
  warnings: z.array(Warning),
});
