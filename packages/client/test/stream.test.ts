// Pushed changes (src/stream.ts, src/gate-stream.ts, src/sse-parser.ts) against a stub of the events route on a real local HTTP server: the SSE parser, one
// gate's stream (in order, exactly once across a forced disconnect mid-frame, gaps resumed, dead connections
// detected, failover to polling and back, a refused token stops it), and the client with `stream: true` feeding the
// same cache and events as the poller; and after the server's state is reset (seq goes back: a deleted local state, or a
// database restored to an earlier minute, numbers its events from a lower seq than a running client has applied), the
// stream takes the new history's state instead of dropping it as already seen, and the client serves it.
import { afterEach, describe, expect, it, vi } from "vitest";
import { type GateStreamOptions, HISTORY_RESTARTED, ScoregateClient, type SseFrame, SseParser, type StreamClientEvent } from "../src/stream";
import type { ClientEvent, GateEvent } from "../src/types";
import { thresholdBody } from "./fake-server";
import { frame, gateEvent, heartbeat, openGateStream, type SseStub, startSseStub } from "./sse-server";

const GATE = { index: "docs", embedding: "e5", reranker: "bge" };
const WAIT = { timeout: 5000, interval: 5 };
let stub: SseStub | undefined;
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await stub?.close();
  stub = undefined;
});

/** A stream of the stub's gate with short timings (sse-server.ts openGateStream), closed after the test. */
const open = (url: string, options: Partial<GateStreamOptions> = {}) => openGateStream(url, (close) => cleanups.push(close), options);

describe("SseParser", () => {
  it("splits frames on LF, CRLF and CR across chunk boundaries, joins data lines, skips comments, reads retry", () => {
    const frames: SseFrame[] = [];
    const retries: number[] = [];
    const p = new SseParser(
      (f) => frames.push(f),
      (ms) => retries.push(ms),
    );
    for (const chunk of ["retry: 250\n\n: hb\r", '\nid: 7\r\nevent: gate\ndata: {"a"', ":1}\ndata: x\r\r", "data:y\n", "\nretry: 1x\n\n"])
      p.push(chunk);
    expect(frames).toEqual([
      { event: "gate", data: '{"a":1}\nx', id: "7" },
      { event: "message", data: "y", id: undefined },
    ]);
    expect(retries).toEqual([250]);
  });
});

