/**
 * The edge relay: turns the hub's WebSocket (one per subscriber, accepted by the gate's hibernating Durable Object)
 * into the client's Server-Sent Events stream. The hub's frames are already SSE text and pass through unchanged; the
 * relay adds the stream's first frame (`retry:`), a heartbeat with the gate's head seq every SSE_HEARTBEAT_MS, and a
 * liveness check of the hub: a "ping" with every heartbeat (answered "pong" by the object's auto-response, without
 * waking it), and a hub that has not answered by the next heartbeat is taken for dead.
 *
 * Whichever end goes, the other follows: the hub socket closing or failing ends the client's stream (the client
 * reconnects with Last-Event-ID and is sent what it missed), and the client going away (the stream is cancelled)
 * closes the hub socket. A client that stops reading while its connection stays open is let go too: once more than
 * SSE_MAX_BUFFERED_BYTES of frames wait for it, the stream ends after them (it reconnects and resumes alike), so a
 * stuck client cannot grow the isolate's memory without bound. SSE rather than a WebSocket to the client, because every client we ship can read a streamed
 * body with an Authorization header (Node 20 and Python's urllib included) and `id:`/`retry:` resume comes with it
 * (docs/architecture.md, "Pushed changes").
 */
import { type GateHeartbeat, SSE_HEARTBEAT_MS, SSE_MAX_BUFFERED_BYTES, sseFrame, sseRetryFrame } from "../contract";
import type { RelayClock } from "./deps";
import { HUB_PING, HUB_PONG } from "./hub";

/** The head seq a hub frame states: an event's `id:` line, or a heartbeat's `head_seq`; null for neither. */
export function headOfFrame(frame: string): number | null {
  const m = /^id: (\d+)\n/u.exec(frame) ?? /"head_seq":(\d+)/u.exec(frame);
  return m === null ? null : Number(m[1]);
}

/** A hub's snapshot frame (sseFrame("snapshot", e, e.seq)). */
const SNAPSHOT_FRAME = /^id: \d+\nevent: snapshot\n/u;

/** The SSE body relaying `hub` (the hub end of a subscribe, not yet accepted). */
export function relay(hub: WebSocket, clock: RelayClock, heartbeatMs: number = SSE_HEARTBEAT_MS): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let head = 0;
  let answered = true;
  let ended = false;
  let stopBeats: () => void = () => {};
  let sink: ReadableStreamDefaultController<Uint8Array> | null = null;

  const write = (text: string): void => {
    if (ended || sink === null) return;
    try {
      sink.enqueue(encoder.encode(text));
    } catch {
      end();
      return;
    }
    // desiredSize is the room left under SSE_MAX_BUFFERED_BYTES (the stream's byte-counting high-water mark): below
    // zero, more than that waits unread.
    if ((sink.desiredSize ?? 0) < 0) end();
  };
  const end = (): void => {
    if (ended) return;
    ended = true;
    stopBeats();
    try {
      sink?.close();
    } catch {
      // already closed or cancelled by the client
    }
    try {
      hub.close(1000, "relay closed");
    } catch {
      // already closed by the hub
    }
  };

  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        sink = controller;
        controller.enqueue(encoder.encode(sseRetryFrame()));
      },
      cancel() {
        end();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: SSE_MAX_BUFFERED_BYTES }),
  );

  hub.accept();
  hub.addEventListener("message", (m) => {
    const text = typeof m.data === "string" ? m.data : new TextDecoder().decode(m.data);
    if (text === HUB_PONG) {
      answered = true;
      return;
    }
    const seq = headOfFrame(text);
    // A snapshot sets the head even when lower: the hub's history restarts there (D1's log went back: hub.ts).
    if (seq !== null && (seq > head || SNAPSHOT_FRAME.test(text))) head = seq;
    write(text);
  });
  hub.addEventListener("close", end);
  hub.addEventListener("error", end);

  stopBeats = clock.every(heartbeatMs, () => {
    if (!answered) {
      end();
      return;
    }
    answered = false;
    try {
      hub.send(HUB_PING);
    } catch {
      end();
      return;
    }
    const beat: GateHeartbeat = { v: 1, head_seq: head, at: new Date(clock.now()).toISOString() };
    write(sseFrame("heartbeat", beat));
  });
  return body;
}

/** The platform's clock and timers, for one stream (never started at module scope). */
export const systemRelayClock: RelayClock = {
  now: () => Date.now(),
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
};
