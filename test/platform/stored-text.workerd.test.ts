/**
 * Stored strings through the routes: a lone UTF-16 surrogate (legal in JSON as "\ud800", kept by D1 only as U+FFFD)
 * is a 422 that stores nothing; a too-long reason or URL names its limit; one problem is one detail.
 */
import { describe, expect, it } from "vitest";
import { MAX_NOTE_LENGTH, MAX_WEBHOOK_URL_LENGTH } from "../../src/contract";
import { call, callJson, expectError, qs, TOKENS, uniqueGate } from "../support/worker";

const upload = (gate: object, activate: boolean) => ({
  ...gate,
  index_version: "v1",
  scores: [0.1, 0.2, 0.3, 0.4, 0.5],
  policy: { kind: "drop_rate", target: 0.2 },
  activate,
});

describe("stored strings", () => {
  it("an upload naming a gate or version with a lone surrogate is refused, and no gate is created", async () => {
    const gate = uniqueGate("lone");
    for (const bad of [{ index: "\ud800" }, { embedding: "e5\udfff" }, { index_version: "v\ud83d" }]) {
      const err = await expectError(
        await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json: { ...upload(gate, true), ...bad } }),
        422,
        "invalid_input",
      );
      expect(err.message).toContain("must be valid Unicode (no lone surrogates)");
    }
    const { gates } = await callJson("GET", "/v1/gates", 200, { token: TOKENS.read });
    expect(gates.filter((g) => g.index.includes("\ufffd") || g.embedding.includes("\ufffd"))).toEqual([]);
    expect((await call("GET", `/v1/calibrations?${qs(gate)}`, { token: TOKENS.read })).status).toBe(404);
  });

  it("an activation reason with a lone surrogate or over the limit is refused with its own message, and nothing is activated", async () => {
    const gate = uniqueGate("reason");
    const cal = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: upload(gate, false) });
    const id = cal.calibration.id;
    const lone = await expectError(
      await call("POST", `/v1/calibrations/${id}/activate`, { json: { reason: "rolled \ud800 back" } }),
      422,
      "invalid_input",
    );
    expect(lone.details).toEqual([{ path: "reason", message: "must be valid Unicode (no lone surrogates)" }]);
    const long = await expectError(
      await call("POST", `/v1/calibrations/${id}/activate`, { json: { reason: "r".repeat(MAX_NOTE_LENGTH + 1) } }),
      422,
      "invalid_input",
    );
    expect(long.message).toBe(`invalid activation: reason must be at most ${MAX_NOTE_LENGTH} characters (got ${MAX_NOTE_LENGTH + 1})`);
    const history = await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(history.activations).toEqual([]);
  });

  it("a too-long webhook URL says its limit, not that it must be a string", async () => {
    const url = `http://localhost:9/${"a".repeat(MAX_WEBHOOK_URL_LENGTH)}`;
    const err = await expectError(await call("POST", "/v1/webhooks", { json: { url } }), 422, "invalid_input");
    expect(err.details).toEqual([{ path: "url", message: `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters (got ${url.length})` }]);
  });

  it("a bad event seq is one problem, listed once", async () => {
    const err = await expectError(await call("GET", `/v1/gates/${"0".repeat(32)}/events?after=abc`, { token: TOKENS.read }), 400, "bad_request");
    expect(err.details).toHaveLength(1);
  });
});
