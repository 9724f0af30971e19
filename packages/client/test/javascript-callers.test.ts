// What a JavaScript caller can pass that the types forbid: only the constructor throws, and a configuration error
// never looks like an outage (docs/clients.md, "What gate() keeps" and "Failure behaviour").
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type GateKey, type GateOptions, type GetThresholdOptions, ScoregateClient, type ScoregateClientOptions } from "../src";
import { fallbackOf, gateStep } from "../src/adapter";
import { type ShadowOptions, shadow, shadowsFor } from "../src/shadow";
import { ScoregateClient as StreamClient, type StreamClientOptions } from "../src/stream";
import { candidateGate, error, fakeServer, ok, servingClient, thresholdBody } from "./fake-server";

const gate = { index: "docs", embedding: "e5", reranker: "bge" };

/** A value as plain JavaScript would pass it, past the types. */
const untyped = <T>(value: unknown): T => value as T;

function clientOf(server: ReturnType<typeof fakeServer>) {
  return new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } });
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-06-01T00:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("baseUrl: an absolute http: or https: URL, or the constructor throws", () => {
  const construct = (baseUrl: unknown) => () =>
    new ScoregateClient({ baseUrl: untyped<ScoregateClientOptions["baseUrl"]>(baseUrl), token: "t", fetch: fakeServer().fetch });

  it("refuses localhost:8787 (a URL of scheme localhost:) and says what to write", () => {
    expect(construct("localhost:8787")).toThrow(TypeError);
    expect(construct("localhost:8787")).toThrow('ScoregateClient: baseUrl "localhost:8787" is not an HTTP URL such as "http://localhost:8787"');
  });

  it.each<[unknown, string]>([
    ["", "empty"],
    ["scoregate.example.workers.dev", "no scheme"],
    ["//scoregate.test", "scheme-relative"],
    ["/v1", "a path"],
    ["ftp://scoregate.test", "another scheme"],
    ["http:scoregate.test", "no //"],
    ["https://", "no host"],
    ["http:///v1", "an empty host"],
    [undefined, "missing"],
    [8787, "a number"],
    [new URL("https://scoregate.test"), "a URL object (the types say string)"],
    ["http://local host:8787", "a space inside (every request would fail as a network error)"],
    ["http://localhost:8787/a b", "a space in the path"],
    ["   ", "blank"],
  ])("refuses %j (%s) with a TypeError", (baseUrl: unknown) => {
    expect(construct(baseUrl)).toThrow(/^ScoregateClient: baseUrl .* is not an HTTP URL such as "http:\/\/localhost:8787"$/u);
  });

  it.each([
    ["http://localhost:8787", "http://localhost:8787/v1/threshold"],
    ["https://scoregate.test/", "https://scoregate.test/v1/threshold"],
    ["HTTPS://scoregate.test", "https://scoregate.test/v1/threshold"],
    ["http://127.0.0.1:8787", "http://127.0.0.1:8787/v1/threshold"],
    ["http://[::1]:8787", "http://[::1]:8787/v1/threshold"],
    ["https://proxy.test/scoregate//", "https://proxy.test/scoregate/v1/threshold"],
    ["http://localhost:8787 ", "http://localhost:8787/v1/threshold"], // pasted with a space, or read from a file
    [" https://scoregate.test/\n", "https://scoregate.test/v1/threshold"],
  ])("accepts %s and requests %s", async (baseUrl, requested) => {
    const server = fakeServer();
    const client = new ScoregateClient({ baseUrl, token: "t", fetch: server.fetch });
    expect((await client.getThreshold(gate, { fallback: null })).reason).toBe("calibrated");
    const url = server.requests[0]!.url;
    expect(`${url.origin}${url.pathname}`).toBe(requested);
  });
});

