import { describe, expect, it } from "vitest";
import { call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

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
    const value = (l: string | undefined) => Number(l?.split(" ").at(-1));
    expect(text).toContain("# TYPE scoregate_observed_drop_rate gauge");
    expect(line("scoregate_expected_drop_rate")).toMatch(new RegExp(`calibration_id="${calibration.id}"\\} ${calibration.expected_drop_rate}$`));
    expect(line("scoregate_observed_drop_rate")).toMatch(/\} 0\.26$/);
    expect(line("scoregate_window_queries")).toMatch(/\} 3$/);
    expect(line("scoregate_window_candidates")).toMatch(/\} 50$/);
    expect(value(line("scoregate_window_mean_candidates"))).toBeCloseTo(50 / 3, 12);
    // Direct mode queues nothing: the counters exist per result, at 0.
    const queued = text.split("\n").filter((l) => l.startsWith("scoregate_queued_batches{") && l.includes(calibration.gate_id));
    expect(queued.map((l) => l.replace(/.*result="(\w+)"\} /u, "$1=")).sort()).toEqual(["counted=0", "duplicate=0", "mismatch=0"]);
    // The evidence and its alarm level are the monitor's own numbers (GET /v1/monitor shows the same window).
    const { windows } = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(value(line("scoregate_drift_log_evidence"))).toBe(windows[0]!.drop_rate.log_evidence);
    expect(line("scoregate_drift_log_evidence")).toContain('test="drop_rate"');
    expect(value(line("scoregate_drift_log_threshold"))).toBe(windows[0]!.log_threshold);
    expect(value(line("scoregate_window_design_effect"))).toBe(windows[0]!.design_effect);
    expect(value(line("scoregate_threshold"))).toBe(calibration.threshold);
    expect(line("scoregate_gate_info")).toContain(`reranker="${gate.reranker}"`);
    expect(line("scoregate_gate_info")).toMatch(/\} 1$/);
    expect(text).toMatch(/^scoregate_metrics_gates\{listed="true"\} [1-9]\d*$/m);
  });
});
