import { z } from "zod";
import { atMostRate, Cursor, PageLimit, StoredText } from "./common";
import {
  DEFAULT_MAX_STEP_HOURS,
  DEFAULT_PROMOTION_QUERIES,
  DEFAULT_PROMOTION_STEPS,
  DEFAULT_SHADOW_SAMPLE_RATE,
  MAX_ABSOLUTE_TOLERANCE,
  MAX_NOTE_LENGTH,
  MAX_PROMOTION_QUERIES,
  MAX_PROMOTION_STEPS,
  MAX_STEP_HOURS,
  MIN_PROMOTION_QUERIES,
  MIN_SHADOW_SAMPLE_RATE,
} from "./limits";
import { WindowStatus } from "./monitoring";
import { ServedShadow } from "./serving";

// ---------------------------------------------------------------------------------------------------------------
// Shadow calibrations: a stored, unserved calibration evaluated on mirrored live traffic
// ---------------------------------------------------------------------------------------------------------------

const Reason = StoredText(MAX_NOTE_LENGTH);

/** The share of keyed queries mirrored to a shadow. */
const SampleRate = z
  .number({ error: "must be a number" })
  .min(MIN_SHADOW_SAMPLE_RATE, {
    error: `must be at least ${MIN_SHADOW_SAMPLE_RATE}: clients mirror keys in buckets of one in 10,000, so a smaller share would still take one bucket`,
  })
  .max(1, atMostRate(1, "percent"));

/** Body of POST /v1/calibrations/{id}/shadow: the share of production queries clients mirror to it. */
export const ShadowBody = z.strictObject({
  sample_rate: SampleRate.default(DEFAULT_SHADOW_SAMPLE_RATE),
  reason: Reason.optional(),
});
export type ShadowBody = z.infer<typeof ShadowBody>;

/** Body of PATCH /v1/calibrations/{id}/shadow: a shadow's new sample rate (its evidence so far is kept). */
export const ShadowRateBody = z.strictObject({
  sample_rate: SampleRate,
  reason: Reason.optional(),
});
export type ShadowRateBody = z.infer<typeof ShadowRateBody>;

/** Body of DELETE /v1/calibrations/{id}/shadow and of the promotion overrides. */
export const ReasonBody = z.strictObject({ reason: Reason.optional() });
export type ReasonBody = z.infer<typeof ReasonBody>;

// ---------------------------------------------------------------------------------------------------------------
// Live decisions (queries as the unit, anytime-valid)
// ---------------------------------------------------------------------------------------------------------------

export const LiveDecisionKind = z.enum(["equivalent", "shifted", "inconclusive"]);
export type LiveDecisionKind = z.infer<typeof LiveDecisionKind>;

/**
 * The rebuild decision's three answers computed on live traffic, valid however often it is read (an asymptotic
 * confidence sequence replaces the fixed-n quantile: docs/drift.md, "Shadow and promotion decisions").
 * `change` is the live drop rate minus the reference (the target, or the other arm), in [-1, 1].
 */
export const LiveDecision = z.object({
  decision: LiveDecisionKind,
  change: z.number().nullable(),
  /** The 95 % confidence sequence of `change` (null before MIN_DECISION_QUERIES queries on each side). */
  interval95: z.tuple([z.number(), z.number()]).nullable(),
  tolerance: z.number(),
  /** Queries of each side behind the decision, and their effective sizes after the design effect. */
  queries: z.number().int(),
  reference_queries: z.number().int().nullable(),
  effective_queries: z.number().nullable(),
  /** How many times the evidence must grow for the same estimate to settle an inconclusive decision; null otherwise. */
  more_data_factor: z.number().nullable(),
});
export type LiveDecision = z.infer<typeof LiveDecision>;