describe("GateStream", () => {
  it("applies every event once and in order across a disconnect in the middle of a frame, resuming with Last-Event-ID", async () => {
    stub = await startSseStub((c, n) => {
      c.open();
      if (n === 1) {
        c.send(frame(gateEvent(5, 0), "snapshot"));
        c.send(frame(gateEvent(7, 5)));
        c.send(frame(gateEvent(9, 7)));
        // half of event 11, then the network goes
        c.send(frame(gateEvent(11, 9)).slice(0, 40));
        setTimeout(() => c.destroy(), 20);
      } else {
        // the server replays from the client's Last-Event-ID, overlapping by one (a duplicate must be dropped)
        c.send(frame(gateEvent(9, 7)));
        c.send(frame(gateEvent(11, 9)));
        c.send(frame(gateEvent(12, 11)));
      }
    });
    const { seqs, states } = open(stub.url);
    await vi.waitFor(() => expect(seqs).toEqual([5, 7, 9, 11, 12]), WAIT);
    expect(stub.connections.map((c) => c.lastEventId)).toEqual([undefined, "9"]);
    expect(states.map((s) => s.state)).toEqual(["open", "reconnecting", "open"]);
    expect(states[2]!.reason).toBe("resumed after 9");
  });

  it("treats an event whose prev_seq is not the last seq as a gap: reconnects at once with the last seq", async () => {
    stub = await startSseStub((c, n) => {
      c.open();
      if (n === 1) {
        c.send(frame(gateEvent(5, 0), "snapshot"));
        c.send(frame(gateEvent(9, 7))); // 7 never arrived
      } else c.send(frame(gateEvent(7, 5)) + frame(gateEvent(9, 7)));
    });
    const { seqs, states } = open(stub.url);
    await vi.waitFor(() => expect(seqs).toEqual([5, 7, 9]), WAIT);
    expect(stub.connections.map((c) => c.lastEventId)).toEqual([undefined, "5"]);
    expect(states[1]!.reason).toMatch(/^gap: event 9 follows 7, this stream is at 5/u);
  });

  it("a heartbeat ahead of the last seq is a gap; a snapshot is applied whatever its prev_seq", async () => {
    stub = await startSseStub((c, n) => {
      c.open();
      if (n === 1) c.send(frame(gateEvent(5, 0), "snapshot") + heartbeat(5) + heartbeat(8));
      else c.send(frame(gateEvent(8, 6), "snapshot") + heartbeat(8));
    });
    const heads: number[] = [];
    const { seqs } = open(stub.url, { onHeartbeat: (h) => heads.push(h) });
    await vi.waitFor(() => expect(heads).toEqual([5, 8]), WAIT);
    expect(seqs).toEqual([5, 8]);
    expect(stub.connections.map((c) => c.lastEventId)).toEqual([undefined, "5"]);
  });

  it("a connection silent for readTimeoutMs is dead: it reconnects", async () => {
    stub = await startSseStub((c, n) => {
      c.open();
      if (n === 1) c.send(frame(gateEvent(5, 0), "snapshot"));
      else c.send(frame(gateEvent(6, 5)));
    });
    const { seqs, states } = open(stub.url, { readTimeoutMs: 150 });
    await vi.waitFor(() => expect(seqs).toEqual([5, 6]), WAIT);
    expect(states[1]).toMatchObject({ state: "reconnecting", reason: "no byte within 150 ms" });
    expect(stub.connections[1]!.lastEventId).toBe("5");
  });

  it("falls back to polling at once on 404, 429 and 501, and tries the stream again after recoveryMs", async () => {
    for (const status of [404, 429, 501]) {
      stub = await startSseStub((c, n) => {
        if (n === 1) c.res.writeHead(status, { "content-type": "application/json" }).end("{}");
        else {
          c.open();
          c.send(frame(gateEvent(3, 0), "snapshot"));
        }
      });
      const { seqs, states } = open(stub.url, { recoveryMs: 30 });
      await vi.waitFor(() => expect(seqs).toEqual([3]), WAIT);
      expect(states.slice(0, 2).map((s) => [s.state, s.status])).toEqual([
        ["polling", status],
        ["open", undefined],
      ]);
      for (const c of cleanups.splice(0)) c();
      await stub.close();
      stub = undefined;
    }
  });

  it("says in its polling reason what the server said: a 404 for a gate that does not exist names it", async () => {
    const message = "gate gat_x does not exist: it is created by its first calibration upload";
    stub = await startSseStub((c) => {
      c.res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "not_found", message } }));
    });
    const { states } = open(stub.url, { recoveryMs: 60_000 });
    await vi.waitFor(() => expect(states.length).toBeGreaterThan(0), WAIT);
    expect(states[0]).toMatchObject({ state: "polling", status: 404, reason: `404 not_found: ${message}: polling instead` });
  });

  it("falls back to polling after maxFailures failures within the window (network and 5xx), then comes back", async () => {
    stub = await startSseStub((c, n) => {
      if (n <= 2) c.destroy();
      else if (n <= 4) c.res.writeHead(503).end();
      else {
        c.open();
        c.send(frame(gateEvent(4, 0), "snapshot"));
      }
    });
    const { seqs, states } = open(stub.url, { maxFailures: 4, recoveryMs: 30 });
    await vi.waitFor(() => expect(seqs).toEqual([4]), WAIT);
    expect(states.map((s) => s.state)).toEqual(["reconnecting", "reconnecting", "reconnecting", "polling", "open"]);
    expect(states[3]!.status).toBe(503);
  });

  it("stops on 401 and 403 and never reconnects", async () => {
    for (const status of [401, 403]) {
      stub = await startSseStub((c) => c.res.writeHead(status).end());
      const { states } = open(stub.url, { recoveryMs: 10 });
      await vi.waitFor(() => expect(states.map((s) => s.state)).toEqual(["stopped"]), WAIT);
      await new Promise((r) => setTimeout(r, 50));
      expect(stub.connections).toHaveLength(1);
      expect(states[0]!.status).toBe(status);
      await stub.close();
      stub = undefined;
    }
  });
});

