/**
 * The typed handle(): in the test environment every answer is checked against the schema the route table declares
 * for its status, undeclared fields included, and every error it raises against the statuses the entry declares (the
 * workerd tests of every route rely on it), and nowhere else. The input validation's wording is
 * covered route by route in bad-input and strict-input (workerd).
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { CalibrationId, PARAM_NAMES, ROUTES, type RouteSpec } from "../../src/contract";
import type { Env, RouteEnv } from "../../src/platform/env";
import { AppError } from "../../src/platform/errors";
import { MAX_SHOWN_ID_CHARACTERS } from "../../src/platform/format";
import { checkReply, declaredErrors, handle, handledErrors, paramForms, undeclaredKey } from "../../src/platform/http/handle";

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

  it("refuses an answer with a field its schema does not declare, at the top level (ENVIRONMENT=test)", async () => {
    const { call, errors } = appAnswering({ ok: true, ready: true, extra_field: 1 }, 200);
    expect((await call("test")).status).toBe(500);
    expect(String(errors[0])).toBe("TypeError: GET /healthz answered 200 with a field its declared schema does not have: extra_field");
  });

  it("checkReply: a field the schema does not declare is refused at any depth, in objects and in arrays", () => {
    const schema = z.object({ a: z.object({ b: z.number() }), list: z.array(z.object({ c: z.string() })), tags: z.record(z.string(), z.number()) });
    const spec: RouteSpec = { ...ROUTES.health, responses: { 200: { description: "nested", schema } } };
    const ok = { a: { b: 1 }, list: [{ c: "x" }, { c: "y" }], tags: { any: 1, key: 2 } };
    expect(() => checkReply(spec, 200, ok)).not.toThrow();
    expect(() => checkReply(spec, 200, { ...ok, a: { b: 1, secret: "s" } })).toThrow(/a field its declared schema does not have: a\.secret$/);
    expect(() => checkReply(spec, 200, { ...ok, list: [{ c: "x" }, { c: "y", leaked: true }] })).toThrow(/does not have: list\[1\]\.leaked$/);
    expect(() => checkReply(ROUTES.health, 200, { ok: true, ready: true, extra: { x: 1 } })).toThrow(/does not have: extra$/);
  });

  it("undeclaredKey: keys a schema keeps (records, loose objects, defaults added) are not extra; transformed values are not looked into", () => {
    expect(undeclaredKey({ a: 1 }, { a: 1, b: 2 })).toBeNull();
    expect(undeclaredKey({ a: { x: 1 } }, { a: "made a string" })).toBeNull();
    expect(undeclaredKey([{ a: 1 }, { b: 1 }], [{ a: 1 }, {}])).toBe("[1].b");
    expect(undeclaredKey({ a: [[{ deep: 1 }]] }, { a: [[{}]] })).toBe("a[0][0].deep");
  });
});

/** An app with one public route whose handler throws `err`, and the errors its onError saw. */
function appThrowing(spec: RouteSpec, err: Error) {
  const app = new Hono<RouteEnv<unknown>>();
  const errors: unknown[] = [];
  app.onError((e, c) => {
    errors.push(e);
    return c.text("error", 500);
  });
  handle(app, spec as typeof ROUTES.health, () => {
    throw err;
  });
  const call = (environment: string) => app.request(spec.path, { method: spec.method.toUpperCase() }, { ENVIRONMENT: environment } as Env);
  return { call, errors };
}

