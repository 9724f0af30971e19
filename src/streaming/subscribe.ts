/**
 * Opening a subscription: where to resume, whether the gate exists, the hub's socket, and the relay's stream.
 */
import { unknownGateError } from "../calibrations/gate-names";
import { EventSeq, type GateRef } from "../contract";
import { AppError } from "../platform/errors";
import { SUBSCRIBE_RETRY_AFTER_SECONDS } from "../platform/limits";
import type { StreamingDeps } from "./deps";
import { relay } from "./relay";

/** The response headers of an event stream: never cached or buffered by a proxy. */
export const EVENT_STREAM_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  "x-accel-buffering": "no",
} as const;

/**
 * The seq to resume after: the Last-Event-ID header (what an EventSource sends on reconnect), else `?after=`, else
 * null (a new subscriber: a snapshot comes first). A header that is not a seq is a 400 naming it.
 */
export function resumePoint(lastEventId: string | undefined, after: string | undefined): number | null {
  if (lastEventId !== undefined) {
    const r = EventSeq.safeParse(lastEventId.trim());
    if (!r.success) {
      throw new AppError("bad_request", `Last-Event-ID ${JSON.stringify(lastEventId)} is not an event seq: send the id of the last event applied`, [
        { path: "Last-Event-ID", message: r.error.issues[0]?.message ?? "must be an event seq" },
      ]);
    }
    return Number(r.data);
  }
  return after === undefined ? null : Number(after);
}

/** 429 too_many_subscribers, with when to try again (the client polls meanwhile). */
export class SubscribeRefused extends AppError {
  readonly retryAfterSeconds = SUBSCRIBE_RETRY_AFTER_SECONDS;
  constructor(gateId: string) {
    super("too_many_subscribers", `gate ${gateId} has the most subscribers it takes; poll GET /v1/threshold and subscribe again later`);
  }
}

/**
 * The SSE body of a new subscription to `gateId`; 404 for a gate that was never calibrated, naming the calibrated
 * gates of similar names when the caller named the gate (`gate`) rather than its id.
 */
export async function subscribe(gateId: string, resume: number | null, deps: StreamingDeps, gate?: GateRef): Promise<ReadableStream<Uint8Array>> {
  if ((await deps.calibrations.gate(gateId)) === null) {
    if (gate !== undefined) throw await unknownGateError(gate, deps.calibrations);
    throw new AppError("not_found", `gate ${gateId} does not exist: it is created by its first calibration upload`);
  }
  const res = await deps.hub.subscribe(gateId, resume);
  if (res.status === 429) throw new SubscribeRefused(gateId);
  if (res.webSocket === null) throw new TypeError(`the hub of gate ${gateId} answered ${res.status} without a WebSocket`);
  return relay(res.webSocket, deps.relayClock);
}
