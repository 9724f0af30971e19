/**
 * The relay and the hub's door, with the clock injected: heartbeats carry the head seq, the hub is pinged with each
 * and taken for dead when it has not answered by the next; either end closing ends the other; a full gate is a 429.
 */
import { describe, expect, it } from "vitest";
import { MAX_SUBSCRIBERS_PER_GATE, SSE_HEARTBEAT_MS, sseFrame } from "../../src/contract";
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
      calibrations: { gate: async () => ({ gate_id: "a".repeat(32), index: "i", embedding: "e", reranker: "r", created_at: "" }) },
      hub: { subscribe: async () => res, publish: async () => {}, sync: async () => {} },
      relayClock: new ManualClock(),
    };
    const err = await subscribe("a".repeat(32), null, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubscribeRefused);
    expect((err as SubscribeRefused).code).toBe("too_many_subscribers");
    expect((err as SubscribeRefused).retryAfterSeconds).toBeGreaterThan(0);
  });
});
