/**
 * THE API contract: every request and response schema of scoregate and its inferred type. Routes validate with these,
 * services take the inferred types, and the client SDK and OpenAPI document derive from this module (z.toJSONSchema).
 */
import { z } from "zod";
import {
  DEFAULT_PAGE_SIZE,
  DEFAULT_SHIFT_TOLERANCE,
  MAX_CANDIDATES_PER_QUERY,
  MAX_ID_LENGTH,
  MAX_PAGE_SIZE,
  MAX_QUERIES,
  MAX_BATCH_ID_LENGTH,
  MAX_OBSERVATION_QUERIES,
  MAX_OBSERVATION_SCORES,
  MAX_REFERENCE_SCORES,
  MAX_SCORES,
  MAX_WEBHOOK_URL_LENGTH,
} from "./limits";

// ---------------------------------------------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------------------------------------------

// Control characters (C0, DEL, C1) would corrupt logs, headers and keys; everything else, including "/", "@", ":"
// and spaces, is allowed because real model ids use them (`BAAI/bge-reranker-v2-m3@5f0c1a`).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point of this regex.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/u;

/** An id: 1..MAX_ID_LENGTH characters after Unicode NFC normalization, no control characters. */
export const Id = z
  .string({ error: "must be a string" })
  .transform((s) => s.normalize("NFC"))
  .pipe(
    z
      .string()
      .min(1, { error: "must not be empty" })
      .max(MAX_ID_LENGTH, { error: `must be at most ${MAX_ID_LENGTH} characters` })
      .refine((s) => !CONTROL_CHARS.test(s), { error: "must not contain control characters" }),
  );

/** A gate: which reranker gate of which collection, keyed by embedding model and reranker checkpoint. */
export const GateRef = z.object({
  index: Id.default("default"),
  embedding: Id,
  reranker: Id,
});
export type GateRef = z.infer<typeof GateRef>;

export const CalibrationId = z.string().regex(/^cal_[0-9a-z]{10,40}$/u, { error: "is not a calibration id" });

// ---------------------------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------------------------

const Score = z.number({ error: "must be a finite number" });
export const Scores = z
  .array(Score, { error: "must be an array of numbers" })
  .min(1, { error: "must not be empty" })
  .max(MAX_SCORES, { error: `must hold at most ${MAX_SCORES} scores` });

export const DropRatePolicy = z.strictObject({
  kind: z.literal("drop_rate"),
  /** Share of candidates to drop, 0 <= target < 1. 0 keeps everything (no gate). */
  target: z.number({ error: "must be a number" }).min(0, { error: "must be in [0, 1)" }).lt(1, { error: "must be in [0, 1)" }),
});

export const CarryReference = z.union([
  z.literal("active"),
  z.strictObject({ calibration_id: CalibrationId }),
  z.strictObject({
    scores: z
      .array(Score, { error: "must be an array of numbers" })
      .min(1, { error: "must not be empty" })
      .max(MAX_REFERENCE_SCORES, { error: `must hold at most ${MAX_REFERENCE_SCORES} scores` }),
  }),
]);

export const CarryPolicy = z.strictObject({
  kind: z.literal("carry"),
  /** The old absolute threshold. Omitted: the reference calibration's own threshold. */
  threshold: Score.optional(),
  reference: CarryReference,
});

export const Policy = z.discriminatedUnion("kind", [DropRatePolicy, CarryPolicy], {
  error: 'must be {"kind": "drop_rate", "target": d} or {"kind": "carry", "threshold"?: t, "reference": ...}',
});
export type Policy = z.infer<typeof Policy>;

/** How a policy is stored and echoed: inline reference scores are replaced by their count. */
export const StoredPolicy = z.union([
  DropRatePolicy,
  z.object({
    kind: z.literal("carry"),
    threshold: z.number().nullable(),
    reference: z.union([z.literal("active"), z.object({ calibration_id: z.string() }), z.object({ inline_scores: z.number().int() })]),
  }),
]);
export type StoredPolicy = z.infer<typeof StoredPolicy>;

