import { z } from "zod";
import { Cursor, GateRef, Id, PageLimit, ScoreScale, StoredPolicy } from "./common";
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
  reason: z.string({ error: "must be a string" }).max(MAX_NOTE_LENGTH).optional(),
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
