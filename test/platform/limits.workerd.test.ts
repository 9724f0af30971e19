// The app enforces the limits of src/contract/limits.ts and src/platform/limits.ts (docs/api.md#limits); body-size and id limits are in bad-input.workerd.test.ts.
import { describe, expect, it } from "vitest";
import {
  MAX_BATCH_ID_LENGTH,
  MAX_CANDIDATES_PER_QUERY,
  MAX_OBSERVATION_QUERIES,
  MAX_OBSERVATION_SCORES,
  MAX_PAGE_SIZE,
  MAX_SMALL_BODY_BYTES,
  MAX_WEBHOOK_ENDPOINTS,
} from "../../src/platform/limits";
import { call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

async function expectCode(res: Response, status: number, code: string): Promise<void> {
  const body = await res.json<any>();
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(body.error.code).toBe(code);
}

describe("limits", () => {
  it("observation batches: queries, score sample, candidates per query, batch id length", async () => {
    const gate = uniqueGate("limits");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(100), policy: { kind: "drop_rate", target: 0.1 } },
    });
    const post = (json: unknown) => call("POST", "/v1/observations", { token: TOKENS.read, json });
    const one: [number, number][] = [[2, 1]];
    await expectCode(await post({ batch_id: "a", ...gate, queries: Array(MAX_OBSERVATION_QUERIES + 1).fill([1, 0]) }), 422, "invalid_input");
    await expectCode(await post({ batch_id: "a", ...gate, queries: one, scores: Array(MAX_OBSERVATION_SCORES + 1).fill(0.5) }), 422, "invalid_input");
    await expectCode(await post({ batch_id: "a", ...gate, queries: [[MAX_CANDIDATES_PER_QUERY + 1, 0]] }), 422, "invalid_input");
    await expectCode(await post({ batch_id: "x".repeat(MAX_BATCH_ID_LENGTH + 1), ...gate, queries: one }), 422, "invalid_input");
    expect((await post({ batch_id: "x".repeat(MAX_BATCH_ID_LENGTH), ...gate, queries: Array(MAX_OBSERVATION_QUERIES).fill([1, 0]) })).status).toBe(
      202,
    );
  });

  it("small JSON bodies are capped at MAX_SMALL_BODY_BYTES", async () => {
    const res = await call("POST", "/v1/observations", {
      token: TOKENS.read,
      body: JSON.stringify({ batch_id: "big", padding: "x".repeat(MAX_SMALL_BODY_BYTES) }),
      headers: { "content-type": "application/json" },
    });
    await expectCode(res, 413, "payload_too_large");
  });

  it("page sizes above MAX_PAGE_SIZE are refused", async () => {
    await expectCode(await call("GET", `/v1/calibrations?${qs({ ...uniqueGate(), limit: MAX_PAGE_SIZE + 1 })}`), 400, "bad_request");
    // accepted: the answer is about the gate (never calibrated: 404), not the page size
    expect((await call("GET", `/v1/calibrations?${qs({ ...uniqueGate(), limit: MAX_PAGE_SIZE })}`)).status).toBe(404);
  });

  it("at most MAX_WEBHOOK_ENDPOINTS webhook endpoints", async () => {
    const { endpoints } = await callJson("GET", "/v1/webhooks", 200);
    for (let i = endpoints.length; i < MAX_WEBHOOK_ENDPOINTS; i++) {
      await callJson("POST", "/v1/webhooks", 201, { json: { url: `http://localhost/hook-${i}`, enabled: false } });
    }
    await expectCode(await call("POST", "/v1/webhooks", { json: { url: "http://localhost/one-too-many" } }), 409, "conflict");
  });
});