describe("ScoregateClient with stream: true", () => {
  it("feeds the poller's cache: a pushed activation is served at once, announced as calibration and gate events, with no further GET", async () => {
    let push: ((e: GateEvent) => void) | undefined;
    stub = await startSseStub((c) => {
      c.open();
      c.send(frame(gateEvent(5, 0, "cal_0000000001", 0.42), "snapshot"));
      push = (e) => c.send(frame(e));
    });
    stub.threshold = { body: thresholdBody("cal_0000000001", 0.42), etag: '"cal_0000000001.5"' };
    const client = new ScoregateClient({ baseUrl: stub.url, token: "read-token", stream: { readTimeoutMs: 2000 } });
    cleanups.push(() => void client.close());
    const events: ClientEvent[] = [];
    client.subscribe((e) => events.push(e));
    const first = await client.getThreshold(GATE, { fallback: 0.1 });
    expect(first).toMatchObject({ threshold: 0.42, calibrationId: "cal_0000000001" });
    await vi.waitFor(() => expect(push).toBeDefined(), WAIT);
    await vi.waitFor(() => expect(client.streams()[0]?.last).toBe(5), WAIT);
    push!(gateEvent(8, 5, "cal_0000000002", 0.55));
    await vi.waitFor(() => expect(events.some((e) => e.type === "gate" && e.event.seq === 8)).toBe(true), WAIT);
    const second = await client.getThreshold(GATE, { fallback: 0.1 });
    expect(second).toMatchObject({ threshold: 0.55, calibrationId: "cal_0000000002", reason: "cached" });
    expect(events.filter((e) => e.type === "calibration")).toEqual([
      { type: "calibration", gate: GATE, calibrationId: "cal_0000000001", previousCalibrationId: null, threshold: 0.42 },
      { type: "calibration", gate: GATE, calibrationId: "cal_0000000002", previousCalibrationId: "cal_0000000001", threshold: 0.55 },
    ]);
    expect(stub.thresholdGets).toBe(1);
    expect(stub.connections[0]!.req.headers.authorization).toBe("Bearer read-token");
    // the state sent at connect is the gate's last change, perhaps long past: said as a snapshot, the push as none
    expect(events.filter((e) => e.type === "gate").map((e) => [e.event.seq, e.snapshot])).toEqual([
      [5, true],
      [8, false],
    ]);
  });

  it("the stream option is checked like the core's: a string or a bad number is a TypeError; null is no stream", async () => {
    const make = (stream: unknown) => () => new ScoregateClient({ baseUrl: "http://127.0.0.1:9", token: "t", stream } as never);
    // "false" from an environment variable would read as on
    expect(make("false")).toThrow(new TypeError('ScoregateClient: stream "false" is not true, false or stream options'));
    expect(make({ readTimeoutMs: Number.NaN })).toThrow("ScoregateClient: stream.readTimeoutMs NaN is not a number from 1 to 2147483647");
    expect(make({ readTimeoutMs: -1 })).toThrow(/stream\.readTimeoutMs -1 is not a number/u);
    expect(make({ backoff: { initialMs: "1000" } })).toThrow(/stream\.backoff\.initialMs "1000" is not a number/u);
    expect(make({ maxGates: 0 })).toThrow("ScoregateClient: stream.maxGates 0 is not a number of at least 1");
    expect(make({ maxFailures: 0 })).toThrow(/stream\.maxFailures 0/u);
    expect(make({ recoveryMs: 2 ** 31 })).toThrow(/stream\.recoveryMs 2147483648/u);
    // null, as undefined, is the default: no stream, and a read polls
    stub = await startSseStub((c) => c.open());
    stub.threshold = { body: thresholdBody(), etag: '"cal_0000000001.5"' };
    for (const stream of [null, undefined, false, { readTimeoutMs: null, maxGates: null }]) {
      const client = new ScoregateClient({ baseUrl: stub.url, token: "read-token", stream } as never);
      cleanups.push(() => void client.close());
      expect(await client.getThreshold(GATE, { fallback: 0.1 }), String(stream)).toMatchObject({ reason: "calibrated" });
      if (stream !== null && typeof stream === "object") expect(client.streams()).toHaveLength(1);
      else expect(client.streams()).toEqual([]);
    }
  });

  it("a gate pinned to an index version is polled, never streamed", async () => {
    stub = await startSseStub((c) => c.open());
    stub.threshold = { body: thresholdBody(), etag: '"cal_0000000001.5"' };
    const client = new ScoregateClient({ baseUrl: stub.url, token: "read-token", stream: true });
    cleanups.push(() => void client.close());
    await client.getThreshold({ ...GATE, indexVersion: "v1" }, { fallback: 0.1 });
    expect(client.streams()).toEqual([]);
    expect(stub.connections).toHaveLength(0);
  });
});

