/**
 * Activations of one gate under concurrency: every recorded activation names the one just before it as previous, its
 * shift is computed against that one, and history, /v1/gates and the served threshold agree.
 */
import { describe, expect, it } from "vitest";
import { callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const upload = (gate: object, version: string, offset: number, activate: boolean) => ({
  token: TOKENS.calibrate,
  json: { ...gate, index_version: version, scores: spreadScores(400, offset), policy: { kind: "drop_rate", target: 0.2 }, activate },
});

/** The activations are one chain: each previous_calibration_id is the calibration activated just before it. */
function expectLinear(activations: { calibration_id: string; previous_calibration_id: string | null }[]): void {
  const oldestFirst = [...activations].reverse();
  for (let i = 1; i < oldestFirst.length; i++) expect(oldestFirst[i]!.previous_calibration_id).toBe(oldestFirst[i - 1]!.calibration_id);
}

describe("concurrent activations of one gate", () => {
  it("20 concurrent activations of different calibrations form one linear history", async () => {
    const gate = uniqueGate("race");
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await callJson("POST", "/v1/calibrations", 201, upload(gate, `v${i}`, i * 0.01, false))).calibration.id);
    const results = await Promise.all(ids.map((id) => callJson("POST", `/v1/calibrations/${id}/activate`, 200, { json: { reason: "race" } })));

    const history = await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200);
    expect(history.activations).toHaveLength(20);
    expectLinear(history.activations);
    expect(history.activations.at(-1)!.previous_calibration_id).toBeNull();
    // 19 distinct previous calibrations, not 19 copies of the same one
    expect(new Set(history.activations.map((a: any) => a.previous_calibration_id)).size).toBe(20);

    // each response's shift was computed against the activation's own previous calibration
    for (const r of results) {
      if (r.activation!.previous_calibration_id === null) expect(r.shift).toBeNull();
      else expect(r.shift!.previous_calibration_id).toBe(r.activation!.previous_calibration_id);
    }
    const newest = history.activations[0]!.calibration_id;
    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(served.calibration_id).toBe(newest);
    const gates = (await callJson("GET", "/v1/gates", 200)).gates;
    expect(gates.find((g) => g.reranker === gate.reranker)!.current_calibration_id).toBe(newest);
  }, 60_000); // 20 uploads, then up to 210 activation attempts (each loser retries) on a shared 2-core machine

  it("concurrent activating uploads record each other as previous, with no calibration stored twice", async () => {
    const gate = uniqueGate("upload-race");
    await callJson("POST", "/v1/calibrations", 201, upload(gate, "v0", 0, true));
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => callJson("POST", "/v1/calibrations", 201, upload(gate, `v${i + 1}`, 0.01 * i, true))),
    );
    const history = await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200);
    expect(history.calibrations).toHaveLength(11);
    expect(history.activations).toHaveLength(11);
    expectLinear(history.activations);
    for (const r of results) {
      const act = history.activations.find((a: any) => a.calibration_id === r.calibration.id);
      expect(r.shift!.previous_calibration_id).toBe(act!.previous_calibration_id);
    }
  }, 60_000);
});
