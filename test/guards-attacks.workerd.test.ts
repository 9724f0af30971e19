/**
 * Hostile input against guards and abstention (uploads, served bodies, 4-value observation batches) and judgments:
 * every refusal is our JSON error, never a 500, and changes nothing.
 */
import { describe, expect, it } from "vitest";
import { labelledQueries } from "./support/labelled";
import { asQueries, call, callJson, expectError, qs, spreadScores, TOKENS, uniqueGate } from "./support/worker";

const upload = (json: object) => call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json });
const raw = (body: string) => ({ token: TOKENS.calibrate, body, headers: { "content-type": "application/json" } });

describe("guard attacks", () => {
  it("refuses malformed guards in a JSON upload, storing nothing", async () => {
    const gate = uniqueGate("atk-guards");
    const queries = asQueries(spreadScores(400), 10);
    const bad: object[] = [
      { min_keep: -1 },
      { min_keep: 1.5 },
      { min_keep: "2" },
      { min_keep: 10_001 },
      { max_keep: 0 },
      { max_keep: -3 },
      { max_keep: 2.5 },
      { min_keep: 4, max_keep: 3 },
      { abstention: { alpha: 0 } },
      { abstention: { alpha: 1 } },
      { abstention: { rate: 1 } },
      { abstention: { rate: -0.1 } },
      { abstention: { alpha: 0.1, rate: 0.1 } },
      { abstention: { rate: "0.1" } },
      { abstention: "yes" },
      { abstention: null },
      { abstain_below: 0.5 },
    ];
    for (const [i, guards] of bad.entries()) {
      const res = await upload({ ...gate, index_version: `v${i}`, policy: { kind: "drop_rate", target: 0.2, ...guards }, queries });
      const e = await expectError(res, 422, "invalid_input");
      expect(e.message, JSON.stringify(guards)).toBeTruthy();
    }
    const inf = await call(
      "POST",
      "/v1/calibrations",
      raw(`{"embedding":"e","reranker":"r","policy":{"kind":"drop_rate","target":0.2,"min_keep":1e400},"queries":[[0.1,0.2]]}`),
    );
    expect(JSON.stringify((await expectError(inf, 422, "invalid_input")).details)).toContain("policy.min_keep");
    // abstention "carry" on a drop-rate policy: a clear refusal, not a 500
    const carry = await upload({ ...gate, index_version: "vc", policy: { kind: "drop_rate", target: 0.2, abstention: "carry" }, queries });
    expect((await expectError(carry, 422, "invalid_input")).message).toContain("carry");
    // alpha without labels
    const alpha = await upload({ ...gate, index_version: "va", policy: { kind: "drop_rate", target: 0.2, abstention: { alpha: 0.1 } }, queries });
    expect((await expectError(alpha, 422, "invalid_input")).message).toContain("answerable");
    // float32 upload with bad guard query parameters
    const bytes = new Float32Array(spreadScores(400)).buffer;
    for (const extra of [
      "min_keep=1.5",
      "min_keep=-1",
      "max_keep=0",
      "abstention_rate=1",
      "min_keep=NaN",
      "max_keep=1e400",
      "min_keep=3&max_keep=2",
      "min_keep=2",
    ]) {
      const res = await call("POST", `/v1/calibrations?${qs({ ...gate, index_version: "vf", kind: "drop_rate", target: 0.2 })}&${extra}`, {
        token: TOKENS.calibrate,
        body: bytes,
        headers: { "content-type": "application/octet-stream" },
      });
      expect([400, 422], `${extra}: ${res.status} ${await res.clone().text()}`).toContain(res.status);
    }
    const gates = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read });
    expect(gates.status).toBe(404);
  });

  it("4-value batches on a guarded, abstaining gate: bad ones refused, good ones counted", async () => {
    const gate = uniqueGate("atk-guard-obs");
    const q = asQueries(spreadScores(4000), 20);
    const c = (
      await callJson("POST", "/v1/calibrations", 201, {
        token: TOKENS.calibrate,
        json: {
          ...gate,
          index_version: "v1",
          policy: { kind: "drop_rate", target: 0.3, min_keep: 2, max_keep: 15, abstention: { rate: 0.1 } },
          queries: q,
        },
      })
    ).calibration;
    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(served).toMatchObject({ guards: { min_keep: 2, max_keep: 15 } });
    expect(typeof served.abstain_below).toBe("number");
    const obs = (batch_id: string, queries: unknown) =>
      call("POST", "/v1/observations", { token: TOKENS.read, json: { batch_id, calibration_id: c.id, queries } });
    const bad: unknown[] = [
      [[20, 5, 3, 2]],
      [[20, 5, 21, 0]],
      [[20, 5, 3]],
      [[20, 5, -3, 0]],
      [[20, 5, 3, 0.5]],
      [[20, 5, 3, true]],
      [[20, 5, null, 0]],
      [[20, 5, 3, 1, -1]],
      [[20, 5, 3, 1, 0.5]],
      [[20, 5, 3, 1, 0, 0]],
      [[9_995, 5, 3, 1, 10]],
      [[20, 5], [20]],
    ];
    for (const [i, queries] of bad.entries()) await expectError(await obs(`g-bad-${i}`, queries), 422, "invalid_input");
    const mon0 = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(mon0.windows).toEqual([]);
    // mixed 2- and 4-value entries, a query with no candidates that says it abstained, all-abstained
    const ok = await obs("g-ok", [
      [20, 5, 3, 0],
      [20, 6],
      [0, 0, 0, 1],
      [20, 20, 20, 1],
      [1, 0, 0, 1],
    ]);
    expect(ok.status, await ok.clone().text()).toBe(202);
    const mon = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(mon.windows[0]).toMatchObject({ queries: 4, abstention_queries: 3, abstained_queries: 2 });
  });

  it("judgments: bad labels, thresholds and sizes refused, nothing counted", async () => {
    const gate = uniqueGate("atk-judge");
    const data = labelledQueries(21, 500);
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        index_version: "v1",
        policy: { kind: "recall", target: 0.9 },
        queries: data.map((x) => x.scores),
        relevance: data.map((x) => x.relevance),
      },
    });
    const judge = (batch_id: string, extra: object) =>
      call("POST", "/v1/judgments", {
        token: TOKENS.read,
        json: { batch_id, calibration_id: calibration.id, queries: [{ scores: [0.9, 0.1], relevance: [1, 0] }], ...extra },
      });
    const bad: object[] = [
      { queries: [{ scores: [0.9, 0.1], relevance: [1, 0, 0] }] },
      { queries: [{ scores: [0.9, 0.1], relevance: [1, -1] }] },
      { queries: [{ scores: [0.9, 0.1], relevance: [1, 0.5] }] },
      { queries: [{ scores: [0.9, 0.1], relevance: ["1", 0] }] },
      { queries: [{ scores: [], relevance: [] }] },
      { queries: [{ scores: [0.9, "NaN"], relevance: [1, 0] }] },
      { queries: [{ scores: [0.9, 0.1], relevance: [1, 0], threshold: "0.5" }] },
      { queries: [{ scores: [0.9, 0.1], relevance: [1, 0], extra: 1 }] },
      { queries: [] },
      { queries: Array.from({ length: 1001 }, () => ({ scores: [0.9], relevance: [1] })) },
      { queries: [{ scores: Array.from({ length: 10_001 }, () => 0.5), relevance: Array.from({ length: 10_001 }, () => 0) }] },
      { relevant_at: "2" },
      { relevant_at: null },
      { role: "shadow" },
      { promotion: { id: "prm_0000000000", step: 0, arm: "candidate" } },
      { batch_id: "" },
      { batch_id: "x".repeat(129) },
      { batch_id: 7 },
    ];
    for (const [i, extra] of bad.entries()) {
      const res = await judge(`j-bad-${i}`, extra);
      expect([413, 422], `${JSON.stringify(extra).slice(0, 100)}: ${res.status} ${await res.clone().text()}`).toContain(res.status);
    }
    const rawInf = await call("POST", "/v1/judgments", {
      token: TOKENS.read,
      body: `{"batch_id":"j-inf","calibration_id":"${calibration.id}","relevant_at":1e400,"queries":[{"scores":[0.9],"relevance":[1]}]}`,
      headers: { "content-type": "application/json" },
    });
    await expectError(rawInf, 422, "invalid_input");
    const mon = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(mon.recall).toEqual([]);
    // relevant_at with 0/1 labels; labels above relevant_at; a null threshold (no gate)
    const ok = await call("POST", "/v1/judgments", {
      token: TOKENS.read,
      json: {
        batch_id: "j-ok",
        calibration_id: calibration.id,
        relevant_at: 0.5,
        queries: [{ scores: [0.9, 0.1], relevance: [1, 0], threshold: null }],
      },
    });
    expect(ok.status, await ok.clone().text()).toBe(202);
  });
});
