// The README walk-through, step by step, with the same request bodies (fixtures/walkthrough).
import { describe, expect, it } from "vitest";
import v1 from "../fixtures/walkthrough/v1.json";
import v2 from "../fixtures/walkthrough/v2.json";
import { call, callJson, qs, TOKENS } from "./support/worker";

const gate = { index: v1.index, embedding: v1.embedding, reranker: v1.reranker };

describe("README walk-through: carry 0.4 across an index rebuild", () => {
  it("v1 keeps 0.4's drop rate, v2 carries it from the active v1 and reports the shift, the service serves v2", async () => {
    const first = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: v1 });
    expect(first.calibration.threshold).toBe(0.4);
    expect(first.calibration.carry.reference_drop_rate).toBe(0.22);
    expect(first.shift).toBeNull();

    const second = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: v2 });
    expect(second.calibration.target_drop_rate).toBe(0.22);
    expect(second.calibration.threshold).toBeLessThan(0.4);
    expect(second.calibration.in_sample_drop_rate).toBeCloseTo(0.22, 3);
    expect(second.shift).toMatchObject({
      previous_calibration_id: first.calibration.id,
      previous_threshold: 0.4,
      drop_rate_at_previous_threshold: 0.59,
      decision: "shifted",
      alert: true,
    });
    // The 95 % interval of the move lies far beyond the 2-point tolerance.
    expect(second.shift.change_interval_95[0]).toBeGreaterThan(0.3);
    expect(second.shift.change_interval_95[1]).toBeLessThan(0.45);
    // 8,000 clustered scores in 400 queries are worth about 2,700 independent ones: the upload says so.
    expect(first.calibration.effective_n).toBeCloseTo(8000 / first.calibration.per_query.design_effect, 6);
    expect(first.calibration.warnings.map((w: { code: string }) => w.code)).toEqual(["small_sample"]);
    expect(second.shift.change_points).toBeCloseTo(37, 9);

    const res = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read });
    const served = await res.json<any>();
    expect(served.calibration_id).toBe(second.calibration.id);
    expect(served.threshold).toBe(second.calibration.threshold);
  });
});
