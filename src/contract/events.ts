import { z } from "zod";
import { GateRef } from "./common";
import { SSE_HEARTBEAT_MS, SSE_RETRY_MS } from "./limits";
import type { SseFrameSpec } from "./route-spec";
import { ThresholdResponse } from "./serving";
import { wholeNumberPattern } from "./whole-number-pattern";

// ---------------------------------------------------------------------------------------------------------------
// Pushed changes: the events of a gate and their Server-Sent Events framing (docs/api.md, "Pushed changes")
// ---------------------------------------------------------------------------------------------------------------

/**
 * What happened to a gate. Every kind is one row of the gate's activation log (D1 `activations`, migrations/0008), so
 * an event's `seq` is that row's activation_seq and the threshold's ETag changes with it:
 * - `activation`: an upload served, an activation or a rollback (the gate's current calibration changed);
 * - `shadow_added` / `shadow_removed`: a calibration entered or left the gate's shadow set; `shadow_changed`: a
 *   shadow's sample rate changed (its evidence, keyed by its `shadow_added` event, goes on);
 * - `promotion_*`: a guarded promotion started, advanced a step, paused, resumed, rolled back, completed or was
 *   superseded by a manual activation. `promotion_completed` is the candidate's activation itself (the gate's current
 *   calibration changed, as with `activation`; one row, one event), naming the promotion it closes.
 */
export const GATE_EVENT_KINDS = [
  "activation",
  "shadow_added",
  "shadow_removed",
  "shadow_changed",
  "promotion_started",
  "promotion_step",
  "promotion_paused",
  "promotion_resumed",
  "promotion_rolled_back",
  "promotion_completed",
  "promotion_superseded",
] as const;
export const GateEventKind = z.enum(GATE_EVENT_KINDS);
export type GateEventKind = z.infer<typeof GateEventKind>;

/**
 * The kinds that change the gate's current calibration: history, the shift alert and the dashboard read only these, and
 * a client that tells a change of calibration from a change of the split or the shadows tests for these.
 */
export const CALIBRATION_CHANGE_KINDS = ["activation", "promotion_completed"] as const satisfies readonly GateEventKind[];
export type CalibrationChangeKind = (typeof CALIBRATION_CHANGE_KINDS)[number];
export const isCalibrationChange = (kind: GateEventKind): kind is CalibrationChangeKind =>
  (CALIBRATION_CHANGE_KINDS as readonly GateEventKind[]).includes(kind);

/** The version of the event body (`v`): a client ignores an event whose `v` it does not know and keeps polling. */
export const GATE_EVENT_VERSION = 1;

/** The gate's open promotion as an event states it (src/contract/promotions.ts has the whole record). */
export const GateEventPromotion = z.object({
  id: z.string(),
  state: z.string(),
  /** 0-based index of the plan's current step. */
  step: z.number().int().nonnegative(),
  /** Share of keyed traffic served the candidate, in percent. */
  percent: z.number(),
});
export type GateEventPromotion = z.infer<typeof GateEventPromotion>;

/**
 * One change of a gate, with the FULL state the gate serves after it (never a patch): applying an event is
 * idempotent and a client never needs a GET after one.
 *
 * Ordering: `seq` is global across gates (monotone per gate, not dense); `prev_seq` is the seq of the gate's event
 * just before this one (0: none), so a client detects a gap by `prev_seq !== last seen seq`, never by `seq - 1`.
 * Client rules: drop `seq <= last` (already applied); apply when `prev_seq === last` or the frame is a `snapshot`;
 * otherwise reconnect with `Last-Event-ID: last` (the server replays what was missed, or sends a snapshot).
 */
export const GateEvent = z.object({
  v: z.literal(GATE_EVENT_VERSION),
  seq: z.number().int().positive(),
  prev_seq: z.number().int().nonnegative(),
  gate_id: z.string(),
  kind: GateEventKind,
  /** When it was committed (ISO 8601). */
  at: z.string(),
  /** The token name that made it, or `promotion` for a step the promotion engine decided. */
  actor: z.string(),
  reason: z.string().nullable(),
  /** The calibration the event is about: the one activated, shadowed or promoted. */
  calibration_id: z.string(),
  /** What `GET /v1/threshold` answers for the gate after this event; null while the gate serves nothing. */
  served: ThresholdResponse.nullable(),
  /** The gate's promotion after this event (open, or the one this event closed: rolled back, completed); null when none. */
  promotion: GateEventPromotion.nullable(),
  /** The numbers behind the event (a step's evidence, a shadow's sample rate), by kind; null when none. */
  details: z.record(z.string(), z.unknown()).nullable(),
});
export type GateEvent = z.infer<typeof GateEvent>;

