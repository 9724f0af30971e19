import { z } from "zod";
import { AlertKind } from "./alerts";
import { BatchTarget, GateRef, Score } from "./common";
import { CoverageStatus } from "./judgments";
import { MAX_BATCH_PROMOTION_STEP, MAX_CANDIDATES_PER_QUERY, MAX_OBSERVATION_QUERIES, MAX_OBSERVATION_SCORES } from "./limits";

// ---------------------------------------------------------------------------------------------------------------
// Production observations and drift
// ---------------------------------------------------------------------------------------------------------------

const count = z.number().int().min(0);
const QUERY_COUNTS_SHAPE =
  "must be [candidates, dropped], [candidates, dropped, below, abstained] or [candidates, dropped, below, abstained, unscored] with whole numbers (abstained 0 or 1)";

/**
 * One query's counts: [candidates reranked, candidates dropped by the gate], or, from a client that applies guards
 * or abstention (src/stats/guard-rule.ts), [candidates, dropped, below, abstained]: `below` the scored candidates
 * under the threshold (what the threshold alone drops: where a min_keep guard binds), `abstained` 1 when the query
 * abstained (0 otherwise). `dropped` is what the guarded candidate gate drops, whether or not the query abstained.
 *
 * A fifth element, `unscored`, counts the candidates the service passed without a score (a reranker that timed out
 * for part of a batch, a wrong score key, scores sent as strings). With it, `candidates`, `dropped` and `below` count
 * the scored candidates only, whatever the client's unscored mode did with the others, so the drift tests read the
 * gate on what it scored; [0, 0, 0, 0, n] is a query none of whose candidates had a score. The 2- and 4-element
 * forms count every candidate as scored, as they always did.
 */
export const QueryCounts = z
  .union(
    [
      z.tuple([count.max(MAX_CANDIDATES_PER_QUERY), count]),
      z.tuple([count.max(MAX_CANDIDATES_PER_QUERY), count, count, z.union([z.literal(0), z.literal(1)])]),
      z.tuple([count.max(MAX_CANDIDATES_PER_QUERY), count, count, z.union([z.literal(0), z.literal(1)]), count.max(MAX_CANDIDATES_PER_QUERY)]),
    ],
    { error: QUERY_COUNTS_SHAPE },
  )
  .refine((q) => q[1] <= q[0] && (q[2] === undefined || q[2] <= q[0]), { error: "dropped and below must not exceed candidates" })
  .refine((q) => q[4] === undefined || q[0] + q[4] <= MAX_CANDIDATES_PER_QUERY, {
    error: `candidates and unscored together must not exceed ${MAX_CANDIDATES_PER_QUERY}`,
  });
export type QueryCounts = z.infer<typeof QueryCounts>;

// --- promotion contract: who a batch belongs to (a shadow, or an arm of a promotion step) ---
/**
 * The arm of a promotion a batch's queries were served: `candidate` (the promoted calibration), `control` (the gate's
 * current one) or `unassigned` (requests without an assignment key: served control, never counted as evidence).
 */
export const PromotionArm = z.enum(["control", "candidate", "unassigned"], { error: 'must be "control", "candidate" or "unassigned"' });
export type PromotionArm = z.infer<typeof PromotionArm>;

/** The promotion step a batch was gated under, from GET /v1/threshold's `rollout` (a batch whose step is over when it arrives counts in no arm: a control or unassigned one as an ordinary batch, a candidate one nowhere). */
export const BatchPromotion = z.strictObject({
  id: z.string().regex(/^prm_[0-9a-z]{10,40}$/u, { error: "is not a promotion id" }),
  step: z
    .number({ error: "must be a whole number" })
    .int({ error: "must be a whole number" })
    .min(0, { error: `must be a step index from 0 to ${MAX_BATCH_PROMOTION_STEP}` })
    .max(MAX_BATCH_PROMOTION_STEP, { error: (iss) => `must be a step index from 0 to ${MAX_BATCH_PROMOTION_STEP} (got ${String(iss.input)})` }),
  arm: PromotionArm,
});
export type BatchPromotion = z.infer<typeof BatchPromotion>;

