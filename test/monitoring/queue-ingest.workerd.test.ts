/**
 * Queue mode end to end inside workerd: POST /v1/observations with OBSERVATION_INGEST = "queue" enqueues (into a
 * capturing queue, so the test decides when the consumer runs), and the Worker's own `queue` handler counts the
 * messages in the gates' real Durable Objects. Direct mode is the default and stays as it was.
 */
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { ObservationAccepted } from "../../src/contract";
import worker from "../../src/index";
import type { Env } from "../../src/platform/env";
import { MAX_OBSERVATION_QUERIES, MAX_OBSERVATION_SCORES } from "../../src/platform/limits";
import { call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const baseEnv = env as unknown as Env;

/** A Queues producer binding that keeps what is sent, as the consumer would receive it (JSON). */
function capturingQueue(fail = false) {
  const sent: unknown[] = [];
  const queue = {
    send: async (body: unknown, options?: QueueSendOptions) => {
      if (fail) throw new Error("Too Many Requests");
      expect(options?.contentType).toBe("json");
      sent.push(JSON.parse(JSON.stringify(body)));
    },
    sendBatch: async () => {
      throw new Error("not used");
    },
  } as unknown as Queue;
  return { queue, sent };
}

async function post(e: Env, json: unknown): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request("http://scoregate.test/v1/observations", {
      method: "POST",
      headers: { authorization: `Bearer ${TOKENS.read}`, "content-type": "application/json" },
      body: JSON.stringify(json),
    }),
    e,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

let messageSeq = 0;
/** Runs the Worker's queue handler on `bodies` (as one consumer batch) and returns what it acked and retried. */
async function consume(bodies: readonly unknown[], e: Env = baseEnv, attempts = 1) {
  const messages = bodies.map((body) => ({ id: `msg-${++messageSeq}`, timestamp: new Date(), attempts, body }));
  const batch = createMessageBatch("scoregate-observations", messages);
  const ctx = createExecutionContext();
  await worker.queue(batch, e);
  const result = await getQueueResult(batch, ctx);
  const ids = messages.map((m) => m.id);
  return {
    acked: ids.filter((id) => result.explicitAcks.includes(id)).map((id) => ids.indexOf(id)),
    retried: ids.filter((id) => result.retryMessages.some((r) => r.msgId === id)).map((id) => ids.indexOf(id)),
  };
}

async function calibrated(label: string) {
  const gate = uniqueGate(label);
  const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
    token: TOKENS.calibrate,
    json: { ...gate, index_version: "v1", scores: spreadScores(10_000), policy: { kind: "drop_rate", target: 0.3 } },
  });
  return { gate, calibration };
}

const monitorOf = (gate: ReturnType<typeof uniqueGate>) => callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
const countedQueries = (m: Awaited<ReturnType<typeof monitorOf>>) => m.windows.reduce((n, w) => n + w.queries, 0);
const steady = (n: number): [number, number][] => Array.from({ length: n }, () => [20, 6]);

function queueMode(extra: Partial<Env> = {}) {
  const q = capturingQueue();
  return { e: { ...baseEnv, OBSERVATION_INGEST: "queue", OBSERVATIONS_QUEUE: q.queue, ...extra } as Env, sent: q.sent };
}