describe("token: trimmed, and one that no request could carry is refused at construction", () => {
  it("a token read from a file (trailing newline) is sent without it", async () => {
    const server = fakeServer();
    const client = new ScoregateClient({ baseUrl: "https://scoregate.test", token: "dev-read\n", fetch: server.fetch });
    expect((await client.getThreshold(gate, { fallback: null })).reason).toBe("calibrated");
    expect(server.requests[0]!.headers.get("authorization")).toBe("Bearer dev-read");
  });

  it.each([
    ["a newline inside", "dev\nread"],
    ["a NUL", "dev\u0000read"],
    ["a non-ASCII letter", "dév-read"],
    ["only whitespace", " \n"],
    ["a number", 42],
  ])("refuses %s with a TypeError (every request would otherwise fail as if the server were down)", (_what, token) => {
    const server = fakeServer();
    expect(() => new ScoregateClient({ baseUrl: "https://scoregate.test", token: untyped<string>(token), fetch: server.fetch })).toThrow(
      "ScoregateClient: token is required (printable ASCII)",
    );
  });
});

describe("scores that are not numbers are unscored, never coerced", () => {
  interface Doc {
    id: string;
    score: unknown;
  }
  // A served threshold of 0.1491 and JavaScript scores: numeric strings (from JSON or a CSV), numbers, null, Infinity.
  const docs: Doc[] = [
    { id: "string-high", score: "0.9" },
    { id: "string-low", score: "0.05" },
    { id: "number-high", score: 0.5 },
    { id: "number-low", score: 0.05 },
    { id: "null", score: null },
    { id: "boolean", score: true },
    { id: "bigint", score: 1n },
    { id: "boxed", score: Object(0.9) },
    { id: "infinite", score: Number.POSITIVE_INFINITY },
  ];
  const score = untyped<GateOptions<Doc>["score"]>((d: Doc) => d.score);
  const served = () =>
    fakeServer((req) =>
      req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(thresholdBody("cal_0000000001", 0.1491)),
    );

  it("keeps a numeric string by default (unscored), whatever its value, and counts it", async () => {
    const r = await clientOf(served()).gate(docs, { gate, score, fallback: 0.1 });
    expect(r.threshold).toBe(0.1491);
    // "0.05" is not compared with 0.1491: it is not a score. Infinity is one.
    expect(r.kept.map((d) => d.id)).toEqual(["string-high", "string-low", "number-high", "null", "boolean", "bigint", "boxed", "infinite"]);
    expect(r.dropped.map((d) => d.id)).toEqual(["number-low"]);
    expect(r.unscored).toBe(6);
    expect(r.topScore).toBe(Number.POSITIVE_INFINITY);
  });

  it('drops every unscored candidate with unscored: "drop", and reports only the numbers', async () => {
    const server = served();
    const client = clientOf(server);
    const r = await client.gate(docs, { gate, score, fallback: 0.1, unscored: "drop", reportScores: true });
    expect(r.kept.map((d) => d.id)).toEqual(["number-high", "infinite"]);
    expect(r.unscored).toBe(6);
    await client.flush();
    const batch = server.observationRequests()[0]!.body as { queries: number[][]; scores: number[] };
    // Counted apart: the 3 scored candidates (1 below the threshold) and the 6 unscored ones it dropped.
    expect(batch.queries).toEqual([[3, 1, 1, 0, 6]]);
    // A score sample holds finite numbers only: Infinity is a score for the gate, never a sample value.
    expect(batch.scores).toEqual([0.5, 0.05]);
  });

  it("Number(x) turns numeric strings into scores (what the docs advise)", async () => {
    const r = await clientOf(served()).gate(docs.slice(0, 4), { gate, score: (d) => Number(d.score), fallback: 0.1 });
    expect(r.kept.map((d) => d.id)).toEqual(["string-high", "number-high"]);
    expect(r.unscored).toBe(0);
  });
});