/** `shadow`: mirrored queries gated by a shadow calibration (calibration_id required); omitted: served traffic. */
export const BatchRole = z.enum(["served", "shadow"], { error: 'must be "served" or "shadow"' });
export type BatchRole = z.infer<typeof BatchRole>;

export const ObservationBatch = z
  .strictObject({
    ...BatchTarget,
    role: BatchRole.optional(),
    promotion: BatchPromotion.optional(),
    queries: z
      .array(QueryCounts)
      .min(1, { error: "must not be empty" })
      .max(MAX_OBSERVATION_QUERIES, {
        error: `must hold at most ${MAX_OBSERVATION_QUERIES} queries: send several batches`,
      }),
    /** Optional sample of raw reranker scores seen in production. */
    scores: z
      .array(Score)
      .max(MAX_OBSERVATION_SCORES, { error: `must hold at most ${MAX_OBSERVATION_SCORES} scores: send a smaller sample` })
      .optional(),
  })
  .refine((b) => b.calibration_id !== undefined || (b.embedding !== undefined && b.reranker !== undefined), {
    error: "is required, or name the gate instead (embedding and reranker, optionally index)",
    path: ["calibration_id"],
  })
  .refine((b) => b.role !== "shadow" || b.calibration_id !== undefined, {
    error: "is required in a shadow batch (its shadow calibration)",
    path: ["calibration_id"],
  })
  .refine((b) => b.role !== "shadow" || b.promotion === undefined, {
    error: "must be left out of a shadow batch (it belongs to no promotion arm)",
    path: ["promotion"],
  });
export type ObservationBatch = z.infer<typeof ObservationBatch>;

/**
 * A rate test that alarmed, as it stood at its alarm: the detector then restarts, so these are the numbers that
 * raised the alert (`queries` the window's then, `observed` the window's rate then, the evidence and its change point
 * the detector's). `at` when it alarmed.
 */
export const AlarmedRate = z.object({
  at: z.string(),
  queries: z.number().int(),
  observed: z.number().nullable(),
  expected: z.number(),
  band: z.object({ lo: z.number(), hi: z.number() }),
  log_evidence: z.number(),
  log_threshold: z.number(),
  evidence_since: z.string().nullable(),
  evidence_queries: z.number().int().nullable(),
  /** The rate over those queries (RateTest.evidence_observed). */
  evidence_observed: z.number().nullable().optional(),
  /**
   * Stratified tests: the expectation and band for the window's own query sizes then (RateTest.expected_window),
   * what `observed` compares with. Absent for pooled tests and in alarms kept before it was reported.
   */
  expected_window: z.number().nullable().optional(),
  band_window: z.object({ lo: z.number(), hi: z.number() }).nullable().optional(),
});
export type AlarmedRate = z.infer<typeof AlarmedRate>;

