import { z } from "zod";
import { atMostCharacters, Cursor, Id, PageLimit, StoredText } from "./common";
import { MAX_FILTER_ID_LENGTH, MAX_NOTE_LENGTH } from "./limits";

// ---------------------------------------------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------------------------------------------

export const AlertKind = z.enum([
  "rebuild_shift",
  "drop_rate_drift",
  "empty_context",
  "uncalibrated_request",
  "recall_drift",
  "abstention_drift",
  // more than UNSCORED_ALERT_SHARE of a gate's reported candidates had no score (src/monitoring/unscored.ts)
  "unscored_candidates",
  // promotion contract: a guarded promotion stopped on a regression (details: the decision and its numbers)
  "promotion_paused",
  "promotion_rolled_back",
]);
export type AlertKind = z.infer<typeof AlertKind>;
export const AlertStatus = z.enum(["open", "acknowledged", "resolved"]);
export type AlertStatus = z.infer<typeof AlertStatus>;

export const Alert = z.object({
  id: z.string(),
  gate_id: z.string(),
  gate: z.object({ index: z.string(), embedding: z.string(), reranker: z.string() }),
  kind: AlertKind,
  status: AlertStatus,
  /**
   * One sentence about the latest occurrence (its numbers are those of the newest of GET /v1/alerts/{id}/occurrences):
   * what is true now. Alerts stored before occurrences were kept read their first occurrence's.
   */
  summary: z.string(),
  /** The first occurrence's sentence, never overwritten (what `summary` said before the alert repeated). */
  first_summary: z.string(),
  /** The first occurrence's numbers, never overwritten (each occurrence's are in GET /v1/alerts/{id}/occurrences). */
  details: z.record(z.string(), z.unknown()),
  calibration_ids: z.array(z.string()),
  occurrences: z.number().int(),
  first_seen_at: z.string(),
  last_seen_at: z.string(),
  acknowledged_at: z.string().nullable(),
  acknowledged_by: z.string().nullable(),
  resolved_at: z.string().nullable(),
  resolved_by: z.string().nullable(),
  /** The notes given with acknowledge and resolve (a rollback that resolves a rebuild_shift alert says so here). */
  acknowledged_note: z.string().nullable(),
  resolved_note: z.string().nullable(),
});
export type Alert = z.infer<typeof Alert>;

/**
 * The alerts' filters. A gate is named by embedding and reranker (index defaulting), or by gate_id; `index` alone
 * filters by index, as the dashboard does. The two namings together could disagree and match nothing, and a gate
 * named by half names none: both are refused, with a sentence of their own (`sentence`, platform/http/validate.ts).
 */
export const AlertQuery = z
  .object({
    gate_id: z.string().min(1, { error: "must not be empty" }).max(MAX_FILTER_ID_LENGTH, atMostCharacters(MAX_FILTER_ID_LENGTH)).optional(),
    index: Id.optional(),
    embedding: Id.optional(),
    reranker: Id.optional(),
    kind: AlertKind.optional(),
    status: AlertStatus.optional(),
    limit: PageLimit,
    cursor: Cursor.optional(),
  })
  .superRefine(
    (q, ctx) => {
      if (q.gate_id !== undefined) {
        const also = (["index", "embedding", "reranker"] as const).filter((k) => q[k] !== undefined);
        if (also.length > 0) {
          const sentence = `filter by gate_id or by ${also.join(", ")}, not both: they name the gate twice`;
          ctx.addIssue({ code: "custom", path: ["gate_id"], message: `given with ${also.join(", ")}`, params: { sentence } });
          for (const k of also) ctx.addIssue({ code: "custom", path: [k], message: "given with gate_id", params: { sentence } });
          return;
        }
      }
      if ((q.embedding === undefined) !== (q.reranker === undefined)) {
        ctx.addIssue({
          code: "custom",
          path: [q.embedding === undefined ? "embedding" : "reranker"],
          message: "both are required to name a gate",
          params: { sentence: "filter by gate with both embedding and reranker (and optionally index), or by index alone" },
        });
      }
    },
    // only once every field is valid: a field's own problem is the error then, in the query's wording
    { when: (payload) => payload.issues.length === 0 },
  );
export type AlertQuery = z.infer<typeof AlertQuery>;

/**
 * The optional note of acknowledge and resolve. Stored trimmed; a note of only whitespace is stored as null (no note).
 * The bound is on the note as sent.
 */
export const AlertAction = z.strictObject({
  note: StoredText(MAX_NOTE_LENGTH).optional(),
});

/** One occurrence of an alert, with the numbers of that occurrence (the first is never overwritten). */
export const AlertOccurrence = z.object({
  /** Position in a counter shared by every alert's occurrences: an order, not a count. */
  seq: z.number().int(),
  /** The occurrence's number within its alert, 1 the oldest stored (the dashboard's "Occurrence" column). */
  number: z.number().int(),
  seen_at: z.string(),
  summary: z.string(),
  details: z.record(z.string(), z.unknown()),
  calibration_ids: z.array(z.string()),
});
export type AlertOccurrence = z.infer<typeof AlertOccurrence>;

export const AlertOccurrenceQuery = z.object({ limit: PageLimit, cursor: Cursor.optional() });

/**
 * A page of an alert's occurrences, newest first (by `seq`); `next_cursor` (null on the last page) goes back as
 * `cursor` for older ones, with the same alert.
 */
export const AlertOccurrencePage = z.object({ alert_id: z.string(), occurrences: z.array(AlertOccurrence), next_cursor: z.string().nullable() });
