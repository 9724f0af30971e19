// The threshold cache against a scripted server: every failure mode, single flight, cancellation, snapshots.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ROUTES } from "../../../src/contract";
import { type ClientEvent, OBSERVATIONS_PATH, ScoregateClient, THRESHOLD_PATH } from "../src";
import { loadSnapshot, saveSnapshot } from "../src/node";
import { restore, snapshot } from "../src/snapshot";
import { createRng, error, fakeServer, notModified, ok, thresholdBody } from "./fake-server";

const gate = { index: "docs", embedding: "e5", reranker: "bge" };
const BASE = "https://scoregate.test";

function makeClient(server: ReturnType<typeof fakeServer>, extra: Partial<ConstructorParameters<typeof ScoregateClient>[0]> = {}) {
  const rng = createRng(7);
  return new ScoregateClient({ baseUrl: `${BASE}/`, token: "read-token", fetch: server.fetch, random: () => rng.next(), timeoutMs: 1000, ...extra });
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-06-01T00:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("getThreshold: the happy path and the cache", () => {
  it("waits for the first answer (calibrated), then answers from memory within max-age (cached) without a request", async () => {
    const server = fakeServer();
    const client = makeClient(server);
    const first = await client.getThreshold(gate, { fallback: 0.1 });
    expect(first).toEqual({
      threshold: 0.42,
      guards: { minKeep: 0, maxKeep: null },
      abstainBelow: null,
      calibrationId: "cal_0000000001",
      indexVersion: "v1",
      expectedDropRate: 0.3,
      reason: "calibrated",
      fetchedAt: Date.now(),
    });
    const [req] = server.requests;
    expect(req!.url.pathname).toBe(ROUTES.getThreshold.path);
    expect(THRESHOLD_PATH).toBe(ROUTES.getThreshold.path);
    expect(OBSERVATIONS_PATH).toBe(ROUTES.postObservations.path);
    expect(Object.fromEntries(req!.url.searchParams)).toEqual({ index: "docs", embedding: "e5", reranker: "bge" });
    expect(req!.headers.get("authorization")).toBe("Bearer read-token");
    expect(req!.headers.get("if-none-match")).toBeNull();

    await vi.advanceTimersByTimeAsync(4900);
    const second = await client.getThreshold(gate, { fallback: 0.1 });
    expect(second.reason).toBe("cached");
    expect(second.threshold).toBe(0.42);
    expect(server.requests).toHaveLength(1);
  });

  it("past max-age answers stale at once and revalidates in the background with If-None-Match; a 304 makes it fresh", async () => {
    const server = fakeServer();
    const client = makeClient(server);
    await client.getThreshold(gate, { fallback: 0.1 });
    await vi.advanceTimersByTimeAsync(5001);
    server.set((req) => notModified(req.headers.get("if-none-match")!));
    const background: Promise<unknown>[] = [];
    const stale = await client.getThreshold(gate, { fallback: 0.1, waitUntil: (p) => background.push(p) });
    expect(stale.reason).toBe("stale");
    expect(stale.threshold).toBe(0.42);
    expect(stale.error).toBeUndefined();
    expect(background).toHaveLength(1);
    await Promise.all(background);
    expect(server.requests[1]!.headers.get("if-none-match")).toBe('"cal_0000000001"');
    const after = await client.getThreshold(gate, { fallback: 0.1 });
    expect(after.reason).toBe("cached");
    expect(after.fetchedAt).toBe(Date.now());
    expect(server.requests).toHaveLength(2);
  });

  it("follows the server's Cache-Control max-age", async () => {
    const server = fakeServer(() => ok(thresholdBody(), { "cache-control": "private, max-age=1, stale-if-error=10" }));
    const client = makeClient(server);
    await client.getThreshold(gate, { fallback: 0.1 });
    await vi.advanceTimersByTimeAsync(1001);
    expect((await client.getThreshold(gate, { fallback: 0.1 })).reason).toBe("stale");
  });

  it("a new calibration replaces the value and is announced to subscribers", async () => {
    const server = fakeServer();
    const client = makeClient(server);
    const events: ClientEvent[] = [];
    client.subscribe((e) => events.push(e));
    await client.getThreshold(gate, { fallback: 0.1 });
    server.set(() => ok(thresholdBody("cal_0000000002", 0.5)));
    await vi.advanceTimersByTimeAsync(5001);
    const bg: Promise<unknown>[] = [];
    await client.getThreshold(gate, { fallback: 0.1, waitUntil: (p) => bg.push(p) });
    await Promise.all(bg);
    const now = await client.getThreshold(gate, { fallback: 0.1 });
    expect(now).toMatchObject({ reason: "cached", threshold: 0.5, calibrationId: "cal_0000000002" });
    expect(events.filter((e) => e.type === "calibration").map((e) => (e as any).calibrationId)).toEqual(["cal_0000000001", "cal_0000000002"]);
  });

  it("a null threshold (target 0) is served as null: keep everything", async () => {
    const client = makeClient(fakeServer(() => ok(thresholdBody("cal_0000000001", null))));
    expect(await client.getThreshold(gate, { fallback: 0.3 })).toMatchObject({ threshold: null, reason: "calibrated" });
  });
});

describe("getThreshold: failures", () => {
  it("server down: the fallback with the reason while cold, stale last-known-good once a value is held", async () => {
    const server = fakeServer(() => "network-error");
    const client = makeClient(server);
    const cold = await client.getThreshold(gate, { fallback: 0.1 });
    expect(cold).toMatchObject({ threshold: 0.1, reason: "fallback", calibrationId: null, fetchedAt: null, error: { code: "network" } });
    expect(cold.error!.message).toContain("ECONNREFUSED");

    server.set(() => ok(thresholdBody()));
    await vi.advanceTimersByTimeAsync(2000); // past the first backoff (at most 1 s)
    expect((await client.getThreshold(gate, { fallback: 0.1 })).reason).toBe("calibrated");

    server.set(() => "network-error");
    await vi.advanceTimersByTimeAsync(3600_000);
    const bg: Promise<unknown>[] = [];
    const lkg = await client.getThreshold(gate, { fallback: 0.1, waitUntil: (p) => bg.push(p) });
    expect(lkg).toMatchObject({ threshold: 0.42, reason: "stale" });
    await Promise.all(bg);
    const still = await client.getThreshold(gate, { fallback: 0.1 });
    expect(still).toMatchObject({ threshold: 0.42, reason: "stale", calibrationId: "cal_0000000001", error: { code: "network" } });
  });

  it("slow server: a cold caller waits at most timeoutMs, the request is aborted, the fallback says timeout", async () => {
    const server = fakeServer(() => "hang");
    const client = makeClient(server);
    const pending = client.getThreshold(gate, { fallback: 0.2 });
    let done = false;
    void pending.then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(2);
    expect(await pending).toMatchObject({ threshold: 0.2, reason: "fallback", error: { code: "timeout" } });
    expect(server.requests[0]!.signal!.aborted).toBe(true);
  });

  it("timeoutMs outside the timers' range is refused at construction (Infinity would fire at once and fail every request)", () => {
    const server = fakeServer();
    for (const bad of [Number.POSITIVE_INFINITY, 2 ** 31, 0, -1, Number.NaN, "2 s" as unknown as number])
      expect(() => makeClient(server, { timeoutMs: bad }), String(bad)).toThrow(/timeoutMs .* is not a number of ms from 1 to 2147483647/u);
    expect(() => makeClient(server, { timeoutMs: 2 ** 31 - 1 })).not.toThrow();
    // below 1 ms every request would end "no answer within 0.5 ms"
    expect(() => makeClient(server, { timeoutMs: 0.5 })).toThrow("ScoregateClient: timeoutMs 0.5 is not a number of ms from 1 to 2147483647");
  });

  it("the other numeric options are refused at construction unless numbers in range: an environment variable passed as a string would spin a 1 ms timer", () => {
    const server = fakeServer();
    const bad: [Record<string, unknown>, string][] = [
      [{ observations: { flushIntervalMs: "5000" } }, 'observations.flushIntervalMs "5000" is not a number from 1 to 2147483647'],
      [{ observations: { flushIntervalMs: Number.NaN } }, "observations.flushIntervalMs NaN is not a number from 1 to 2147483647"],
      [{ observations: { flushIntervalMs: 2 ** 31 } }, "observations.flushIntervalMs 2147483648 is not a number from 1 to 2147483647"],
      [{ observations: { batchSize: 0 } }, "observations.batchSize 0 is not a number of at least 1"],
      [{ observations: { maxQueued: 0 } }, "observations.maxQueued 0 is not a number of at least 1"],
      [{ observations: { maxScores: -1 } }, "observations.maxScores -1 is not a number of at least 0"],
      [{ backoff: { initialMs: Number.NaN } }, "backoff.initialMs NaN is not a number from 1 to 2147483647"],
      [{ backoff: { maxMs: "60000" } }, 'backoff.maxMs "60000" is not a number from 1 to 2147483647'],
      [{ maxGates: 0 }, "maxGates 0 is not a number of at least 1"],
      [{ maxStaleMs: -5 }, "maxStaleMs -5 is not a number of at least 0"],
      [{ fetch: "nope" }, "fetch must be a function (default: the global fetch)"],
    ];
    for (const [options, message] of bad) expect(() => makeClient(server, options), message).toThrow(new TypeError(`ScoregateClient: ${message}`));
    const good = { observations: { flushIntervalMs: 1, batchSize: 1, maxQueued: 1, maxScores: 0 }, backoff: { initialMs: 1, maxMs: 1 }, maxGates: 1 };
    expect(() => makeClient(server, { ...good, maxStaleMs: Number.POSITIVE_INFINITY })).not.toThrow();
    // null, as undefined, means the default (a configuration file's null): never refused
    const nulls = { fetch: null, maxStaleMs: null, maxGates: null, backoff: { initialMs: null, maxMs: null } };
    const observations = { flushIntervalMs: null, batchSize: null, maxQueued: null, maxScores: null };
    expect(() => makeClient(server, { ...nulls, observations } as unknown as Record<string, unknown>)).not.toThrow();
  });

  it("a network failure names its cause, as Node's fetch keeps it (ECONNREFUSED)", async () => {
    const refused = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
    });
    const client = makeClient(fakeServer(), { fetch: () => Promise.reject(refused) });
    expect(await client.getThreshold(gate, { fallback: 0.1 })).toMatchObject({
      reason: "fallback",
      error: { code: "network", message: "request failed: fetch failed (ECONNREFUSED)" },
    });
  });

  it("a network failure without a code names its cause's message (Node's fetch to a port it refuses: bad port)", async () => {
    const blocked = Object.assign(new TypeError("fetch failed"), { cause: new TypeError("bad port") });
    const client = makeClient(fakeServer(), { fetch: () => Promise.reject(blocked) });
    expect(await client.getThreshold(gate, { fallback: 0.1 })).toMatchObject({
      error: { code: "network", message: "request failed: fetch failed (bad port)" },
    });
  });

  it("a caller's own timeoutMs past the client's waits the client's; one that is not a number from 0 is read as it", async () => {
    const server = fakeServer(() => "hang");
    const client = makeClient(server);
    // Infinity would overflow the timer (it fires after 1 ms) and a string or NaN once did: all wait the client's 1,000 ms
    // null, false, "" and [] compare as 0 and "300" as 300 in JavaScript: none of them is a number, so none is a wait
    const notNumbers = [null, false, "", [], "300", "x"] as unknown as number[];
    for (const [i, own] of [Number.POSITIVE_INFINITY, 5000, Number.NaN, -5, ...notNumbers].entries()) {
      let done = false;
      const pending = client.getThreshold({ ...gate, index: `own-${i}` }, { fallback: 0.2, timeoutMs: own }).then((r) => {
        done = true;
        return r;
      });
      await vi.advanceTimersByTimeAsync(999);
      expect(done, String(own)).toBe(false);
      await vi.advanceTimersByTimeAsync(2);
      expect(await pending, String(own)).toMatchObject({ threshold: 0.2, reason: "fallback", error: { code: "timeout" } });
    }
    // 0 answers at once (on the next timer turn), long before the request's own timeout
    const now = client.getThreshold({ ...gate, index: "own-0" }, { fallback: 0.2, timeoutMs: 0 });
    await vi.advanceTimersByTimeAsync(1);
    expect(await now).toMatchObject({ reason: "fallback", error: { code: "timeout" } });
  });

  it("a fetch that ignores its abort signal still cannot hold a caller past the timeout", async () => {
    const server = fakeServer(() => "hang-ignoring-abort");
    const client = makeClient(server);
    const pending = client.getThreshold(gate, { fallback: 0.2 });
    await vi.advanceTimersByTimeAsync(1001);
    expect((await pending).reason).toBe("fallback");
  });

  it("once it holds a value it never waits on the network, even when the server hangs", async () => {
    const server = fakeServer();
    const client = makeClient(server);
    await client.getThreshold(gate, { fallback: 0.1 });
    server.set(() => "hang-ignoring-abort");
    await vi.advanceTimersByTimeAsync(6000);
    // No timer advance between the call and its answer: it must settle on the microtask queue alone.
    const r = await client.getThreshold(gate, { fallback: 0.1 });
    expect(r).toMatchObject({ reason: "stale", threshold: 0.42 });
  });

  it("404 uncalibrated: the fallback with reason uncalibrated, remembered for max-age", async () => {
    const server = fakeServer(() => error(404, "uncalibrated", { "cache-control": "private, max-age=5" }));
    const client = makeClient(server);
    const events: ClientEvent[] = [];
    client.subscribe((e) => events.push(e));
    const r = await client.getThreshold(gate, { fallback: 0.15 });
    expect(r).toMatchObject({ threshold: 0.15, reason: "uncalibrated", calibrationId: null });
    const said = { code: "uncalibrated", message: "404 uncalibrated: uncalibrated (test)", status: 404 };
    expect(r.error).toEqual(said);
    expect(await client.getThreshold(gate, { fallback: 0.15 })).toMatchObject({ reason: "uncalibrated", error: said });
    expect(server.requests).toHaveLength(1);
    expect(events).toEqual([{ type: "uncalibrated", gate, error: said }]);
    // Calibrated later: picked up at the next revalidation, without ever blocking.
    server.set(() => ok(thresholdBody()));
    await vi.advanceTimersByTimeAsync(5001);
    const bg: Promise<unknown>[] = [];
    expect((await client.getThreshold(gate, { fallback: 0.15, waitUntil: (p) => bg.push(p) })).reason).toBe("uncalibrated");
    await Promise.all(bg);
    expect((await client.getThreshold(gate, { fallback: 0.15 })).reason).toBe("cached");
  });

  it("404 uncalibrated for a typo in the gate key: the server's suggestion reaches the answer, gate() and the event, without the pointer to details", async () => {
    const message = "the gate doc / e5 / bge has no active calibration; did you mean index=docs? (see details.suggestions)";
    const body = { error: { code: "uncalibrated", message, details: { suggestions: [{ index: "docs", embedding: "e5", reranker: "bge" }] } } };
    const client = makeClient(fakeServer(() => new Response(JSON.stringify(body), { status: 404, headers: { "content-type": "application/json" } })));
    const events: ClientEvent[] = [];
    client.subscribe((e) => events.push(e));
    const typo = { ...gate, index: "doc" };
    // the pointer into the envelope's details is for curl users: a client error does not carry them
    const said = { code: "uncalibrated", message: `404 uncalibrated: ${message.replace(" (see details.suggestions)", "")}`, status: 404 };
    expect(await client.getThreshold(typo, { fallback: 0.1 })).toMatchObject({ reason: "uncalibrated", threshold: 0.1, error: said });
    expect(await client.gate([{ s: 0.05 }], { gate: typo, score: (c) => c.s, fallback: 0.1 })).toMatchObject({
      reason: "uncalibrated",
      kept: [],
      error: said,
    });
    expect(events).toEqual([{ type: "uncalibrated", gate: typo, error: said }]);
  });

  it("404 of another kind (a wrong base URL) is a failure, not uncalibrated", async () => {
    const client = makeClient(fakeServer(() => error(404, "not_found")));
    expect(await client.getThreshold(gate, { fallback: 0.15 })).toMatchObject({ reason: "fallback", error: { code: "bad_request", status: 404 } });
  });

  it("401 stops refreshing for good and says so; a held value keeps being served", async () => {
    const server = fakeServer();
    const client = makeClient(server);
    await client.getThreshold(gate, { fallback: 0.1 });
    server.set(() => error(401, "unauthorized"));
    await vi.advanceTimersByTimeAsync(5001);
    const bg: Promise<unknown>[] = [];
    await client.getThreshold(gate, { fallback: 0.1, waitUntil: (p) => bg.push(p) });
    await Promise.all(bg);
    expect(client.authError).toMatchObject({ code: "unauthorized", status: 401 });
    for (let i = 0; i < 20; i++) {
      await vi.advanceTimersByTimeAsync(600_000);
      const r = await client.getThreshold(gate, { fallback: 0.1 });
      expect(r).toMatchObject({ reason: "stale", threshold: 0.42, error: { code: "unauthorized" } });
      expect((await client.getThreshold({ ...gate, reranker: "other" }, { fallback: 0.1 })).error!.message).toContain("check the token");
    }
    expect(server.requests).toHaveLength(2);
  });

  it("403 on a cold client: the fallback with a forbidden error, and no retry", async () => {
    const server = fakeServer(() => error(403, "forbidden"));
    const client = makeClient(server);
    expect(await client.getThreshold(gate, { fallback: 0.1 })).toMatchObject({ reason: "fallback", error: { code: "forbidden" } });
    await vi.advanceTimersByTimeAsync(3600_000);
    expect((await client.getThreshold(gate, { fallback: 0.1 })).error!.code).toBe("forbidden");
    expect(server.requests).toHaveLength(1);
  });

  it("429 with Retry-After: no request before it has passed, then it comes back", async () => {
    const server = fakeServer(() => error(429, "rate_limited", { "retry-after": "30" }));
    const client = makeClient(server);
    expect(await client.getThreshold(gate, { fallback: 0.1 })).toMatchObject({
      reason: "fallback",
      error: { code: "rate_limited", retryAfterMs: 30_000 },
    });
    server.set(() => ok(thresholdBody()));
    for (let t = 0; t < 29; t++) {
      await vi.advanceTimersByTimeAsync(1000);
      expect((await client.getThreshold(gate, { fallback: 0.1 })).reason).toBe("fallback");
    }
    expect(server.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1001);
    expect((await client.getThreshold(gate, { fallback: 0.1 })).reason).toBe("calibrated");
  });

  it("a far-off Retry-After (a proxy's, a clock set wrong) holds requests back at most 10 minutes, then they come back", async () => {
    for (const far of ["31536000", new Date(Date.now() + 400 * 86_400_000).toUTCString()]) {
      const server = fakeServer(() => error(503, "unavailable", { "retry-after": far }));
      const client = makeClient(server);
      expect((await client.getThreshold(gate, { fallback: 0.1 })).error).toMatchObject({ retryAfterMs: 600_000 });
      server.set(() => ok(thresholdBody()));
      await vi.advanceTimersByTimeAsync(599_000);
      expect((await client.getThreshold(gate, { fallback: 0.1 })).reason, far).toBe("fallback");
      await vi.advanceTimersByTimeAsync(1_001);
      expect((await client.getThreshold(gate, { fallback: 0.1 })).reason, far).toBe("calibrated");
    }
  });

  it("Retry-After as an HTTP date", async () => {
    const at = new Date(Date.now() + 12_000).toUTCString();
    const client = makeClient(fakeServer(() => error(429, "rate_limited", { "retry-after": at })));
    const r = await client.getThreshold(gate, { fallback: 0.1 });
    expect(r.error!.retryAfterMs).toBeGreaterThan(11_000);
    expect(r.error!.retryAfterMs).toBeLessThanOrEqual(12_000);
  });

  it("500: exponential backoff with jitter between attempts, and it comes back", async () => {
    const server = fakeServer(() => error(500, "internal"));
    const client = makeClient(server, { backoff: { initialMs: 1000, maxMs: 8000 } });
    const attempts: number[] = [];
    const start = Date.now();
    for (let i = 0; i < 400; i++) {
      const before = server.requests.length;
      const r = await client.getThreshold(gate, { fallback: 0.1 });
      expect(r).toMatchObject({ reason: "fallback", error: { code: "server_error", status: 500 } });
      if (server.requests.length > before) attempts.push(Date.now() - start);
      await vi.advanceTimersByTimeAsync(100);
    }
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    // Delay d_k = D/2 + U*D/2 with D = min(8000, 1000 * 2^(k-1)); sampled every 100 ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(500);
    expect(gaps[0]).toBeLessThanOrEqual(1100);
    expect(gaps[1]).toBeGreaterThanOrEqual(1000);
    expect(gaps[2]).toBeGreaterThanOrEqual(2000);
    for (const g of gaps.slice(3)) {
      expect(g).toBeGreaterThanOrEqual(4000);
      expect(g).toBeLessThanOrEqual(8100);
    }
    expect(new Set(gaps.slice(3)).size).toBeGreaterThan(1); // jittered, not a fixed period
    server.set(() => ok(thresholdBody()));
    await vi.advanceTimersByTimeAsync(8100);
    expect((await client.getThreshold(gate, { fallback: 0.1 })).reason).toBe("calibrated");
  });

  it("a stale value past stale-if-error (or maxStaleMs) is dropped: callers get the fallback", async () => {
    const server = fakeServer();
    const client = makeClient(server, { maxStaleMs: 60_000 });
    await client.getThreshold(gate, { fallback: 0.1 });
    server.set(() => error(503, "internal"));
    await vi.advanceTimersByTimeAsync(30_000);
    expect((await client.getThreshold(gate, { fallback: 0.1 })).reason).toBe("stale");
    await vi.advanceTimersByTimeAsync(40_000);
    const pending = client.getThreshold(gate, { fallback: 0.1 });
    await vi.advanceTimersByTimeAsync(1001);
    expect(await pending).toMatchObject({ reason: "fallback", threshold: 0.1 });
  });

  it("a 200 without a threshold body is a failure, not a value", async () => {
    const client = makeClient(fakeServer(() => new Response("<html>proxy</html>", { status: 200 })));
    // its status, as every failure answered by the server carries one (the Python client's too)
    expect(await client.getThreshold(gate, { fallback: 0.1 })).toMatchObject({ reason: "fallback", error: { code: "bad_response", status: 200 } });
  });
});

