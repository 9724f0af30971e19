// The running Worker against what its OpenAPI document declares: a request the document says is valid is taken, one
// it says is invalid is refused (the float32 upload's query, the NDJSON content types, limit, after and Last-Event-ID,
// path ids), and every answer carries the headers the document says it always does (the API version; Allow on a 405;
// Idempotent-Replayed on a replay; the event stream's Cache-Control). The same declarations value for value against
// the contract's schemas: openapi-declared.test.ts.
import { describe, expect, it } from "vitest";
import * as S from "../../src/contract";
import { call, callJson, expectError, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

interface Header {
  $ref?: string;
  required?: boolean;
  schema?: { const?: string };
}
interface Param {
  name: string;
  in: string;
  required: boolean;
  description?: string;
  schema: { pattern?: string };
}
interface Operation {
  parameters?: Param[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { headers?: Record<string, Header> }>;
}
interface Doc {
  info: { description: string };
  paths: Record<string, Record<string, Operation>>;
  components: { headers: Record<string, Header>; responses: Record<string, { headers: Record<string, Header>; content: object }> };
}

const documentOf = async () => (await callJson("GET", "/openapi.json", 200, { token: null })) as Doc;
const op = (doc: Doc, spec: S.RouteSpec) => doc.paths[spec.path]![spec.method]!;
const param = (doc: Doc, spec: S.RouteSpec, name: string) => op(doc, spec).parameters!.find((p) => p.name === name)!;
const matches = (p: Param, value: string) => new RegExp(p.schema.pattern!, "u").test(value);
/** A response header as declared, its reference resolved. */
const resolved = (doc: Doc, h: Header): Header => (h.$ref === undefined ? h : doc.components.headers[h.$ref.split("/").at(-1)!]!);

/** Every header the document says `res` always carries (required) is there, with the value it fixes (const). */
function expectDeclaredHeaders(doc: Doc, headers: Record<string, Header>, res: Response, what: string): void {
  for (const [name, h] of Object.entries(headers)) {
    const { required, schema } = resolved(doc, h);
    if (required === true) expect(res.headers.get(name), `${what}: ${name}`).not.toBeNull();
    if (schema?.const !== undefined && res.headers.has(name)) expect(res.headers.get(name), `${what}: ${name}`).toBe(schema.const);
  }
}

const UNKNOWN_GATE_ID = "0".repeat(32);

describe("POST /v1/calibrations as the OpenAPI document declares it", () => {
  it("a float32 upload with the query parameters it requires is taken; without one of them it is refused", async () => {
    const doc = await documentOf();
    const query = op(doc, S.ROUTES.createCalibration).parameters!.filter((p) => p.in === "query");
    const required = query.filter((p) => p.description!.includes("required then")).map((p) => p.name);
    expect(required).toEqual(["embedding", "reranker", "index_version", "kind"]);
    const gate = uniqueGate("oa-f32");
    const values: Record<string, string> = { ...gate, index_version: "v1", kind: "drop_rate", target: "0.3" };
    const body = new Uint8Array(Float32Array.from(spreadScores(400)).buffer);
    const post = (params: Record<string, string>) =>
      call("POST", `/v1/calibrations?${qs(params)}`, { token: TOKENS.calibrate, body, headers: { "content-type": "application/octet-stream" } });
    for (const name of required) {
      const { [name]: _left, ...rest } = values;
      await expectError(await post(rest), 422, "invalid_input");
    }
    expect((await post(values)).status).toBe(201);
  });

  it("the float32 query parameters go with application/octet-stream only: a JSON upload with one is a 400", async () => {
    const doc = await documentOf();
    const gate = uniqueGate("oa-json-q");
    for (const p of op(doc, S.ROUTES.createCalibration)
      .parameters!.filter((q) => q.in === "query")
      .slice(0, 5)) {
      const json = { ...gate, index_version: "v1", scores: spreadScores(200), policy: { kind: "drop_rate", target: 0.3 } };
      const res = await call("POST", `/v1/calibrations?${p.name}=${encodeURIComponent(String((gate as Record<string, string>)[p.name] ?? "v1"))}`, {
        token: TOKENS.calibrate,
        json,
      });
      await expectError(res, 400, "bad_request");
    }
  });

  it("an NDJSON upload is taken under every content type the document declares for it", async () => {
    const doc = await documentOf();
    const types = Object.keys(op(doc, S.ROUTES.createCalibration).requestBody!.content).filter(
      (t) => t !== "application/json" && t !== "application/octet-stream",
    );
    expect(types.length).toBe(4);
    for (const type of types) {
      const gate = uniqueGate("oa-ndjson");
      const lines = [JSON.stringify({ ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.3 } }), ...spreadScores(200).map(String)];
      const res = await call("POST", "/v1/calibrations", {
        token: TOKENS.calibrate,
        body: `${lines.join("\n")}\n`,
        headers: { "content-type": type },
      });
      expect(res.status, `${type}: ${await res.clone().text()}`).toBe(201);
    }
    // and a type it does not declare is refused
    await expectError(
      await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, body: "{}", headers: { "content-type": "text/plain" } }),
      415,
      "unsupported_media_type",
    );
  });
});