export const RateTest = z.object({
  /** This window's rate: its own queries (candidates for the drop rate). */
  observed: z.number().nullable(),
  /**
   * What the change detector tests against, over its data since its last reset (the calibration's first batch or its
   * last alarm: many windows, or right after an alarm only the queries since): the calibration's rate for a pooled
   * test; for a stratified test its per-size rates weighted by the query sizes of the detector's data, not the window's.
   */
  expected: z.number(),
  band: z.object({ lo: z.number(), hi: z.number() }),
  /**
   * Stratified tests (a guarded gate's drop rate; abstention with the calibration's strata; empty context with its
   * candidate-count strata): the same per-size rates and band weighted by this window's own units per stratum
   * (candidates a threshold decides, queries that reported abstention, queries): the figure to read beside
   * `observed`, since `expected` is for the detector's queries. null while the window holds no units of the rate.
   * Absent for pooled tests (where it equals `expected`) and in windows recorded before it was reported.
   */
  expected_window: z.number().nullable().optional(),
  band_window: z.object({ lo: z.number(), hi: z.number() }).nullable().optional(),
  /** ln of the change detector's Shiryaev-Roberts statistic: the current evidence of a change. */
  log_evidence: z.number(),
  alarm: z.boolean(),
  /** False while the test cannot alarm (fewer than 100 queries; a calibration too small to bound its rate). */
  armed: z.boolean(),
  /**
   * Why it is not armed: "too_few_queries" (fewer than 100 since the detector's reset) or "calibration_too_small"
   * (no honest band: the calibration's own rate is known only within more than 25 points, or, for empty context, no
   * candidate-count stratum's rate is bounded within 10 points; for a min_keep >= 2 gate's guard binding, none measured
   * on 50 calibration queries of its own). null when armed.
   */
  not_armed_reason: z.enum(["too_few_queries", "calibration_too_small"]).nullable(),
  /**
   * With "too_few_queries": the queries the detector still needs since its reset before this test can alarm; null
   * otherwise. A test's detector restarted by its alarm gathers evidence before it is armed, so `log_evidence` (this detector's,
   * since its reset) can stand above `log_threshold` while `armed` is false: it alarms once armed if it still does.
   * Absent in windows recorded before it was reported.
   */
  queries_to_arm: z.number().int().nullable().optional(),
  /** When the candidate change point with the most evidence opened, and the queries since (null before any). */
  evidence_since: z.string().nullable(),
  evidence_queries: z.number().int().nullable(),
  /**
   * The rate observed over those `evidence_queries` queries since `evidence_since`: what the evidence is about, where
   * `observed` is the whole window's (it can stay inside the band long after a shift began). null before any change
   * point, or with no units of the rate since it; absent in windows recorded before it was reported.
   */
  evidence_observed: z.number().nullable().optional(),
  /**
   * Stratified tests only (a guarded gate's drop rate; abstention on calibrations that kept its strata): strata whose
   * calibration band is tested (30 calibration queries and a margin within 25 points), of the strata the calibration
   * holds queries in, and the share of production's units since the detector's reset (candidates a threshold decides;
   * queries that reported abstention) that fell in tested strata (null before any). Queries in untested strata are
   * not watched. Absent for pooled tests and in windows recorded before they were reported.
   */
  strata_tested: z.number().int().optional(),
  strata_total: z.number().int().optional(),
  tested_share: z.number().nullable().optional(),
  /**
   * While the alert this test raised stands (GET /v1/monitor, /metrics): the test as it stood at its alarm in this
   * window; `log_evidence`, `armed`, `expected` and the evidence fields above are the restarted detector's. Shown
   * only when an unresolved alert of its kind began at or before that alarm (an alert's first_seen_at is the
   * monitor's detection time), so a resolved alert's numbers never appear under a later one. null otherwise, and in
   * an alert's details (the alert is the alarm); an observation's answer carries the window's earlier alarm of the
   * test, if any; absent in windows recorded before it was kept.
   */
  alarmed: AlarmedRate.nullable().optional(),
});