/** One shadow's live evaluation (GET /v1/gates/{gate_id}/shadows). */
export const ShadowStatus = z.object({
  calibration_id: z.string(),
  index_version: z.string(),
  sample_rate: z.number(),
  since: z.string(),
  since_seq: z.number().int(),
  /** Mirrored queries counted, and their pooled drop rate (null before any candidate). */
  queries: z.number().int(),
  drop_rate: z.number().nullable(),
  expected_drop_rate: z.number(),
  /**
   * The rate `vs_target` compares the live drop rate with: the calibration's in-sample drop rate (its
   * `expected_drop_rate` but where scores tie at the threshold), or for a guarded calibration its expectation for the
   * mirrored queries' own sizes (docs/drift.md, "A guarded calibration's target"). Absent from servers before it.
   */
  target_drop_rate: z.number().optional(),
  /** The shadow's live drop rate against its own calibration's expected rate (target_drop_rate). */
  vs_target: LiveDecision,
  /** The shadow's live drop rate against the active gate's on the same time span. */
  vs_active: LiveDecision,
  /** The shadow's drift window, run exactly as the active one's; its alarms never raise the gate's alerts. */
  drift: WindowStatus.nullable(),
});
export type ShadowStatus = z.infer<typeof ShadowStatus>;

export const ShadowList = z.object({
  gate_id: z.string(),
  active_calibration_id: z.string().nullable(),
  shadows: z.array(ShadowStatus),
});
export type ShadowList = z.infer<typeof ShadowList>;

/** The answer to adding or removing a shadow: the gate's shadow set after it, and the event's sequence number. */
export const ShadowChanged = z.object({
  gate_id: z.string(),
  calibration_id: z.string(),
  seq: z.number().int(),
  shadows: z.array(ServedShadow),
});
export type ShadowChanged = z.infer<typeof ShadowChanged>;

// ---------------------------------------------------------------------------------------------------------------
// Guarded promotion
// ---------------------------------------------------------------------------------------------------------------

export const OnRegression = z.enum(["pause", "rollback"], { error: 'must be "pause" or "rollback"' });
export type OnRegression = z.infer<typeof OnRegression>;

const stepsError = `must be strictly increasing whole percentages in 1..100, ending with 100, at most ${MAX_PROMOTION_STEPS} of them`;

/** Body of POST /v1/calibrations/{id}/promote. `[100]` is a straight promotion (served at once, then watched). */
export const PromotionPlanBody = z.strictObject({
  steps: z
    .array(z.number({ error: stepsError }).int({ error: stepsError }).min(1, { error: stepsError }).max(100, { error: stepsError }))
    // abort: an empty or too long plan is one problem, not also a refine's
    .min(1, { error: stepsError, abort: true })
    .max(MAX_PROMOTION_STEPS, { error: stepsError, abort: true })
    .refine((s) => s.at(-1) === 100 && s.every((p, i) => i === 0 || p > s[i - 1]!), { error: stepsError })
    .default([...DEFAULT_PROMOTION_STEPS]),
  min_queries: z
    .number({ error: "must be a whole number" })
    .int({ error: "must be a whole number" })
    .min(MIN_PROMOTION_QUERIES, { error: `must be at least ${MIN_PROMOTION_QUERIES}` })
    .max(MAX_PROMOTION_QUERIES, { error: `must be at most ${MAX_PROMOTION_QUERIES}` })
    .default(DEFAULT_PROMOTION_QUERIES),
  on_regression: OnRegression.default("rollback"),
  /** Tolerance on the drop rate's change; omitted: the candidate calibration's `shift_tolerance`. */
  tolerance: z
    .number({ error: "must be a number" })
    .gt(0, { error: "must be above 0" })
    .max(MAX_ABSOLUTE_TOLERANCE, atMostRate(MAX_ABSOLUTE_TOLERANCE))
    .optional(),
  max_step_hours: z
    .number({ error: "must be a number" })
    .gt(0, { error: "must be above 0" })
    .max(MAX_STEP_HOURS, { error: `must be at most ${MAX_STEP_HOURS}` })
    .default(DEFAULT_MAX_STEP_HOURS),
  reason: Reason.optional(),
});
export type PromotionPlanBody = z.infer<typeof PromotionPlanBody>;

/** The plan as stored: every default resolved. */
export const PromotionPlan = z.object({
  steps: z.array(z.number().int()),
  min_queries: z.number().int(),
  on_regression: OnRegression,
  tolerance: z.number(),
  max_step_hours: z.number(),
});
export type PromotionPlan = z.infer<typeof PromotionPlan>;