/** An in-process server on fake timers: /v1/threshold answers when the test resolves it, /v1/events streams what it writes. */
function racingServer() {
  const encoder = new TextEncoder();
  const polls: { ifNoneMatch: string | null; answer: (r: Response) => void }[] = [];
  const streams: { url: string; send: (t: string) => void }[] = [];
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    if (url.includes("/v1/threshold"))
      return new Promise<Response>((answer) => polls.push({ ifNoneMatch: new Headers(init?.headers).get("if-none-match"), answer }));
    if (url.includes("/v1/observations")) return new Response("{}", { status: 202 });
    let sink!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        sink = c;
      },
    });
    init?.signal?.addEventListener("abort", () => sink.error(init.signal?.reason));
    streams.push({ url, send: (t) => sink.enqueue(encoder.encode(t)) });
    return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
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
  const events: ClientEvent[] = [];
  client.subscribe((e) => events.push(e));
  return { polls, streams, client, events };
}

/** A 200 of GET /v1/threshold for the activation `seq` (calibration `cal_<seq>`). */
function answer(seq: number): Response {
  const id = `cal_${String(seq).padStart(10, "0")}`;
  return new Response(JSON.stringify(thresholdBody(id, 0.3)), {
    status: 200,
    headers: { "content-type": "application/json", etag: `"${id}.${seq}"`, "cache-control": "private, max-age=5" },
  });
}

/** A 404 uncalibrated of GET /v1/threshold (it carries no ETag). */
function uncalibratedAnswer(cacheControl: string): Response {
  return new Response(JSON.stringify({ error: { code: "uncalibrated", message: "the gate serves nothing (test)" } }), {
    status: 404,
    headers: { "content-type": "application/json", "cache-control": cacheControl },
  });
}

const settle = async () => {
  for (let i = 0; i < 6; i++) await vi.advanceTimersByTimeAsync(0);
};

