import { describe, expect, it } from "vitest";
import { NO_GUARDS, ThresholdResponse } from "../../src/contract";
import { KvThresholdProjection, type ProjectedThreshold } from "../../src/serving/projection";

/** A projection as KV holds it from before guards: no `guards`, no `abstain_below`. */
const old = {
  v: 1,
  gate_id: "gate_1",
  activation_seq: 3,
  threshold: {
    index: "default",
    embedding: "e",
    reranker: "r",
    threshold: 0.42,
    calibration_id: "cal_0123456789",
    index_version: "v1",
    policy: { kind: "drop_rate", target: 0.3 },
    score_scale: "unbounded",
    expected_drop_rate: 0.3,
    fitted_at: "2026-11-01T00:00:00.000Z",
    activated_at: "2026-11-01T00:00:00.000Z",
  },
  expectation: { n: 1000, expected_drop_rate: 0.3, empty_context_rate: null, n_queries: null },
};

/** A KV namespace holding one JSON value per key (get with type "json" only). */
function kvWith(values: Record<string, unknown>): KVNamespace {
  return { get: async (key: string) => values[key] ?? null } as unknown as KVNamespace;
}

describe("projections published before guards", () => {
  it("are served with no guards and no abstention, and then match the response schema", async () => {
    const p = await new KvThresholdProjection(kvWith({ "thr/gate_1": old }), null).get("gate_1", null);
    expect(p!.threshold).toMatchObject({ threshold: 0.42, guards: NO_GUARDS, abstain_below: null });
    expect(ThresholdResponse.safeParse(p!.threshold).success).toBe(true);
    expect(ThresholdResponse.safeParse(old.threshold).success).toBe(false);
  });

  it("keep what a newer projection says", async () => {
    const fresh = {
      ...old,
      threshold: { ...old.threshold, guards: { min_keep: 3, max_keep: 10 }, abstain_below: 0.2 },
    } as ProjectedThreshold;
    const p = await new KvThresholdProjection(kvWith({ "thr/gate_1": fresh }), 30).get("gate_1", null);
    expect(p).toEqual(fresh);
  });
});
