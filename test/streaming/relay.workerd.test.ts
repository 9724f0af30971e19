/**
 * The relay and the hub's door, with the clock injected: heartbeats carry the head seq, the hub is pinged with each
 * and taken for dead when it has not answered by the next; either end closing ends the other; a full gate is a 429.
 */
import { describe, expect, it } from "vitest";
import { MAX_SUBSCRIBERS_PER_GATE, SSE_HEARTBEAT_MS, SSE_MAX_BUFFERED_BYTES, sseFrame } from "../../src/contract";
import { EVENT_LOG_MAX } from "../../src/platform/limits";
import type { RelayClock } from "../../src/streaming/deps";
import { HUB_PING, HUB_PONG, Hub, type HubState, hubSubscribeUrl } from "../../src/streaming/hub";
import { headOfFrame, relay } from "../../src/streaming/relay";
import { SubscribeRefused, subscribe } from "../../src/streaming/subscribe";
import { SseReader } from "../support/sse";

/** A clock whose timers run only when the test ticks. */
class ManualClock implements RelayClock {
  nowMs = Date.UTC(2026, 11, 3, 12, 0, 0);
  readonly timers = new Map<number, { ms: number; fn: () => void }>();
  #next = 0;
  now = (): number => this.nowMs;
  every = (ms: number, fn: () => void): (() => void) => {
    const id = this.#next++;
    this.timers.set(id, { ms, fn });
    return () => this.timers.delete(id);
  };
  tick(): void {
    for (const t of [...this.timers.values()]) {
      this.nowMs += t.ms;
      t.fn();
    }
  }
}

