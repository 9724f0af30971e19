/**
 * The observation queue's consumer over a scripted monitor (plain Node): one monitor call per gate per consumer
 * batch, and how each message is settled (ack, retry with backoff) on its batch's result.
 */
import { describe, expect, it } from "vitest";
import type { MonitorClient, ObserveManyInput, ObserveManyOutcome, QueuedBatchResult } from "../../src/monitoring/monitor-contract";
import { observationMessage } from "../../src/monitoring/observation-message";
import { type ConsumerDeps, consumeObservations, type QueueMessage, retryDelaySeconds } from "../../src/monitoring/queue-consumer";
import { AppError } from "../../src/platform/errors";
import { OBSERVATION_RETRY_BASE_DELAY_SECONDS, OBSERVATION_RETRY_MAX_DELAY_SECONDS } from "../../src/platform/limits";
import { DEFAULT_DRIFT_CONFIG, type DriftConfig } from "../../src/stats/drift-config";

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);

function body(gateId: string, batchId: string, hash = `h-${batchId}`) {
  const message = observationMessage(
    {
      gate: { gate_id: gateId, index: "docs", embedding: "e5", reranker: "bge" },
      calibration: {
        id: `cal_${gateId}`,
        index_version: "v1",
        expectation: { n: 1000, expected_drop_rate: 0.3, empty_context_rate: null, n_queries: null },
      },
      batch_id: batchId,
      batch_hash: hash,
      queries: [[20, 6]],
      scores: null,
    },
    NOW - 1_000,
  );
  // What the consumer receives: the message as JSON (it is sent with contentType "json").
  return JSON.parse(JSON.stringify(message)) as unknown;
}

/** A queue message that records how it was settled. */
function message(id: string, payload: unknown, attempts = 1) {
  const m = {
    id,
    body: payload,
    attempts,
    settled: null as null | { ack: true } | { retry: number | undefined },
    ack() {
      m.settled = { ack: true };
    },
    retry(options?: { delaySeconds?: number }) {
      m.settled = { retry: options?.delaySeconds };
    },
  } satisfies QueueMessage & { settled: unknown };
  return m;
}

/** A monitor that answers observeMany per gate with `answer` (or throws), recording every call. */
function scripted(answer: (gateId: string, input: ObserveManyInput) => QueuedBatchResult[] | Error) {
  const calls: { gateId: string; input: ObserveManyInput }[] = [];
  const monitor: MonitorClient = {
    observe: () => Promise.reject(new Error("not used")),
    judge: () => Promise.reject(new Error("not used")),
    status: () => Promise.reject(new Error("not used")),
    series: () => Promise.reject(new Error("not used")),
    evidence: () => Promise.reject(new Error("not used")),
    forgetEvidence: () => Promise.reject(new Error("not used")),
    endShadow: () => Promise.reject(new Error("not used")),
    observeMany: async (gateId, input): Promise<ObserveManyOutcome> => {
      calls.push({ gateId, input });
      const r = answer(gateId, input);
      if (r instanceof Error) throw r;
      return { results: r, alerts: [] };
    },
  };
  return { monitor, calls };
}

function deps(monitor: MonitorClient, drift: () => DriftConfig = () => DEFAULT_DRIFT_CONFIG) {
  const logged: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const d: ConsumerDeps = {
    monitor,
    now: () => new Date(NOW),
    get drift() {
      return drift();
    },
    log: {
      warn: (message, fields) => logged.push({ level: "warn", message, fields }),
      error: (message, fields) => logged.push({ level: "error", message, fields }),
    },
  };
  return { deps: d, logged };
}

const allCounted = (_: string, input: ObserveManyInput): QueuedBatchResult[] =>
  input.batches.map((b) => ({ batch_id: b.batch_id, status: "counted" }));

