import { describe, expect, it } from "vitest";
import { call, callJson, qs, TOKENS, uniqueGate } from "../support/worker";

const body = (gate: object, target = 0.2) => ({
  ...gate,
  index_version: "v1",
  scores: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
  policy: { kind: "drop_rate", target },
});

describe("Idempotency-Key on POST /v1/calibrations", () => {
  it("replays the first response for the same key and body, and stores one calibration", async () => {
    const gate = uniqueGate("idem");
    const headers = { "idempotency-key": "rebuild-42" };
    const first = await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json: body(gate), headers });
    expect(first.status).toBe(201);
    const second = await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json: body(gate), headers });
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect((await second.json<any>()).calibration.id).toBe((await first.json<any>()).calibration.id);
    const history = await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200);
    expect(history.calibrations).toHaveLength(1);
    expect(history.activations).toHaveLength(1);
  });

  it("refuses the same key with a different body (422), and releases keys of failed requests", async () => {
    const gate = uniqueGate("idem2");
    const headers = { "idempotency-key": "k-1" };
    await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: body(gate), headers });
    const other = await callJson("POST", "/v1/calibrations", 422, { token: TOKENS.calibrate, json: body(gate, 0.3), headers });
    expect(other.error.code).toBe("idempotency_mismatch");
    const failing = { "idempotency-key": "k-2" };
    await callJson("POST", "/v1/calibrations", 422, { token: TOKENS.calibrate, json: body(gate, 0.99), headers: failing });
    await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: body(gate, 0.3), headers: failing });
  });
});