/** Sent every SSE_HEARTBEAT_MS while nothing else is: a client whose last seen seq is below `head_seq` missed an event. */
export const GateHeartbeat = z.object({
  v: z.literal(GATE_EVENT_VERSION),
  /** The seq of the gate's newest event (0: none yet). */
  head_seq: z.number().int().nonnegative(),
  at: z.string(),
});
export type GateHeartbeat = z.infer<typeof GateHeartbeat>;

/**
 * The SSE event names (the `event:` field):
 * - `gate`: one GateEvent, with `id: <seq>`;
 * - `snapshot`: the newest GateEvent, with `id: <seq>`, sent instead of a replay when the events after the client's
 *   Last-Event-ID are no longer kept (or the id is unknown): apply it whatever its prev_seq;
 * - `heartbeat`: a GateHeartbeat, without `id:` (it leaves the last event id unchanged).
 */
export const SSE_EVENT_NAMES = ["gate", "snapshot", "heartbeat"] as const;
export type SseEventName = (typeof SSE_EVENT_NAMES)[number];

/** The frames of a gate's event stream as the route table states them (the OpenAPI document is made from it). */
export const SSE_FRAMES = {
  gate: { description: "one change of the gate", data: GateEvent, id: "the event's seq (resume from it with Last-Event-ID)" },
  snapshot: {
    description: "the gate's newest event, sent instead of a replay the server can no longer give: apply it whatever its prev_seq",
    data: GateEvent,
    id: "the event's seq",
  },
  heartbeat: {
    description: `sent every ${SSE_HEARTBEAT_MS / 1000} s while nothing else is; it leaves the last event id unchanged`,
    data: GateHeartbeat,
  },
} as const satisfies Record<SseEventName, SseFrameSpec>;

/** The exact digits EventSeq accepts, as a JSON Schema pattern (the OpenAPI document's `after` and Last-Event-ID). */
export const EVENT_SEQ_PATTERN = wholeNumberPattern(0, Number.MAX_SAFE_INTEGER);
const EVENT_SEQ_ERROR = `must be an event seq: a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`;
/**
 * The resume point in a query string, for clients that cannot set the Last-Event-ID header (curl, a browser
 * EventSource): a seq as digits only (0: from nothing, a snapshot follows), at most Number.MAX_SAFE_INTEGER: a larger
 * one is read as another number (9999999999999999 as 1e16), which the gate's hub refuses.
 */
export const EventSeq = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/u, { error: EVENT_SEQ_ERROR, abort: true })
  .refine((s) => Number.isSafeInteger(Number(s)), { error: EVENT_SEQ_ERROR })
  // the OpenAPI document's pattern: the regex and the refinement in one (metadata only, the checks are the same)
  .meta({ pattern: EVENT_SEQ_PATTERN, description: `a whole number from 0 to ${Number.MAX_SAFE_INTEGER}` });

/** `GET /v1/events`: a gate by its index, embedding and reranker, and where to resume. */
export const EventsQuery = GateRef.extend({ after: EventSeq.optional() });
export type EventsQuery = z.infer<typeof EventsQuery>;

/** `GET /v1/gates/{gate_id}/events`: where to resume. */
export const GateEventsQuery = z.object({ after: EventSeq.optional() });

/**
 * One SSE frame (the `text/event-stream` grammar of the WHATWG HTML standard, "Server-sent events"): an optional
 * `id:` line, the `event:` line, one `data:` line of compact JSON (JSON never contains a raw newline), a blank line.
 */
export function sseFrame(event: SseEventName, data: GateEvent | GateHeartbeat, id?: number): string {
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The stream's first frame: how long to wait before reconnecting. */
export const sseRetryFrame = (ms: number = SSE_RETRY_MS): string => `retry: ${ms}\n\n`;

/** A gate id (src/platform/ids.ts gateIdOf): 32 lowercase hex characters. */
export const GateId = z.string().regex(/^[0-9a-f]{32}$/u, { error: "must be a gate id: 32 lowercase hex characters" });