describe("query parameters and path ids as the OpenAPI document declares them", () => {
  /** A request of each route with a limit that passes every other check. */
  const LIMITED: [S.RouteSpec, string][] = [
    [S.ROUTES.listCalibrations, `/v1/calibrations?${qs({ embedding: "e", reranker: "r" })}&`],
    [S.ROUTES.listGates, "/v1/gates?"],
    [S.ROUTES.listAlerts, "/v1/alerts?"],
    [S.ROUTES.listAlertOccurrences, "/v1/alerts/alr_unknown/occurrences?"],
    [S.ROUTES.listDeliveries, "/v1/webhooks/deliveries?"],
    [S.ROUTES.listGatePromotions, `/v1/gates/${UNKNOWN_GATE_ID}/promotions?`],
  ];

  it("limit: MAX_PAGE_SIZE is taken and one more is refused, as the declared pattern says, on every route with a limit", async () => {
    const doc = await documentOf();
    expect(LIMITED.map(([spec]) => spec)).toEqual((Object.values(S.ROUTES) as S.RouteSpec[]).filter((spec) => spec.query?.shape.limit !== undefined));
    for (const [spec, url] of LIMITED) {
      const limit = param(doc, spec, "limit");
      for (const value of [String(S.MAX_PAGE_SIZE), String(S.MAX_PAGE_SIZE + 1), "1", "0"]) {
        const res = await call("GET", `${url}limit=${value}`);
        const text = await res.text();
        expect(res.status === 400, `${spec.path} limit=${value}: ${text}`).toBe(!matches(limit, value));
      }
    }
  });

  it("after and Last-Event-ID: Number.MAX_SAFE_INTEGER is taken and one more is refused, as the declared patterns say", async () => {
    const doc = await documentOf();
    const max = String(Number.MAX_SAFE_INTEGER);
    const over = "9007199254740992";
    const gate = uniqueGate("oa-after-unknown");
    const urls: [S.RouteSpec, string][] = [
      [S.ROUTES.streamEvents, `/v1/events?${qs(gate)}`],
      [S.ROUTES.streamGateEvents, `/v1/gates/${UNKNOWN_GATE_ID}/events?`],
    ];
    for (const [spec, url] of urls) {
      const after = param(doc, spec, "after");
      const header = param(doc, spec, "Last-Event-ID");
      for (const value of [max, over, "9999999999999999"]) {
        const byQuery = await call("GET", `${url}&after=${value}`, { token: TOKENS.read });
        const byHeader = await call("GET", url, { token: TOKENS.read, headers: { "last-event-id": value } });
        // the gate is unknown: a resume point taken gets as far as the gate's lookup (404)
        expect(byQuery.status, `${spec.path} after=${value}: ${await byQuery.text()}`).toBe(matches(after, value) ? 404 : 400);
        expect(byHeader.status, `${spec.path} Last-Event-ID ${value}: ${await byHeader.text()}`).toBe(matches(header, value) ? 404 : 400);
      }
      expect([matches(after, max), matches(after, over)]).toEqual([true, false]);
    }
  });

  it("a path id of another form than the declared one names nothing: 404, as a well-formed unknown id", async () => {
    const doc = await documentOf();
    const bodies: Partial<Record<string, unknown>> = { [`patch ${S.ROUTES.changeShadowRate.path}`]: { sample_rate: 0.5 } };
    let checked = 0;
    for (const spec of Object.values(S.ROUTES) as S.RouteSpec[]) {
      for (const p of (op(doc, spec).parameters ?? []).filter((q) => q.in === "path" && q.schema.pattern !== undefined)) {
        const wellFormed = p.name === "gate_id" ? UNKNOWN_GATE_ID : "cal_000000000000aaaaaaaaaaaaaaaa";
        expect(matches(p, wellFormed), `${spec.path} ${wellFormed}`).toBe(true);
        for (const id of [wellFormed, "not-an-id", wellFormed.toUpperCase()]) {
          expect(matches(p, id) || id !== wellFormed, `${spec.path} ${id}`).toBe(true);
          const url = spec.path.replace(`{${p.name}}`, id);
          const json = spec.body ? (bodies[`${spec.method} ${spec.path}`] ?? {}) : undefined;
          const res = await call(spec.method.toUpperCase(), url, json === undefined ? {} : { json });
          const text = await res.text();
          expect([res.status, JSON.parse(text).error?.code], `${spec.method} ${url}: ${text}`).toEqual([404, "not_found"]);
        }
        checked += 1;
      }
    }
    expect(checked).toBe(9);
  });
});

