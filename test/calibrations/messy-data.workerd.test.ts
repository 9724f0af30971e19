// Messy data through the HTTP API: refusals are clear 422s that store nothing; new fields reach the monitor.
import { describe, expect, it } from "vitest";
import { call, callJson, counted, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const policy = { kind: "drop_rate", target: 0.3 };

describe("messy calibrations over HTTP", () => {
  it("constant scores: 422 target_unreachable, and the gate stays uncalibrated", async () => {
    const gate = uniqueGate("constant");
    const err = await callJson("POST", "/v1/calibrations", 422, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.98 }, scores: new Array(1000).fill(0.5) },
    });
    expect(err.error.code).toBe("target_unreachable");
    const res = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read });
    expect(res.status).toBe(404);
  });

  it("float32 scores near 5e6 spread over 1.0 (spacing 0.5): 422 float32_precision", async () => {
    const gate = uniqueGate("f32");
    // (A spread of 0.1 rounds to one float32 value here, which target_unreachable refuses; the unit tests cover it.)
    const scores = Float32Array.from(spreadScores(1000, 5e6 - 0.5, 1));
    const err = await callJson("POST", `/v1/calibrations?${qs({ ...gate, index_version: "v1", kind: "drop_rate", target: 0.3 })}`, 422, {
      token: TOKENS.calibrate,
      body: new Uint8Array(scores.buffer),
      headers: { "content-type": "application/octet-stream" },
    });
    expect(err.error.code).toBe("float32_precision");
  });

  it("drift tolerances: out of range is 422 invalid_input; relative ones come back in rate units", async () => {
    const gate = uniqueGate("tol");
    const base = { ...gate, index_version: "v1", policy, scores: spreadScores(500) };
    const bad = await callJson("POST", "/v1/calibrations", 422, { token: TOKENS.calibrate, json: { ...base, drift_tolerance: { relative: 2 } } });
    expect(bad.error.code).toBe("invalid_input");
    const both = await callJson(
      "POST",
      `/v1/calibrations?${qs({ ...gate, index_version: "v2", kind: "drop_rate", target: 0.3, drift_tolerance: 0.01, drift_tolerance_relative: 0.5 })}`,
      422,
      {
        token: TOKENS.calibrate,
        body: new Uint8Array(Float32Array.from(spreadScores(500)).buffer),
        headers: { "content-type": "application/octet-stream" },
      },
    );
    expect(both.error.code).toBe("invalid_input");
    const ok = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...base, drift_tolerance: { relative: 0.5 } } });
    expect(ok.calibration.drift_tolerance).toBeCloseTo(0.5 * ok.calibration.expected_drop_rate, 12);
    expect(ok.warnings.map((w: { code: string }) => w.code)).toContain("flat_scores");
  });

  it("the monitor shows the change detector's evidence, since when, and candidates per query", async () => {
    const gate = uniqueGate("detector");
    const queries = Array.from({ length: 200 }, (_, q) => spreadScores(20, q / 200, 1));
    const cal = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...gate, index_version: "v1", policy, queries } });
    const accepted = counted(
      await callJson("POST", "/v1/observations", 202, {
        token: TOKENS.read,
        json: { batch_id: `${gate.embedding}-1`, calibration_id: cal.calibration.id, queries: Array.from({ length: 40 }, () => [10, 3]) },
      }),
    );
    expect(accepted.window.drop_rate).toMatchObject({ armed: false, evidence_queries: 40 });
    expect(typeof accepted.window.drop_rate.evidence_since).toBe("string");
    expect(accepted.window).toMatchObject({ mean_candidates: 10, expected_mean_candidates: 20 });
    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(monitor.windows[0]!.drop_rate.log_evidence).toBe(accepted.window.drop_rate.log_evidence);
  });
});