describe("a gate key's version in the wire's spelling (a configuration shared with Python services)", () => {
  it("index_version pins the version as indexVersion does: requested, reported and cached as the same gate", async () => {
    const server = fakeServer();
    const client = clientOf(server);
    const snake = untyped<typeof gate>({ embedding: "e5", reranker: "bge", index_version: "v2" });
    await client.getThreshold(snake, { fallback: 0.3 });
    expect(server.requests[0]!.url.searchParams.get("index_version")).toBe("v2");
    // the same gate as { indexVersion: "v2" }: answered from the cache, nothing more requested
    expect((await client.getThreshold({ embedding: "e5", reranker: "bge", indexVersion: "v2" }, { fallback: 0.3 })).reason).toBe("cached");
    expect(server.requests).toHaveLength(1);
    client.report({ gate: snake, candidates: 3, dropped: 1 });
    await client.close();
    expect(server.observationRequests()[0]!.body).toMatchObject({ index_version: "v2" });
  });
});

describe("a missing or broken gate key, and gate() without options: answered, never thrown, never sent", () => {
  const docs = [{ score: 0.9 }, { score: 0.05 }];

  it.each<[string, unknown]>([
    ["no gate", undefined],
    ["null", null],
    ["no reranker", { index: "docs", embedding: "e5" }],
    ["no embedding", { embedding: undefined, reranker: "bge" }],
    ["a number for a model", { embedding: 5, reranker: "bge" }],
  ])("getThreshold with %s answers the fallback with a bad_request error and sends nothing", async (_, key) => {
    const server = fakeServer();
    const r = await clientOf(server).getThreshold(untyped<typeof gate>(key), { fallback: 0.3 });
    expect(r).toMatchObject({ reason: "fallback", threshold: 0.3, calibrationId: null, error: { code: "bad_request" } });
    expect(r.error?.message).toContain("embedding and reranker");
    expect(server.thresholdRequests()).toEqual([]);
  });

  it("gate() without options keeps every candidate, reports nothing and says why", async () => {
    const server = fakeServer();
    const client = clientOf(server);
    const r = await client.gate(docs, untyped<GateOptions<{ score: number }>>(undefined));
    expect(r).toMatchObject({ reason: "fallback", threshold: null, error: { code: "bad_request" } });
    expect(r.kept).toEqual(docs);
    await client.flush();
    expect(server.requests).toEqual([]);
  });

  it("gate() with a gate missing its reranker keeps every candidate instead of sending reranker=undefined", async () => {
    const server = fakeServer();
    const r = await clientOf(server).gate(docs, { gate: untyped<typeof gate>({ embedding: "e5" }), score: (d) => d.score, fallback: 0.5 });
    expect(r.kept).toEqual([docs[0]]);
    expect(r.error?.code).toBe("bad_request");
    expect(server.thresholdRequests()).toEqual([]);
  });
});

