/**
 * The typed handle(): in the test environment every answer is checked against the schema the route table declares
 * for its status (the workerd tests of every route rely on it), and nowhere else. The input validation's wording is
 * covered route by route in bad-input and strict-input (workerd).
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { ROUTES } from "../../src/contract";
import type { Env, RouteEnv } from "../../src/platform/env";
import { checkReply, handle } from "../../src/platform/http/handle";

/** An app with one public route whose handler answers `reply`, and the errors it raised. */
function appAnswering(reply: unknown, status: 200 | 201) {
  const app = new Hono<RouteEnv<unknown>>();
  const errors: unknown[] = [];
  app.onError((err, c) => {
    errors.push(err);
    return c.text("error", 500);
  });
  // A handler that breaks the contract on purpose: the casts stand where the compiler would refuse it.
  handle(app, ROUTES.health, (c) => c.json(reply as { ok: boolean }, status as 200));
  const call = (environment: string) => app.request("/healthz", {}, { ENVIRONMENT: environment } as Env);
  return { call, errors };
}

describe("handle: answers checked against the route table in tests", () => {
  it("passes an answer that matches its declared schema", async () => {
    const { call, errors } = appAnswering({ ok: true, ready: true }, 200);
    expect((await call("test")).status).toBe(200);
    expect(errors).toEqual([]);
  });

  it("turns an answer its schema refuses into an error naming the route and the field (ENVIRONMENT=test)", async () => {
    const { call, errors } = appAnswering({ ok: "yes" }, 200);
    expect((await call("test")).status).toBe(500);
    expect(String(errors[0])).toMatch(/^TypeError: GET \/healthz answered 200 with a body its declared schema refuses: ok .*boolean/);
  });

  it("refuses a status the route does not declare", async () => {
    const { call, errors } = appAnswering({ ok: true }, 201);
    expect((await call("test")).status).toBe(500);
    expect(String(errors[0])).toBe("TypeError: GET /healthz answered 201, which the route table does not declare");
  });

  it("does not check outside the test environment", async () => {
    const { call, errors } = appAnswering({ ok: "yes" }, 200);
    expect((await call("production")).status).toBe(200);
    expect((await call("development")).status).toBe(200);
    expect(errors).toEqual([]);
  });

  it("checkReply: routes without a schema for a status (304, 302, text) accept any body", () => {
    expect(() => checkReply(ROUTES.getThreshold, 304, null)).not.toThrow();
    expect(() => checkReply(ROUTES.index, 302, null)).not.toThrow();
    expect(() => checkReply(ROUTES.metrics, 200, "# HELP x\n")).not.toThrow();
    expect(() => checkReply(ROUTES.getThreshold, 200, { index: "docs" })).toThrow(
      /GET \/v1\/threshold answered 200 with a body its declared schema refuses: embedding/,
    );
  });
});
