// Reconnects of pushed changes (src/gate-stream.ts, src/stream.ts) as real traffic produces them, on fake timers and a fake `fetch` whose
// bodies the test writes frame by frame, so each race lands exactly where the test puts it: reconnect() while open,
// twice in a row, while the reconnect waits or connects, and from inside an event's listener; a server that closes
// right after its first heartbeat; a failed reconnect request; a fetch that never answers; timers that never fire
// (a Worker whose request ended). Each case checks the Last-Event-ID of every connection, that every event is
// applied once and in order, that the stream ends `open` (or `polling` with its reason), and that close() leaves no
// timer behind. The same rules over real HTTP are in stream.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { GateStream, POLL_ANSWERED, ScoregateClient, type StreamState } from "../src/stream";
import { thresholdBody } from "./fake-server";
import { frame, gateEvent, heartbeat } from "./sse-server";

const URL_ = "http://scoregate.test/v1/events?index=docs&embedding=e5&reranker=bge";
const GATE = { index: "docs", embedding: "e5", reranker: "bge" };

/** One connection of the fake server: the request's Last-Event-ID, and the body the test writes. */
interface Conn {
  lastEventId: string | undefined;
  signal: AbortSignal;
  send(text: string): void;
  /** The server ends the body (a clean close). */
  end(): void;
}

/** What the server does with the nth request: stream (a Conn), fail the request, answer a status, or never answer. */
type Answer = "stream" | "network-error" | "hang" | { status: number; retryAfter?: string };

/**
 * A fake events route. Aborting a request's signal rejects its fetch, or errors its body, with the signal's reason,
 * as undici and workerd do; `honourAbort: false` models a fetch that ignores its signal.
 */
function fakeServer(answer: (n: number) => Answer = () => "stream", honourAbort = true) {
  const conns: Conn[] = [];
  const requests: (string | undefined)[] = [];
  const encoder = new TextEncoder();
  const fetchFn = (async (_input: RequestInfo | URL, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    requests.push(headers["last-event-id"]);
    const signal = init!.signal!;
    const a = answer(requests.length);
    if (a === "network-error") throw new TypeError("fetch failed");
    if (a === "hang") {
      return new Promise<Response>((_resolve, reject) => {
        if (honourAbort) signal.addEventListener("abort", () => reject(signal.reason as Error));
      });
    }
    if (a !== "stream") {
      const h: Record<string, string> = { "content-type": "application/json" };
      if (a.retryAfter !== undefined) h["retry-after"] = a.retryAfter;
      return new Response("{}", { status: a.status, headers: h });
    }
    let sink!: ReadableStreamDefaultController<Uint8Array>;
    let ended = false;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        sink = c;
      },
    });
    if (honourAbort)
      signal.addEventListener("abort", () => {
        if (!ended) sink.error(signal.reason);
        ended = true;
      });
    conns.push({
      lastEventId: headers["last-event-id"],
      signal,
      send: (text) => {
        if (!ended) sink.enqueue(encoder.encode(text));
      },
      end: () => {
        if (!ended) sink.close();
        ended = true;
      },
    });
    sink.enqueue(encoder.encode("retry: 1000\n\n"));
    return new Response(body, { status: 200, headers: { "content-type": "text/event-stream; charset=utf-8" } });
  }) as typeof fetch;
  return { conns, requests, fetch: fetchFn };
}

/** A stream on fake timers: 1 s backoff doubling to 8 s, 45 s read timeout; records seqs and states. */
function open(server: ReturnType<typeof fakeServer>, options: Partial<ConstructorParameters<typeof GateStream>[0]> = {}) {
  const seqs: number[] = [];
  const states: { state: StreamState; reason: string; after: number | null; status?: number }[] = [];
  const s = new GateStream({
    url: URL_,
    headers: () => ({ authorization: "Bearer read-token" }),
    fetch: server.fetch,
    now: () => Date.now(),
    random: () => 0.5,
    backoff: { initialMs: 1000, maxMs: 8000 },
    onEvent: (e) => seqs.push(e.seq),
    onState: (state, d) => states.push({ state, ...d }),
    ...options,
  });
  s.start();
  return { s, seqs, states, names: () => states.map((x) => x.state) };
}

