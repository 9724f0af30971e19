import { describe, expect, it } from "vitest";
import { call, callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";

describe("GET /metrics", () => {
  it("exposes per-gate drop rates, window counts, evidence and open alerts in Prometheus text format", async () => {
    const gate = uniqueGate("metrics");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(2000), policy: { kind: "drop_rate", target: 0.25 } },
    });
    await callJson("POST", "/v1/observations", 202, {
      token: TOKENS.read,
      json: {
        batch_id: "m1",
        ...gate,
        queries: [
          [20, 5],
          [20, 6],
          [10, 2],
        ],
      },
    });
    expect((await call("GET", "/metrics", { token: null })).status).toBe(401);
    const res = await call("GET", "/metrics", { token: TOKENS.read });
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    const line = (name: string) => text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(calibration.gate_id));
    expect(text).toContain("# TYPE scoregate_observed_drop_rate gauge");
    expect(line("scoregate_expected_drop_rate")).toMatch(new RegExp(`calibration_id="${calibration.id}"\\} ${calibration.expected_drop_rate}$`));
    expect(line("scoregate_observed_drop_rate")).toMatch(/\} 0\.26$/);
    expect(line("scoregate_window_queries")).toMatch(/\} 3$/);
    expect(line("scoregate_window_candidates")).toMatch(/\} 50$/);
    expect(line("scoregate_drift_log_evidence")).toBeDefined();
    expect(line("scoregate_gate_info")).toContain(`reranker="${gate.reranker}"`);
  });
});