describe("POST /v1/observations in queue mode", () => {
  it("answers 202 queued without a window, enqueues one message, and the consumer counts the batch exactly once", async () => {
    const { gate, calibration } = await calibrated("q-basic");
    const { e, sent } = queueMode();
    const res = await post(e, { batch_id: "q-1", ...gate, queries: steady(30) });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as ObservationAccepted;
    expect(accepted).toEqual({ queued: true, batch_id: "q-1", gate_id: expect.any(String), calibration_id: calibration.id });
    expect(sent).toHaveLength(1);
    // nothing is counted before the consumer runs
    expect(countedQueries(await monitorOf(gate))).toBe(0);

    expect(await consume(sent)).toEqual({ acked: [0], retried: [] });
    const status = await monitorOf(gate);
    expect(status.windows[0]).toMatchObject({ calibration_id: calibration.id, queries: 30, batches: 1 });
    expect(status.queued_ingest).toMatchObject({ calls: 1, batches: 1, counted: 1, duplicates: 0, mismatches: 0 });
  });

  it("a redelivered message, and a client's re-send of the same batch, are acked and not counted twice", async () => {
    const { gate } = await calibrated("q-redeliver");
    const { e, sent } = queueMode();
    const batch = { batch_id: "q-again", ...gate, queries: steady(25) };
    expect((await post(e, batch)).status).toBe(202);
    expect((await post(e, batch)).status).toBe(202); // the client retried: a second message, same body
    expect(sent).toHaveLength(2);
    expect(await consume([sent[0]])).toEqual({ acked: [0], retried: [] });
    // the platform delivers the first message again (at-least-once), together with the client's re-send
    expect(await consume([sent[0], sent[1]], baseEnv, 2)).toEqual({ acked: [0, 1], retried: [] });
    const status = await monitorOf(gate);
    expect(status.windows[0]).toMatchObject({ queries: 25, batches: 1 });
    expect(status.queued_ingest).toMatchObject({ calls: 2, batches: 3, counted: 1, duplicates: 2, mismatches: 0 });
  });

  it("a batch_id re-sent with a different body is accepted, then not counted, and shows in the monitor and the log", async () => {
    const { gate } = await calibrated("q-mismatch");
    const { e, sent } = queueMode();
    expect((await post(e, { batch_id: "q-same-id", ...gate, queries: steady(10) })).status).toBe(202);
    expect((await post(e, { batch_id: "q-same-id", ...gate, queries: steady(11) })).status).toBe(202);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    // acked, both: retrying a mismatch could never make it count
    expect(await consume(sent)).toEqual({ acked: [0, 1], retried: [] });
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("different body"), expect.stringContaining("q-same-id"));
    warn.mockRestore();
    const status = await monitorOf(gate);
    expect(status.windows[0]).toMatchObject({ queries: 10, batches: 1 });
    expect(status.queued_ingest).toMatchObject({ counted: 1, mismatches: 1, last_mismatch: { batch_id: "q-same-id", at: expect.any(String) } });
    // ... and in /metrics, where an alert rule can watch it.
    const metrics = await (await call("GET", "/metrics", { token: TOKENS.read })).text();
    const mismatchLine = metrics
      .split("\n")
      .find((l) => l.startsWith("scoregate_queued_batches{") && l.includes(status.gate_id) && l.includes('result="mismatch"'));
    expect(mismatchLine).toMatch(/\} 1$/);
  });

  it("messages for two gates in one consumer batch reach both, one object call each", async () => {
    const a = await calibrated("q-two-a");
    const b = await calibrated("q-two-b");
    const { e, sent } = queueMode();
    await post(e, { batch_id: "t-a1", ...a.gate, queries: steady(5) });
    await post(e, { batch_id: "t-b1", calibration_id: b.calibration.id, queries: steady(7) });
    await post(e, { batch_id: "t-a2", ...a.gate, queries: steady(9) });
    expect(await consume(sent)).toEqual({ acked: [0, 1, 2], retried: [] });
    const [sa, sb] = await Promise.all([monitorOf(a.gate), monitorOf(b.gate)]);
    expect(sa.windows[0]).toMatchObject({ queries: 14, batches: 2 });
    expect(sa.queued_ingest).toMatchObject({ calls: 1, batches: 2, counted: 2 });
    expect(sb.windows[0]).toMatchObject({ queries: 7, batches: 1 });
    expect(sb.queued_ingest).toMatchObject({ calls: 1, batches: 1, counted: 1 });
  });

  it("a gate call that throws leads to a retry of its messages, not a loss; the redelivery counts them once", async () => {
    const down = await calibrated("q-down");
    const up = await calibrated("q-up");
    const { e, sent } = queueMode();
    await post(e, { batch_id: "r-d1", ...down.gate, queries: steady(12) });
    await post(e, { batch_id: "r-u1", ...up.gate, queries: steady(4) });
    await post(e, { batch_id: "r-d2", ...down.gate, queries: steady(3) });
    const downId = (sent[0] as { gate: { gate_id: string } }).gate.gate_id;
    // the down gate's object is unreachable for this delivery: its stub throws on every call
    const real = baseEnv.GATE_MONITOR;
    const flaky = {
      idFromName: (name: string) => real.idFromName(name),
      get: (id: DurableObjectId) =>
        id.equals(real.idFromName(downId))
          ? {
              observeMany: async () => {
                throw new Error("Durable Object is overloaded");
              },
            }
          : real.get(id),
    } as unknown as DurableObjectNamespace;
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await consume(sent, { ...baseEnv, GATE_MONITOR: flaky } as Env)).toEqual({ acked: [1], retried: [0, 2] });
    errors.mockRestore();
    expect(countedQueries(await monitorOf(down.gate))).toBe(0);
    expect(countedQueries(await monitorOf(up.gate))).toBe(4);

    // the platform redelivers the two retried messages; now the object answers
    expect(await consume([sent[0], sent[2]], baseEnv, 2)).toEqual({ acked: [0, 1], retried: [] });
    const status = await monitorOf(down.gate);
    expect(status.windows[0]).toMatchObject({ queries: 15, batches: 2 });
  });

  it("a bad gate or calibration is still refused synchronously, and nothing is enqueued", async () => {
    const { e, sent } = queueMode();
    const uncalibrated = await post(e, { batch_id: "bad-1", ...uniqueGate("q-never"), queries: steady(3) });
    expect(uncalibrated.status).toBe(404);
    expect(((await uncalibrated.json()) as { error: { code: string } }).error.code).toBe("uncalibrated");
    const unknown = await post(e, { batch_id: "bad-2", calibration_id: "cal_000000000000aaaaaaaaaaaaaaaa", queries: steady(3) });
    expect(unknown.status).toBe(422);
    const invalid = await post(e, { batch_id: "bad-3", ...uniqueGate("q-never"), queries: [[3, 5]] });
    expect(invalid.status).toBe(422);
    expect(sent).toEqual([]);
  });

  it("a queue that refuses the message is 503 storage_unavailable with Retry-After, and nothing is counted", async () => {
    const { gate } = await calibrated("q-refused");
    const q = capturingQueue(true);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await post({ ...baseEnv, OBSERVATION_INGEST: "queue", OBSERVATIONS_QUEUE: q.queue } as Env, {
      batch_id: "x-1",
      ...gate,
      queries: steady(3),
    });
    errors.mockRestore();
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).not.toBeNull();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("storage_unavailable");
    expect(countedQueries(await monitorOf(gate))).toBe(0);
  });

  it("a batch too large for one queue message is counted directly and answered as in direct mode", async () => {
    const { gate } = await calibrated("q-large");
    const { e, sent } = queueMode();
    const big = { batch_id: "big-1", ...gate, queries: steady(MAX_OBSERVATION_QUERIES), scores: spreadScores(MAX_OBSERVATION_SCORES) };
    const res = await post(e, big);
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as ObservationAccepted;
    expect(accepted).toMatchObject({ queued: false, accepted: true, window: { queries: MAX_OBSERVATION_QUERIES } });
    expect(sent).toEqual([]);
    // the largest batch without scores does fit in one message
    expect((await post(e, { batch_id: "big-2", ...gate, queries: steady(MAX_OBSERVATION_QUERIES) })).status).toBe(202);
    expect(sent).toHaveLength(1);
  });
});