/** The streaming client over `server`, its threshold route serving `served.calibrationId` (counting the GETs). */
function streamingClient(server: ReturnType<typeof fakeServer>, maxFailures = 5) {
  const served = { calibrationId: "cal_0000000005", threshold: 0.42, seq: 5 };
  const gets: number[] = [];
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    if (String(input).includes("/v1/threshold")) {
      gets.push(Date.now());
      return new Response(JSON.stringify(thresholdBody(served.calibrationId, served.threshold)), {
        status: 200,
        headers: { "content-type": "application/json", etag: `"${served.calibrationId}.${served.seq}"`, "cache-control": "private, max-age=5" },
      });
    }
    return server.fetch(input, init);
  }) as typeof fetch;
  const client = new ScoregateClient({
    baseUrl: "http://scoregate.test",
    token: "read-token",
    fetch: fetchFn,
    now: () => Date.now(),
    random: () => 0.5,
    stream: { backoff: { initialMs: 1000, maxMs: 8000 }, readTimeoutMs: 45_000, maxFailures },
    observations: { timer: false },
  });
  return { client, gets, served };
}

/** Lets promise callbacks and zero-delay timers run, without moving the clock. */
const settle = async () => {
  for (let i = 0; i < 4; i++) await vi.advanceTimersByTimeAsync(0);
};
const last = <T>(xs: T[]): T => xs[xs.length - 1]!;

beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("GateStream reconnects", () => {
  it("reconnect() while open: one new connection resuming after the last event, events neither missed nor repeated, back to open", async () => {
    const server = fakeServer();
    const { s, seqs, names, states } = open(server);
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0), "snapshot") + heartbeat(5) + frame(gateEvent(7, 5)));
    await settle();
    s.reconnect();
    await settle();
    expect(s.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(1000);
    // the server replays from Last-Event-ID 7 with an overlap (a duplicate to drop), then what is new
    server.conns[1]!.send(frame(gateEvent(7, 5)) + frame(gateEvent(8, 7)) + heartbeat(8));
    await settle();
    expect(server.requests).toEqual([undefined, "7"]);
    expect(seqs).toEqual([5, 7, 8]);
    expect(names()).toEqual(["open", "reconnecting", "open"]);
    expect(states[1]!.reason).toBe("reconnect requested");
    expect(states[2]!.reason).toBe("resumed after 7");
    s.close();
  });

  it("reconnect() twice in a row, then again while the reconnect waits: one new connection, not three", async () => {
    const server = fakeServer();
    const { s, seqs, names } = open(server);
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0), "snapshot"));
    await settle();
    s.reconnect();
    s.reconnect();
    await settle();
    s.reconnect();
    await vi.advanceTimersByTimeAsync(1000);
    server.conns[1]!.send(frame(gateEvent(6, 5)));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(server.requests).toEqual([undefined, "5"]);
    expect(seqs).toEqual([5, 6]);
    expect(names()).toEqual(["open", "reconnecting", "open"]);
    s.close();
  });

  it("reconnect() while the reconnect request is in flight: it is replaced by one that resumes after the same event", async () => {
    let hang = true;
    const server = fakeServer((n) => (n === 2 && hang ? "hang" : "stream"));
    const { s, seqs, names } = open(server);
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0), "snapshot"));
    await settle();
    s.reconnect();
    await vi.advanceTimersByTimeAsync(1000);
    expect(server.requests).toEqual([undefined, "5"]);
    hang = false;
    s.reconnect();
    await vi.advanceTimersByTimeAsync(2000);
    server.conns[1]!.send(frame(gateEvent(6, 5)));
    await settle();
    expect(server.requests).toEqual([undefined, "5", "5"]);
    expect(seqs).toEqual([5, 6]);
    expect(last(names())).toBe("open");
    s.close();
  });

  it("a reconnect requested from inside an event's listener: the rest of the chunk is applied once, the new connection resumes after it", async () => {
    const server = fakeServer();
    const seqs: number[] = [];
    let s!: GateStream;
    ({ s } = open(server, {
      onEvent: (e) => {
        seqs.push(e.seq);
        if (e.seq === 7) s.reconnect();
      },
    }));
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0), "snapshot") + frame(gateEvent(7, 5)) + frame(gateEvent(9, 7)));
    await settle();
    await vi.advanceTimersByTimeAsync(1000);
    server.conns[1]!.send(frame(gateEvent(9, 7)) + frame(gateEvent(10, 9)));
    await settle();
    expect(seqs).toEqual([5, 7, 9, 10]);
    expect(server.requests).toEqual([undefined, "9"]);
    expect(s.state).toBe("open");
    s.close();
  });

  it("a server that closes right after its first heartbeat: each reconnect resumes after the last event; after maxFailures it polls with the reason, then streams again", async () => {
    const server = fakeServer();
    const { s, seqs, states, names } = open(server, { recoveryMs: 300_000 });
    let next = 5;
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(i === 0 ? 0 : 10_000);
      const c = last(server.conns);
      c.send(i === 0 ? frame(gateEvent(next, 0), "snapshot") : frame(gateEvent(next, next - 1)));
      c.send(heartbeat(next));
      c.end();
      next += 1;
      await settle();
    }
    expect(server.requests).toEqual([undefined, "5", "6", "7", "8"]);
    expect(seqs).toEqual([5, 6, 7, 8, 9]);
    expect(names()).toEqual(["open", "reconnecting", "open", "reconnecting", "open", "reconnecting", "open", "reconnecting", "open", "polling"]);
    expect(last(states)).toMatchObject({ state: "polling", reason: "the server closed the stream", after: 9 });
    await vi.advanceTimersByTimeAsync(300_000);
    last(server.conns).send(frame(gateEvent(10, 9)));
    await settle();
    expect(last(server.requests)).toBe("9");
    expect(seqs).toEqual([5, 6, 7, 8, 9, 10]);
    expect(s.state).toBe("open");
    s.close();
  });

  it("a network error on the reconnect request, then success: resumes after the last event with no gap or repeat", async () => {
    const server = fakeServer((n) => (n === 2 ? "network-error" : "stream"));
    const { s, seqs, states, names } = open(server);
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0), "snapshot") + frame(gateEvent(6, 5)));
    await settle();
    s.reconnect();
    await vi.advanceTimersByTimeAsync(1000);
    expect(states[2]).toMatchObject({ state: "reconnecting", reason: "fetch failed", after: 6 });
    await vi.advanceTimersByTimeAsync(2000);
    server.conns[1]!.send(frame(gateEvent(6, 5)) + frame(gateEvent(7, 6)));
    await settle();
    expect(server.requests).toEqual([undefined, "6", "6"]);
    expect(seqs).toEqual([5, 6, 7]);
    expect(names()).toEqual(["open", "reconnecting", "reconnecting", "open"]);
    s.close();
  });

  it("a reconnect request that never answers is given up after readTimeoutMs, even by a fetch that ignores its signal", async () => {
    const server = fakeServer((n) => (n === 2 ? "hang" : "stream"), false);
    const { s, seqs, names } = open(server, { readTimeoutMs: 45_000 });
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0), "snapshot"));
    await settle();
    server.conns[0]!.end();
    await vi.advanceTimersByTimeAsync(1000);
    expect(server.requests).toEqual([undefined, "5"]);
    await vi.advanceTimersByTimeAsync(45_000 + 2000);
    last(server.conns).send(frame(gateEvent(6, 5)));
    await settle();
    expect(server.requests).toEqual([undefined, "5", "5"]);
    expect(seqs).toEqual([5, 6]);
    expect(last(names())).toBe("open");
    s.close();
  });

  it("a body that ignores its signal: a silent connection is still given up after readTimeoutMs", async () => {
    const server = fakeServer(() => "stream", false);
    const { s, seqs, states } = open(server, { readTimeoutMs: 45_000 });
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0), "snapshot"));
    await vi.advanceTimersByTimeAsync(45_000);
    expect(states[1]).toMatchObject({ state: "reconnecting", reason: "no byte within 45000 ms" });
    await vi.advanceTimersByTimeAsync(1000);
    last(server.conns).send(frame(gateEvent(6, 5)));
    await settle();
    expect(server.requests).toEqual([undefined, "5"]);
    expect(seqs).toEqual([5, 6]);
    expect(s.state).toBe("open");
    s.close();
  });

  it("requested reconnects are not failures: five within a minute keep streaming, none falls back to polling", async () => {
    const server = fakeServer();
    const { s, seqs, names } = open(server, { maxFailures: 5, failureWindowMs: 60_000 });
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0), "snapshot"));
    for (let i = 0; i < 6; i++) {
      await settle();
      s.reconnect();
      await vi.advanceTimersByTimeAsync(1000);
    }
    last(server.conns).send(frame(gateEvent(6, 5)));
    await settle();
    expect(names()).not.toContain("polling");
    expect(server.requests).toEqual([undefined, "5", "5", "5", "5", "5", "5"]);
    expect(seqs).toEqual([5, 6]);
    expect(s.state).toBe("open");
    s.close();
  });

  it("start() twice opens one connection", async () => {
    const server = fakeServer();
    const { s } = open(server);
    s.start();
    await settle();
    expect(server.requests).toHaveLength(1);
    s.close();
  });

  it("a state listener that throws does not leave the stream reconnecting forever", async () => {
    const server = fakeServer();
    const { s, seqs } = open(server, {
      onState: (state) => {
        if (state === "reconnecting") throw new Error("listener bug");
      },
    });
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0), "snapshot"));
    await settle();
    s.drop();
    await vi.advanceTimersByTimeAsync(1000);
    last(server.conns).send(frame(gateEvent(6, 5)));
    await settle();
    expect(seqs).toEqual([5, 6]);
    expect(s.state).toBe("open");
    s.close();
  });

  it("close() leaves no timer behind, whatever the state: connecting, open, reconnecting, polling", async () => {
    const cases: [string, (n: number) => Answer, (s: GateStream, server: ReturnType<typeof fakeServer>) => Promise<void>][] = [
      ["connecting", () => "hang", async () => {}],
      ["open", () => "stream", settle],
      [
        "reconnecting",
        () => "stream",
        async (s) => {
          await settle();
          s.drop();
          await settle();
        },
      ],
      ["polling", () => ({ status: 429, retryAfter: "30" }), settle],
    ];
    for (const [state, answer, reach] of cases) {
      const server = fakeServer(answer);
      const { s } = open(server);
      await reach(s, server);
      if (state !== "connecting") expect(s.state).toBe(state);
      s.close();
      await settle();
      expect(vi.getTimerCount(), `timers left after close() while ${state}`).toBe(0);
      await vi.advanceTimersByTimeAsync(600_000);
      expect(server.requests, `no request after close() while ${state}`).toHaveLength(1);
      expect(s.state).toBe("stopped");
    }
  });
});