export const WindowStatus = z.object({
  calibration_id: z.string(),
  index_version: z.string(),
  started_at: z.string(),
  ends_at: z.string(),
  batches: z.number().int(),
  queries: z.number().int(),
  /** Scored candidates: what the drift tests read (with the 5-element counts, the unscored ones are not among them). */
  candidates: z.number().int(),
  /**
   * Candidates services reported without a score (the fifth element of a query's counts: a reranker that failed for
   * them). Counted beside the tests, never in them; over UNSCORED_ALERT_SHARE of the reported candidates it raises an
   * unscored_candidates alert. Absent in windows recorded before it was counted.
   */
  unscored_candidates: z.number().int().optional(),
  dropped: z.number().int(),
  empty_queries: z.number().int(),
  design_effect: z.number(),
  log_threshold: z.number(),
  drop_rate: RateTest,
  empty_context: RateTest.nullable(),
  /**
   * A gate with min_keep = L >= 1 is never empty: `empty_context` and `empty_queries` then count the queries whose
   * threshold left fewer than min(L, candidates) (where the guard binds, from clients that report `below`), and this is
   * L. Absent: queries left with nothing.
   */
  empty_context_level: z.number().int().optional(),
  /** Queries that said whether they abstained, and those that did (absent in windows recorded before abstention). */
  abstention_queries: z.number().int().optional(),
  abstained_queries: z.number().int().optional(),
  /** The abstention rate's test (abstaining gates; null otherwise, absent in windows recorded before it). */
  abstention: RateTest.nullable().optional(),
  /** Candidates per query in this window and in the calibration (information: not an alarm). */
  mean_candidates: z.number().nullable(),
  expected_mean_candidates: z.number().nullable(),
  /**
   * Candidates per query, per stratum (information, never an alarm): `change` is "fewer" or "more" once the window
   * holds 100 queries and its mean differs from the calibration's by more than 25 %, "none" otherwise, null when the
   * calibration has no per-query statistics. The empty-context test compares each stratum with its own rate.
   */
  candidates_per_query: z.object({
    change: z.enum(["none", "fewer", "more"]).nullable(),
    strata: z.array(
      z.object({
        min_candidates: z.number().int(),
        max_candidates: z.number().int().nullable(),
        queries: z.number().int(),
        empty_queries: z.number().int(),
        /** The calibration's empty-context rate for queries of this size, and the band's upper end (null: not known). */
        expected_empty_rate: z.number().nullable(),
        band_hi: z.number().nullable(),
        /**
         * True when the calibration bounds this stratum's rate closely enough for its queries to be tested, and (for a
         * stratum extrapolated from longer queries) the extrapolation passed its check on the calibration.
         */
        tested: z.boolean(),
        /** How the calibration estimated the stratum's rate ("observed", "hypergeometric"; null: not known). */
        source: z.enum(["observed", "hypergeometric"]).nullable(),
      }),
    ),
  }),
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

/**
 * What the queue consumer delivered to this gate's monitor (OBSERVATION_INGEST = "queue"), since the object was
 * created. A queued batch is answered before it is counted, so a `batch_id` reused with a different body cannot be
 * refused to its sender: it is not counted, and shows here (and in the Worker's log) instead.
 */
export const QueuedIngestStatus = z.object({
  /** Object calls the consumer made (one per gate per consumer batch) and the queued batches they carried. */
  calls: z.number().int(),
  batches: z.number().int(),
  counted: z.number().int(),
  /** Redelivered or re-sent batches with a body already counted (not counted again). */
  duplicates: z.number().int(),
  /** Batches whose `batch_id` was already counted with a different body (not counted). */
  mismatches: z.number().int(),
  last_mismatch: z.object({ batch_id: z.string(), at: z.string() }).nullable(),
});
export type QueuedIngestStatus = z.infer<typeof QueuedIngestStatus>;

/** The alert kinds the drift monitor raises: an unresolved one puts its gate in alarm. */
export const DRIFT_ALERT_KINDS = ["drop_rate_drift", "empty_context", "recall_drift", "abstention_drift"] as const satisfies readonly AlertKind[];

/**
 * The gate's drift state in one word, the same in GET /v1/monitor, the dashboard and /metrics (scoregate_drift_alarm).
 * "alarm": the gate has an unresolved (open or acknowledged) drift alert, or its monitor alarmed and has not yet
 * stored the alert; it lasts until the alert is resolved (an alarm restarts the detector of the test that fired, so its
 * evidence alone reads low right after one). Otherwise "watching" (a test is armed), "not_armed" (observations, but fewer than the
 * 100 queries a restarted or new detector needs before it can alarm: `queries_to_arm` says how many remain; the
 * windows' evidence is that detector's, which may stand above the alarm level until it is armed) or "no_observations".
 */
export const DriftState = z.object({
  state: z.enum(["alarm", "watching", "not_armed", "no_observations"]),
  /** When the alarm began: the earliest first occurrence of the alerts that hold it (null unless alarm). */
  since: z.string().nullable(),
  /**
   * The drift alert kinds that hold the alarm, and the ids of those already stored (empty unless alarm), in the same
   * order (kinds in the order of DRIFT_ALERT_KINDS). An alarm not yet stored has no id, so pair kinds with ids through
   * `alerts`, not by position.
   */
  kinds: z.array(AlertKind),
  alert_ids: z.array(z.string()),
  /**
   * Each alert that holds the alarm with its kind, in the order of `kinds` (the oldest first within a kind): `alert_id`
   * null for an alarm the monitor has decided and not yet stored, `since` its first occurrence. Empty unless alarm.
   */
  alerts: z.array(z.object({ kind: AlertKind, alert_id: z.string().nullable(), since: z.string() })),
  /**
   * While no served test is armed (the gate "not_armed", or in alarm with its tests' detectors restarted): the fewest queries
   * one of its tests still needs before it can alarm (the windows' `queries_to_arm`); null otherwise, and when no
   * number of queries would arm one (a calibration too small to bound its rates).
   */
  queries_to_arm: z.number().int().nullable(),
});
export type DriftState = z.infer<typeof DriftState>;

/**
 * Whose numbers a monitor entry holds, as the gate stands when it is read: `active` the served traffic of the gate's
 * current calibration (a promotion's control arm included); `previous` served traffic of another calibration (the one
 * an activation replaced, reported by services that have not yet refreshed, or an older index_version's asked for by
 * version); `shadow` mirrored traffic of a shadow calibration (never the gate's alerts); `candidate` a running
 * promotion's candidate arm in its current step (its alarm stops the step, never raises the gate's alerts). Only
 * `active` entries describe what the gate serves by default.
 */
export const WindowRole = z.enum(["active", "previous", "shadow", "candidate"]);
export type WindowRole = z.infer<typeof WindowRole>;

/** A drift window as GET /v1/monitor reports it: the window and whose traffic it counted. */
export const MonitorWindow = WindowStatus.extend({
  role: WindowRole,
  /** A `candidate` window's promotion and step (absent for other roles). */
  promotion: z.object({ id: z.string(), step: z.number().int() }).optional(),
});
export type MonitorWindow = z.infer<typeof MonitorWindow>;

/** A coverage test as GET /v1/monitor reports it: `active` for the gate's current calibration, `previous` otherwise. */
export const MonitorCoverage = CoverageStatus.extend({ role: WindowRole });
export type MonitorCoverage = z.infer<typeof MonitorCoverage>;

export const MonitorStatus = z.object({
  gate_id: z.string(),
  state: DriftState,
  /** The open windows: the active calibration's, and any previous calibration's, shadow's and candidate arm's. */
  windows: z.array(MonitorWindow),
  /** Finished windows, newest first (`role` as the gate stands now; windows finished before roles were kept read as served). */
  history: z.array(MonitorWindow),
  /** Coverage tests of recall calibrations that received judgments (POST /v1/judgments). */
  recall: z.array(MonitorCoverage),
  queued_ingest: QueuedIngestStatus,
});
export type MonitorStatus = z.infer<typeof MonitorStatus>;

/** A batch counted before the answer (OBSERVATION_INGEST = "direct"): the updated window and any alert it raised. */
export const ObservationCounted = z.object({
  queued: z.literal(false),
  accepted: z.boolean(),
  duplicate: z.boolean(),
  gate_id: z.string(),
  calibration_id: z.string(),
  window: WindowStatus,
  alerts: z.array(z.string()),
});

/**
 * A batch validated, resolved to its calibration and enqueued (OBSERVATION_INGEST = "queue"): it is counted once, a
 * few seconds later, by the queue consumer. No window (it does not hold the batch yet) and no duplicate flag (a
 * re-sent batch is recognised when it is counted).
 */
export const ObservationQueued = z.object({
  queued: z.literal(true),
  batch_id: z.string(),
  gate_id: z.string(),
  calibration_id: z.string(),
});

/** The 202 of POST /v1/observations: `queued` says which of the two it is. */
export const ObservationAccepted = z.discriminatedUnion("queued", [ObservationCounted, ObservationQueued]);
export type ObservationAccepted = z.infer<typeof ObservationAccepted>;

export const MonitorQuery = GateRef;
