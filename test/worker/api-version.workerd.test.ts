/**
 * Every response says which API it speaks (scoregate-api-version): successes, 304s, errors of every kind, the
 * dashboard, /docs and /metrics. Static assets never reach the Worker: public/_headers gives them the header
 * (static-headers.test.ts).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { API_VERSION, API_VERSION_HEADER } from "../../src/contract";
import type { Env } from "../../src/platform/env";
import { app } from "../../src/worker/app";
import { call, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const versionOf = (res: Response): string | null => res.headers.get(API_VERSION_HEADER);

describe(`the ${API_VERSION_HEADER} header`, () => {
  it("is the contract's API_VERSION", () => {
    expect(API_VERSION_HEADER).toBe("scoregate-api-version");
    expect(API_VERSION).toBe("1");
  });

  it("is on API answers: JSON, 201, 304, text and the OpenAPI document", async () => {
    const gate = uniqueGate("api-version");
    const created = await call("POST", "/v1/calibrations", {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(200), policy: { kind: "drop_rate", target: 0.2 } },
    });
    expect(created.status).toBe(201);
    expect(versionOf(created)).toBe(API_VERSION);
    const first = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read });
    expect([first.status, versionOf(first)]).toEqual([200, API_VERSION]);
    const notModified = await call("GET", `/v1/threshold?${qs(gate)}`, {
      token: TOKENS.read,
      headers: { "if-none-match": first.headers.get("etag")! },
    });
    expect([notModified.status, versionOf(notModified)]).toEqual([304, API_VERSION]);
    for (const path of ["/healthz", "/openapi.json", "/metrics", "/"]) {
      const res = await call("GET", path, { token: TOKENS.read });
      expect([path, res.status, versionOf(res)]).toEqual([path, 200, API_VERSION]);
    }
  });

  it("is on errors: bad input, no token, no route, and a refused configuration", async () => {
    for (const [path, token, status] of [
      ["/v1/threshold?embedding=x", TOKENS.read, 400],
      ["/v1/gates", null, 401],
      ["/v1/webhooks", TOKENS.read, 403],
      ["/v1/nothing-here", TOKENS.read, 404],
      [`/v1/threshold?${qs(uniqueGate("api-version-none"))}`, TOKENS.read, 404],
    ] as const) {
      const res = await call("GET", path, { token });
      expect([path, res.status, versionOf(res)]).toEqual([path, status, API_VERSION]);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBeTypeOf("string");
    }
    const ctx = createExecutionContext();
    const refused = await app.fetch(
      new Request("http://x/healthz"),
      { ...(env as unknown as Env), ENVIRONMENT: "production", ADMIN_TOKENS: "ops:dev-admin" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect([refused.status, versionOf(refused)]).toEqual([503, API_VERSION]);
  });

  it("is on the dashboard and the API reference", async () => {
    const login = await call("GET", "/ui/login", { token: null });
    expect([login.status, versionOf(login)]).toEqual([200, API_VERSION]);
    const style = await call("GET", "/ui/style.css", { token: null });
    expect([style.status, versionOf(style)]).toEqual([200, API_VERSION]);
    const docs = await call("GET", "/docs", { token: null });
    expect([docs.status, versionOf(docs)]).toEqual([200, API_VERSION]);
    const dashboardError = await call("GET", "/ui/alerts/alr_missing", { token: null });
    expect(versionOf(dashboardError)).toBe(API_VERSION);
  });
});