export const PromotionState = z.enum(["running", "paused", "completed", "rolled_back", "superseded"]);
export type PromotionState = z.infer<typeof PromotionState>;

/** What a promotion audit row records. */
export const PromotionStepKind = z.enum(["started", "advanced", "paused", "resumed", "rolled_back", "completed", "superseded"]);
export type PromotionStepKind = z.infer<typeof PromotionStepKind>;

/** Why a transition happened. */
export const PromotionCause = z.enum([
  "admin",
  "equivalent",
  "shifted_vs_control",
  "shifted_vs_target",
  "drift_alarm",
  "inconclusive_timeout",
  "activation",
]);
export type PromotionCause = z.infer<typeof PromotionCause>;

/**
 * The first drift alarm of a candidate arm during a step (it stops the step): which test (the drop rate, the empty
 * context or the min_keep guard binding, the abstention rate), when, and its sentence.
 */
export const ArmDriftAlarm = z.object({
  kind: z.enum(["drop_rate_drift", "empty_context", "abstention_drift"]),
  at: z.string(),
  summary: z.string(),
});
export type ArmDriftAlarm = z.infer<typeof ArmDriftAlarm>;

/**
 * The candidate arm's drift detector during a step: the gate's own anytime-valid detector (drop rate, and empty
 * context and abstention where the calibration has their expectations) run on the candidate arm's batches of this step alone, against
 * the candidate calibration's expectation. Its alarm stops the step (`drift_alarm`); it never raises the gate's alerts.
 */
export const ArmDrift = z.object({
  window: WindowStatus,
  alarm: ArmDriftAlarm.nullable(),
});
export type ArmDrift = z.infer<typeof ArmDrift>;

/** The alarm of the candidate arm's drift detector that stopped a step, with the numbers of the test that fired. */
export const DriftAlarmNumbers = ArmDriftAlarm.extend({
  observed: z.number().nullable(),
  expected: z.number().nullable(),
  band: z.object({ lo: z.number(), hi: z.number() }).nullable(),
  log_evidence: z.number().nullable(),
  log_threshold: z.number(),
  /** The window's queries (for abstention_drift, those that reported abstention). */
  queries: z.number().int(),
});
export type DriftAlarmNumbers = z.infer<typeof DriftAlarmNumbers>;

/**
 * The numbers an automatic transition records (src/promotions/arm-evidence.ts decisionNumbers): the step's evidence
 * as GET /v1/promotions/{id}'s `evidence` gave it, in its audit row, its log event and its alert.
 */
export const DecisionNumbers = z.object({
  vs_control: LiveDecision,
  vs_target: LiveDecision,
  candidate_queries: z.number().int(),
  control_queries: z.number().int(),
  candidate_drop_rate: z.number().nullable(),
  control_drop_rate: z.number().nullable(),
  drift_alarm: DriftAlarmNumbers.nullable(),
});
export type DecisionNumbers = z.infer<typeof DecisionNumbers>;

/** What a step stopped on its deadline (`inconclusive_timeout`) adds to its decision numbers. */
export const DeadlineNumbers = z.object({
  max_step_hours: z.number(),
  /** When the step began (the promotion's last transition), and when its deadline passed. */
  step_since: z.string(),
  deadline: z.string(),
});
export type DeadlineNumbers = z.infer<typeof DeadlineNumbers>;

/** An admin's override of a promotion (POST /v1/promotions/{id}/{action}). */
export const PromotionOverride = z.enum(["pause", "resume", "advance", "rollback"]);
export type PromotionOverride = z.infer<typeof PromotionOverride>;

/**
 * The numbers of an audit row that recorded the step's evidence: an automatic decision (a timeout adds the deadline's),
 * or an override applied while the gate's monitor answered (`override`, and `request` when it was keyed).
 */
export const EvidenceStepNumbers = z.object({
  override: PromotionOverride.optional(),
  /** The digest of a keyed request (its retry finds the row by it: idempotent.ts). */
  request: z.string().optional(),
  ...DecisionNumbers.shape,
  ...DeadlineNumbers.partial().shape,
});
export type EvidenceStepNumbers = z.infer<typeof EvidenceStepNumbers>;

