/**
 * A small Server-Sent Events reader for tests: frames of a streamed body, one at a time, each with a deadline so a
 * missing event fails the test instead of hanging it.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { D1CalibrationStore } from "../../src/calibrations/d1-store";
import { gateEventBody } from "../../src/calibrations/gate-event";
import { type GateEvent, type GateHeartbeat, SSE_RETRY_MS } from "../../src/contract";
import { call, qs, TOKENS } from "./worker";

export interface SseFrame {
  readonly id: string | null;
  readonly event: string | null;
  readonly data: string | null;
  readonly retry: number | null;
}

export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  #done = false;

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  /** The next frame; null when the stream ended. Throws after `timeoutMs` without one. */
  async next(timeoutMs = 5_000): Promise<SseFrame | null> {
    for (;;) {
      const cut = this.#buffer.indexOf("\n\n");
      if (cut >= 0) {
        const raw = this.#buffer.slice(0, cut);
        this.#buffer = this.#buffer.slice(cut + 2);
        return parseFrame(raw);
      }
      if (this.#done) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no SSE frame within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        const { value, done } = await Promise.race([this.#reader.read(), deadline]);
        if (done) this.#done = true;
        else this.#buffer += this.#decoder.decode(value, { stream: true });
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** The next frame, which must exist. */
  async frame(timeoutMs?: number): Promise<SseFrame> {
    const f = await this.next(timeoutMs);
    if (f === null) throw new Error("the stream ended");
    return f;
  }

  /** The next `gate` or `snapshot` frame, skipping heartbeats, with its event. */
  async event(timeoutMs?: number): Promise<{ name: string; id: string | null; event: GateEvent }> {
    for (;;) {
      const f = await this.frame(timeoutMs);
      if (f.event === "heartbeat") continue;
      return { name: f.event ?? "", id: f.id, event: JSON.parse(f.data ?? "null") as GateEvent };
    }
  }

  /** The next heartbeat, which must be the next frame. */
  async heartbeat(timeoutMs?: number): Promise<GateHeartbeat> {
    const f = await this.frame(timeoutMs);
    if (f.event !== "heartbeat") throw new Error(`expected a heartbeat, got ${JSON.stringify(f)}`);
    return JSON.parse(f.data ?? "null") as GateHeartbeat;
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel();
  }
}

function parseFrame(raw: string): SseFrame {
  let id: string | null = null;
  let event: string | null = null;
  let data: string | null = null;
  let retry: number | null = null;
  for (const line of raw.split("\n")) {
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /u, "");
    if (field === "id") id = value;
    else if (field === "event") event = value;
    else if (field === "data") data = data === null ? value : `${data}\n${value}`;
    else if (field === "retry") retry = Number(value);
  }
  return { id, event, data, retry };
}

/**
 * Subscribes to a gate's events as a read-scoped client (resuming after `lastEventId` when given) through the Worker,
 * checks the stream's content type, its no-store and its opening `retry:`, and keeps the reader in `open` for the
 * test file's afterEach to cancel (no relay may outlive its test).
 */
export async function subscribeToGate(
  gate: Record<string, string | number | boolean | undefined>,
  open: SseReader[],
  lastEventId?: number,
): Promise<SseReader> {
  const res = await call("GET", `/v1/events?${qs(gate)}`, {
    token: TOKENS.read,
    ...(lastEventId === undefined ? {} : { headers: { "last-event-id": String(lastEventId) } }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
  expect(res.headers.get("cache-control")).toBe("no-store");
  const reader = new SseReader(res.body!);
  open.push(reader);
  expect((await reader.frame()).retry).toBe(SSE_RETRY_MS);
  return reader;
}

/**
 * Appends a `shadow_added` event after `prev` to D1's activation log of the gate, as an activation commits it, without
 * its push (as if its listener failed, or for a hub that is to find it by itself); returns the event with its seq.
 */
export async function appendUnpushedEvent(gateId: string, calibrationId: string, prev: number, reason: string): Promise<GateEvent> {
  const at = new Date().toISOString();
  const activation = {
    id: `act_${crypto.randomUUID().replaceAll("-", "").slice(0, 28)}`,
    gate_id: gateId,
    index_version: "v1",
    calibration_id: calibrationId,
    previous_calibration_id: calibrationId,
    activated_at: at,
    actor: "test",
    reason,
  };
  const event = gateEventBody({ gateId, kind: "shadow_added", prevSeq: prev, at, actor: "test", reason, calibrationId, served: null });
  return { ...event, seq: (await new D1CalibrationStore(env.DB).append({ activation, event }, prev))! };
}
