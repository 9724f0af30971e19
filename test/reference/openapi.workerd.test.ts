import { describe, expect, it } from "vitest";
import * as S from "../../src/contract";
import { call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

describe("GET /openapi.json", () => {
  it("documents every route, and every documented route exists", async () => {
    const doc = await callJson("GET", "/openapi.json", 200, { token: null });
    expect(doc.openapi).toBe("3.1.0");
    const operations: [string, string][] = [];
    for (const [path, methods] of Object.entries<any>(doc.paths)) for (const m of Object.keys(methods)) operations.push([m.toUpperCase(), path]);
    expect(operations.length).toBeGreaterThanOrEqual(19);
    for (const [method, path] of operations) {
      const res = await call(method, path.replace(/\{id\}/g, "cal_000000000000aaaaaaaaaaaaaaaa"));
      const text = await res.text();
      expect(text.includes("no route for"), `${method} ${path}`).toBe(false);
    }
  });

  it("responses conform to the schemas the document is derived from", async () => {
    const gate = uniqueGate("schema");
    const created = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", queries: [spreadScores(20), spreadScores(20, 0.1, 0.8)], policy: { kind: "drop_rate", target: 0.25 } },
    });
    S.CalibrationCreated.parse(created);
    S.ThresholdResponse.parse(await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read }));
    S.CalibrationHistory.parse(await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200));
    S.GateList.parse(await callJson("GET", "/v1/gates", 200));
    S.ActivationResult.parse(await callJson("POST", `/v1/calibrations/${created.calibration.id}/activate`, 200));
    S.ObservationAccepted.parse(
      await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: "s1", ...gate, queries: [[20, 5]] } }),
    );
    S.MonitorStatus.parse(await callJson("GET", `/v1/monitor?${qs(gate)}`, 200));
    S.AlertList.parse(await callJson("GET", "/v1/alerts", 200));
    S.ErrorResponse.parse(await callJson("GET", "/v1/threshold?embedding=x", 400, { token: TOKENS.read }));
  });
});