describe("handle: errors checked against the statuses the route table declares in tests", () => {
  it("lets an error of a declared status through, and turns one the entry does not declare into an error naming it", async () => {
    const declared = appThrowing(ROUTES.health, new AppError("not_migrated", "behind"));
    await declared.call("test");
    expect(declared.errors[0]).toBeInstanceOf(AppError);
    const undeclared = appThrowing(ROUTES.health, new AppError("conflict", "taken"));
    await undeclared.call("test");
    expect(String(undeclared.errors[0])).toBe("TypeError: GET /healthz answered 409 conflict (taken), which the route table does not declare");
    const outside = appThrowing(ROUTES.health, new AppError("conflict", "taken"));
    await outside.call("production");
    expect(outside.errors[0]).toBeInstanceOf(AppError);
  });

  it("every route declares 400 (query names) and 503 (configuration, schema); authenticated ones 401 and 403", () => {
    for (const spec of Object.values(ROUTES) as RouteSpec[]) {
      const statuses = declaredErrors(spec);
      expect(statuses, `${spec.method} ${spec.path}`).toEqual(expect.arrayContaining([400, 503, ...(spec.scope === null ? [] : [401, 403])]));
      expect(statuses, `${spec.method} ${spec.path}`).toEqual(expect.arrayContaining([...spec.errors]));
    }
    expect(handledErrors(ROUTES.index)).toEqual([400, 503]);
  });

  it("a route with a JSON body declares 400, 413, 415 and 422; one with a path parameter 404", () => {
    expect(handledErrors(ROUTES.acknowledgeAlert)).toEqual([400, 401, 403, 404, 413, 415, 422, 503]);
    expect(handledErrors(ROUTES.createWebhook)).toEqual([400, 401, 403, 413, 415, 422, 503]);
    expect(handledErrors(ROUTES.listWebhooks)).toEqual([400, 401, 403, 503]);
  });
});

/**
 * A public copy of the calibration read (its entry declares the form of `id`), whose handler answers the id it was
 * handed; the errors its onError saw.
 */
function appReadingCalibration() {
  const app = new Hono<RouteEnv<unknown>>();
  const errors: unknown[] = [];
  app.onError((e, c) => {
    errors.push(e);
    return c.text("error", 500);
  });
  const handed: string[] = [];
  const spec = { ...ROUTES.getCalibration, scope: null };
  handle(app, spec, (_c, { params }) => {
    const id: string = params.id; // typed from the form's output
    handed.push(id);
    throw new AppError("not_found", "stop here");
  });
  const call = (id: string) => app.request(`/v1/calibrations/${encodeURIComponent(id)}`, {}, { ENVIRONMENT: "test" } as Env);
  return { call, errors, handed };
}

describe("handle: path parameters checked against the forms the route table declares", () => {
  it("a value of another form is a 404 in the contract's words, before the handler runs", async () => {
    const app = appReadingCalibration();
    await app.call("not-an-id");
    expect(app.handed).toEqual([]);
    expect(app.errors[0]).toBeInstanceOf(AppError);
    expect((app.errors[0] as AppError).code).toBe("not_found");
    expect((app.errors[0] as AppError).message).toBe('calibration "not-an-id" does not exist');
  });

  it("repeats a long value shortened, as every message repeats an id", async () => {
    const app = appReadingCalibration();
    await app.call("x".repeat(5000));
    expect((app.errors[0] as AppError).message).toBe(`calibration "${"x".repeat(MAX_SHOWN_ID_CHARACTERS)}… (5,000 characters)" does not exist`);
  });

  it("hands a value of the form to the handler", async () => {
    const app = appReadingCalibration();
    await app.call("cal_000000000000aaaaaaaaaaaaaaaa");
    expect(app.handed).toEqual(["cal_000000000000aaaaaaaaaaaaaaaa"]);
    expect((app.errors[0] as AppError).message).toBe("stop here");
  });

  it("every form the table declares is worded in PARAM_NAMES and names a parameter of its path", () => {
    for (const spec of Object.values(ROUTES) as RouteSpec[]) expect(() => paramForms(spec), `${spec.method} ${spec.path}`).not.toThrow();
    expect(paramForms(ROUTES.activateCalibration).get("id")).toEqual({ schema: CalibrationId, names: "calibration" });
    expect(paramForms(ROUTES.streamGateEvents).get("gate_id")?.names).toBe("gate");
    expect(PARAM_NAMES.filter((p) => p.form === CalibrationId).map((p) => p.names)).toEqual(["calibration"]);
  });

  it("refuses to register a form PARAM_NAMES does not word, or one for a parameter the path does not have", () => {
    const unworded = { ...ROUTES.getCalibration, params: { id: z.string().min(3) } };
    expect(() => paramForms(unworded)).toThrow('GET /v1/calibrations/{id}: the form of path parameter "id" is not in PARAM_NAMES');
    const stray = { ...ROUTES.getCalibration, params: { calibration_id: CalibrationId } };
    expect(() => paramForms(stray)).toThrow('GET /v1/calibrations/{id}: params declares a form for "calibration_id", which its path does not have');
    expect(() => handle(new Hono<RouteEnv<unknown>>(), stray, (c) => c.json({}, 200) as never)).toThrow(/which its path does not have/u);
  });
});
