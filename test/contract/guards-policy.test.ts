import { describe, expect, it } from "vitest";
import { CalibrationUpload, NO_GUARDS, ObservationBatch, Policy, ThresholdResponse } from "../../src/contract";

const issues = (v: unknown) => {
  const r = Policy.safeParse(v);
  expect(r.success).toBe(false);
  return r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("policy guards and abstention", () => {
  it("accepts guards and abstention on every kind", () => {
    expect(Policy.parse({ kind: "drop_rate", target: 0.3, min_keep: 3, max_keep: 10, abstention: { rate: 0.05 } })).toMatchObject({
      min_keep: 3,
      max_keep: 10,
      abstention: { rate: 0.05 },
    });
    expect(Policy.parse({ kind: "recall", target: 0.9, min_keep: 1, abstention: { alpha: 0.1 } })).toMatchObject({ min_keep: 1 });
    expect(Policy.parse({ kind: "carry", reference: "active", max_keep: null, abstention: "carry" })).toMatchObject({ abstention: "carry" });
    // min_keep = max_keep is a fixed top-m gate, allowed.
    expect(Policy.parse({ kind: "drop_rate", target: 0.3, min_keep: 5, max_keep: 5 })).toMatchObject({ min_keep: 5, max_keep: 5 });
  });

  it("refuses a cap below the floor, fractions, negatives and a zero cap with the field's path", () => {
    expect(issues({ kind: "drop_rate", target: 0.3, min_keep: 5, max_keep: 3 })).toEqual(["max_keep: must be at least min_keep"]);
    expect(issues({ kind: "carry", reference: "active", min_keep: 2, max_keep: 1 })).toEqual(["max_keep: must be at least min_keep"]);
    expect(issues({ kind: "drop_rate", target: 0.3, min_keep: 1.5 })).toEqual(["min_keep: must be a whole number"]);
    expect(issues({ kind: "recall", target: 0.9, min_keep: -1 })).toEqual(["min_keep: must be at least 0"]);
    expect(issues({ kind: "drop_rate", target: 0.3, max_keep: 0 })).toEqual(["max_keep: must be at least 1"]);
    expect(issues({ kind: "drop_rate", target: 0.3, max_keep: 2.5 })).toEqual(["max_keep: must be a whole number"]);
  });

  it("refuses abstention levels outside their ranges and unknown shapes", () => {
    for (const abstention of [{ alpha: 0 }, { alpha: 1 }, { alpha: -0.1 }, { rate: 1 }, { rate: -0.01 }, { alpha: 0.1, rate: 0.1 }, "always", 0.1]) {
      expect(Policy.safeParse({ kind: "drop_rate", target: 0.3, abstention }).success).toBe(false);
    }
    expect(Policy.parse({ kind: "drop_rate", target: 0.3, abstention: { rate: 0 } })).toMatchObject({ abstention: { rate: 0 } });
  });

  it("a target or rate sent as a percentage is told it is a share", () => {
    expect(issues({ kind: "drop_rate", target: 20 })).toEqual(["target: must be in [0, 1): a share, 0.2 for 20 %"]);
    expect(issues({ kind: "drop_rate", target: -0.1 })).toEqual(["target: must be in [0, 1)"]);
    expect(issues({ kind: "recall", target: 90 })).toEqual(["target: must be in (0, 1): a share, 0.1 for 10 %"]);
    expect(issues({ kind: "drop_rate", target: 0.2, abstention: { rate: 5 } })).toEqual([
      "abstention.rate: must be in [0, 1): a share, 0.2 for 20 %",
    ]);
  });

  it("takes per-query answerable flags on an upload", () => {
    const base = { embedding: "e", reranker: "r", index_version: "v1", policy: { kind: "drop_rate", target: 0.1 }, queries: [[0.1], [0.2]] };
    expect(CalibrationUpload.parse({ ...base, answerable: [true, false] }).answerable).toEqual([true, false]);
    expect(CalibrationUpload.safeParse({ ...base, answerable: [1, 0] }).success).toBe(false);
  });
});

describe("served guards and observations", () => {
  it("GET /v1/threshold's body requires guards and abstain_below", () => {
    const body = {
      index: "default",
      embedding: "e",
      reranker: "r",
      threshold: 0.4,
      calibration_id: "cal_0123456789",
      index_version: "v1",
      policy: { kind: "drop_rate", target: 0.3 },
      score_scale: "unbounded",
      expected_drop_rate: 0.3,
      fitted_at: "2026-12-02T00:00:00.000Z",
      activated_at: "2026-12-02T00:00:00.000Z",
    };
    expect(ThresholdResponse.safeParse(body).success).toBe(false);
    expect(ThresholdResponse.parse({ ...body, guards: NO_GUARDS, abstain_below: null, rollout: null, shadows: [] }).guards).toEqual({
      min_keep: 0,
      max_keep: null,
    });
  });

  it("an observed query is [m, d] or [m, d, below, abstained]", () => {
    const batch = (queries: unknown) => ObservationBatch.safeParse({ batch_id: "b", embedding: "e", reranker: "r", queries });
    expect(batch([[10, 3]]).success).toBe(true);
    expect(batch([[10, 3, 5, 1]]).success).toBe(true);
    expect(batch([[10, 3, 5, 0]]).success).toBe(true);
    expect(batch([[10, 3, 5]]).success).toBe(false);
    expect(batch([[10, 3, 5, 2]]).success).toBe(false);
    expect(batch([[10, 3, 11, 0]]).success).toBe(false);
    expect(batch([[10, 11, 5, 0]]).success).toBe(false);
  });
});