describe("getThreshold: concurrency and cancellation", () => {
  it("an answer with a lower seq than the ETag the request sent is the server's record: it replaces the held value", async () => {
    // (A lower seq is dropped only when the newer state arrived while the request was out: stream.test.ts.)
    const server = fakeServer(() => ok(thresholdBody("cal_0000000006", 0.6), { etag: '"cal_0000000006.6"' }));
    const client = makeClient(server);
    await client.getThreshold(gate, { fallback: 0.1 });
    server.set(() => ok(thresholdBody("cal_0000000005", 0.5), { etag: '"cal_0000000005.5"' }));
    await vi.advanceTimersByTimeAsync(5001);
    await client.getThreshold(gate, { fallback: 0.1 }); // stale: revalidates in the background
    await vi.advanceTimersByTimeAsync(0);
    expect(server.requests[1]!.headers.get("if-none-match")).toBe('"cal_0000000006.6"');
    expect(await client.getThreshold(gate, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_0000000005", reason: "cached" });
  });

  it("concurrent cold callers share one request", async () => {
    let release: (r: Response) => void = () => {};
    const server = fakeServer(() => "hang");
    server.set(() => new Promise<Response>((r) => (release = r)) as unknown as Response);
    const client = makeClient(server);
    const callers = Array.from({ length: 50 }, () => client.getThreshold(gate, { fallback: 0.1 }));
    await vi.advanceTimersByTimeAsync(10);
    release(ok(thresholdBody()));
    const results = await Promise.all(callers);
    expect(server.requests).toHaveLength(1);
    expect(new Set(results.map((r) => r.reason))).toEqual(new Set(["calibrated"]));
  });

  it("concurrent stale callers start one background revalidation", async () => {
    const server = fakeServer();
    const client = makeClient(server);
    await client.getThreshold(gate, { fallback: 0.1 });
    server.set(() => "hang");
    await vi.advanceTimersByTimeAsync(5001);
    const bg: Promise<unknown>[] = [];
    const results = await Promise.all(Array.from({ length: 50 }, () => client.getThreshold(gate, { fallback: 0.1, waitUntil: (p) => bg.push(p) })));
    expect(results.every((r) => r.reason === "stale")).toBe(true);
    expect(server.requests).toHaveLength(2);
    expect(bg).toHaveLength(50);
  });

  it("a cancelled initiator leaves no waiter hanging: each waiter has its own deadline, a lost request is replaced", async () => {
    let clock = Date.now();
    const server = fakeServer(() => "hang-ignoring-abort");
    // The request's own timeout is long; the callers' deadlines are short: waiters must not depend on the request.
    const client = makeClient(server, { timeoutMs: 60_000, now: () => clock });
    const initiator = new AbortController();
    const first = client.getThreshold(gate, { fallback: 0.1, signal: initiator.signal });
    const waiter = client.getThreshold(gate, { fallback: 0.1, timeoutMs: 200 });
    initiator.abort();
    expect(await first).toMatchObject({ reason: "fallback", error: { code: "aborted" } });
    await vi.advanceTimersByTimeAsync(201);
    expect(await waiter).toMatchObject({ reason: "fallback", error: { code: "timeout" } });
    expect(server.requests).toHaveLength(1);

    // In workerd a cancelled request's promise and timers may never settle or fire: the clock moves on without
    // the request's timer. A request older than its own timeout is treated as lost and a new one starts.
    server.set(() => ok(thresholdBody()));
    clock += 62_000;
    const later = await client.getThreshold(gate, { fallback: 0.1, timeoutMs: 200 });
    expect(later.reason).toBe("calibrated");
    expect(server.requests).toHaveLength(2);
  });

  it("an already aborted signal answers at once", async () => {
    const client = makeClient(fakeServer(() => "hang"));
    const r = await client.getThreshold(gate, { fallback: 0.1, signal: AbortSignal.abort() });
    expect(r).toMatchObject({ reason: "fallback", error: { code: "aborted" } });
  });
});

describe("bootstrap snapshots", () => {
  it("serves the snapshot as stale until the server answers, revalidating with its ETag", async () => {
    const server = fakeServer();
    const first = makeClient(server);
    await first.getThreshold(gate, { fallback: 0.1 });
    const saved = JSON.parse(JSON.stringify(snapshot(first)));
    expect(saved.entries).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(7 * 86_400_000); // a week-old snapshot
    const server2 = fakeServer((req) => notModified(req.headers.get("if-none-match")!));
    const cold = makeClient(server2);
    restore(cold, saved);
    const bg: Promise<unknown>[] = [];
    const r = await cold.getThreshold(gate, { fallback: 0.1, waitUntil: (p) => bg.push(p) });
    expect(r).toMatchObject({ reason: "stale", threshold: 0.42, calibrationId: "cal_0000000001" });
    await Promise.all(bg);
    expect(server2.requests[0]!.headers.get("if-none-match")).toBe('"cal_0000000001"');
    expect((await cold.getThreshold(gate, { fallback: 0.1 })).reason).toBe("cached");
  });

  it("a snapshot restored while the first request is out never outranks the server's answer, even one of a lower seq", async () => {
    let answer!: (r: Response) => void;
    const fetchFn = (() =>
      new Promise<Response>((r) => {
        answer = r;
      })) as typeof fetch;
    const client = new ScoregateClient({ baseUrl: BASE, token: "read-token", fetch: fetchFn, random: () => 0.5 });
    const first = client.getThreshold(gate, { fallback: 0.1 });
    await vi.advanceTimersByTimeAsync(0);
    const saved = { gate, response: thresholdBody("cal_0000000005", 0.5), etag: '"cal_0000000005.5"', fetchedAt: Date.now() };
    restore(client, { version: 1, savedAt: Date.now(), entries: [saved] });
    answer(ok(thresholdBody("cal_0000000003", 0.3), { etag: '"cal_0000000003.3"' }));
    expect(await first).toMatchObject({ calibrationId: "cal_0000000003", threshold: 0.3, reason: "calibrated" });
    expect(await client.getThreshold(gate, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_0000000003", reason: "cached" });
  });

  it("with the server down the snapshot keeps answering; it never overrides a fresher server value", async () => {
    const saved = {
      version: 1 as const,
      savedAt: Date.now(),
      entries: [{ gate, response: thresholdBody("cal_000000000a", 0.9), etag: '"cal_000000000a"', fetchedAt: Date.now() }],
    };
    const server = fakeServer(() => "network-error");
    const client = makeClient(server);
    restore(client, saved);
    const bg: Promise<unknown>[] = [];
    await client.getThreshold(gate, { fallback: 0.1, waitUntil: (p) => bg.push(p) });
    await Promise.all(bg);
    expect(await client.getThreshold(gate, { fallback: 0.1 })).toMatchObject({ reason: "stale", threshold: 0.9, error: { code: "network" } });

    server.set(() => ok(thresholdBody("cal_000000000b", 0.5)));
    await vi.advanceTimersByTimeAsync(2000);
    await client.getThreshold(gate, { fallback: 0.1, waitUntil: (p) => bg.push(p) });
    await Promise.all(bg);
    restore(client, saved);
    expect(await client.getThreshold(gate, { fallback: 0.1 })).toMatchObject({ reason: "cached", threshold: 0.5 });
  });

  it("saveSnapshot / loadSnapshot round-trip through a file; a missing file is a cold start", async () => {
    const dir = await mkdtemp(join(tmpdir(), "scoregate-client-"));
    try {
      const client = makeClient(fakeServer());
      await client.getThreshold(gate, { fallback: 0.1 });
      const path = join(dir, "thresholds.json");
      await saveSnapshot(client, path);
      expect(JSON.parse(await readFile(path, "utf8")).entries[0].response.calibration_id).toBe("cal_0000000001");
      const loaded = await loadSnapshot(path);
      const cold = makeClient(fakeServer(() => "network-error"));
      restore(cold, loaded);
      expect((await cold.getThreshold(gate, { fallback: 0.1 })).threshold).toBe(0.42);
      expect(await loadSnapshot(join(dir, "missing.json"))).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("ignores malformed snapshots", () => {
    const client = makeClient(fakeServer());
    restore(client, { version: 2 } as any);
    restore(client, { version: 1, savedAt: 0, entries: [{ gate, response: { nope: true }, etag: null, fetchedAt: 0 }] } as any);
    restore(client, undefined); // what loadSnapshot answers for a missing file
    expect(snapshot(client).entries).toEqual([]);
  });

  it("a restore keeps at most maxGates gates, the snapshot's last ones", () => {
    const client = makeClient(fakeServer(), { maxGates: 2 });
    const entries = ["a", "b", "c"].map((r) => ({
      gate: { ...gate, reranker: r },
      response: thresholdBody("cal_0000000001", 0.42),
      etag: null,
      fetchedAt: 0,
    }));
    restore(client, { version: 1, savedAt: 0, entries });
    expect(snapshot(client).entries.map((e) => e.gate.reranker)).toEqual(["b", "c"]);
  });
});

describe("construction", () => {
  it("does nothing until the first call (no fetch, no timer)", () => {
    const server = fakeServer();
    makeClient(server);
    expect(server.requests).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("requires a base URL and a token", () => {
    expect(() => new ScoregateClient({ baseUrl: "", token: "t" })).toThrow(/baseUrl/);
    expect(() => new ScoregateClient({ baseUrl: BASE, token: "" })).toThrow(/token/);
  });

  it("keeps at most maxGates gates", async () => {
    const client = makeClient(fakeServer(), { maxGates: 2 });
    for (const r of ["a", "b", "c"]) await client.getThreshold({ ...gate, reranker: r }, { fallback: 0.1 });
    expect(snapshot(client).entries.map((e) => e.gate.reranker)).toEqual(["b", "c"]);
  });
});