describe("ScoregateClient with stream: true, when a poll and the stream race", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a poll answer older than a pushed event is dropped; heartbeats keep the pushed value fresh", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") });
    const { polls, streams, client, events } = racingServer();
    const first = client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    streams[0]!.send(frame(gateEvent(6, 0), "snapshot")); // pushed while the cold poll is out
    await settle();
    polls[0]!.answer(answer(5)); // read from a lagging replica before the activation
    expect(await first).toMatchObject({ calibrationId: "cal_0000000006", reason: "calibrated" });
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(20_000);
      streams[0]!.send(heartbeat(6));
      await settle();
    }
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_0000000006", reason: "cached" });
    expect(events.filter((e) => e.type === "calibration").map((e) => e.type === "calibration" && e.calibrationId)).toEqual(["cal_0000000006"]);
    expect(polls).toHaveLength(1);
    await client.close();
  });

  it("a poll answer no newer than the stream's snapshot keeps the stream's lifetime: no poll every max-age while it is open", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") });
    const { polls, streams, client } = racingServer();
    const first = client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    streams[0]!.send(frame(gateEvent(5, 0), "snapshot")); // the stream's state lands before the cold poll's answer
    await settle();
    polls[0]!.answer(answer(5)); // the same seq, with max-age=5: taken, it would make the value stale 5 s on
    expect(await first).toMatchObject({ calibrationId: "cal_0000000005", reason: "calibrated" });
    expect(client.streams().map((s) => s.state)).toEqual(["open"]);
    // Reads every 5 s until the first heartbeat (15 s after connecting), then on to 40 s: cached, never a poll.
    const reasons: string[] = [];
    for (let t = 5; t <= 40; t += 5) {
      await vi.advanceTimersByTimeAsync(5000);
      if (t === 15 || t === 30) streams[0]!.send(heartbeat(5));
      await settle();
      reasons.push((await client.getThreshold(GATE, { fallback: 0.1 })).reason);
      await settle();
    }
    expect(reasons).toEqual(Array(8).fill("cached"));
    expect(polls).toHaveLength(1);
    await client.close();
  });

  it("a poll answer newer than the stream's last event keeps its own max-age (the stream has not vouched for it)", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") });
    const { polls, streams, client } = racingServer();
    const first = client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    streams[0]!.send(frame(gateEvent(5, 0), "snapshot"));
    await settle();
    polls[0]!.answer(answer(6));
    expect(await first).toMatchObject({ calibrationId: "cal_0000000006" });
    await vi.advanceTimersByTimeAsync(6000);
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_0000000006", reason: "stale" });
    await settle();
    expect(polls).toHaveLength(2);
    await client.close();
  });

  it("a poll answer newer than a pushed event replaces it, and the older event pushed after it is ignored", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") });
    const { polls, streams, client } = racingServer();
    const first = client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    streams[0]!.send(frame(gateEvent(5, 0), "snapshot"));
    await settle();
    polls[0]!.answer(answer(6));
    expect(await first).toMatchObject({ calibrationId: "cal_0000000006" });
    streams[0]!.send(frame(gateEvent(4, 0)));
    await settle();
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_0000000006", reason: "cached" });
    await client.close();
  });

  it("a pushed uncalibrated state keeps its seq: an older 200 of a poll sent before it is dropped", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") });
    const { polls, streams, client, events } = racingServer();
    const first = client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    streams[0]!.send(frame({ ...gateEvent(6, 0), served: null }, "snapshot")); // the gate stopped serving meanwhile
    await settle();
    polls[0]!.answer(answer(5)); // a lagging replica's value, read before the push
    expect(await first).toMatchObject({ reason: "uncalibrated", calibrationId: null });
    expect(events.map((e) => e.type)).toEqual(["uncalibrated", "gate"]);
    // Forty seconds on, within the stream's read timeout, the pushed state is still fresh: nothing was polled.
    await vi.advanceTimersByTimeAsync(40_000);
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ reason: "uncalibrated" });
    expect(polls).toHaveLength(1);
    await client.close();
  });

  it("a 404 uncalibrated of a poll sent before an uncalibrated push leaves the push's lifetimes", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") });
    const { polls, streams, client } = racingServer();
    const first = client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    streams[0]!.send(frame({ ...gateEvent(6, 0), served: null }, "snapshot"));
    await settle();
    // max-age=1: taken, it would make the state stale after a second instead of the stream's read timeout
    polls[0]!.answer(uncalibratedAnswer("private, max-age=1"));
    expect(await first).toMatchObject({ reason: "uncalibrated" });
    await vi.advanceTimersByTimeAsync(10_000);
    await client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    expect(polls).toHaveLength(1);
    await client.close();
  });

  it("after an uncalibrated push, a poll sends the pushed seq and takes the server's answer (404, then a 200 of a lower seq)", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") });
    const { polls, streams, client } = racingServer();
    const first = client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    polls[0]!.answer(answer(5));
    await first;
    streams[0]!.send(frame({ ...gateEvent(6, 5), served: null }));
    await settle();
    // No byte for 50 s: the pushed state is past the stream's read timeout, so a read polls, with the pushed seq.
    await vi.advanceTimersByTimeAsync(50_000);
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ reason: "uncalibrated" });
    await settle();
    expect(polls.map((p) => p.ifNoneMatch)).toEqual([null, '"cal_0000000006.6"']);
    polls[1]!.answer(uncalibratedAnswer("private, max-age=600"));
    await settle();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ reason: "uncalibrated" });
    expect(polls).toHaveLength(2); // the 404 was taken: fresh for its max-age, no poll after every read
    // Answered knowing the pushed seq (the server reads its record for it), a 200 of a lower seq is the record (a restore).
    await vi.advanceTimersByTimeAsync(600_000);
    await client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    expect(polls[2]!.ifNoneMatch).toBeNull();
    polls[2]!.answer(answer(4));
    await settle();
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_0000000004", reason: "cached" });
    await client.close();
  });

  it("a 304 for the ETag a poll sent does not renew a newer value pushed while it was out", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") });
    const { polls, streams, client, events } = racingServer();
    const first = client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    polls[0]!.answer(answer(5));
    await first;
    await vi.advanceTimersByTimeAsync(6000); // past the poll's max-age=5: the next read revalidates
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_0000000005", reason: "stale" });
    await settle();
    expect(polls[1]!.ifNoneMatch).toBe('"cal_0000000005.5"');
    streams[0]!.send(frame(gateEvent(6, 5)));
    await settle();
    // The 304 vouches for cal_5 only; taken, its max-age=600 would keep cal_6 fresh without the stream for ten minutes.
    polls[1]!.answer(new Response(null, { status: 304, headers: { etag: '"cal_0000000005.5"', "cache-control": "private, max-age=600" } }));
    await settle();
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_0000000006", reason: "cached" });
    await vi.advanceTimersByTimeAsync(50_000); // past the stream's read timeout, without a byte
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_0000000006", reason: "stale" });
    await settle();
    expect(polls).toHaveLength(3);
    expect(polls[2]!.ifNoneMatch).toBe('"cal_0000000006.6"');
    expect(events.filter((e) => e.type === "error")).toEqual([]);
    await client.close();
  });

  it("a 304 for the ETag a poll sent, after an uncalibrated push, is no failure", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") });
    const { polls, streams, client, events } = racingServer();
    const first = client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    polls[0]!.answer(answer(5));
    await first;
    await vi.advanceTimersByTimeAsync(6000);
    await client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    streams[0]!.send(frame({ ...gateEvent(6, 5), served: null }));
    await settle();
    polls[1]!.answer(new Response(null, { status: 304, headers: { etag: '"cal_0000000005.5"', "cache-control": "private, max-age=600" } }));
    await settle();
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ reason: "uncalibrated" });
    expect(events.map((e) => e.type)).toEqual(["calibration", "uncalibrated", "gate"]);
    await client.close();
  });

  it("close() ends every stream: a gate read after it polls and opens no connection", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") });
    const { polls, streams, client } = racingServer();
    void client.getThreshold(GATE, { fallback: 0.1 });
    await settle();
    expect(streams).toHaveLength(1);
    await client.close();
    expect(client.streams().map((s) => s.state)).toEqual(["stopped"]);
    void client.getThreshold({ ...GATE, index: "faq" }, { fallback: 0.1 });
    await settle();
    expect(streams).toHaveLength(1);
    expect(polls).toHaveLength(2);
  });
});

