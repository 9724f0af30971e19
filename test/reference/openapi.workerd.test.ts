import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import * as S from "../../src/contract";
import worker from "../../src/index";
import type { Env } from "../../src/platform/env";
import { app } from "../../src/worker/app";
import { twoVersions } from "../support/promotions";
import { call, callJson, expectError, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

/** The parts of the OpenAPI document these tests read (the document itself is checked against the route table). */
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { "x-scope"?: string; tags?: string[]; responses: Record<string, unknown> }>>;
  tags: { name: string; description: string }[];
}

/** A path of the table with its parameters filled in (ids of the right form that name nothing). */
const concrete = (path: string) => path.replace("{id}", "cal_000000000000aaaaaaaaaaaaaaaa").replace("{gate_id}", "0".repeat(32));

/** The statuses the document declares for an operation. */
const declared = (doc: OpenApiDocument, spec: S.RouteSpec) => Object.keys(doc.paths[spec.path]![spec.method]!.responses).map(Number);

/** Calls the Worker with `env` changed (as a deployment would configure it). */
async function callWith(changes: Partial<Env>, method: string, path: string, token: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://scoregate.test${path}`, { method, headers: { authorization: `Bearer ${token}` } }),
    { ...(env as unknown as Env), ...changes } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("GET /openapi.json", () => {
  it("documents exactly the routes the app registers (both directions), including / and /openapi.json", async () => {
    const doc = (await callJson("GET", "/openapi.json", 200, { token: null })) as OpenApiDocument;
    const documented = new Set<string>();
    for (const [path, methods] of Object.entries<any>(doc.paths)) for (const m of Object.keys(methods)) documented.add(`${m.toUpperCase()} ${path}`);
    // The dashboard (/ui...) and the API reference page (/docs...) are HTML for people, not API operations: they are
    // not in the route table nor in the document (src/dashboard/routes.tsx). Static assets never reach the app.
    const notApi = (path: string) => path === "/ui" || path.startsWith("/ui/") || path === "/docs" || path.startsWith("/docs/");
    const registered = new Set(
      app.routes.filter((r) => r.method !== "ALL" && !notApi(r.path)).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    expect([...registered].sort()).toEqual([...documented].sort());
    expect(documented).toContain("GET /");
    expect(documented).toContain("GET /openapi.json");
    // every authenticated operation names its scope, and the route table and the document agree on it
    for (const spec of Object.values(S.ROUTES)) {
      const op = doc.paths[spec.path]?.[spec.method];
      expect(op?.["x-scope"] ?? null, `${spec.method} ${spec.path}`).toBe(spec.scope);
    }
  });

  it("puts every operation in one of the reference's groups, each group used and described, in the table's order", async () => {
    const doc = (await callJson("GET", "/openapi.json", 200, { token: null })) as OpenApiDocument;
    expect(doc.tags.map((t) => t.name)).toEqual(Object.values(S.ROUTE_TAGS).map((t) => t.name));
    for (const t of doc.tags) expect(t.description.length, t.name).toBeGreaterThan(10);
    const used = new Set<string>();
    for (const spec of Object.values(S.ROUTES)) {
      const tags = doc.paths[spec.path]?.[spec.method]?.tags;
      expect(tags, `${spec.method} ${spec.path}`).toEqual([S.ROUTE_TAGS[spec.tag].name]);
      used.add(tags![0]!);
    }
    expect([...used].sort()).toEqual(doc.tags.map((t) => t.name).sort());
  });

  it("every documented route exists and enforces its documented scope", async () => {
    const doc = (await callJson("GET", "/openapi.json", 200, { token: null })) as OpenApiDocument;
    expect(doc.openapi).toBe("3.1.0");
    const operations: [string, string][] = [];
    for (const [path, methods] of Object.entries<any>(doc.paths)) for (const m of Object.keys(methods)) operations.push([m.toUpperCase(), path]);
    expect(operations.length).toBeGreaterThanOrEqual(19);
    for (const [method, path] of operations) {
      const url = path.replace(/\{id\}/g, "cal_000000000000aaaaaaaaaaaaaaaa");
      const res = await call(method, url);
      const text = await res.text();
      expect(text.includes("no route for"), `${method} ${path}`).toBe(false);
      const scope = doc.paths[path]?.[method.toLowerCase()]?.["x-scope"] as "read" | "calibrate" | "admin" | undefined;
      if (scope === undefined) continue;
      expect((await call(method, url, { token: null })).status, `${method} ${path} without a token`).toBe(401);
      const below = scope === "admin" ? TOKENS.calibrate : scope === "calibrate" ? TOKENS.read : null;
      if (below !== null) expect((await call(method, url, { token: below })).status, `${method} ${path} with a lower scope`).toBe(403);
    }
  });

  it("declares the headers a client of the threshold reads and sends, and the answers carry every declared one", async () => {
    const doc = (await (await call("GET", "/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<string, { parameters: { name: string; in: string }[]; responses: Record<string, { headers?: Record<string, unknown> }> }>
      >;
    };
    const op = doc.paths["/v1/threshold"]!.get!;
    expect(op.parameters.filter((p) => p.in === "header").map((p) => p.name)).toEqual(["If-None-Match"]);
    const gate = uniqueGate("headers");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(200), policy: { kind: "drop_rate", target: 0.2 } },
    });
    const first = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read });
    const again = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read, headers: { "if-none-match": first.headers.get("etag")! } });
    for (const [status, res] of [
      ["200", first],
      ["304", again],
    ] as const) {
      expect(res.status).toBe(Number(status));
      const names = Object.keys(op.responses[status]!.headers ?? {});
      expect(names.length, status).toBeGreaterThan(0);
      for (const name of names) expect(res.headers.get(name), `${status} ${name}`).not.toBeNull();
    }
    expect(Object.keys(op.responses["200"]!.headers!)).toEqual(["ETag", "Cache-Control", "X-Scoregate-Source", S.API_VERSION_HEADER]);
  });

  it("responses conform to the schemas the document is derived from", async () => {
    const gate = uniqueGate("schema");
    const created = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        index_version: "v1",
        queries: [spreadScores(20), spreadScores(20, 0.1, 0.8)],
        policy: { kind: "drop_rate", target: 0.25 },
        activate: true,
      },
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

// Every route is called in the ways any route of its kind can be refused, whatever its handler does; each refusal's
// status must be one its operation declares (a client generated from the document expects it). Errors a handler raises
// are checked in every other test: in the test environment handle() fails a route that raises an undeclared status.
describe("GET /openapi.json declares the errors every route can answer", () => {
  const routes = Object.values(S.ROUTES) as S.RouteSpec[];
  const name = (spec: S.RouteSpec) => `${spec.method.toUpperCase()} ${spec.path}`;

  it("400 for an unknown query parameter, on every route", async () => {
    const doc = (await callJson("GET", "/openapi.json", 200, { token: null })) as OpenApiDocument;
    for (const spec of routes) {
      // a route with a body gets a JSON one: the upload, which reads its query by its body's type, looks at the type first
      const res = await call(spec.method.toUpperCase(), `${concrete(spec.path)}?zz_unknown=1`, spec.body ? { json: {} } : {});
      const text = await res.text();
      expect([res.status, JSON.parse(text).error?.code], `${name(spec)}: ${text}`).toEqual([400, "bad_request"]);
      expect(declared(doc, spec), name(spec)).toContain(400);
    }
  });

  it("400, 413, 415 and 422 for a JSON body that is malformed, too large, of another type or refused by its schema", async () => {
    const doc = (await callJson("GET", "/openapi.json", 200, { token: null })) as OpenApiDocument;
    const withJson = routes.filter((spec) => spec.body?.content["application/json"] !== undefined);
    expect(withJson.length).toBeGreaterThanOrEqual(15);
    const big = `{"reason": "${"x".repeat(S.MAX_JSON_BODY_BYTES)}"}`;
    for (const spec of withJson) {
      const send = (body: string, type: string) => call(spec.method.toUpperCase(), concrete(spec.path), { body, headers: { "content-type": type } });
      const cases: [string, Response, number, string][] = [
        ["malformed", await send("{", "application/json"), 400, "malformed_json"],
        ["too large", await send(big, "application/json"), 413, "payload_too_large"],
        ["text/plain", await send("{}", "text/plain"), 415, "unsupported_media_type"],
        ["an unknown field", await send(`{"zz_unknown": 1}`, "application/json"), 422, "invalid_input"],
      ];
      for (const [what, res, status, code] of cases) {
        const text = await res.text();
        expect([res.status, JSON.parse(text).error?.code], `${name(spec)}, ${what}: ${text}`).toEqual([status, code]);
        expect(declared(doc, spec), `${name(spec)}, ${what}`).toContain(status);
      }
    }
  });

  it("503 misconfigured on every route of a production Worker without tokens", async () => {
    const doc = (await callJson("GET", "/openapi.json", 200, { token: null })) as OpenApiDocument;
    const unconfigured = { ENVIRONMENT: "production", READ_TOKENS: "", CALIBRATE_TOKENS: "", ADMIN_TOKENS: "" } as Partial<Env>;
    for (const spec of routes) {
      const res = await callWith(unconfigured, spec.method.toUpperCase(), concrete(spec.path), TOKENS.admin);
      const text = await res.text();
      expect([res.status, JSON.parse(text).error?.code], `${name(spec)}: ${text}`).toEqual([503, "misconfigured"]);
      expect(declared(doc, spec), name(spec)).toContain(503);
    }
  });

  it('409: an observation batch with role "shadow" for a calibration that is not a shadow; an activation that lost every race', async () => {
    const doc = (await callJson("GET", "/openapi.json", 200, { token: null })) as OpenApiDocument;
    const { v2 } = await twoVersions("openapi-shadow-409");
    const json = { batch_id: "not-a-shadow", calibration_id: v2.id, role: "shadow", queries: [[20, 5]] };
    await expectError(await call("POST", "/v1/observations", { token: TOKENS.read, json }), 409, "conflict");
    expect(declared(doc, S.ROUTES.postObservations)).toContain(409);
    // MAX_ACTIVATION_ATTEMPTS concurrent activations are not staged here (test/calibrations/activation.test.ts does)
    expect(declared(doc, S.ROUTES.activateCalibration)).toContain(409);
  });
});