describe("GateStream where timers may never fire (a Worker's request ended)", () => {
  it("check() reconnects a stream whose retry is overdue, and one whose connection has been silent past readTimeoutMs", async () => {
    const server = fakeServer();
    const { s, seqs, names } = open(server);
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0), "snapshot"));
    await settle();
    s.drop();
    await settle();
    expect(s.state).toBe("reconnecting");
    const t0 = Date.now();
    // the retry timer is lost with the request that set it: nothing runs until a later request reads the gate
    vi.clearAllTimers();
    vi.setSystemTime(t0 + 10_000);
    s.check();
    await settle();
    expect(server.requests).toEqual([undefined, "5"]);
    server.conns[1]!.send(frame(gateEvent(6, 5)));
    await settle();
    expect(s.state).toBe("open");
    // a connection silent past readTimeoutMs whose read timer is lost: the next check() gives it up and resumes
    vi.clearAllTimers();
    vi.setSystemTime(t0 + 56_000);
    s.check();
    await settle();
    expect(s.state).toBe("reconnecting");
    vi.setSystemTime(t0 + 66_000);
    s.check();
    await settle();
    server.conns[2]!.send(frame(gateEvent(7, 6)));
    await settle();
    expect(server.requests).toEqual([undefined, "5", "6"]);
    expect(seqs).toEqual([5, 6, 7]);
    expect(names()).toEqual(["open", "reconnecting", "open", "reconnecting", "open"]);
    // a healthy stream is left alone
    s.check();
    await settle();
    expect(server.requests).toHaveLength(3);
    s.close();
  });

  it("the client checks a gate's stream on each read, so a lost retry timer heals at the next getThreshold", async () => {
    const server = fakeServer();
    const { client } = streamingClient(server);
    const seen: number[] = [];
    client.subscribe((e) => {
      if (e.type === "gate") seen.push(e.event.seq);
    });
    await client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0, "cal_0000000005", 0.42), "snapshot"));
    await settle();
    client.reconnect();
    await settle();
    expect(client.streams()[0]!.state).toBe("reconnecting");
    vi.clearAllTimers();
    vi.setSystemTime(Date.now() + 10_000);
    await client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    server.conns[1]!.send(frame(gateEvent(6, 5, "cal_0000000006", 0.5)));
    await settle();
    expect(server.requests).toEqual([undefined, "5"]);
    expect(seen).toEqual([5, 6]);
    expect(client.streams()[0]).toMatchObject({ state: "open", last: 6 });
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ threshold: 0.5, calibrationId: "cal_0000000006" });
    await client.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("while a dropped stream cannot reconnect, its value counts as fresh only until readTimeoutMs after the last byte; then reads poll", async () => {
    const server = fakeServer((n) => (n === 1 ? "stream" : "network-error"));
    // failures never reach maxFailures here: the stream stays `reconnecting` throughout (polling marks the value stale)
    const { client, gets, served } = streamingClient(server, 100);
    await client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0, "cal_0000000005", 0.42), "snapshot") + heartbeat(5));
    await settle();
    const lastByte = Date.now();
    server.conns[0]!.end();
    // the gate changes while the client cannot reach the stream
    Object.assign(served, { calibrationId: "cal_0000000006", threshold: 0.5, seq: 6 });
    await vi.advanceTimersByTimeAsync(40_000);
    expect(client.streams()[0]!.state).toBe("reconnecting");
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ threshold: 0.42, reason: "cached" });
    expect(gets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(lastByte + 45_000 - Date.now());
    expect(client.streams()[0]!.state).toBe("reconnecting");
    await client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    expect(gets).toHaveLength(2);
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ threshold: 0.5, calibrationId: "cal_0000000006" });
    await client.close();
  });
});