export const ScoreScale = z.enum(["probability", "logit", "unbounded"], {
  error: 'must be "probability", "logit" or "unbounded"',
});
export type ScoreScale = z.infer<typeof ScoreScale>;

// ---------------------------------------------------------------------------------------------------------------
// Calibration upload
// ---------------------------------------------------------------------------------------------------------------

/** Everything but the scores; shared by the JSON body, the NDJSON header line and the float32 query string. */
export const CalibrationMeta = GateRef.extend({
  index_version: Id,
  policy: Policy,
  activate: z.boolean({ error: "must be true or false" }).default(true),
  score_scale: ScoreScale.default("unbounded"),
  /** Rebuild shift alert tolerance, in drop-rate units (default 0.02 = 2 points). */
  shift_tolerance: z.number().min(0).max(1).default(DEFAULT_SHIFT_TOLERANCE),
});
export type CalibrationMeta = z.infer<typeof CalibrationMeta>;

export const Query = z
  .array(Score, { error: "must be an array of numbers" })
  .min(1, { error: "a query must have at least one candidate score" })
  .max(MAX_CANDIDATES_PER_QUERY, { error: `a query may have at most ${MAX_CANDIDATES_PER_QUERY} candidates` });

export const CalibrationUpload = z.strictObject({
  ...CalibrationMeta.shape,
  scores: Scores.optional(),
  queries: z
    .array(Query, { error: "must be an array of arrays of numbers" })
    .min(1, { error: "must not be empty" })
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
  /** Split the scores into consecutive queries of this many candidates (per-query statistics). */
  candidates_per_query: QueryNumber.pipe(z.number().int().min(1).max(MAX_CANDIDATES_PER_QUERY)).optional(),
});

// ---------------------------------------------------------------------------------------------------------------
// Calibration record
// ---------------------------------------------------------------------------------------------------------------

const Interval = z.tuple([z.number().nullable(), z.number().nullable()]);

export const PerQuery = z.object({
  mean_kept: z.number(),
  mean_candidates: z.number(),
  empty_context_rate: z.number(),
  design_effect: z.number(),
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
  alert: z.boolean(),
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
  drop_rate_interval_95: z.tuple([z.number(), z.number()]),
  threshold_interval_95: Interval,
  k: z.number().int(),
  n: z.number().int(),
  n_queries: z.number().int().nullable(),
  per_query: PerQuery.nullable(),
  carry: Carry.nullable(),
  summary: z.object({ step: z.number(), quantiles: z.array(z.number()) }),
  min: z.number(),
  max: z.number(),
  warnings: z.array(Warning),
  shift: ShiftReport.nullable(),
  /** The rebuild shift tolerance this calibration was uploaded with (reused when it is activated later). */
  shift_tolerance: z.number(),
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

// ---------------------------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------------------------

export const ThresholdQuery = GateRef.extend({ index_version: Id.optional() });
export type ThresholdQuery = z.infer<typeof ThresholdQuery>;

export const ThresholdResponse = z.object({
  index: z.string(),
  embedding: z.string(),
  reranker: z.string(),
  threshold: z.number().nullable(),
  calibration_id: z.string(),
  index_version: z.string(),
  policy: StoredPolicy,
  score_scale: ScoreScale,
  expected_drop_rate: z.number(),
  fitted_at: z.string(),
  activated_at: z.string(),
});
export type ThresholdResponse = z.infer<typeof ThresholdResponse>;

// ---------------------------------------------------------------------------------------------------------------
// History and audit
// ---------------------------------------------------------------------------------------------------------------

export const Pagination = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
  cursor: z.string().max(200).optional(),
});

export const HistoryQuery = GateRef.extend(Pagination.shape);

export const Activation = z.object({
  id: z.string(),
  gate_id: z.string(),
  index_version: z.string(),
  calibration_id: z.string(),
  previous_calibration_id: z.string().nullable(),
  activated_at: z.string(),
  actor: z.string(),
  reason: z.string().nullable(),
});
export type Activation = z.infer<typeof Activation>;