describe("GateStream after the server's state is reset (seq goes back)", () => {
  it("applies the snapshot the server answers a Last-Event-ID above its head with, and follows the new history from its seq", async () => {
    stub = await startSseStub((c, n) => {
      c.open();
      if (n === 1) {
        c.send(frame(gateEvent(20, 0), "snapshot") + frame(gateEvent(26, 20)));
        setTimeout(() => c.destroy(), 20);
      } else c.send(frame(gateEvent(7, 6), "snapshot") + heartbeat(7) + frame(gateEvent(8, 7)) + heartbeat(8));
    });
    const { s, seqs, restarts, states } = open(stub.url);
    await vi.waitFor(() => expect(seqs).toEqual([20, 26, 7, 8]), WAIT);
    expect(restarts).toEqual([{ lastSeq: 26, headSeq: 7 }]);
    expect(s.last).toBe(8);
    expect(stub.connections.map((c) => c.lastEventId)).toEqual([undefined, "26"]);
    expect(states.map((x) => x.state)).toEqual(["open", "reconnecting", "open"]);
  });

  it("a snapshot at the last seq is applied again (it is the server's whole state); no restart is announced", async () => {
    stub = await startSseStub((c) => {
      c.open();
      c.send(frame(gateEvent(5, 0), "snapshot") + frame(gateEvent(5, 0, "cal_other"), "snapshot") + heartbeat(5));
    });
    const applied: string[] = [];
    const { restarts } = open(stub.url, { onEvent: (e) => applied.push(e.calibration_id) });
    await vi.waitFor(() => expect(applied).toEqual(["cal_0000000005", "cal_other"]), WAIT);
    expect(restarts).toEqual([]);
  });

  it("a heartbeat below the last seq: forgets its position and reconnects at once without Last-Event-ID, as no failure", async () => {
    stub = await startSseStub((c, n) => {
      c.open();
      if (n === 1) {
        c.send(frame(gateEvent(26, 0), "snapshot"));
        setTimeout(() => c.destroy(), 20);
      } else if (n === 2)
        c.send(heartbeat(3)); // a server that answers the resume with its head only
      else c.send(frame(gateEvent(3, 2), "snapshot") + heartbeat(3));
    });
    // two failures would switch it to polling: the restart must not count as one
    const { s, seqs, restarts, states } = open(stub.url, { maxFailures: 2 });
    await vi.waitFor(() => expect(seqs).toEqual([26, 3]), WAIT);
    expect(restarts).toEqual([{ lastSeq: 26, headSeq: 3 }]);
    expect(stub.connections.map((c) => c.lastEventId)).toEqual([undefined, "26", undefined]);
    expect(states.map((x) => x.state)).toEqual(["open", "reconnecting", "open", "reconnecting", "open"]);
    expect(states[3]!.reason).toBe(`${HISTORY_RESTARTED}: the gate is at 3, this stream was at 26`);
    expect(states[3]!.after).toBeNull();
    expect(s.last).toBe(3);
  });

  it("an event of the old history replayed below the last seq is still dropped as a duplicate", async () => {
    stub = await startSseStub((c) => {
      c.open();
      c.send(frame(gateEvent(5, 0), "snapshot") + frame(gateEvent(7, 5)) + frame(gateEvent(7, 5)) + frame(gateEvent(5, 0)) + heartbeat(7));
    });
    const heads: number[] = [];
    const { seqs, restarts } = open(stub.url, { onHeartbeat: (h) => heads.push(h) });
    await vi.waitFor(() => expect(heads).toEqual([7]), WAIT);
    expect(seqs).toEqual([5, 7]);
    expect(restarts).toEqual([]);
  });
});