describe("getThreshold without options, and a missing fallback", () => {
  it("getThreshold(gate) with no options object answers instead of throwing", async () => {
    const client = clientOf(fakeServer());
    const r = await client.getThreshold(gate, untyped<GetThresholdOptions>(undefined));
    expect(r).toMatchObject({ reason: "calibrated", threshold: 0.42 });
    expect((await client.getThreshold(gate, untyped<GetThresholdOptions>(undefined))).reason).toBe("cached");
  });

  it("getThreshold(gate) with no options on an unreachable server answers a null threshold with the error", async () => {
    const r = await clientOf(fakeServer(() => "network-error")).getThreshold(gate, untyped<GetThresholdOptions>(undefined));
    expect(r).toMatchObject({ reason: "fallback", threshold: null, error: { code: "network" } });
  });

  interface Doc {
    id: number;
    score: number;
  }
  const docs: Doc[] = [
    { id: 1, score: 0.9 },
    { id: 2, score: 0.05 },
  ];
  const noFallback = untyped<GateOptions<Doc>>({ gate, score: (d: Doc) => d.score });

  it("gate() with no fallback on an uncalibrated gate keeps every candidate (threshold null) instead of none", async () => {
    const r = await clientOf(fakeServer(() => error(404, "uncalibrated"))).gate(docs, noFallback);
    expect(r).toMatchObject({ reason: "uncalibrated", threshold: null, calibrationId: null });
    expect(r.kept).toEqual(docs);
    expect(r.dropped).toEqual([]);
  });

  it("gate() with no fallback on an unreachable server keeps every candidate and says why", async () => {
    const r = await clientOf(fakeServer(() => "network-error")).gate(docs, { ...noFallback, unscored: "drop" });
    expect(r).toMatchObject({ reason: "fallback", threshold: null, error: { code: "network" } });
    expect(r.kept).toEqual(docs);
  });

  it.each([
    ["undefined", undefined],
    ["a numeric string", "0.1"],
    ["NaN", Number.NaN],
    ["a boolean", true],
  ])("a fallback that is %s counts as null", async (_, fallback) => {
    const r = await clientOf(fakeServer(() => error(404, "uncalibrated"))).gate(docs, { ...noFallback, fallback: untyped<number>(fallback) });
    expect(r.threshold).toBeNull();
    expect(r.kept).toEqual(docs);
  });

  it("a numeric fallback still applies (Infinity included: it drops every scored candidate)", async () => {
    const client = clientOf(fakeServer(() => error(404, "uncalibrated")));
    expect((await client.gate(docs, { ...noFallback, fallback: 0.1 })).kept).toEqual([docs[0]]);
    expect((await client.gate(docs, { ...noFallback, fallback: Number.POSITIVE_INFINITY })).kept).toEqual([]);
  });

  it("fallbackOf (for adapters) states the same rule", () => {
    expect([0.1, 0, -1, Number.POSITIVE_INFINITY, null, undefined, "0.1", Number.NaN, true].map(fallbackOf)).toEqual([
      0.1,
      0,
      -1,
      Number.POSITIVE_INFINITY,
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it("an adapter step without a fallback keeps every item of an uncalibrated gate", async () => {
    const client = clientOf(fakeServer(() => error(404, "uncalibrated")));
    const results: unknown[] = [];
    const kept = await gateStep(
      untyped<Parameters<typeof gateStep<Doc, string>>[0]>({ client, gate, onResult: (r: unknown) => results.push(r) }),
      docs,
      "query",
      (d) => d.score,
    );
    expect(kept).toEqual(docs);
    expect(results).toMatchObject([{ reason: "uncalibrated", threshold: null }]);
  });
});

describe("candidates that are not an array: none, with a bad_request error, nothing reported", () => {
  // A reranker wrapper that answers null or undefined on its own failure, or an object by mistake.
  const shadows = [{ ...candidateGate, calibration_id: "cal_0000000003", sample_rate: 1, since_seq: 4 }];
  const score = (c: { score: number }) => c.score;

  it.each<[unknown, string]>([
    [null, "null"],
    [undefined, "undefined"],
    [{}, "object"],
    ["0.9", "string"],
  ])("gate(%j) keeps and drops nothing and says candidates must be an array (got %s)", async (candidates, got) => {
    const { client, server } = servingClient();
    const r = await client.gate(untyped<{ score: number }[]>(candidates), { gate, score, fallback: 0.1 });
    expect(r).toMatchObject({ reason: "fallback", threshold: 0.1, calibrationId: null, kept: [], dropped: [], unscored: 0 });
    expect(r.error).toEqual({ code: "bad_request", message: `candidates must be an array (got ${got})` });
    await client.flush();
    expect(server.requests).toEqual([]);
  });

  it("shadow() with null or undefined candidates takes no shadow and reports nothing", async () => {
    const { client, server } = servingClient({ shadows });
    for (const candidates of [null, undefined, {}])
      expect(await shadow(client, untyped<{ score: number }[]>(candidates), { gate, score, key: "session-1" })).toEqual([]);
    await client.flush();
    expect(server.observationRequests()).toEqual([]);
  });

  it("an adapter step with undefined items answers none (production) or returns them as given (shadow)", async () => {
    const { client, server } = servingClient({ shadows });
    const results: unknown[] = [];
    const step = untyped<Parameters<typeof gateStep<{ score: number }, string>>[0]>({
      client,
      gate,
      fallback: 0.1,
      onResult: (r: unknown) => results.push(r),
    });
    expect(await gateStep(step, untyped<{ score: number }[]>(undefined), "query", score)).toEqual([]);
    expect(results).toMatchObject([{ kept: [], error: { code: "bad_request" } }]);
    const mirrored = { client, gate, shadow: { key: () => "session-1" } };
    expect(await gateStep(mirrored, untyped<{ score: number }[]>(null), "query", score)).toBeNull();
    await client.flush();
    expect(server.observationRequests()).toEqual([]);
  });
});

describe("shadow() without its options or its gate (a JavaScript caller's): no shadow, nothing thrown, as gate()", () => {
  const shadows = [{ ...candidateGate, calibration_id: "cal_0000000003", sample_rate: 1, since_seq: 4 }];
  const score = (c: { score: number }) => c.score;

  it.each([undefined, null])("shadow() with options %j takes no shadow, reports nothing and sends nothing", async (options) => {
    const { client, server } = servingClient({ shadows });
    expect(await shadow(client, [{ score: 0.9 }], untyped<ShadowOptions<{ score: number }>>(options))).toEqual([]);
    await client.flush();
    expect(server.requests).toEqual([]);
  });

  it.each<[string, unknown]>([
    ["undefined", undefined],
    ["null", null],
    ["without a reranker", { embedding: "e5" }],
  ])("shadow() and shadowsFor() with a gate %s take no shadow and send nothing; shadowsFor() takes null options", async (_, badGate) => {
    const { client, server } = servingClient({ shadows });
    const g = untyped<GateKey>(badGate);
    expect(await shadow(client, [{ score: 0.9 }], { gate: g, score, key: "session-1" })).toEqual([]);
    expect(shadowsFor(client, g, "session-1")).toEqual([]);
    await client.flush();
    expect(server.requests).toEqual([]);
    expect(shadowsFor(client, gate, "session-1", untyped<Parameters<typeof shadowsFor>[3]>(null))).toEqual([]); // nothing cached yet: none, and a read starts
    await vi.waitFor(() => expect(shadowsFor(client, gate, "session-1").map((s) => s.calibration_id)).toEqual(["cal_0000000003"]));
  });
});

describe('a score that is not a function (the Python client\'s score="score"): answered like a missing gate', () => {
  const docs = [{ score: 0.9 }, { score: 0.05 }];

  it.each<[unknown, string]>([
    ["score", "string"],
    [undefined, "undefined"],
    [null, "null"],
  ])("gate() with score %j keeps the candidates under the fallback, says score must be a function, and sends nothing", async (score, got) => {
    const { client, server } = servingClient();
    const r = await client.gate(docs, { gate, score: untyped<GateOptions<{ score: number }>["score"]>(score), fallback: 0.1 });
    expect(r).toMatchObject({ reason: "fallback", threshold: 0.1, calibrationId: null, kept: docs, dropped: [], unscored: 2 });
    expect(r.error).toEqual({ code: "bad_request", message: `score must be a function (c) => number (got ${got})` });
    await client.flush();
    expect(server.requests).toEqual([]);
  });
});

describe("options of other entries: the constructor says where each went instead of ignoring it", () => {
  const base = { baseUrl: "https://scoregate.test", token: "t", fetch: fakeServer().fetch };
  const construct = (extra: Record<string, unknown>) => () => new ScoregateClient(untyped<ScoregateClientOptions>({ ...base, ...extra }));

  it("bootstrap (a snapshot) throws a TypeError naming restore() of @scoregate/client/snapshot", () => {
    for (const bootstrap of [{ version: 1, gates: [] }, undefined])
      expect(construct({ bootstrap })).toThrow(
        new TypeError("ScoregateClient: bootstrap is now restore(client, snapshot) of @scoregate/client/snapshot"),
      );
  });

  it("stream on the core entry throws a TypeError naming @scoregate/client/stream; stream: false is no stream", () => {
    for (const stream of [true, {}])
      expect(construct({ stream })).toThrow(new TypeError("ScoregateClient: stream needs the ScoregateClient of @scoregate/client/stream"));
    expect(construct({ stream: false })).not.toThrow();
  });

  it("the stream entry's client still takes stream (and refuses bootstrap)", () => {
    const streaming = new StreamClient({ ...base, stream: true });
    expect(streaming.streams()).toEqual([]);
    expect(() => new StreamClient(untyped<StreamClientOptions>({ ...base, stream: true, bootstrap: {} }))).toThrow(/bootstrap is now restore/u);
  });
});

describe("a shadow key that is not a string takes no shadow (as the adapters' undefined key)", () => {
  const shadows = [{ ...candidateGate, calibration_id: "cal_0000000003", sample_rate: 1, since_seq: 4 }];

  it.each<[string, unknown]>([
    ["undefined", undefined],
    ["null", null],
    ["a number", 42],
    ["an object", { id: "session-1" }],
  ])("shadow() and shadowsFor() with %s answer none and report nothing; a string key is taken", async (_, key) => {
    const { client, server } = servingClient({ shadows });
    const options = { gate, score: (c: { score: number }) => c.score, key: untyped<string>(key) };
    expect(await shadow(client, [{ score: 0.9 }], options)).toEqual([]);
    expect(shadowsFor(client, gate, untyped<string>(key))).toEqual([]);
    await client.flush();
    expect(server.observationRequests()).toEqual([]);
    expect(shadowsFor(client, gate, "session-1").map((s) => s.calibration_id)).toEqual(["cal_0000000003"]);
  });
});

describe("waitUntil: a function, or the constructor throws; one that throws (Workers' unbound ctx.waitUntil) never reaches the caller", () => {
  /** Workers' `ctx.waitUntil` passed as `ctx.waitUntil`, not `.bind(ctx)`: every call throws. */
  const unbound = () => {
    throw new TypeError("Illegal invocation: function called with incorrect 'this' reference");
  };

  it("a stale read's revalidation and a due report are started all the same, and answered, when waitUntil throws", async () => {
    const server = fakeServer();
    const client = new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } });
    const first = await client.getThreshold(gate, { fallback: 0.1, waitUntil: unbound });
    expect(first.reason).toBe("calibrated");
    await vi.advanceTimersByTimeAsync(6_000); // past the answer's max-age: the next read revalidates in the background
    const stale = await client.gate([{ score: 0.9 }, { score: 0.05 }], { gate, score: (c) => c.score, fallback: 0.1, waitUntil: unbound });
    expect(stale.reason).toBe("stale");
    await vi.advanceTimersByTimeAsync(0);
    expect(server.thresholdRequests()).toHaveLength(2);
    // the client's own waitUntil, unbound too: the report that makes a batch due sends it without throwing
    const workers = new ScoregateClient({
      baseUrl: "https://scoregate.test",
      token: "t",
      fetch: server.fetch,
      waitUntil: unbound,
      observations: { timer: false, batchSize: 1 },
    });
    expect(() => workers.report({ calibrationId: "cal_0000000001", candidates: 2, dropped: 1 })).not.toThrow();
    await vi.advanceTimersByTimeAsync(0);
    expect(server.observationRequests()).toHaveLength(1);
  });

  it("a call's waitUntil that is not a function is no waitUntil", async () => {
    const server = fakeServer();
    const client = clientOf(server);
    await client.getThreshold(gate, { fallback: 0.1 });
    await vi.advanceTimersByTimeAsync(6_000);
    const answer = await client.getThreshold(gate, { fallback: 0.1, waitUntil: untyped<(p: Promise<unknown>) => void>("yes") });
    expect(answer.reason).toBe("stale");
    expect(() => client.report({ calibrationId: "cal_0000000001", candidates: 1, dropped: 0 }, untyped({ waitUntil: 3 }))).not.toThrow();
  });

  it("the constructor refuses a waitUntil that is not a function, an observations.timer that is not a boolean, and no options", () => {
    const base = { baseUrl: "https://scoregate.test", token: "t", fetch: fakeServer().fetch };
    expect(() => new ScoregateClient({ ...base, waitUntil: untyped(3) })).toThrow(
      "ScoregateClient: waitUntil must be a function (Workers: ctx.waitUntil.bind(ctx))",
    );
    expect(() => new ScoregateClient({ ...base, observations: { timer: untyped("false") } })).toThrow(
      "ScoregateClient: observations.timer must be true or false",
    );
    expect(() => new (ScoregateClient as unknown as new () => ScoregateClient)()).toThrow(
      'ScoregateClient: baseUrl undefined is not an HTTP URL such as "http://localhost:8787"',
    );
    // null, as undefined, is the default
    expect(() => new ScoregateClient({ ...base, waitUntil: untyped(null), observations: { timer: untyped(null) } })).not.toThrow();
  });
});

describe("report() with scores that are not a list: ignored whole, saying why, never half queued", () => {
  it.each<[string, unknown]>([
    ["a number", 5],
    ["an object", { a: 1 }],
    ["true", true],
  ])("scores as %s: nothing queued or sent, a report_ignored event, counted as ignored", async (_, scores) => {
    const server = fakeServer();
    const client = clientOf(server);
    const ignored: string[] = [];
    client.subscribe((e) => {
      if (e.type === "report_ignored") ignored.push(e.reason);
    });
    expect(() => client.report({ calibrationId: "cal_0000000001", candidates: 2, dropped: 1, scores: untyped(scores) })).not.toThrow();
    expect(ignored).toEqual(["scores: an array of numbers"]);
    expect(client.observationStats()).toMatchObject({ queued: 0, ignored: 1 });
    await client.close();
    expect(server.observationRequests()).toEqual([]);
    expect(client.observationStats()).toMatchObject({ queued: 0, sent: 0 });
  });

  it("below: null and unscored: null are none, as abstained's and scores' null is: the counts are sent", async () => {
    const server = fakeServer();
    const client = clientOf(server);
    client.report({ calibrationId: "cal_0000000001", candidates: 3, dropped: 1, below: untyped(null), unscored: untyped(null) });
    client.report({ calibrationId: "cal_0000000001", candidates: 3, dropped: 1, below: untyped(null), abstained: true });
    client.report({ calibrationId: "cal_0000000001", candidates: untyped(null), dropped: 1 }); // a required count: refused
    await client.close();
    expect(server.observationRequests()[0]!.body.queries).toEqual([
      [3, 1],
      [3, 1, 1, 1],
    ]);
    expect(client.observationStats()).toMatchObject({ queued: 0, sent: 2, ignored: 1 });
  });

  it("scores: null is no sample (the counts are queued and sent); a typed array is a sample", async () => {
    const server = fakeServer();
    const client = clientOf(server);
    client.report({ calibrationId: "cal_0000000001", candidates: 2, dropped: 1, scores: untyped(null) });
    client.report({ calibrationId: "cal_0000000001", candidates: 2, dropped: 0, scores: untyped(Float64Array.of(0.5, 0.7)) });
    await client.close();
    const [batch] = server.observationRequests();
    expect(batch!.body).toMatchObject({
      queries: [
        [2, 1],
        [2, 0],
      ],
      scores: [0.5, 0.7],
    });
    expect(client.observationStats()).toMatchObject({ queued: 0, sent: 2, ignored: 0 });
  });
});
