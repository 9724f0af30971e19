// gate() and observation batching: what is kept, what is reported, batch ids across retries, bounded memory.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_OBSERVATION_QUERIES, ObservationBatch, ROUTES } from "../../../src/contract";
import { type ClientEvent, type Observation, ScoregateClient } from "../src";
import { createRng, error, fakeServer, ok, type Recorded, type Reply, thresholdBody } from "./fake-server";

const gate = { index: "docs", embedding: "e5", reranker: "bge" };

function accepted(): Response {
  return new Response(JSON.stringify({ accepted: true, duplicate: false }), { status: 202, headers: { "content-type": "application/json" } });
}

function serverWith(observations: (req: Recorded) => Reply, threshold: number | null = 0.5) {
  return fakeServer((req) => (req.url.pathname === "/v1/observations" ? observations(req) : ok(thresholdBody("cal_0000000001", threshold))));
}

function makeClient(server: ReturnType<typeof fakeServer>, observations: ConstructorParameters<typeof ScoregateClient>[0]["observations"] = {}) {
  const rng = createRng(11);
  return new ScoregateClient({ baseUrl: "https://scoregate.test", token: "read-token", fetch: server.fetch, random: () => rng.next(), observations });
}

interface Candidate {
  id: number;
  score?: number;
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-06-01T00:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("gate()", () => {
  it("keeps score >= threshold (ties kept) over 100 candidates and names the calibration", async () => {
    const server = serverWith(() => accepted());
    const client = makeClient(server);
    const rng = createRng(3);
    const candidates: Candidate[] = Array.from({ length: 100 }, (_, id) => ({ id, score: rng.next() }));
    candidates.push({ id: 100, score: 0.5 });
    const r = await client.gate(candidates, { gate, score: (c) => c.score, fallback: 0.1 });
    expect(r.threshold).toBe(0.5);
    expect(r.calibrationId).toBe("cal_0000000001");
    expect(r.reason).toBe("calibrated");
    expect(r.kept.length + r.dropped.length).toBe(101);
    expect(r.kept.every((c) => c.score! >= 0.5)).toBe(true);
    expect(r.dropped.every((c) => c.score! < 0.5)).toBe(true);
    expect(r.kept.some((c) => c.id === 100)).toBe(true);
    // Order is preserved.
    expect(r.kept.map((c) => c.id)).toEqual([...r.kept.map((c) => c.id)].sort((a, b) => a - b));
  });

  it("a score of exactly 0 is a score: kept at threshold 0, dropped above", async () => {
    const client = makeClient(serverWith(() => accepted(), 0));
    const r = await client.gate(
      [
        { id: 1, score: 0 },
        { id: 2, score: -0.1 },
      ],
      { gate, score: (c: Candidate) => c.score, fallback: 0.1 },
    );
    expect(r.kept.map((c) => c.id)).toEqual([1]);
  });

  it("a null threshold keeps everything; unscored candidates are kept by default or dropped on request", async () => {
    const c: Candidate[] = [{ id: 1, score: 0.9 }, { id: 2 }, { id: 3, score: Number.NaN }, { id: 4, score: 0.1 }];
    const keepAll = makeClient(serverWith(() => accepted(), null));
    expect((await keepAll.gate(c, { gate, score: (x) => x.score, fallback: 0.1, unscored: "drop" })).kept).toHaveLength(4);
    const client = makeClient(serverWith(() => accepted(), 0.5));
    const kept = await client.gate(c, { gate, score: (x) => x.score, fallback: 0.1 });
    expect(kept.kept.map((x) => x.id)).toEqual([1, 2, 3]);
    expect(kept.unscored).toBe(2);
    const dropped = await client.gate(c, { gate, score: (x) => x.score, fallback: 0.1, unscored: "drop" });
    expect(dropped.kept.map((x) => x.id)).toEqual([1]);
  });

  it("reports the counts under the calibration that decided; a fallback is not reported", async () => {
    const server = serverWith(() => accepted());
    const client = makeClient(server);
    await client.gate(
      [
        { id: 1, score: 0.9 },
        { id: 2, score: 0.1 },
        { id: 3, score: 0.2 },
      ],
      { gate, score: (c: Candidate) => c.score, fallback: 0.1, reportScores: true },
    );
    const down = makeClient(fakeServer(() => "network-error"));
    const fb = await down.gate([{ id: 1, score: 0.05 }], { gate, score: (c: Candidate) => c.score, fallback: 0.1 });
    expect(fb).toMatchObject({ reason: "fallback", threshold: 0.1, calibrationId: null });
    expect(fb.dropped).toHaveLength(1);
    expect(down.observationStats().queued).toBe(0);

    await client.flush();
    const [post] = server.observationRequests();
    expect(post!.method).toBe(ROUTES.postObservations.method.toUpperCase());
    expect(post!.url.pathname).toBe(ROUTES.postObservations.path);
    expect(ObservationBatch.safeParse(post!.body).success).toBe(true);
    expect(post!.body).toMatchObject({ calibration_id: "cal_0000000001", queries: [[3, 2]], scores: [0.9, 0.1, 0.2] });
    expect(post!.body.index).toBeUndefined();
  });
});

describe("gate(): a score function that throws", () => {
  it("leaves its candidate unscored (kept by default, dropped on request); gate() never rejects", async () => {
    const client = makeClient(serverWith(() => accepted()));
    const candidates = [{ id: 1, meta: { score: 0.9 } }, { id: 2 }, { id: 3, meta: { score: 0.1 } }] as { id: number; meta: { score: number } }[];
    const score = (c: { meta: { score: number } }) => c.meta.score; // throws a TypeError for id 2
    const kept = await client.gate(candidates, { gate, score, fallback: 0.1 });
    expect(kept.kept.map((c) => c.id)).toEqual([1, 2]);
    expect(kept.unscored).toBe(1);
    const dropped = await client.gate(candidates, { gate, score, fallback: 0.1, unscored: "drop" });
    expect(dropped.kept.map((c) => c.id)).toEqual([1]);
    expect(dropped.dropped.map((c) => c.id)).toEqual([2, 3]);
  });
});

describe("observation batching", () => {
  it("sends one batch per calibration when the interval has passed (timer), with unique batch ids", async () => {
    const server = serverWith(() => accepted());
    const client = makeClient(server, { flushIntervalMs: 5000 });
    client.report({ calibrationId: "cal_0000000001", candidates: 20, dropped: 5 });
    client.report({ calibrationId: "cal_0000000001", candidates: 20, dropped: 6 });
    client.report({ gate, candidates: 10, dropped: 1 });
    expect(server.observationRequests()).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(5001);
    const posts = server.observationRequests();
    expect(posts).toHaveLength(2);
    expect(posts[0]!.body).toMatchObject({
      calibration_id: "cal_0000000001",
      queries: [
        [20, 5],
        [20, 6],
      ],
    });
    expect(posts[1]!.body).toMatchObject({ index: "docs", embedding: "e5", reranker: "bge", queries: [[10, 1]] });
    for (const p of posts) expect(ObservationBatch.safeParse(p.body).success).toBe(true);
    expect(posts[0]!.body.batch_id).not.toBe(posts[1]!.body.batch_id);
    expect(client.observationStats()).toMatchObject({ queued: 0, sent: 3 });
  });

  it("a full batch is sent from report() through the caller's waitUntil (Workers: no timer)", async () => {
    const server = serverWith(() => accepted());
    const client = makeClient(server, { batchSize: 3, timer: false });
    const bg: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) client.report({ calibrationId: "cal_0000000001", candidates: 10, dropped: i }, { waitUntil: (p) => bg.push(p) });
    expect(bg).toHaveLength(1);
    await Promise.all(bg);
    expect(server.observationRequests()[0]!.body.queries).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("caps batch size at MAX_OBSERVATION_QUERIES", async () => {
    const server = serverWith(() => accepted());
    const client = makeClient(server, { batchSize: 1e9, maxQueued: 25_000 });
    for (let i = 0; i < MAX_OBSERVATION_QUERIES + 5; i++) client.report({ calibrationId: "cal_0000000001", candidates: 2, dropped: 1 });
    await client.flush();
    const sizes = server.observationRequests().map((r) => r.body.queries.length);
    expect(sizes).toEqual([MAX_OBSERVATION_QUERIES, 5]);
  });

  it("a failed batch keeps its batch id across retries (the server counts it once), with backoff and Retry-After", async () => {
    let replies: Reply[] = ["network-error", error(500, "internal"), error(429, "rate_limited", { "retry-after": "20" })];
    const server = serverWith(() => replies.shift() ?? accepted());
    const client = makeClient(server, { flushIntervalMs: 1000 });
    client.report({ calibrationId: "cal_0000000001", candidates: 20, dropped: 5 });
    await vi.advanceTimersByTimeAsync(1001);
    expect(server.observationRequests()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000); // first backoff: 0.5-1 s
    expect(server.observationRequests()).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2000); // second: 1-2 s
    expect(server.observationRequests()).toHaveLength(3);
    expect(client.observationStats().lastError).toMatchObject({ code: "rate_limited", retryAfterMs: 20_000 });
    await vi.advanceTimersByTimeAsync(19_000);
    expect(server.observationRequests()).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1001);
    const posts = server.observationRequests();
    expect(posts).toHaveLength(4);
    expect(new Set(posts.map((p) => p.body.batch_id)).size).toBe(1);
    expect(client.observationStats()).toMatchObject({ queued: 0, sent: 1 });
    replies = [];
  });

  it("bounded memory: past maxQueued the oldest queries are dropped and counted", async () => {
    const server = serverWith(() => "network-error");
    const client = makeClient(server, { maxQueued: 100, batchSize: 40, timer: false });
    for (let i = 0; i < 1000; i++) client.report({ calibrationId: "cal_0000000001", candidates: 20, dropped: i % 20 });
    // 100 waiting plus the first full batch (40), whose request was under way during the loop.
    expect(client.observationStats()).toMatchObject({ queued: 140, droppedForMemory: 860 });
    const failedAttempts = server.observationRequests().length;
    server.set(() => accepted());
    await client.flush();
    const sent = server.observationRequests().slice(failedAttempts);
    const all = sent.flatMap((r) => r.body.queries as number[][]);
    // The first batch and the newest 100 survive.
    expect(all.slice(-1)[0]).toEqual([20, 999 % 20]);
    expect(all).toHaveLength(140);
    expect(client.observationStats()).toMatchObject({ queued: 0, sent: 140, droppedForMemory: 860 });
  });

  it("the batch being sent is never trimmed: the bound applies to what waits besides it", async () => {
    let release: (r: Response) => void = () => {};
    const server = serverWith(() => new Promise<Response>((r) => (release = r)) as unknown as Response);
    const client = makeClient(server, { maxQueued: 10, batchSize: 10, timer: false });
    const bg: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) client.report({ calibrationId: "cal_0000000001", candidates: 10, dropped: 1 }, { waitUntil: (p) => bg.push(p) });
    await vi.advanceTimersByTimeAsync(0);
    expect(server.observationRequests()).toHaveLength(1);
    for (let i = 0; i < 15; i++) client.report({ calibrationId: "cal_0000000001", candidates: 10, dropped: 2 });
    expect(client.observationStats()).toMatchObject({ queued: 20, droppedForMemory: 5 });
    release(accepted());
    await Promise.all(bg);
    expect(client.observationStats()).toMatchObject({ sent: 10, queued: 10, droppedForMemory: 5 });
  });

