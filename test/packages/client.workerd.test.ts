// @scoregate/client inside workerd against the real Worker: importing it runs nothing the runtime forbids at module
// scope (timers, fetch, randomness), and a read, a revalidation (304), gate() and an observation batch work end to end.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ScoregateClient } from "../../packages/client/src";
import { callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const worker = (exports as unknown as { default: Fetcher }).default;

// Module scope, where a Worker would create its one client per isolate.
const client = new ScoregateClient({
  baseUrl: "http://scoregate.test",
  token: TOKENS.read,
  fetch: ((input: RequestInfo | URL, init?: RequestInit) => worker.fetch(String(input), init)) as typeof fetch,
  observations: { timer: false },
});

describe("@scoregate/client in workerd", () => {
  it("uncalibrated, then calibrated, cached, revalidated with a 304, and observations accepted", async () => {
    const gate = uniqueGate("client");
    const waits: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => waits.push(p);

    expect(await client.getThreshold(gate, { fallback: 0.25, waitUntil })).toMatchObject({ reason: "uncalibrated", threshold: 0.25 });

    const created = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.3 }, scores: spreadScores(2000) },
    });
    // A client with its own clock, so the test can age its cache past max-age without waiting.
    let skew = 0;
    const statuses: number[] = [];
    const fresh = new ScoregateClient({
      baseUrl: "http://scoregate.test",
      token: TOKENS.read,
      fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
        const res = await worker.fetch(String(input), init);
        statuses.push(res.status);
        return res;
      }) as typeof fetch,
      now: () => Date.now() + skew,
      observations: { timer: false },
    });
    const first = await fresh.getThreshold(gate, { fallback: 0.25, waitUntil });
    expect(first).toMatchObject({ reason: "calibrated", calibrationId: created.calibration.id, threshold: created.calibration.threshold });
    expect((await fresh.getThreshold(gate, { fallback: 0.25, waitUntil })).reason).toBe("cached");
    skew = 6000;
    expect((await fresh.getThreshold(gate, { fallback: 0.25, waitUntil })).reason).toBe("stale");
    await Promise.all(waits);
    expect(statuses).toEqual([200, 304]);
    expect((await fresh.getThreshold(gate, { fallback: 0.25, waitUntil })).reason).toBe("cached");

    const r = await fresh.gate(
      spreadScores(100).map((score, id) => ({ id, score })),
      { gate, score: (c) => c.score, fallback: 0.25, waitUntil },
    );
    expect(r.calibrationId).toBe(created.calibration.id);
    expect(r.kept.length + r.dropped.length).toBe(100);
    const flushed = await fresh.flush();
    expect(flushed).toMatchObject({ sentBatches: 1, failedBatches: 0, stats: { sent: 1, queued: 0 } });
    await Promise.all(waits);
  });
});