/**
 * The numbers of an audit row without the step's evidence: a start or a straight completion (`plan`, and `request`
 * when it was keyed), an override the gate's monitor could not answer for (`override`, `request`), an activation that
 * superseded the promotion (`activated`: the calibration activated). Other keys are allowed: rows stored by earlier
 * versions are shown as stored.
 */
export const OtherStepNumbers = z
  .object({
    plan: PromotionPlan.optional(),
    override: PromotionOverride.optional(),
    request: z.string().optional(),
    activated: z.string().optional(),
  })
  .catchall(z.unknown());
export type OtherStepNumbers = z.infer<typeof OtherStepNumbers>;

/** The numbers of an audit row: with the step's evidence (EvidenceStepNumbers) or without it (OtherStepNumbers). */
export const PromotionStepNumbers = z.union([EvidenceStepNumbers, OtherStepNumbers]);
export type PromotionStepNumbers = z.infer<typeof PromotionStepNumbers>;

/**
 * A promotion_paused or promotion_rolled_back alert's details: the promotion, its step (zero-based) and the
 * transition's cause, with the decision numbers that stopped it (a timeout adds the deadline's).
 */
export const PromotionStopDetails = z.object({
  promotion_id: z.string(),
  step: z.number().int(),
  cause: PromotionCause,
  ...DecisionNumbers.shape,
  ...DeadlineNumbers.partial().shape,
});
export type PromotionStopDetails = z.infer<typeof PromotionStopDetails>;

/** One audit row of a promotion: every start, advance, pause, resume, rollback and completion, with its numbers. */
export const PromotionStepRecord = z.object({
  id: z.string(),
  kind: PromotionStepKind,
  cause: PromotionCause,
  /** The plan step (zero-based) and the candidate's share after the transition, in percent. */
  step: z.number().int(),
  percent: z.number(),
  /** The activation-log sequence number of the transition's event (null when it wrote none). */
  seq: z.number().int().nullable(),
  at: z.string(),
  actor: z.string(),
  reason: z.string().nullable(),
  /** The evidence behind it: the decisions vs control and vs target, the arms' queries, the drift alarm. */
  numbers: PromotionStepNumbers,
});
export type PromotionStepRecord = z.infer<typeof PromotionStepRecord>;

/** Evidence of the running step, per arm (GET /v1/promotions/{id} while running or paused). */
export const StepEvidence = z.object({
  step: z.number().int(),
  candidate_queries: z.number().int(),
  control_queries: z.number().int(),
  candidate_drop_rate: z.number().nullable(),
  control_drop_rate: z.number().nullable(),
  /** The candidate arm against the control arm of the same step, and against its own calibration's expected rate. */
  vs_control: LiveDecision,
  vs_target: LiveDecision,
  /** The candidate arm's drift detector this step (null before its first batch). */
  candidate_drift: ArmDrift.nullable(),
});
export type StepEvidence = z.infer<typeof StepEvidence>;

export const Promotion = z.object({
  id: z.string(),
  gate_id: z.string(),
  candidate_calibration_id: z.string(),
  control_calibration_id: z.string(),
  plan: PromotionPlan,
  state: PromotionState,
  /** Zero-based index of the current step in `plan.steps`, and the candidate's share of keyed traffic now (percent). */
  step: z.number().int(),
  percent: z.number(),
  /** Bumped by every transition: a decision computed against an older version is dropped. */
  version: z.number().int(),
  started_at: z.string(),
  updated_at: z.string(),
  actor: z.string(),
  /** The running or paused step's live numbers (null once the promotion is closed: its evidence is deleted then). */
  evidence: StepEvidence.nullable(),
  steps: z.array(PromotionStepRecord),
});
export type Promotion = z.infer<typeof Promotion>;

export const PromotionListQuery = z.object({ limit: PageLimit, cursor: Cursor.optional() });
export const PromotionList = z.object({ gate_id: z.string(), promotions: z.array(Promotion), next_cursor: z.string().nullable() });
export type PromotionList = z.infer<typeof PromotionList>;
