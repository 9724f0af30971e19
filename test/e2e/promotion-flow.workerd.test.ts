/**
 * The whole flow in workerd, with the SDK as the service uses it (its streaming client, `stream: true`, pointed at the
 * Worker): a gate with v1 active and v2 stored unserved; the subscribed client sees every change of the gate pushed,
 * and the seqs it applied are exactly the gate's activation log in D1, with no gap and no repeat, across a forced
 * reconnect in the middle of the changes; what it serves follows each event without a poll. Then v2 in shadow and a
 * progressive promotion moved by the admin overrides: the shadow and every promotion transition arrive pushed, in the
 * log's order, and the client keeps serving the gate from memory.
 *
 * Tested elsewhere: the served split and shadows against the Worker, with the SDK's arms by assignment key
 * (test/serving/served-rollout.workerd.test.ts); shadow batches counted into the shadow's live decision and a step
 * rolled back on its arms' evidence (test/promotions/promotion-routes.workerd.test.ts).
 */
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ScoregateClient } from "../../packages/client/src/stream";
import type { ClientEvent } from "../../packages/client/src/types";
import { D1CalibrationStore } from "../../src/calibrations/d1-store";
import { gateIdOf } from "../../src/platform/ids";
import { callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const worker = (exports as unknown as { default: Fetcher }).default;
const WAIT = { timeout: 10_000, interval: 20 };
type Gate = ReturnType<typeof uniqueGate>;

const clients: ScoregateClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

/** The streaming SDK against the Worker, counting the threshold reads that reach it. */
function streamingClient() {
  const reads: number[] = [];
  const client = new ScoregateClient({
    baseUrl: "http://scoregate.test",
    token: TOKENS.read,
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      const res = await worker.fetch(url, init);
      if (new URL(url).pathname === "/v1/threshold") reads.push(res.status);
      return res;
    }) as typeof fetch,
    // workerd: the test runner keeps the connection open between requests, as a Node service would
    stream: { inWorkers: true, backoff: { initialMs: 10, maxMs: 50 } },
    observations: { timer: false },
  });
  clients.push(client);
  return { client, reads };
}

const upload = async (gate: Gate, version: string, activate: boolean, offset = 0) =>
  (
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: version, scores: spreadScores(400, offset), policy: { kind: "drop_rate", target: 0.2 }, activate },
    })
  ).calibration;

const activate = (id: string, reason: string) => callJson("POST", `/v1/calibrations/${id}/activate`, 200, { json: { reason } });

/** The gate's activation log in D1 (every event of the gate), oldest first. */
async function logSeqs(gate: Gate): Promise<number[]> {
  return (await new D1CalibrationStore(env.DB).events(await gateIdOf(gate), 0, 1000)).map((e) => e.seq);
}

describe("the promotion flow, pushed to the SDK", () => {
  it("every change of the gate reaches the subscribed client once, in order, across a forced reconnect", async () => {
    const gate = uniqueGate("flow-push");
    const v1 = await upload(gate, "v1", true);
    const v2 = await upload(gate, "v2", false, 0.05);
    const { client, reads } = streamingClient();
    const seqs: number[] = [];
    const calibrations: string[] = [];
    client.subscribe((e: ClientEvent) => {
      if (e.type === "gate") seqs.push(e.event.seq);
      if (e.type === "calibration") calibrations.push(e.calibrationId);
    });

    expect(await client.getThreshold(gate, { fallback: 0.5 })).toMatchObject({ calibrationId: v1.id, threshold: v1.threshold });
    // the stream's snapshot: the gate's head, as the log has it
    await vi.waitFor(() => expect(seqs).toHaveLength(1), WAIT);
    expect(seqs).toEqual((await logSeqs(gate)).slice(-1));

    await activate(v2.id, "v2 after its shadow");
    await vi.waitFor(() => expect(seqs).toHaveLength(2), WAIT);
    expect(await client.getThreshold(gate, { fallback: 0.5 })).toMatchObject({ calibrationId: v2.id, threshold: v2.threshold, reason: "cached" });

    // the connection drops; two changes happen before the client is back: it resumes with Last-Event-ID
    client.reconnect();
    await activate(v1.id, "rolled back");
    await activate(v2.id, "again");
    await vi.waitFor(() => expect(seqs).toHaveLength(4), WAIT);
    await activate(v1.id, "and back");
    await vi.waitFor(() => expect(seqs).toHaveLength(5), WAIT);

    const log = await logSeqs(gate);
    expect(seqs).toEqual(log.slice(log.indexOf(seqs[0]!)));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(calibrations).toEqual([v1.id, v2.id, v1.id, v2.id, v1.id]);
    expect(await client.getThreshold(gate, { fallback: 0.5 })).toMatchObject({ calibrationId: v1.id, reason: "cached" });
    // one read to start; everything after came pushed
    expect(reads).toEqual([200]);
    expect(client.streams()).toEqual([{ gate: { ...gate }, state: "open", last: seqs.at(-1) }]);
  });

  it("a shadow and every transition of a progressive promotion arrive pushed, once each, in the log's order", async () => {
    const gate = uniqueGate("flow-promote");
    const v1 = await upload(gate, "v1", true);
    const v2 = await upload(gate, "v2", false, 0.05);
    const { client, reads } = streamingClient();
    const kinds: string[] = [];
    const seqs: number[] = [];
    client.subscribe((e: ClientEvent) => {
      if (e.type === "gate") {
        kinds.push(e.event.kind);
        seqs.push(e.event.seq);
      }
    });
    await client.getThreshold(gate, { fallback: 0.5 });
    await vi.waitFor(() => expect(kinds).toEqual(["activation"]), WAIT);

    await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { json: { sample_rate: 0.5 } });
    await vi.waitFor(() => expect(kinds.at(-1)).toBe("shadow_added"), WAIT);
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { json: { steps: [10, 50, 100], min_queries: 200 } });
    await vi.waitFor(() => expect(kinds.at(-1)).toBe("promotion_started"), WAIT);
    client.reconnect();
    await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { json: { reason: "step by hand" } });
    await vi.waitFor(() => expect(kinds.at(-1)).toBe("promotion_step"), WAIT);
    await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { json: { reason: "by hand" } });
    await vi.waitFor(() => expect(kinds.at(-1)).toBe("promotion_rolled_back"), WAIT);

    const log = await logSeqs(gate);
    expect(seqs).toEqual(log.slice(log.indexOf(seqs[0]!)));
    expect(kinds).toEqual(["activation", "shadow_added", "promotion_started", "promotion_step", "promotion_rolled_back"]);
    expect(await client.getThreshold(gate, { fallback: 0.5, assignmentKey: "user-1" })).toMatchObject({ calibrationId: v1.id, reason: "cached" });
    expect(reads).toEqual([200]);
  });
});