describe("OBSERVATION_INGEST", () => {
  it("defaults to direct: the batch is counted before the answer and the queue is never used", async () => {
    const { gate } = await calibrated("q-direct");
    const q = capturingQueue();
    for (const mode of [undefined, "", "direct"]) {
      const res = await post({ ...baseEnv, OBSERVATION_INGEST: mode, OBSERVATIONS_QUEUE: q.queue } as Env, {
        batch_id: `d-${String(mode)}`,
        ...gate,
        queries: steady(2),
      });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ queued: false, accepted: true });
    }
    expect(q.sent).toEqual([]);
    expect(countedQueries(await monitorOf(gate))).toBe(6);
  });

  it("an unknown value is refused with 503 misconfigured naming the valid ones, and nothing is counted or enqueued", async () => {
    const { gate } = await calibrated("q-typo");
    const q = capturingQueue();
    for (const bad of ["Queue", "queued", "both"]) {
      const res = await post({ ...baseEnv, OBSERVATION_INGEST: bad, OBSERVATIONS_QUEUE: q.queue } as Env, {
        batch_id: `t-${bad}`,
        ...gate,
        queries: steady(2),
      });
      expect(res.status).toBe(503);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe("misconfigured");
      expect(error.message).toContain(`OBSERVATION_INGEST="${bad}"`);
      expect(error.message).toContain('"direct" or "queue"');
    }
    expect(q.sent).toEqual([]);
    expect(countedQueries(await monitorOf(gate))).toBe(0);
  });

  it('"queue" without the OBSERVATIONS_QUEUE binding is refused with 503 misconfigured', async () => {
    const { gate } = await calibrated("q-nobinding");
    const { OBSERVATIONS_QUEUE: _q, ...withoutQueue } = baseEnv;
    const res = await post({ ...withoutQueue, OBSERVATION_INGEST: "queue" } as Env, { batch_id: "nb-1", ...gate, queries: steady(2) });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("OBSERVATIONS_QUEUE");
  });
});
