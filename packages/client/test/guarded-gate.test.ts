// The shared guarded-gate vectors (fixtures/guarded-gate.json, format in fixtures/guarded-gate.md) through the SDK's
// gate(): a scripted server serves each case's policy, gate() must keep, drop, abstain and report as `expected` says.
// The Python client runs the same file (python/tests/test_guarded_gate.py).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ObservationBatch } from "../../../src/contract";
import type { ThresholdResponse } from "../../../src/contract/wire-types";
import { decodeScore as decode, guardedGateVectors as fixture } from "../../../test/support/guarded-gate-vectors";
import { decideQuery, type Observation, ScoregateClient } from "../src";
import { restore, snapshot } from "../src/snapshot";
import { fakeServer, ok, thresholdBody } from "./fake-server";

const gate = { index: "docs", embedding: "e5", reranker: "bge" };

function clientServing(body: unknown) {
  const server = fakeServer(() => ok(body as ThresholdResponse));
  const client = new ScoregateClient({ baseUrl: "https://scoregate.test", token: "read-token", fetch: server.fetch, observations: { timer: false } });
  const reported: Observation[] = [];
  vi.spyOn(client, "report").mockImplementation((o) => void reported.push(o));
  return { client, server, reported };
}

/** The query's counts as the reporter sends them (packages/client/src/observations.ts), from one observation. */
async function queryCountsOf(o: Observation): Promise<unknown> {
  const server = fakeServer(() => new Response(JSON.stringify({ accepted: true }), { status: 202 }));
  const client = new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } });
  client.report(o);
  await client.flush();
  return server.observationRequests()[0]?.body.queries[0];
}