export const ActivateBody = z.strictObject({
  reason: z.string().max(1000).optional(),
});

export const GateSummary = z.object({
  gate_id: z.string(),
  index: z.string(),
  embedding: z.string(),
  reranker: z.string(),
  created_at: z.string(),
  current_calibration_id: z.string().nullable(),
  active: z.array(
    z.object({
      index_version: z.string(),
      calibration_id: z.string(),
      threshold: z.number().nullable(),
      expected_drop_rate: z.number(),
      activated_at: z.string(),
    }),
  ),
});
export type GateSummary = z.infer<typeof GateSummary>;

// ---------------------------------------------------------------------------------------------------------------
// Production observations and drift
// ---------------------------------------------------------------------------------------------------------------

/** One query's counts: [candidates reranked, candidates dropped by the gate]. */
export const QueryCounts = z
  .tuple([z.number().int().min(0).max(MAX_CANDIDATES_PER_QUERY), z.number().int().min(0)], {
    error: "must be [candidates, dropped] with whole numbers",
  })
  .refine(([m, d]) => d <= m, { error: "dropped must not exceed candidates" });

export const ObservationBatch = z
  .strictObject({
    /** Unique per batch; a retried batch with the same id is never counted twice. */
    batch_id: z.string().min(1).max(MAX_BATCH_ID_LENGTH),
    /** The calibration whose threshold the service applied (from GET /v1/threshold), or the gate fields. */
    calibration_id: CalibrationId.optional(),
    index: Id.optional(),
    embedding: Id.optional(),
    reranker: Id.optional(),
    index_version: Id.optional(),
    queries: z
      .array(QueryCounts)
      .min(1, { error: "must not be empty" })
      .max(MAX_OBSERVATION_QUERIES, {
        error: `must hold at most ${MAX_OBSERVATION_QUERIES} queries: send several batches`,
      }),
    /** Optional sample of raw reranker scores seen in production. */
    scores: z.array(Score).max(MAX_OBSERVATION_SCORES).optional(),
  })
  .refine((b) => b.calibration_id !== undefined || (b.embedding !== undefined && b.reranker !== undefined), {
    error: "name the calibration (calibration_id) or the gate (embedding, reranker and optionally index)",
    path: ["calibration_id"],
  });
export type ObservationBatch = z.infer<typeof ObservationBatch>;

export const RateTest = z.object({
  observed: z.number().nullable(),
  expected: z.number(),
  band: z.object({ lo: z.number(), hi: z.number() }),
  log_evidence: z.number(),
  alarm: z.boolean(),
});

export const WindowStatus = z.object({
  calibration_id: z.string(),
  index_version: z.string(),
  started_at: z.string(),
  ends_at: z.string(),
  batches: z.number().int(),
  queries: z.number().int(),
  candidates: z.number().int(),
  dropped: z.number().int(),
  empty_queries: z.number().int(),
  design_effect: z.number(),
  log_threshold: z.number(),
  drop_rate: RateTest,
  empty_context: RateTest.nullable(),
  alarms: z.number().int(),
  /** The window's uniform sample of production scores (when services send `scores`), against the calibration. */
  score_sample: z.object({
    size: z.number().int(),
    seen: z.number().int(),
    /** Share of the sampled scores below the calibration's threshold (null below 50 sampled scores). */
    drop_rate_at_threshold: z.number().nullable(),
    /** KS distance between the sample and the calibration's distribution (null below 50 sampled scores). */
    ks: z.number().nullable(),
  }),
});
export type WindowStatus = z.infer<typeof WindowStatus>;

export const MonitorStatus = z.object({
  gate_id: z.string(),
  windows: z.array(WindowStatus),
  history: z.array(WindowStatus),
});
export type MonitorStatus = z.infer<typeof MonitorStatus>;

export const ObservationAccepted = z.object({
  accepted: z.boolean(),
  duplicate: z.boolean(),
  gate_id: z.string(),
  calibration_id: z.string(),
  window: WindowStatus,
  alerts: z.array(z.string()),
});