describe("response headers as the OpenAPI document declares them", () => {
  it("a method a path does not take: 405 with Allow listing the methods the document declares for it, HEAD beside GET", async () => {
    const doc = await documentOf();
    expect(doc.info.description).toContain("components.responses.MethodNotAllowed");
    const declared = doc.components.responses.MethodNotAllowed!;
    expect(Object.keys(declared.headers)).toEqual(["Allow", S.API_VERSION_HEADER]);
    for (const [method, path, template] of [
      ["PUT", "/v1/threshold", "/v1/threshold"],
      ["DELETE", "/v1/calibrations/cal_000000000000aaaaaaaaaaaaaaaa", "/v1/calibrations/{id}"],
      ["GET", "/v1/webhooks/whk_unknown", "/v1/webhooks/{id}"],
      ["POST", "/healthz", "/healthz"],
    ] as const) {
      const res = await call(method, path);
      const err = await expectError(res.clone(), 405, "method_not_allowed");
      expect(S.ErrorResponse.safeParse({ error: err }).success).toBe(true);
      expectDeclaredHeaders(doc, declared.headers, res, `${method} ${path}`);
      const methods = Object.keys(doc.paths[template]!).map((m) => m.toUpperCase());
      const allow = methods.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m]));
      expect(res.headers.get("allow")!.split(", ").sort(), `${method} ${path}`).toEqual(allow.sort());
    }
  });

  it("answers of every kind carry the headers their operation declares they always carry", async () => {
    const doc = await documentOf();
    const gate = uniqueGate("oa-headers");
    const json = { ...gate, index_version: "v1", scores: spreadScores(200), policy: { kind: "drop_rate", target: 0.2 } };
    const samples: [S.RouteSpec, number, Response][] = [
      [S.ROUTES.createCalibration, 201, await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json })],
      [S.ROUTES.listGates, 200, await call("GET", "/v1/gates")],
      [S.ROUTES.listGates, 400, await call("GET", "/v1/gates?limit=201")],
      [S.ROUTES.getCalibration, 404, await call("GET", "/v1/calibrations/not-an-id")],
      [S.ROUTES.getThreshold, 401, await call("GET", `/v1/threshold?${qs(gate)}`, { token: null })],
      [S.ROUTES.activateCalibration, 403, await call("POST", "/v1/calibrations/cal_000000000000aaaaaaaaaaaaaaaa/activate", { token: TOKENS.read })],
      [S.ROUTES.health, 200, await call("GET", "/healthz", { token: null })],
      [S.ROUTES.getMonitorSeries, 200, await call("GET", `/v1/monitor/series?${qs({ ...gate, format: "csv" })}`)],
    ];
    for (const [spec, status, res] of samples) {
      expect(res.status, `${spec.path}: ${await res.clone().text()}`).toBe(status);
      const headers = op(doc, spec).responses[String(status)]!.headers!;
      expect(Object.keys(headers), `${spec.path} ${status}`).toContain(S.API_VERSION_HEADER);
      expectDeclaredHeaders(doc, headers, res, `${spec.method} ${spec.path} ${status}`);
    }
    const csv = samples.find(([spec]) => spec === S.ROUTES.getMonitorSeries)![2];
    expect(Object.keys(op(doc, S.ROUTES.getMonitorSeries).responses["200"]!.headers!)).toContain("Content-Disposition");
    expect(csv.headers.get("content-disposition")).toMatch(/^attachment; filename="scoregate-series-[0-9a-f]{32}\.csv"$/u);
  });

  it("a replayed change carries Idempotent-Replayed: true, declared on the success answers of every keyed operation", async () => {
    const doc = await documentOf();
    for (const spec of Object.values(S.ROUTES) as S.RouteSpec[]) {
      const keyed = (spec.headers ?? []).some((h) => h.name === "Idempotency-Key");
      for (const [status, r] of Object.entries(op(doc, spec).responses)) {
        if (Number(status) >= 300) continue;
        expect(Object.keys(r.headers ?? {}).includes("Idempotent-Replayed"), `${spec.method} ${spec.path} ${status}`).toBe(keyed);
      }
      if (keyed) expect(Object.keys(op(doc, spec).responses["409"]?.headers ?? {}), spec.path).toContain("Retry-After");
    }
    const headers = { "idempotency-key": "oa-replay-1" };
    const json = { ...uniqueGate("oa-replay"), index_version: "v1", scores: spreadScores(200), policy: { kind: "drop_rate", target: 0.2 } };
    const first = await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json, headers });
    const again = await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json, headers });
    expect([first.status, again.status]).toEqual([201, 201]);
    expect([first.headers.get("idempotent-replayed"), again.headers.get("idempotent-replayed")]).toEqual([null, "true"]);
    const declared = op(doc, S.ROUTES.createCalibration).responses["201"]!.headers!;
    expectDeclaredHeaders(doc, declared, again, "replayed POST /v1/calibrations");
    // the status Retry-After always goes with (429) declares it required, and the others as optional
    expect(resolved(doc, op(doc, S.ROUTES.streamEvents).responses["429"]!.headers!["Retry-After"]!).required).toBe(true);
    expect(resolved(doc, op(doc, S.ROUTES.listGates).responses["503"]!.headers!["Retry-After"]!).required).toBeUndefined();
  });

  it("an event stream's answer carries the Cache-Control and X-Accel-Buffering the document declares", async () => {
    const doc = await documentOf();
    const gate = uniqueGate("oa-stream");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(200), policy: { kind: "drop_rate", target: 0.2 } },
    });
    const res = await call("GET", `/v1/events?${qs(gate)}`, { token: TOKENS.read });
    await res.body?.cancel();
    expect(res.status).toBe(200);
    const declared = op(doc, S.ROUTES.streamEvents).responses["200"]!.headers!;
    expect(Object.keys(declared).sort()).toEqual(["Cache-Control", "X-Accel-Buffering", S.API_VERSION_HEADER].sort());
    for (const name of Object.keys(declared)) expect(res.headers.get(name), name).not.toBeNull();
    expect([res.headers.get("cache-control"), res.headers.get("x-accel-buffering")]).toEqual(["no-store", "no"]);
  });
});