  it("a batch trimmed for memory keeps its score sample: the server samples scores, not queries", async () => {
    // POST /v1/observations feeds `scores` into a reservoir of the gate's production scores, never paired with the
    // batch's queries (src/monitoring/window.ts, addBatch): the scores seen stay a true sample when old counts go.
    const server = serverWith(() => accepted());
    const client = makeClient(server, { maxQueued: 2, timer: false });
    for (let i = 0; i < 4; i++) client.report({ calibrationId: "cal_0000000001", candidates: 10, dropped: i, scores: [(i + 1) / 10] });
    expect(client.observationStats()).toMatchObject({ queued: 2, droppedForMemory: 2 });
    await client.flush();
    expect(server.observationRequests()[0]!.body).toMatchObject({
      queries: [
        [10, 2],
        [10, 3],
      ],
      scores: [0.1, 0.2, 0.3, 0.4],
    });
  });

  it("the score sample is bounded too (newest kept)", async () => {
    const server = serverWith(() => accepted());
    const client = makeClient(server, { maxScores: 5 });
    client.report({ calibrationId: "cal_0000000001", candidates: 3, dropped: 1, scores: [0.1, 0.2, 0.3] });
    client.report({ calibrationId: "cal_0000000001", candidates: 3, dropped: 1, scores: [0.4, 0.5, 0.6] });
    await client.flush();
    expect(server.observationRequests()[0]!.body.scores).toEqual([0.2, 0.3, 0.4, 0.5, 0.6]);
  });