export const MonitorQuery = GateRef;

// ---------------------------------------------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------------------------------------------

export const AlertKind = z.enum(["rebuild_shift", "drop_rate_drift", "empty_context", "uncalibrated_request"]);
export type AlertKind = z.infer<typeof AlertKind>;
export const AlertStatus = z.enum(["open", "acknowledged", "resolved"]);
export type AlertStatus = z.infer<typeof AlertStatus>;

export const Alert = z.object({
  id: z.string(),
  gate_id: z.string(),
  gate: z.object({ index: z.string(), embedding: z.string(), reranker: z.string() }),
  kind: AlertKind,
  status: AlertStatus,
  summary: z.string(),
  details: z.record(z.string(), z.unknown()),
  calibration_ids: z.array(z.string()),
  occurrences: z.number().int(),
  first_seen_at: z.string(),
  last_seen_at: z.string(),
  acknowledged_at: z.string().nullable(),
  acknowledged_by: z.string().nullable(),
  resolved_at: z.string().nullable(),
  resolved_by: z.string().nullable(),
});
export type Alert = z.infer<typeof Alert>;

export const AlertQuery = z.object({
  gate_id: z.string().max(64).optional(),
  index: Id.optional(),
  embedding: Id.optional(),
  reranker: Id.optional(),
  kind: AlertKind.optional(),
  status: AlertStatus.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
});

export const AlertAction = z.strictObject({ note: z.string().max(1000).optional() });

// ---------------------------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------------------------

const WebhookSecret = z.string().regex(/^whsec_[A-Za-z0-9+/]{32,128}={0,2}$/u, {
  error: "must be whsec_ followed by base64 of 24 to 96 random bytes",
});

export const WebhookCreate = z.strictObject({
  url: z.string().max(MAX_WEBHOOK_URL_LENGTH),
  secret: WebhookSecret.optional(),
  description: z.string().max(500).optional(),
  enabled: z.boolean().default(true),
});

export const WebhookUpdate = z.strictObject({
  url: z.string().max(MAX_WEBHOOK_URL_LENGTH).optional(),
  secret: WebhookSecret.optional(),
  description: z.string().max(500).optional(),
  enabled: z.boolean().optional(),
});

export const WebhookEndpoint = z.object({
  id: z.string(),
  url: z.string(),
  /** Shown in full only when the endpoint is created or its secret rotated; masked otherwise. */
  secret: z.string(),
  description: z.string().nullable(),
  enabled: z.boolean(),
  disabled_reason: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

export const DeliveryStatus = z.enum(["pending", "delivered", "failed"]);

export const Delivery = z.object({
  id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  alert_id: z.string(),
  endpoint_id: z.string(),
  status: DeliveryStatus,
  attempts: z.number().int(),
  next_attempt_at: z.string().nullable(),
  last_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  delivered_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Delivery = z.infer<typeof Delivery>;

export const DeliveryQuery = z.object({
  status: DeliveryStatus.optional(),
  endpoint_id: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
});

// ---------------------------------------------------------------------------------------------------------------
// Response envelopes (listings and actions), so the client and the OpenAPI document need nothing else
// ---------------------------------------------------------------------------------------------------------------

export const ErrorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export const GateList = z.object({ gates: z.array(GateSummary) });
export const CalibrationHistory = z.object({
  gate_id: z.string(),
  calibrations: z.array(Calibration),
  activations: z.array(Activation),
  next_cursor: z.string().nullable(),
});
export const ActivationResult = z.object({
  activation: Activation,
  calibration: Calibration,
  shift: ShiftReport.nullable(),
  warnings: z.array(Warning),
});
export const AlertList = z.object({ alerts: z.array(Alert) });
export const WebhookEndpointList = z.object({ endpoints: z.array(WebhookEndpoint) });
export const DeliveryList = z.object({ deliveries: z.array(Delivery) });
export const Health = z.object({ ok: z.boolean() });