interface Candidate {
  i: number;
  score: number | null;
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-06-01T00:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("guarded gate vectors (fixtures/guarded-gate.json) through gate()", () => {
  it("has cases covering every clause", () => {
    expect(fixture.version).toBe(1);
    expect(fixture.cases.length).toBeGreaterThan(50);
    expect(fixture.cases.some((c) => c.expected.abstain)).toBe(true);
    expect(fixture.cases.some((c) => c.unscored === "drop")).toBe(true);
  });

  for (const c of fixture.cases) {
    it(c.name, async () => {
      const p = c.policy;
      const { client, reported } = clientServing(
        thresholdBody("cal_0000000001", p.threshold, { guards: { min_keep: p.min_keep, max_keep: p.max_keep }, abstain_below: p.abstain_below }),
      );
      const candidates: Candidate[] = c.scores.map((s, i) => ({ i, score: decode(s) }));
      const r = await client.gate(candidates, { gate, score: (x) => x.score, fallback: 0.99, unscored: c.unscored });
      expect(r.reason).toBe("calibrated");
      expect(r.kept.map((x) => x.i)).toEqual(c.expected.kept);
      expect(r.dropped.map((x) => x.i)).toEqual(c.expected.dropped);
      expect(r.abstain).toBe(c.expected.abstain);
      expect(r.abstainReason !== undefined).toBe(c.expected.abstain);
      // What the observation carries: the candidate gate's drops before abstention and, for a guarded or abstaining
      // calibration, what the threshold alone would drop and whether the query abstained; with unscored candidates,
      // every count of the scored ones and the unscored count apart. The counts as the batch sends them are checked
      // through the reporter (below), as the server's contract accepts them.
      if (candidates.length === 0) expect(reported).toEqual([]);
      else {
        expect(reported).toHaveLength(1);
        expect(reported[0]!.calibrationId).toBe("cal_0000000001");
        expect(await queryCountsOf(reported[0]!)).toEqual(c.expected.counts);
        expect(ObservationBatch.safeParse({ batch_id: "b", calibration_id: "cal_0000000001", queries: [c.expected.counts] }).success).toBe(true);
      }
      const policy = { threshold: p.threshold, minKeep: p.min_keep, maxKeep: p.max_keep, abstainBelow: p.abstain_below };
      expect(decideQuery(c.scores.map(decode), policy, c.unscored).below).toBe(c.expected.below);
    });
  }
});

describe("guards and abstention in gate()", () => {
  const scored = (scores: number[]): Candidate[] => scores.map((score, i) => ({ i, score }));

  it("an abstaining query keeps nothing, says why, and still reports what the candidate gate dropped", async () => {
    const { client, reported } = clientServing(thresholdBody("cal_0000000001", 0.3, { guards: { min_keep: 1, max_keep: null }, abstain_below: 0.5 }));
    const r = await client.gate(scored([0.31, 0.2, 0.4]), { gate, score: (x) => x.score, fallback: 0.1 });
    expect(r).toMatchObject({ kept: [], abstain: true, topScore: 0.4, abstainBelow: 0.5, guards: { minKeep: 1, maxKeep: null } });
    expect(r.dropped.map((x) => x.i)).toEqual([0, 1, 2]);
    expect(r.abstainReason).toBe("top score 0.4 is below abstain_below 0.5");
    expect(reported).toMatchObject([{ candidates: 3, dropped: 1, below: 1, abstained: true }]);
    // The type narrows on abstain, so the README's `if (r.abstain) noAnswer(r.abstainReason)` compiles under strict
    // settings (checked by `npm run typecheck`: a string is required here).
    const noAnswer = (why: string): string => why;
    expect(r.abstain ? noAnswer(r.abstainReason) : null).toBe("top score 0.4 is below abstain_below 0.5");
  });

  it("a server without the fields (older than guards) is read as no guards and no abstention", async () => {
    const { guards: _g, abstain_below: _a, ...old } = thresholdBody("cal_0000000001", 0.9);
    const { client } = clientServing(old);
    const r = await client.gate(scored([0.1, 0.95, 0.2]), { gate, score: (x) => x.score, fallback: 0.1 });
    expect(r).toMatchObject({ reason: "calibrated", abstain: false, guards: { minKeep: 0, maxKeep: null }, abstainBelow: null });
    expect(r.kept.map((x) => x.i)).toEqual([1]);
    const t = await client.getThreshold(gate, { fallback: 0.1 });
    expect(t).toMatchObject({ threshold: 0.9, guards: { minKeep: 0, maxKeep: null }, abstainBelow: null });
    expect(snapshot(client).entries[0]!.response).toMatchObject({ guards: { min_keep: 0, max_keep: null }, abstain_below: null });
  });

  it.each([
    ["a negative min_keep", { guards: { min_keep: -1, max_keep: null } }],
    ["a fractional min_keep", { guards: { min_keep: 1.5, max_keep: null } }],
    ["a max_keep of 0", { guards: { min_keep: 0, max_keep: 0 } }],
    ["a max_keep below min_keep", { guards: { min_keep: 3, max_keep: 2 } }],
    ["guards that are not an object", { guards: "none" }],
    ["a string abstain_below", { abstain_below: "0.5" }],
  ])("a body with %s is a bad response: the caller's fallback applies, nothing throws", async (_, broken) => {
    const { client, reported } = clientServing({ ...thresholdBody("cal_0000000001", 0.5), ...broken });
    const r = await client.gate(scored([0.1, 0.6]), { gate, score: (x) => x.score, fallback: 0.05 });
    expect(r).toMatchObject({
      reason: "fallback",
      threshold: 0.05,
      abstain: false,
      guards: { minKeep: 0, maxKeep: null },
      error: { code: "bad_response" },
    });
    expect(r.kept.map((x) => x.i)).toEqual([0, 1]);
    expect(reported).toEqual([]);
  });

  it("a fallback never abstains and applies no guard", async () => {
    const server = fakeServer(() => "network-error");
    const client = new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } });
    const r = await client.gate(scored([0.01, 0.02]), { gate, score: (x) => x.score, fallback: 0.5 });
    expect(r).toMatchObject({ reason: "fallback", kept: [], abstain: false, abstainBelow: null, topScore: 0.02 });
    expect(r.abstainReason).toBeUndefined();
  });

  it("a snapshot keeps the guards; an older snapshot without them restores as no guards", async () => {
    const served = thresholdBody("cal_0000000001", 0.5, { guards: { min_keep: 2, max_keep: 4 }, abstain_below: 0.2 });
    const { client } = clientServing(served);
    await client.getThreshold(gate, { fallback: 0.1 });
    const offline = fakeServer(() => "network-error");
    const restored = new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: offline.fetch });
    restore(restored, snapshot(client));
    expect(await restored.getThreshold(gate, { fallback: 0.1 })).toMatchObject({
      reason: "stale",
      guards: { minKeep: 2, maxKeep: 4 },
      abstainBelow: 0.2,
    });
    const { guards: _g, abstain_below: _a, ...old } = served;
    const fromOld = new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: offline.fetch });
    restore(fromOld, { version: 1, savedAt: 0, entries: [{ gate, response: old as ThresholdResponse, etag: null, fetchedAt: 0 }] });
    expect(await fromOld.getThreshold(gate, { fallback: 0.1 })).toMatchObject({
      reason: "stale",
      threshold: 0.5,
      guards: { minKeep: 0, maxKeep: null },
    });
  });

  it("report() sends [candidates, dropped, below, abstained] when given below, the pair otherwise, and ignores a below above candidates", async () => {
    const server = fakeServer((req) => (req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(thresholdBody())));
    const client = new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } });
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 2, below: 4, abstained: true });
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 2, below: 3 });
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 2 });
    client.report({ calibrationId: "cal_0000000001", candidates: 5, dropped: 2, below: 6 });
    await client.flush();
    const body = server.observationRequests()[0]!.body;
    expect(body.queries).toEqual([
      [5, 2, 4, 1],
      [5, 2, 3, 0],
      [5, 2],
    ]);
    expect(ObservationBatch.safeParse(body).success).toBe(true);
    expect(client.observationStats()).toMatchObject({ sent: 3, ignored: 1 });
  });
});