/** A relay over a fresh pair: the test plays the hub at the other end. */
function relayed() {
  const pair = new WebSocketPair();
  const [hubEnd, relayEnd] = [pair[0], pair[1]];
  const received: string[] = [];
  let closed = false;
  hubEnd.accept();
  hubEnd.addEventListener("message", (m) => {
    received.push(String(m.data));
  });
  hubEnd.addEventListener("close", () => {
    closed = true;
  });
  const clock = new ManualClock();
  const reader = new SseReader(relay(relayEnd, clock));
  return { hubEnd, received, clock, reader, closed: () => closed };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

const event = (seq: number, prev: number) =>
  sseFrame(
    "gate",
    {
      v: 1,
      seq,
      prev_seq: prev,
      gate_id: "0".repeat(32),
      kind: "activation",
      at: "2026-12-03T12:00:00.000Z",
      actor: "t",
      reason: null,
      calibration_id: "cal_x",
      served: null,
      promotion: null,
      details: null,
    },
    seq,
  );

describe("the relay", () => {
  it("starts with retry, passes the hub's frames through, and beats every SSE_HEARTBEAT_MS with the head seq", async () => {
    const r = relayed();
    expect((await r.reader.frame()).retry).toBe(1000);
    expect([...r.clock.timers.values()].map((t) => t.ms)).toEqual([SSE_HEARTBEAT_MS]);
    r.hubEnd.send(event(41, 0));
    r.hubEnd.send(event(57, 41));
    const forwarded = [await r.reader.frame(), await r.reader.frame()];
    expect(forwarded.map((f) => [f.event, f.id])).toEqual([
      ["gate", "41"],
      ["gate", "57"],
    ]);

    r.clock.tick();
    expect(await r.reader.heartbeat()).toEqual({ v: 1, head_seq: 57, at: new Date(r.clock.nowMs).toISOString() });
    await settle();
    expect(r.received).toEqual([HUB_PING]);
    // answered: the next tick beats again
    r.hubEnd.send(HUB_PONG);
    await settle();
    r.clock.tick();
    expect((await r.reader.heartbeat()).head_seq).toBe(57);
  });

  it("ends the stream when the hub has not answered a ping by the next heartbeat", async () => {
    const r = relayed();
    await r.reader.frame();
    r.clock.tick();
    await r.reader.heartbeat();
    r.clock.tick(); // no pong came
    expect(await r.reader.next()).toBeNull();
    expect(r.clock.timers.size).toBe(0);
    await settle();
    expect(r.closed()).toBe(true);
  });

  it("ends the stream when the hub closes, and closes the hub when the client goes away", async () => {
    const a = relayed();
    await a.reader.frame();
    a.hubEnd.close(1000, "bye");
    expect(await a.reader.next()).toBeNull();
    expect(a.clock.timers.size).toBe(0);

    const b = relayed();
    await b.reader.frame();
    await b.reader.cancel();
    await settle();
    expect(b.closed()).toBe(true);
    expect(b.clock.timers.size).toBe(0);
  });

  it("ends the stream of a client that reads nothing once SSE_MAX_BUFFERED_BYTES wait for it: what was buffered is still read, then it resumes", async () => {
    const r = relayed();
    // A frame of a few KB (an event carries the full served state), sent until more than the limit waits unread.
    const big = (seq: number) => event(seq, seq - 1).replace('"reason":null', `"reason":"${"x".repeat(4000)}"`);
    const frames = Math.ceil((2 * SSE_MAX_BUFFERED_BYTES) / big(1).length);
    for (let seq = 1; seq <= frames; seq++) r.hubEnd.send(big(seq));
    await settle();
    // the relay gave up on the client: the hub's socket is closed, its timers stopped
    expect(r.closed()).toBe(true);
    expect(r.clock.timers.size).toBe(0);
    // the client gets what was buffered, in order, then the end (it reconnects with Last-Event-ID: the last id read)
    expect((await r.reader.frame()).retry).toBe(1000);
    const ids: string[] = [];
    for (let f = await r.reader.next(); f !== null; f = await r.reader.next()) ids.push(f.id!);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThan(frames);
    expect(ids).toEqual(ids.map((_, i) => String(i + 1)));
    // a full replay (EVENT_LOG_MAX events of about 4 KB, sent at once) is not cut off
    const c = relayed();
    for (let seq = 1; seq <= EVENT_LOG_MAX; seq++) c.hubEnd.send(big(seq));
    await settle();
    expect(c.closed()).toBe(false);
    await c.reader.frame();
    for (let seq = 1; seq <= EVENT_LOG_MAX; seq++) expect((await c.reader.frame()).id).toBe(String(seq));
    await c.reader.cancel();
  });

  it("after D1's activation log goes back (a restore), beats with the seq of the hub's snapshot, even below its last", async () => {
    const r = relayed();
    await r.reader.frame();
    r.hubEnd.send(event(57, 41));
    await r.reader.frame();
    // The hub restarted its history at 12: a snapshot frame; a late gate frame below it does not move the head.
    r.hubEnd.send(event(12, 3).replace("event: gate", "event: snapshot"));
    expect((await r.reader.frame()).event).toBe("snapshot");
    r.clock.tick();
    expect((await r.reader.heartbeat()).head_seq).toBe(12);
    r.hubEnd.send(HUB_PONG);
    r.hubEnd.send(event(9, 3));
    await r.reader.frame();
    await settle();
    r.clock.tick();
    expect((await r.reader.heartbeat()).head_seq).toBe(12);
    await r.reader.cancel();
  });

  it("reads the head from an event's id or a heartbeat's head_seq", () => {
    expect(headOfFrame(event(12, 3))).toBe(12);
    expect(headOfFrame(sseFrame("heartbeat", { v: 1, head_seq: 99, at: "x" }))).toBe(99);
    expect(headOfFrame(HUB_PONG)).toBeNull();
  });
});

describe("a full gate", () => {
  it("the hub answers 429 at MAX_SUBSCRIBERS_PER_GATE, and a subscribe then fails with too_many_subscribers", async () => {
    const full = Array.from({ length: MAX_SUBSCRIBERS_PER_GATE }, () => ({}) as WebSocket);
    const state = {
      acceptWebSocket: () => {
        throw new Error("must not accept");
      },
      getWebSockets: () => full,
      blockConcurrencyWhile: <T>(f: () => Promise<T>) => f(),
      storage: { sql: { exec: () => ({ one: () => ({ seq: 5 }), toArray: () => [] }) } },
    } as unknown as HubState;
    const hub = new Hub(state, () => 0);
    const source = { events: async () => [], latestEvent: async () => null };
    const res = await hub.subscribe(new Request(hubSubscribeUrl("a".repeat(32), 5), { headers: { upgrade: "websocket" } }), source);
    expect(res.status).toBe(429);

    const deps = {
      calibrations: {
        gate: async () => ({ gate_id: "a".repeat(32), index: "i", embedding: "e", reranker: "r", created_at: "" }),
        calibratedNeighbours: async () => [],
      },
      hub: { subscribe: async () => res, publish: async () => {}, sync: async () => {} },
      relayClock: new ManualClock(),
    };
    const err = await subscribe("a".repeat(32), null, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubscribeRefused);
    expect((err as SubscribeRefused).code).toBe("too_many_subscribers");
    expect((err as SubscribeRefused).retryAfterSeconds).toBeGreaterThan(0);
  });
});
