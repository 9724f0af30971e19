import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/worker/app";
import { call, qs, TOKENS, uniqueGate } from "../support/worker";

const upload = (gate: object) => ({ ...gate, index_version: "v1", scores: [0.1, 0.2, 0.3], policy: { kind: "drop_rate", target: 0.25 } });

describe("auth", () => {
  it("401 without a token or with an unknown one", async () => {
    for (const token of [null, "nope"]) {
      const res = await call("GET", "/v1/gates", { token });
      expect(res.status).toBe(401);
      expect((await res.json<any>()).error.code).toBe("unauthorized");
    }
  });

  it("scopes nest: read < calibrate < admin, 403 otherwise", async () => {
    const gate = uniqueGate("scopes");
    expect((await call("POST", "/v1/calibrations", { token: TOKENS.read, json: upload(gate) })).status).toBe(403);
    const created = await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json: upload(gate) });
    expect(created.status).toBe(201);
    const id = (await created.json<any>()).calibration.id;
    expect((await call("POST", `/v1/calibrations/${id}/activate`, { token: TOKENS.calibrate })).status).toBe(403);
    expect((await call("POST", `/v1/calibrations/${id}/activate`, { token: TOKENS.admin })).status).toBe(200);
    // admin and calibrate include read
    for (const token of [TOKENS.read, TOKENS.calibrate, TOKENS.admin]) {
      expect((await call("GET", `/v1/threshold?${qs(gate)}`, { token })).status).toBe(200);
    }
  });

  it("accepts every token of a scope (rotation) and records the token's name", async () => {
    const gate = uniqueGate("rotation");
    const created = await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json: { ...upload(gate), activate: false } });
    const id = (await created.json<any>()).calibration.id;
    const res = await call("POST", `/v1/calibrations/${id}/activate`, { token: "test-admin-2", json: { reason: "rotation check" } });
    expect(res.status).toBe(200);
    expect((await res.json<any>()).activation).toMatchObject({ actor: "bob", reason: "rotation check" });
  });

  it("a production Worker refuses to serve with the local dev tokens, or with none", async () => {
    for (const overrides of [{ ADMIN_TOKENS: "ops:dev-admin" }, { READ_TOKENS: "", CALIBRATE_TOKENS: "", ADMIN_TOKENS: "" }]) {
      const ctx = createExecutionContext();
      const res = await app.fetch(new Request("http://x/healthz"), { ...env, ENVIRONMENT: "production", ...overrides }, ctx);
      await waitOnExecutionContext(ctx);
      expect(res.status).toBe(503);
      expect((await res.json<any>()).error.code).toBe("misconfigured");
    }
  });

  it("development without configured tokens accepts the documented local tokens", async () => {
    const ctx = createExecutionContext();
    const devEnv = { ...env, ENVIRONMENT: "development", READ_TOKENS: "", CALIBRATE_TOKENS: "", ADMIN_TOKENS: "" };
    const res = await app.fetch(new Request("http://x/v1/gates", { headers: { authorization: "Bearer dev-read" } }), devEnv, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
  });
});

describe("environments", () => {
  it("treats any ENVIRONMENT but development and test as production (dev tokens refused)", async () => {
    for (const ENVIRONMENT of ["staging", "Production", "prod"]) {
      const ctx = createExecutionContext();
      const res = await app.fetch(
        new Request("http://x/healthz"),
        { ...env, ENVIRONMENT, READ_TOKENS: "", CALIBRATE_TOKENS: "", ADMIN_TOKENS: "x:dev-admin" },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(res.status, ENVIRONMENT).toBe(503);
    }
  });

  it("a bad DRIFT_ALPHA fails the drift endpoints loudly but never takes serving down", async () => {
    const gate = uniqueGate("drift-config");
    await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json: upload(gate) });
    const broken = { ...env, DRIFT_ALPHA: "0,001" };
    const get = async (path: string, init: RequestInit = {}) => {
      const ctx = createExecutionContext();
      const res = await app.fetch(
        new Request(`http://x${path}`, { ...init, headers: { authorization: "Bearer test-read", "content-type": "application/json" } }),
        broken,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res;
    };
    expect((await get(`/v1/threshold?${qs(gate)}`)).status).toBe(200);
    const obs = await get("/v1/observations", { method: "POST", body: JSON.stringify({ batch_id: "x", ...gate, queries: [[2, 1]] }) });
    expect(obs.status).toBe(503);
    expect((await obs.json<any>()).error).toEqual({
      code: "misconfigured",
      message: 'DRIFT_ALPHA="0,001" is not valid: use a number above 0 and below 0.5 (default 0.001)',
    });
  });
});
