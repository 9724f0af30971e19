/** The serving operations of the route table: a gate's threshold, and its changes pushed as they happen (events.ts). */
import { EVENT_SEQ_PATTERN, EventsQuery, GateEventsQuery, GateId, SSE_FRAMES } from "./events";
import type { RouteSpec } from "./route-spec";
import { ThresholdQuery, ThresholdResponse } from "./serving";

/** The resume point of an event stream: the `id:` of the last event the client applied (or `?after=`). */
const LAST_EVENT_ID = {
  name: "Last-Event-ID",
  maxLength: 16,
  pattern: EVENT_SEQ_PATTERN,
  description: "the seq of the last event applied: the stream replays the gate's events after it (or sends a snapshot)",
} as const;

/** The threshold answer's X-Scoregate-Source header (serving/threshold-reader.ts ReadOutcome.source). */
const SOURCE = "where the answer came from: isolate (this isolate's memory), kv, d1, or stale (the last known good copy while storage fails)";

const EVENT_STREAM =
  "text/event-stream: `retry:` first, then `event: gate` frames (`id:` = seq, data = GateEvent), `event: snapshot` when a replay is impossible, and `event: heartbeat` (GateHeartbeat) every 15 s";

/** The headers of an event stream's answer (streaming/subscribe.ts EVENT_STREAM_HEADERS). */
const EVENT_STREAM_HEADERS = {
  "Cache-Control": "no-store: a stream is never cached",
  "X-Accel-Buffering": "no: a proxy that honours it passes each frame on as it comes",
} as const;

export const servingRoutes = {
  getThreshold: {
    method: "get",
    path: "/v1/threshold",
    tag: "serving",
    scope: "read",
    summary: "The current threshold of a gate",
    query: ThresholdQuery,
    headers: [{ name: "If-None-Match", description: "the ETag of the last answer: 304, with no body, while it still holds" }],
    responses: {
      200: {
        description: "the threshold (ETag: the calibration id and its activation sequence number)",
        schema: ThresholdResponse,
        headers: {
          ETag: "the calibration id and its activation sequence number: send it as If-None-Match to revalidate",
          "Cache-Control": "max-age, stale-while-revalidate and stale-if-error in seconds: how long a client may use the answer",
          "X-Scoregate-Source": SOURCE,
        },
      },
      304: {
        description: "not modified",
        headers: {
          ETag: "the answer's ETag, unchanged",
          "Cache-Control": "as on the 200: the answer is fresh again for max-age",
          "X-Scoregate-Source": SOURCE,
        },
      },
    },
    errors: [400, 404],
  },
  streamEvents: {
    method: "get",
    path: "/v1/events",
    tag: "serving",
    scope: "read",
    summary: "Subscribe to a gate's changes (Server-Sent Events; resume with Last-Event-ID)",
    query: EventsQuery,
    headers: [LAST_EVENT_ID],
    responses: { 200: { description: EVENT_STREAM, contentType: "text/event-stream", events: SSE_FRAMES, headers: EVENT_STREAM_HEADERS } },
    errors: [400, 404, 429],
  },
  streamGateEvents: {
    method: "get",
    path: "/v1/gates/{gate_id}/events",
    params: { gate_id: GateId },
    tag: "serving",
    scope: "read",
    summary: "Subscribe to a gate's changes by gate id (Server-Sent Events; resume with Last-Event-ID)",
    query: GateEventsQuery,
    headers: [LAST_EVENT_ID],
    responses: { 200: { description: EVENT_STREAM, contentType: "text/event-stream", events: SSE_FRAMES, headers: EVENT_STREAM_HEADERS } },
    errors: [400, 404, 429],
  },
} as const satisfies Record<string, RouteSpec>;