describe("after a fall back to polling, an answered poll brings the stream back", () => {
  /** The streaming client with the library's defaults (1 s backoff doubling to 30 s, 5 failures, recoveryMs 300 s), whose server (both routes) can go down. */
  function restartingServer(answer: (n: number) => Answer = () => "stream") {
    const server = fakeServer(answer);
    const state = { down: false, answered: 0 };
    const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
      if (state.down) throw new TypeError("fetch failed");
      if (!String(input).includes("/v1/threshold")) return server.fetch(input, init);
      state.answered += 1;
      return new Response(JSON.stringify(thresholdBody("cal_0000000005", 0.42)), {
        status: 200,
        headers: { "content-type": "application/json", etag: '"cal_0000000005.5"', "cache-control": "private, max-age=5" },
      });
    }) as typeof fetch;
    const client = new ScoregateClient({
      baseUrl: "http://scoregate.test",
      token: "read-token",
      fetch: fetchFn,
      now: () => Date.now(),
      random: () => 0.5,
      stream: true,
      observations: { timer: false },
    });
    return { server, state, client };
  }

  /** Reads the gate once a second for `seconds`, as a service would; returns the state after each read's second. */
  async function readEverySecond(client: ScoregateClient, seconds: number, each: (t: number) => void = () => {}) {
    for (let t = 0; t < seconds; t++) {
      await client.getThreshold(GATE, { fallback: 0.1 });
      await vi.advanceTimersByTimeAsync(1000);
      each(t);
    }
  }

  it("a 16 s restart: after 5 failed reconnects it polls, and the first poll the server answers reopens the stream (not 300 s later)", async () => {
    const { server, state, client } = restartingServer();
    const seen: number[] = [];
    client.subscribe((e) => {
      if (e.type === "gate") seen.push(e.event.seq);
    });
    await client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0, "cal_0000000005", 0.42), "snapshot") + heartbeat(5));
    await settle();
    // the server is killed: the open connection ends and nothing answers for 16 s
    state.down = true;
    server.conns[0]!.end();
    const down = Date.now();
    let pollingAt = 0;
    await readEverySecond(client, 16, () => {
      if (pollingAt === 0 && client.streams()[0]!.state === "polling") pollingAt = Date.now();
    });
    // 5 failed reconnects within 60 s (1, 2, 4, 8 s apart, half of each random): polling before the server is back
    expect(pollingAt - down).toBeLessThan(16_000);
    expect(server.requests).toHaveLength(1);
    state.down = false;
    const back = Date.now();
    let openAt = 0;
    await readEverySecond(client, 10, () => {
      if (openAt === 0 && client.streams()[0]!.state === "open") openAt = Date.now();
    });
    // the first read after the server is back polls (the failed polls' backoff: up to 2 s), its answer sets a try a
    // backoff delay later (half to all of 1 s)
    expect(openAt).toBeGreaterThan(0);
    expect(openAt - back).toBeLessThanOrEqual(4000);
    expect(server.requests).toEqual([undefined, "5"]);
    // a change pushed now reaches the client at once, not at its next poll
    last(server.conns).send(frame(gateEvent(6, 5, "cal_0000000006", 0.5)));
    await settle();
    expect(seen).toEqual([5, 6]);
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ threshold: 0.5, reason: "cached" });
    await client.close();
  });

  for (const cut of ["closed at once", "refused"] as const) {
    it(`a stream that always fails while polls are answered (${cut}): tries back off, doubling to one per recoveryMs, and the gate keeps polling`, async () => {
      // the first connection works; after that a proxy in front of the server cuts every stream (or refuses it)
      const { server, client } = restartingServer((n) => (n > 1 && cut === "refused" ? "network-error" : "stream"));
      const tries: number[] = [];
      await client.getThreshold(GATE, { fallback: 0.1 });
      await settle();
      server.conns[0]!.send(frame(gateEvent(5, 0, "cal_0000000005", 0.42), "snapshot") + heartbeat(5));
      await settle();
      let seen = 1;
      const cutNew = () => {
        for (; seen < server.requests.length; seen++) {
          tries.push(Date.now());
          const c = server.conns[seen];
          if (cut === "closed at once" && c !== undefined) c.end();
        }
      };
      server.conns[0]!.end();
      await readEverySecond(client, 3600, cutNew);
      // 4 reconnects before the fall back, then the tries from polling
      const fromPolling = tries.slice(4).map((t, i, a) => (i === 0 ? 0 : t - a[i - 1]!));
      const waits = fromPolling.slice(1);
      expect(waits.length).toBeGreaterThan(5);
      // each wait at least twice the one before (from 1 s) until recoveryMs, and then never more than one per recoveryMs
      for (const [i, w] of waits.entries()) expect(w).toBeGreaterThanOrEqual(Math.min(300_000, 1000 * 2 ** i));
      expect(waits.slice(-3).every((w) => w >= 300_000 && w < 310_000)).toBe(true);
      expect(tries.length).toBeLessThan(4 + 1 + 9 + 3600 / 300 + 1);
      expect(client.streams()[0]!.state).toBe("polling");
      await client.close();
    });
  }

  it("a try refused with 429 waits out its Retry-After (8 min, beyond recoveryMs), however many polls are answered meanwhile", async () => {
    const { server, state, client } = restartingServer((n) =>
      n === 1 ? "stream" : n <= 5 ? "network-error" : n === 6 ? { status: 429, retryAfter: "480" } : "stream",
    );
    await client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0, "cal_0000000005", 0.42), "snapshot") + heartbeat(5));
    await settle();
    server.conns[0]!.end();
    let refusedAt = 0;
    await readEverySecond(client, 60, () => {
      if (refusedAt === 0 && server.requests.length === 6) refusedAt = Date.now();
    });
    // the first answered poll after the fall back brought a try: refused
    expect(refusedAt).toBeGreaterThan(0);
    expect(client.streams()[0]!.state).toBe("polling");
    const before = state.answered;
    await readEverySecond(client, (refusedAt + 479_000 - Date.now()) / 1000);
    // polls were answered all along (every max-age, 5 s), and none brought a try
    expect(state.answered - before).toBeGreaterThan(60);
    expect(server.requests).toHaveLength(6);
    await readEverySecond(client, 2);
    expect(server.requests).toHaveLength(7);
    expect(client.streams()[0]!.state).toBe("open");
    await client.close();
  });

  it("a try refused with 401 stops the stream for good: answered polls bring no more tries", async () => {
    const { server, client } = restartingServer((n) => (n === 1 ? "stream" : n <= 5 ? "network-error" : { status: 401 }));
    await client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    server.conns[0]!.end();
    await readEverySecond(client, 1200);
    expect(server.requests).toHaveLength(6);
    expect(client.streams()[0]!.state).toBe("stopped");
    await client.close();
  });

  it("a try answered 503 with Retry-After: back to polling, and no try before its Retry-After however many polls are answered", async () => {
    const server = fakeServer((n) => (n === 1 ? "stream" : n <= 5 ? "network-error" : n === 6 ? { status: 503, retryAfter: "120" } : "stream"));
    const { s, states } = open(server, { recoveryMs: 300_000 });
    await settle();
    server.conns[0]!.end();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(s.state).toBe("polling");
    expect(s.polled()).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(last(states)).toMatchObject({ state: "polling", status: 503 });
    const refusedAt = Date.now();
    // a failed try would wait 1 s before the next; the server asked for 120 s
    await vi.advanceTimersByTimeAsync(119_000);
    expect(s.polled()).toBe(false);
    await vi.advanceTimersByTimeAsync(refusedAt + 120_000 - Date.now());
    expect(s.polled()).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(server.requests).toHaveLength(7);
    expect(s.state).toBe("open");
    s.close();
  });

  it("a try that opens is one attempt until it has stayed up 60 s: a cut before goes back to polling, one after reconnects as usual", async () => {
    const server = fakeServer((n) => (n === 1 || n >= 6 ? "stream" : "network-error"));
    const { s, names } = open(server, { recoveryMs: 300_000 });
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0), "snapshot"));
    await settle();
    server.conns[0]!.end();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(s.polled()).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.state).toBe("open");
    // cut after 10 s: back to polling at once, the next try a doubled wait (1 s) after it
    await vi.advanceTimersByTimeAsync(10_000);
    last(server.conns).end();
    await settle();
    expect(s.state).toBe("polling");
    expect(s.polled()).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.polled()).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.state).toBe("open");
    // up 60 s (heartbeats): the trial is over; a cut now reconnects with backoff, as any healthy stream's
    for (let i = 0; i < 4; i++) {
      last(server.conns).send(heartbeat(5));
      await vi.advanceTimersByTimeAsync(15_000);
    }
    last(server.conns).end();
    await settle();
    expect(s.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.state).toBe("open");
    expect(names().slice(-7)).toEqual(["reconnecting", "open", "polling", "reconnecting", "open", "reconnecting", "open"]);
    expect(server.requests).toHaveLength(8);
    s.close();
  });

  it("polled() sets one try, only while polling after failures, and not while a try is under way", async () => {
    const server = fakeServer((n) => (n === 1 ? "stream" : n <= 5 ? "network-error" : "hang"));
    const { s, states } = open(server, { recoveryMs: 300_000 });
    await settle();
    server.conns[0]!.send(frame(gateEvent(5, 0), "snapshot"));
    await settle();
    expect(s.polled()).toBe(false); // open
    server.conns[0]!.end();
    await settle();
    expect(s.polled()).toBe(false); // reconnecting
    await vi.advanceTimersByTimeAsync(20_000);
    expect(s.state).toBe("polling");
    expect(s.polled()).toBe(true);
    expect(last(states)).toMatchObject({ state: "reconnecting", reason: POLL_ANSWERED });
    expect(s.polled()).toBe(false); // the try is already set
    await vi.advanceTimersByTimeAsync(1000);
    expect(server.requests).toHaveLength(6);
    expect(s.polled()).toBe(false); // the try is under way (its request hangs)
    s.close();
  });
});
