import { z } from "zod";
import { PerQuery } from "./calibration-per-query";
import { AbstentionReport, Carry, GuardsReport, Labels, RecallReport } from "./calibration-reports";
import { ActivateMode } from "./calibration-upload";
import { CoverageNotion, ScoreScale, StoredPolicy } from "./common";

// ---------------------------------------------------------------------------------------------------------------
// Calibration record: the stored calibration, its rebuild shift report, and what an upload did
// ---------------------------------------------------------------------------------------------------------------

const Interval = z.tuple([z.number().nullable(), z.number().nullable()]);

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
   * within it (TOST at 5 %: its 90 % interval inside the tolerance); "inconclusive": too little data to say either.
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
  /**
   * The new scores' side as measured per query at the previous threshold (an upload of queries): its design effect, the
   * df of its variance (null: normal) and whether the previous gate's guards were applied to it. An activation compared
   * with the same previous calibration reuses it (the kept distribution alone cannot measure it), so the upload and the
   * activation give the same numbers. null when the new scores came flat or only their distribution was left; absent
   * on reports made before it was kept.
   */
  new_side: z.object({ design_effect: z.number(), degrees_of_freedom: z.number().nullable(), guarded: z.boolean() }).nullable().optional(),
  /** True exactly when `decision` is "shifted", unless `not_alerted` says why not. */
  alert: z.boolean(),
  /**
   * Why a "shifted" decision raises no rebuild_shift alert: "intended_carry", a new gate compared with the calibration
   * it carries from (an embedding or reranker change moves the old threshold's drop rate by design); "rollback", an
   * activation of the calibration the current one replaced (it ends an incident, and resolves the rebuild_shift alert
   * the replacement raised); "not_activated", the upload was stored without being served (the alert follows an
   * activation); "dry_run", nothing was stored. null otherwise.
   */
  not_alerted: z.enum(["intended_carry", "rollback", "not_activated", "dry_run"]).nullable().optional(),
  /**
   * The rebuild_shift alert an activation of this calibration raised (or counted a repeat on), on a calibration read
   * after it (GET /v1/calibrations/{id}, a gate's history, an activation's answer): the report is then the one that
   * alerted, with `alert` true, whatever the upload answered (a calibration stored without being served says
   * "not_activated" at upload). Absent when no activation of it raised one; never on an upload's own `shift`.
   */
  alert_id: z.string().optional(),
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

/**
 * Why an upload is served or not: "requested" (activate: true), "first_calibration" (the gate served nothing), and
 * "equivalent" are served; "not_requested" (activate: false), "shifted", "inconclusive", "target_missed" (the
 * expected drop rate misses the target by more than AUTO_ACTIVATE_MAX_TARGET_MISS) and "drop_rate_changed" (an
 * equivalent rebuild whose expected drop rate moves beyond the shift tolerance from the served calibration's) and
 * "promotion_open" (the gate has an open guarded promotion, which an activation would end) are not.
 */
export const ActivationReason = z.enum([
  "requested",
  "first_calibration",
  "equivalent",
  "not_requested",
  "shifted",
  "inconclusive",
  "target_missed",
  "drop_rate_changed",
  "promotion_open",
]);
export type ActivationReason = z.infer<typeof ActivationReason>;

/** What an upload did to what is served, and why (docs/api.md, "Activation"). */
export const ActivationOutcome = z.object({
  /** The `activate` the upload was sent with (default "auto"). */
  activate: ActivateMode,
  dry_run: z.boolean(),
  /** This upload is now served for its index_version. Always false for a dry run. */
  activated: z.boolean(),
  /** Whether the same upload without dry_run is served (equals `activated` when it is not a dry run). */
  would_activate: z.boolean(),
  reason: ActivationReason,
  /** One sentence: what happened and what to do next. */
  message: z.string(),
});
export type ActivationOutcome = z.infer<typeof ActivationOutcome>;

export const CalibrationCreated = z.object({
  /** For a dry run: the calibration that would be stored (its id names nothing stored; active and current false). */
  calibration: Calibration,
  shift: ShiftReport.nullable(),
  warnings: z.array(Warning),
  activation_outcome: ActivationOutcome,
});
export type CalibrationCreated = z.infer<typeof CalibrationCreated>;