  it("a refused batch (422) is dropped and counted, not retried; a 401 stops reporting", async () => {
    const server = serverWith(() => error(422, "invalid_input"));
    const client = makeClient(server);
    client.report({ calibrationId: "cal_0000000001", candidates: 3, dropped: 1 });
    await client.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.observationRequests()).toHaveLength(1);
    expect(client.observationStats()).toMatchObject({ rejected: 1, queued: 0 });

    server.set(() => error(401, "unauthorized"));
    client.report({ calibrationId: "cal_0000000001", candidates: 3, dropped: 1 });
    await client.flush();
    expect(client.authError).toMatchObject({ code: "unauthorized" });
    client.report({ calibrationId: "cal_0000000001", candidates: 3, dropped: 1 });
    await vi.advanceTimersByTimeAsync(600_000);
    expect(server.observationRequests()).toHaveLength(2);
    expect(client.observationStats()).toMatchObject({ rejected: 2, ignored: 1, queued: 0 });
  });

  it("invalid reports are ignored and counted, never thrown, each announced as a report_ignored event saying why", async () => {
    const client = makeClient(serverWith(() => accepted()));
    const events: ClientEvent[] = [];
    client.subscribe((e) => events.push(e));
    client.report({ calibrationId: "cal_0000000001", candidates: 3, dropped: 4 });
    client.report({ calibrationId: "cal_0000000001", candidates: -1, dropped: 0 });
    client.report({ candidates: 3, dropped: 1 });
    // from JavaScript: the counts as strings, `kept` in place of `dropped`
    client.report({ calibrationId: "cal_0000000001", candidates: "20", dropped: "5" } as unknown as Observation);
    client.report({ calibrationId: "cal_0000000001", candidates: 10, kept: 8 } as unknown as Observation);
    expect(client.observationStats()).toMatchObject({ ignored: 5, queued: 0 });
    const counts = "counts: whole numbers, dropped and below <= candidates";
    expect(events).toEqual([counts, counts, "no calibrationId or gate", counts, counts].map((reason) => ({ type: "report_ignored", reason })));
    await client.close();
    client.report({ calibrationId: "cal_0000000001", candidates: 3, dropped: 1 });
    expect(events.at(-1)).toEqual({ type: "report_ignored", reason: "closed" });
  });

  it("report(undefined) or report(null) from JavaScript is ignored, not thrown; a fallback result's null id is not reported under the gate", async () => {
    const server = serverWith(() => accepted());
    const client = makeClient(server);
    const reasons: string[] = [];
    client.subscribe((e) => e.type === "report_ignored" && reasons.push(e.reason));
    expect(() => client.report(undefined as unknown as Observation)).not.toThrow();
    expect(() => client.report(null as unknown as Observation)).not.toThrow();
    // counts made at the caller's fallback (t.calibrationId null) would reach the live calibration's monitor
    client.report({ gate, calibrationId: null, candidates: 3, dropped: 1 });
    // left out, the gate names where the counts go
    client.report({ gate, candidates: 3, dropped: 1 });
    expect(reasons).toEqual(["no calibrationId or gate", "no calibrationId or gate", "calibrationId null: a fallback's counts"]);
    await client.flush();
    expect(server.observationRequests().map((r) => r.body.queries)).toEqual([[[3, 1]]]);
  });

  it("a promotion claim the server would refuse is ignored saying why; null is no claim; a valid one is sent as {id, step, arm}", async () => {
    const server = serverWith(() => accepted());
    const client = makeClient(server);
    const reasons: string[] = [];
    client.subscribe((e) => e.type === "report_ignored" && reasons.push(e.reason));
    const query = { calibrationId: "cal_0000000002", candidates: 3, dropped: 1 };
    const valid = { id: "prm_0000000001", step: 1, arm: "candidate" as const };
    for (const promotion of ["prm_0000000001", {}, { ...valid, id: "" }, { ...valid, step: -1 }, { ...valid, step: 0.5 }, { ...valid, arm: "x" }])
      expect(() => client.report({ ...query, promotion: promotion as never })).not.toThrow();
    client.report({ ...query, promotion: valid, role: "shadow" }); // a shadow's queries are no promotion's
    expect(reasons).toEqual(Array(7).fill("promotion: the {id, step, arm} of the answer"));
    client.report({ ...query, promotion: null as never });
    client.report({ ...query, promotion: { ...valid, extra: 1 } as never });
    await client.flush();
    expect(server.observationRequests().map((r) => [r.body.promotion, r.body.queries])).toEqual(
      expect.arrayContaining([
        [undefined, [[3, 1]]],
        [valid, [[3, 1]]],
      ]),
    );
  });

  it("a query over 10,000 candidates: gate() answers it, and its report is ignored saying why", async () => {
    const server = serverWith(() => accepted());
    const client = makeClient(server);
    const reasons: string[] = [];
    client.subscribe((e) => e.type === "report_ignored" && reasons.push(e.reason));
    const many = Array.from({ length: 10_001 }, (_, i) => i / 10_001);
    const r = await client.gate(many, { gate, score: (s) => s, fallback: 0.1 });
    expect(r.kept.length + r.dropped.length).toBe(10_001);
    client.report({ calibrationId: "cal_0000000001", candidates: 20_000, dropped: 1 });
    expect(reasons).toEqual(["over 10000 candidates", "over 10000 candidates"]);
    await client.flush();
    expect(server.observationRequests()).toHaveLength(0);
  });

  it("a report's unscored count: sent as the fifth count when above 0, ignored when invalid or over the per-query cap", async () => {
    const server = serverWith(() => accepted());
    const client = makeClient(server);
    client.report({ calibrationId: "cal_0000000001", candidates: 14, dropped: 4, unscored: 6 }); // below defaults to dropped
    client.report({ calibrationId: "cal_0000000001", candidates: 0, dropped: 0, below: 0, abstained: false, unscored: 20 });
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 1, unscored: 0 }); // nothing unscored: the pair
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 1, unscored: -1 });
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 1, unscored: 1.5 });
    client.report({ calibrationId: "cal_0000000001", candidates: 9_995, dropped: 1, unscored: 6 });
    expect(client.observationStats()).toMatchObject({ ignored: 3, queued: 3 });
    await client.flush();
    expect(server.observationRequests()[0]!.body.queries).toEqual([
      [14, 4, 4, 0, 6],
      [0, 0, 0, 0, 20],
      [5, 1],
    ]);
  });

  it("close() flushes what is queued and ignores later reports; no timer is left", async () => {
    const server = serverWith(() => accepted());
    const client = makeClient(server);
    client.report({ calibrationId: "cal_0000000001", candidates: 3, dropped: 1 });
    const r = await client.close();
    expect(r).toMatchObject({ sentBatches: 1, failedBatches: 0 });
    client.report({ calibrationId: "cal_0000000001", candidates: 3, dropped: 1 });
    expect(client.observationStats()).toMatchObject({ sent: 1, ignored: 1, queued: 0 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a batch sealed while another is on the wire is sent by the timer once that send ends (batchSize 1)", async () => {
    const releases: ((r: Response) => void)[] = [];
    const server = serverWith(() => new Promise<Response>((r) => releases.push(r)) as unknown as Response);
    const client = makeClient(server, { batchSize: 1 });
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 1 });
    await vi.advanceTimersByTimeAsync(0);
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 2 }); // sealed while the first is sent
    expect(server.observationRequests()).toHaveLength(1);
    releases[0]!(accepted());
    await vi.advanceTimersByTimeAsync(10); // no further report() or flush()
    expect(server.observationRequests().map((r) => r.body.queries)).toEqual([[[5, 1]], [[5, 2]]]);
    releases[1]!(accepted());
    await vi.advanceTimersByTimeAsync(0);
    expect(client.observationStats()).toMatchObject({ sent: 2, queued: 0 });
  });

  it("a batch POST that never settles (a Worker's ended request) is given up after timeoutMs + 1 s, then retried with its batch id", async () => {
    // Neither the request nor its deadline timer ever settles (fake timers are not advanced): only the clock moves.
    let clock = Date.now();
    let lateAnswer: (r: Response) => void = () => {};
    const server = serverWith(() => new Promise<Response>((r) => (lateAnswer = r)) as unknown as Response);
    const client = new ScoregateClient({
      baseUrl: "https://scoregate.test",
      token: "read-token",
      fetch: server.fetch,
      now: () => clock,
      timeoutMs: 2000,
      observations: { timer: false, batchSize: 1 },
    });
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 1 });
    expect(server.observationRequests()).toHaveLength(1);
    server.set(() => accepted());
    clock += 3000; // within timeoutMs + 1 s: still in flight (single flight), nothing else is sent
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 2 });
    expect(server.observationRequests()).toHaveLength(1);
    clock += 1; // past it: the request is lost, and flush() no longer waits for it
    const r = await client.flush();
    const sent = server.observationRequests();
    expect(sent.map((q) => q.body.queries)).toEqual([[[5, 1]], [[5, 1]], [[5, 2]]]);
    expect(sent[1]!.body.batch_id).toBe(sent[0]!.body.batch_id);
    expect(r).toMatchObject({ sentBatches: 2, stats: { queued: 0, sent: 2 } });
    // Should the lost request answer after all, its batch is not counted twice.
    lateAnswer(accepted());
    await vi.advanceTimersByTimeAsync(0);
    expect(client.observationStats()).toMatchObject({ queued: 0, sent: 2 });
  });

  /**
   * close() over three gates' batches whose POSTs each fail after `delay` ms of the (fake) clock: a network error (a
   * stale connection when fast, a proxy cutting a slow upstream when slow) or a 503 (a proxy waiting on its upstream).
   */
  const closeFailing = async (delay: number, failure: "network" | "503") => {
    let posts = 0;
    const fetchFn = (async (input: RequestInfo | URL) => {
      if (new URL(String(input)).pathname !== "/v1/observations") return ok(thresholdBody("cal_0000000001", 0.5));
      posts++;
      vi.setSystemTime(Date.now() + delay);
      if (failure === "network") throw new TypeError("fetch failed", { cause: { code: "ECONNRESET" } });
      return new Response(JSON.stringify({ error: { code: "unavailable", message: "upstream timed out" } }), { status: 503 });
    }) as typeof fetch;
    const client = new ScoregateClient({
      baseUrl: "https://scoregate.test",
      token: "t",
      fetch: fetchFn,
      timeoutMs: 1000,
      observations: { timer: false },
    });
    for (const id of ["cal_0000000001", "cal_0000000002", "cal_0000000003"]) client.report({ calibrationId: id, candidates: 5, dropped: 1 });
    const result = await client.close();
    return { posts, failed: result.failedBatches, queued: result.stats.queued };
  };

  it("close() goes on past one fast network error, not past a slow one (half the timeout or more) nor a second in a row", async () => {
    // fast: the first error may be a stale keep-alive connection, the second in a row says the server is unreachable
    expect(await closeFailing(10, "network")).toEqual({ posts: 2, failed: 2, queued: 3 });
    // slow: the error took 600 of the 1,000 ms; the next would take as long, so close() waits no second one
    expect(await closeFailing(600, "network")).toEqual({ posts: 1, failed: 1, queued: 3 });
  });

  it("close() goes on past a fast 5xx, not past one that took half the timeout or more (a proxy waiting on a slow upstream)", async () => {
    // fast: each gate's monitor is another object, so one 503 says little about the next batch
    expect(await closeFailing(10, "503")).toEqual({ posts: 3, failed: 3, queued: 3 });
    // slow: 600 of the 1,000 ms each; close() would wait about a timeout per batch
    expect(await closeFailing(600, "503")).toEqual({ posts: 1, failed: 1, queued: 3 });
  });

  it("close() during a send that then times out waits that one timeout: it sends nothing more (not the same batch again)", async () => {
    const server = serverWith(() => "hang");
    const client = new ScoregateClient({
      baseUrl: "https://scoregate.test",
      token: "t",
      fetch: server.fetch,
      timeoutMs: 1000,
      observations: { flushIntervalMs: 1000 },
    });
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 1 });
    client.report({ calibrationId: "cal_0000000002", candidates: 5, dropped: 1 });
    await vi.advanceTimersByTimeAsync(1100); // the timer's send is on the wire, 100 ms in
    expect(server.observationRequests()).toHaveLength(1);
    const started = Date.now();
    let done: Awaited<ReturnType<ScoregateClient["close"]>> | undefined;
    void client.close().then((r) => (done = r));
    await vi.advanceTimersByTimeAsync(900); // the send's timeout
    expect(done).toMatchObject({ sentBatches: 0, failedBatches: 0, stats: { queued: 2 } });
    expect(Date.now() - started).toBe(900);
    expect(server.observationRequests()).toHaveLength(1);
  });

  it("a report made while close() flushes is ignored as closed, never left queued after it", async () => {
    const server = serverWith(() => accepted());
    const client = new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } });
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 1 });
    const closing = client.close();
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 2 }); // while the flush is on the wire
    const r = await closing;
    expect(r.stats).toMatchObject({ queued: 0, sent: 1, ignored: 1 });
    expect(client.observationStats()).toMatchObject({ queued: 0 });
  });

  it("close() during a send that succeeds still sends the rest", async () => {
    const server = serverWith(() => accepted());
    const client = new ScoregateClient({
      baseUrl: "https://scoregate.test",
      token: "t",
      fetch: server.fetch,
      timeoutMs: 1000,
      observations: { flushIntervalMs: 1000, batchSize: 1 },
    });
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 1 }); // a full batch: sent at once
    client.report({ calibrationId: "cal_0000000002", candidates: 5, dropped: 1 }); // sealed while the first is out
    expect(server.observationRequests()).toHaveLength(1);
    expect(await client.close()).toMatchObject({ sentBatches: 1, stats: { queued: 0, sent: 2 } });
    expect(server.observationRequests()).toHaveLength(2);
  });

  it("flush() while the server is down keeps the batches for later", async () => {
    const server = serverWith(() => "network-error");
    const client = makeClient(server, { timer: false });
    client.report({ calibrationId: "cal_0000000001", candidates: 3, dropped: 1 });
    expect(await client.flush()).toMatchObject({ sentBatches: 0, failedBatches: 1, stats: { queued: 1 } });
    server.set(() => accepted());
    expect(await client.flush()).toMatchObject({ sentBatches: 1, stats: { queued: 0, sent: 1 } });
  });
});
