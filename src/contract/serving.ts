import { z } from "zod";
import { Cursor, GateRef, Id, PageLimit, ScoreScale, StoredPolicy, StoredText } from "./common";
import { MAX_NOTE_LENGTH } from "./limits";

// ---------------------------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------------------------

export const ThresholdQuery = GateRef.extend({ index_version: Id.optional() });
export type ThresholdQuery = z.infer<typeof ThresholdQuery>;

/** The guards of a served gate; `NO_GUARDS` is the neutral value (old calibrations, gates without guards). */
export const Guards = z.object({ min_keep: z.number().int(), max_keep: z.number().int().nullable() });
export type Guards = z.infer<typeof Guards>;
export const NO_GUARDS: Guards = { min_keep: 0, max_keep: null };

// --- promotion contract: what a client needs to gate a shadow's or a candidate's traffic ---
/** A calibration's gate as clients apply it: enough to gate candidates without another request. */
const ServedGate = {
  calibration_id: z.string(),
  index_version: z.string(),
  /** Keep a candidate iff `score >= threshold`; null keeps everything. */
  threshold: z.number().nullable(),
  expected_drop_rate: z.number(),
  guards: Guards,
  abstain_below: z.number().nullable(),
};

/**
 * One shadow of a gate as GET /v1/threshold serves it. A client mirrors the queries whose key hashes below
 * `sample_rate` (salted with `calibration_id`), gates them with this threshold and reports them with `role: "shadow"`;
 * what the service itself keeps never changes.
 */
export const ServedShadow = z.object({
  ...ServedGate,
  sample_rate: z.number(),
  /** The activation-log sequence number of the `shadow_added` event. */
  since_seq: z.number().int(),
});
export type ServedShadow = z.infer<typeof ServedShadow>;

/**
 * A running promotion's traffic split as GET /v1/threshold serves it. A request whose key's bucket
 * (murmur3_x86_32 of `salt + ":" + key`, scaled to 0..9999) is below `percent_bp` is served `candidate`, every other
 * keyed request the gate's current calibration (the control arm: the top-level fields); requests without a key are
 * served control and reported with arm `unassigned`.
 */
export const ServedRollout = z.object({
  promotion_id: z.string(),
  /** Zero-based index of the running step in the plan's `steps`. */
  step: z.number().int(),
  /**
   * The candidate's share of keyed traffic in basis points (1,000 = 10 %). A paused promotion keeps its step's share
   * (it stops advancing, it does not stop serving the candidate); a rollback or a completion ends the split (null).
   */
  percent_bp: z.number().int(),
  salt: z.string(),
  state: z.enum(["running", "paused"]),
  candidate: z.object(ServedGate),
});
export type ServedRollout = z.infer<typeof ServedRollout>;

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
  /**
   * The per-query guards the gate applies with the threshold (src/stats/guard-rule.ts): keep at least the top
   * min_keep candidates of a query and at most max_keep. Always present; `{min_keep: 0, max_keep: null}` is none.
   */
  guards: Guards,
  /** A query abstains (keeps nothing) when its top score is below this; always present, null: never abstains. */
  abstain_below: z.number().nullable(),
  // --- promotion contract: rollout and shadows. Optional in the schema, always sent by this server once the gate's head
  // holds them; absent (a server or a KV value from before promotions) reads as null and [] ---
  /** The running or paused promotion's split (null: none; everyone is served the fields above). */
  rollout: ServedRollout.nullable().optional(),
  /** The gate's shadow calibrations, evaluated on mirrored traffic; never served. */
  shadows: z.array(ServedShadow).optional(),
});
export type ThresholdResponse = z.infer<typeof ThresholdResponse>;

// ---------------------------------------------------------------------------------------------------------------
// History and audit
// ---------------------------------------------------------------------------------------------------------------

export const Pagination = z.object({
  limit: PageLimit,
  cursor: Cursor.optional(),
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
  reason: StoredText(MAX_NOTE_LENGTH).optional(),
  /** Answer the shift and warnings the activation would give against the gate's current calibration; write nothing. */
  dry_run: z.boolean({ error: "must be true or false" }).optional(),
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
