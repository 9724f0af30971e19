import { describe, expect, it } from "vitest";
import { callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

describe("POST /v1/calibrations (drop_rate)", () => {
  it("fits the conformal quantile and serves it", async () => {
    const gate = uniqueGate("basic");
    const scores = spreadScores(999);
    const created = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores, policy: { kind: "drop_rate", target: 0.2 } },
    });
    const sorted = [...scores].sort((a, b) => a - b);
    const k = Math.ceil(1000 * 0.2);
    expect(created.calibration.threshold).toBe(sorted[k - 1]);
    expect(created.calibration.expected_drop_rate).toBeCloseTo(k / 1000, 12);
    expect(created.calibration.active).toBe(true);
    expect(created.calibration.created_by).toBe("rebuild-bot");
    expect(created.shift).toBeNull();

    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(served.threshold).toBe(sorted[k - 1]);
    expect(served.calibration_id).toBe(created.calibration.id);
  });
});