describe("ScoregateClient with stream: true, after the server's state is reset (seq goes back)", () => {
  it("serves the server's current calibration, announces history_restarted and the calibration change", async () => {
    stub = await startSseStub((c, n) => {
      c.open();
      if (n === 1) c.send(frame(gateEvent(26, 20, "cal_old", 0.15), "snapshot") + heartbeat(26));
      else c.send(frame(gateEvent(7, 6, "cal_new", 0.33), "snapshot") + heartbeat(7));
    });
    stub.threshold = { body: thresholdBody("cal_old", 0.15), etag: '"cal_old.26"' };
    const client = new ScoregateClient({ baseUrl: stub.url, token: "read-token", stream: { readTimeoutMs: 2000, backoff: { initialMs: 5 } } });
    cleanups.push(() => void client.close());
    const events: StreamClientEvent[] = [];
    client.subscribe((e: StreamClientEvent) => events.push(e));
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_old", threshold: 0.15 });
    await vi.waitFor(() => expect(client.streams()[0]?.last).toBe(26), WAIT);
    // the server starts over: a new state whose newest event is 7
    stub.threshold = { body: thresholdBody("cal_new", 0.33), etag: '"cal_new.7"' };
    stub.connections[0]!.destroy();
    await vi.waitFor(() => expect(client.streams()[0]?.last).toBe(7), WAIT);
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_new", threshold: 0.33, reason: "cached" });
    expect(events.filter((e) => e.type === "history_restarted")).toEqual([{ type: "history_restarted", gate: GATE, lastSeq: 26, headSeq: 7 }]);
    expect(events.filter((e) => e.type === "calibration").map((e) => e.type === "calibration" && [e.calibrationId, e.previousCalibrationId])).toEqual(
      [
        ["cal_old", null],
        ["cal_new", "cal_old"],
      ],
    );
  });

  it("without a snapshot from the server, the old value is stale (never cached) and the next read's poll takes the lower seq", async () => {
    stub = await startSseStub((c, n) => {
      c.open();
      if (n === 1) c.send(frame(gateEvent(26, 20, "cal_old", 0.15), "snapshot") + heartbeat(26));
      else {
        // the resume is answered with the new head; the fresh connection with heartbeats of a hub that has no event
        // of the gate yet (head 0), so no snapshot comes
        if (n === 2) c.send(heartbeat(7));
        const beat = setInterval(() => c.send(heartbeat(0)), 20);
        c.res.on("close", () => clearInterval(beat));
      }
    });
    stub.threshold = { body: thresholdBody("cal_old", 0.15), etag: '"cal_old.26"' };
    const client = new ScoregateClient({ baseUrl: stub.url, token: "read-token", stream: { readTimeoutMs: 2000, backoff: { initialMs: 5 } } });
    cleanups.push(() => void client.close());
    const events: StreamClientEvent[] = [];
    client.subscribe((e: StreamClientEvent) => events.push(e));
    await client.getThreshold(GATE, { fallback: 0.1 });
    await vi.waitFor(() => expect(client.streams()[0]?.last).toBe(26), WAIT);
    stub.threshold = { body: thresholdBody("cal_new", 0.33), etag: '"cal_new.7"' };
    const gets = stub.thresholdGets;
    stub.connections[0]!.destroy();
    await vi.waitFor(() => expect(events.some((e) => e.type === "history_restarted")).toBe(true), WAIT);
    // heartbeats arrive meanwhile: they must not make the vanished value fresh again
    await vi.waitFor(() => expect(stub!.connections.length).toBeGreaterThanOrEqual(3), WAIT);
    await new Promise((r) => setTimeout(r, 60));
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_old", reason: "stale" });
    await vi.waitFor(() => expect(stub!.thresholdGets).toBe(gets + 1), WAIT);
    await vi.waitFor(
      async () => expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_new", threshold: 0.33 }),
      WAIT,
    );
  });
});