describe("consumeObservations", () => {
  it("makes one monitor call per gate, with that gate's batches in delivery order, and acks each counted message", async () => {
    const { monitor, calls } = scripted(allCounted);
    const msgs = [message("1", body("g-a", "a1")), message("2", body("g-b", "b1")), message("3", body("g-a", "a2"))];
    const summary = await consumeObservations(msgs, deps(monitor).deps);
    expect(calls.map((c) => [c.gateId, c.input.batches.map((b) => b.batch_id)])).toEqual([
      ["g-a", ["a1", "a2"]],
      ["g-b", ["b1"]],
    ]);
    expect(calls[0]!.input).toMatchObject({ now_ms: NOW, config: DEFAULT_DRIFT_CONFIG });
    // the queue envelope (version, accepted time) does not cross the RPC
    expect(Object.keys(calls[0]!.input.batches[0]!).sort()).toEqual(["batch_hash", "batch_id", "calibration", "gate", "queries", "scores"]);
    expect(msgs.map((m) => m.settled)).toEqual([{ ack: true }, { ack: true }, { ack: true }]);
    expect(summary).toEqual({ messages: 3, calls: 2, counted: 3, duplicates: 0, mismatches: 0, retried: 0 });
  });

  it("acks duplicates, and acks a mismatch without counting it, with a warning naming the batch", async () => {
    const { monitor } = scripted(() => [
      { batch_id: "a1", status: "duplicate" },
      { batch_id: "a1", status: "mismatch" },
    ]);
    const msgs = [message("1", body("g-a", "a1")), message("2", body("g-a", "a1", "other"))];
    const { deps: d, logged } = deps(monitor);
    const summary = await consumeObservations(msgs, d);
    expect(msgs.map((m) => m.settled)).toEqual([{ ack: true }, { ack: true }]);
    expect(summary).toMatchObject({ counted: 0, duplicates: 1, mismatches: 1, retried: 0 });
    expect(logged).toEqual([
      { level: "warn", message: expect.stringContaining("different body"), fields: expect.objectContaining({ gate_id: "g-a", batch_id: "a1" }) },
    ]);
  });

  it("retries every message of a gate whose call throws, with backoff, and still settles the other gates", async () => {
    const { monitor } = scripted((gateId, input) => (gateId === "g-down" ? new Error("object unreachable") : allCounted(gateId, input)));
    const msgs = [message("1", body("g-down", "d1"), 3), message("2", body("g-up", "u1")), message("3", body("g-down", "d2"))];
    const { deps: d, logged } = deps(monitor);
    const summary = await consumeObservations(msgs, d);
    expect(msgs.map((m) => m.settled)).toEqual([{ retry: retryDelaySeconds(3) }, { ack: true }, { retry: retryDelaySeconds(1) }]);
    expect(summary).toMatchObject({ calls: 2, counted: 1, retried: 2 });
    expect(logged[0]).toMatchObject({ level: "error", fields: { gate_id: "g-down", messages: 2 } });
  });

  it("retries only the batch the monitor reports failed", async () => {
    const { monitor } = scripted((_, input) =>
      input.batches.map((b) =>
        b.batch_id === "x2" ? { batch_id: b.batch_id, status: "failed", error: "boom" } : { batch_id: b.batch_id, status: "counted" },
      ),
    );
    const msgs = [message("1", body("g", "x1")), message("2", body("g", "x2")), message("3", body("g", "x3"))];
    await consumeObservations(msgs, deps(monitor).deps);
    expect(msgs.map((m) => m.settled)).toEqual([{ ack: true }, { retry: retryDelaySeconds(1) }, { ack: true }]);
  });

  it("retries a body this Worker does not write (it ends in the dead-letter queue), without calling any monitor", async () => {
    const { monitor, calls } = scripted(allCounted);
    const msgs = [message("1", { v: 99, anything: true }), message("2", "text")];
    const { deps: d, logged } = deps(monitor);
    const summary = await consumeObservations(msgs, d);
    expect(calls).toEqual([]);
    expect(msgs.map((m) => m.settled)).toEqual([{ retry: retryDelaySeconds(1) }, { retry: retryDelaySeconds(1) }]);
    expect(summary).toMatchObject({ messages: 2, calls: 0, retried: 2 });
    expect(logged.map((l) => l.level)).toEqual(["error", "error"]);
  });

  it("retries everything while the drift configuration is invalid", async () => {
    const { monitor, calls } = scripted(allCounted);
    const msgs = [message("1", body("g", "c1")), message("2", body("h", "c2"))];
    const { deps: d, logged } = deps(monitor, () => {
      throw new AppError("misconfigured", 'DRIFT_ALPHA="2" is not valid: use a number above 0 and below 0.5 (default 0.001)');
    });
    const summary = await consumeObservations(msgs, d);
    expect(calls).toEqual([]);
    expect(summary).toMatchObject({ retried: 2 });
    expect(msgs.every((m) => m.settled !== null && "retry" in m.settled)).toBe(true);
    expect(logged[0]!.message).toContain("drift configuration");
  });

  it("backs off by doubling from the base delay, capped", () => {
    expect(retryDelaySeconds(1)).toBe(OBSERVATION_RETRY_BASE_DELAY_SECONDS);
    expect(retryDelaySeconds(2)).toBe(2 * OBSERVATION_RETRY_BASE_DELAY_SECONDS);
    expect(retryDelaySeconds(50)).toBe(OBSERVATION_RETRY_MAX_DELAY_SECONDS);
  });
});
