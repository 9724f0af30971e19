/**
 * Strict input on every route: unknown and repeated query parameters, duplicate JSON keys, strict cursors and limits,
 * "is required", no raw validation-library phrasing, 413 hints, the NDJSON one-line hint, batch_mismatch, gate fields
 * contradicting calibration_id, bodies that break off, bodies sent to routes that take none, and alert notes that are
 * kept.
 */
import { describe, expect, inject, it, onTestFinished, vi } from "vitest";
import { ROUTES, type RouteSpec } from "../../src/contract";
import { cursorOf } from "../../src/platform/http/cursor";
import { gateIdOf } from "../../src/platform/ids";
import { MAX_JSON_BODY_BYTES, MAX_SMALL_BODY_BYTES, MAX_UPLOAD_META_CONTAINERS } from "../../src/platform/limits";
import { seedSightings } from "../support/uncalibrated";
import { call, callJson, counted, expectError, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const good = (gate: object, extra: object = {}) => ({
  ...gate,
  index_version: "v1",
  scores: spreadScores(200),
  policy: { kind: "drop_rate", target: 0.2 },
  ...extra,
});

describe("query parameters", () => {
  it("a misspelled parameter is a 400 that names it and suggests the right one, not the current threshold", async () => {
    const gate = uniqueGate("typo");
    await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: good(gate) });
    const err = await expectError(await call("GET", `/v1/threshold?${qs(gate)}&index_verison=v2`, { token: TOKENS.read }), 400, "bad_request");
    expect(err.message).toContain('"index_verison"');
    expect(err.details).toEqual([{ path: "index_verison", message: "unknown query parameter (did you mean index_version?)" }]);
  });

  it("a repeated parameter is a 400 naming it", async () => {
    const gate = uniqueGate("repeat");
    const err = await expectError(await call("GET", `/v1/threshold?${qs(gate)}&embedding=other`, { token: TOKENS.read }), 400, "bad_request");
    expect(err.message).toContain('repeated query parameter(s) "embedding"');
  });

  it("malformed percent-encoding is a 400 naming the parameter, on reads and float32 uploads alike; nothing is stored", async () => {
    const gate = uniqueGate("pct");
    for (const bad of ["index=%ZZ", "index=%E0%A4%A", "index=50%"]) {
      const err = await expectError(await call("GET", `/v1/threshold?embedding=e&reranker=r&${bad}`, { token: TOKENS.read }), 400, "bad_request");
      expect(err.message).toBe(`query parameter "index" is not valid percent-encoding (${JSON.stringify(bad)}): escape a literal % as %25`);
      expect(err.details).toEqual([{ path: "index", message: "malformed percent-encoding" }]);
    }
    // a malformed name is shown as sent
    const named = await expectError(await call("GET", `/v1/threshold?${qs(gate)}&%FFx=1`, { token: TOKENS.read }), 400, "bad_request");
    expect(named.message).toContain('query parameter "%FFx"');
    const f32 = new Uint8Array(new Float32Array(spreadScores(100)).buffer);
    const upload = await call(
      "POST",
      `/v1/calibrations?${qs({ ...gate, index: undefined, index_version: "v1", kind: "drop_rate", target: 0.2 })}&index=%E0%A4%A`,
      {
        token: TOKENS.calibrate,
        body: f32,
        headers: { "content-type": "application/octet-stream" },
      },
    );
    expect((await expectError(upload, 400, "bad_request")).message).toContain('query parameter "index"');
    expect((await call("GET", "/v1/gates", { token: TOKENS.read }).then((r) => r.text())).includes("\\ufffd")).toBe(false);
    // a literal % escaped as %25 is a name like any other
    const pct = { ...gate, index: `${gate.index}%` };
    await callJson("POST", `/v1/calibrations?${qs({ ...pct, index_version: "v1", kind: "drop_rate", target: 0.2 })}`, 201, {
      token: TOKENS.calibrate,
      body: f32,
      headers: { "content-type": "application/octet-stream" },
    });
    expect((await callJson("GET", `/v1/threshold?${qs(pct)}`, 200, { token: TOKENS.read })).index).toBe(pct.index);
  });

  it("every route refuses an unknown query parameter with 400 (after authentication)", async () => {
    for (const spec of Object.values(ROUTES) as RouteSpec[]) {
      const path = spec.path.replace("{id}", "cal_000000000000aaaaaaaaaaaaaaaa");
      const headers: Record<string, string> = spec.method === "get" ? {} : { "content-type": "application/json" };
      const res = await call(spec.method.toUpperCase(), `${path}?bogus_param=1`, spec.method === "get" ? {} : { headers, body: "{}" });
      const err = await expectError(res, 400, "bad_request");
      expect(err.message, `${spec.method} ${spec.path}`).toContain('"bogus_param"');
    }
  });

  it("cursors and limits are parsed strictly", async () => {
    const gate = uniqueGate("cursor");
    for (const bad of ["cursor=5!!", "cursor=", "limit=1e1", "limit=0x10", "limit=%205", "limit=5.0", "limit=0", "limit=201"]) {
      const err = await expectError(await call("GET", `/v1/calibrations?${qs(gate)}&${bad}`), 400, "bad_request");
      expect(err.details[0].path).toBe(bad.split("=")[0]);
    }
    // a well-formed cursor of this gate's history (a cursor names a position in one gate's rows)
    await callJson("GET", `/v1/calibrations?${qs(gate)}&limit=200&cursor=${cursorOf(5, "calibrations", await gateIdOf(gate))}`, 200);
    await expectError(await call("GET", "/v1/alerts?limit=1e1"), 400, "bad_request");
  });

  it("JSON and NDJSON uploads take no query parameters; float32 uploads refuse repeated ones", async () => {
    const gate = uniqueGate("upload-qs");
    await expectError(await call("POST", "/v1/calibrations?activate=false", { token: TOKENS.calibrate, json: good(gate) }), 400, "bad_request");
    const f32 = new Uint8Array(new Float32Array(spreadScores(100)).buffer);
    const err = await expectError(
      await call("POST", `/v1/calibrations?${qs({ ...gate, index_version: "v1", kind: "drop_rate" })}&target=0.2&target=0.3`, {
        token: TOKENS.calibrate,
        body: f32,
        headers: { "content-type": "application/octet-stream" },
      }),
      400,
      "bad_request",
    );
    expect(err.message).toContain('"target"');
  });
});

describe("bodies", () => {
  it("a duplicate JSON key is a 400 naming it, on uploads, observations, webhooks and alert actions", async () => {
    const gate = uniqueGate("dup");
    const body = JSON.stringify(good(gate)).replace(
      '"policy":{"kind":"drop_rate","target":0.2}',
      '"policy":{"kind":"drop_rate","target":0.2,"target":0}',
    );
    const err = await expectError(
      await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, body, headers: { "content-type": "application/json" } }),
      400,
      "malformed_json",
    );
    expect(err.message).toContain('"policy.target"');
    const escaped = `{"batch_id":"b","batch_id":"c","embedding":"e","reranker":"r","queries":[[1,0]]}`;
    await expectError(
      await call("POST", "/v1/observations", { token: TOKENS.read, body: escaped, headers: { "content-type": "application/json" } }),
      400,
      "malformed_json",
    );
    await expectError(
      await call("POST", "/v1/webhooks", {
        body: `{"url":"https://a.example.com","\\u0075rl":"https://b.example.com"}`,
        headers: { "content-type": "application/json" },
      }),
      400,
      "malformed_json",
    );
    await expectError(await call("GET", `/v1/calibrations?${qs(gate)}`), 404, "not_found");
  });

  it('a missing field "is required", in uploads and observations', async () => {
    const gate = uniqueGate("required");
    const { embedding: _e, ...noEmbedding } = good(gate) as any;
    const up = await expectError(await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json: noEmbedding }), 422, "invalid_input");
    expect(up.message).toBe("invalid calibration: embedding is required");
    const obs = await expectError(
      await call("POST", "/v1/observations", { token: TOKENS.read, json: { ...gate, queries: [[20, 5]] } }),
      422,
      "invalid_input",
    );
    expect(obs.message).toBe("invalid observation batch: batch_id is required");
    const q = await expectError(await call("GET", `/v1/threshold?${qs({ reranker: "r" })}`, { token: TOKENS.read }), 400, "bad_request");
    expect(q.message).toBe("invalid query parameters: embedding is required");
  });

  it("a 413 names the limit and the format that takes more", async () => {
    const huge = `[${"0.5,".repeat(MAX_JSON_BODY_BYTES / 4)}0.5]`;
    const err = await expectError(
      await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, body: huge, headers: { "content-type": "application/json" } }),
      413,
      "payload_too_large",
    );
    expect(err.message).toContain("10 MiB");
    expect(err.message).toContain("application/x-ndjson");
    expect(err.details.max_bytes).toBe(MAX_JSON_BODY_BYTES);
    const obs = await expectError(
      await call("POST", "/v1/observations", {
        token: TOKENS.read,
        body: " ".repeat(MAX_SMALL_BODY_BYTES + 1),
        headers: { "content-type": "application/json" },
      }),
      413,
      "payload_too_large",
    );
    expect(obs.message).toContain("several smaller batches");
  });

  it("an NDJSON body that arrived as one line (curl -d) gets a hint about --data-binary", async () => {
    const gate = uniqueGate("oneline");
    const lines = [JSON.stringify({ ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.2 } }), ...spreadScores(50).map(String)];
    const err = await expectError(
      await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, body: lines.join(""), headers: { "content-type": "application/x-ndjson" } }),
      400,
      "malformed_json",
    );
    expect(err.message).toContain("--data-binary");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      body: lines.join("\n"),
      headers: { "content-type": "application/x-ndjson" },
    });
  });

  it("one-line NDJSON of query lines gets the same 400 hint, not the metadata line's 413 (MAX_UPLOAD_META_CONTAINERS)", async () => {
    const gate = uniqueGate("onelineq");
    const header = JSON.stringify({ ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.2 } });
    const scores = spreadScores(1200);
    const queries = Array.from({ length: 400 }, (_, i) => JSON.stringify(scores.slice(3 * i, 3 * i + 3)));
    for (const lines of [
      [header, ...queries],
      [header, ...queries.map((q) => JSON.stringify({ scores: JSON.parse(q), relevance: [1, 0, 0] }))],
    ]) {
      const err = await expectError(
        await call("POST", "/v1/calibrations", {
          token: TOKENS.calibrate,
          body: lines.join(""),
          headers: { "content-type": "application/x-ndjson" },
        }),
        400,
        "malformed_json",
      );
      expect(err.message).toContain(`more than ${MAX_UPLOAD_META_CONTAINERS} arrays and objects`);
      expect(err.message).toContain("The body arrived as a single line");
      expect(err.message).toContain("send the file with --data-binary @file");
    }
    await expectError(await call("GET", `/v1/calibrations?${qs(gate)}`), 404, "not_found");
    const sent = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      body: [header, ...queries].join("\n"),
      headers: { "content-type": "application/x-ndjson" },
    });
    expect(sent.calibration.n_queries).toBe(400);
  });

  it("a JSON upload sent as NDJSON (one line or pretty-printed) is a 400 saying to send it as application/json", async () => {
    const gate = uniqueGate("jsonasnd");
    const queries = Array.from({ length: 50 }, (_, i) => [0.9 - (i % 7) / 10, 0.1 + (i % 5) / 10]);
    const carry = { kind: "carry", threshold: 0.4, reference: { scores: spreadScores(20) } };
    for (const [body, field] of [
      [JSON.stringify({ ...gate, index_version: "v1", policy: carry, queries }), "queries"],
      [JSON.stringify({ ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.2 }, queries }, null, 2), "queries"],
      [JSON.stringify(good(gate)), "scores"],
      [JSON.stringify({ scores: spreadScores(200), ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.2 } }, null, 1), "scores"],
    ] as const) {
      const err = await expectError(
        await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, body, headers: { "content-type": "application/x-ndjson" } }),
        400,
        "malformed_json",
      );
      expect(err.message).toContain(`its top-level object has "${field}"`);
      expect(err.message).toContain("send it with Content-Type: application/json");
    }
    // A labelled query line without the metadata line before it is not taken for a JSON upload.
    const headless = await expectError(
      await call("POST", "/v1/calibrations", {
        token: TOKENS.calibrate,
        body: `${JSON.stringify({ scores: [0.5, 0.2], relevance: [1, 0] })}\n[0.4]`,
        headers: { "content-type": "application/x-ndjson" },
      }),
      422,
      "invalid_input",
    );
    expect(headless.message).not.toContain("application/json");
    await expectError(await call("GET", `/v1/calibrations?${qs(gate)}`), 404, "not_found");
  });

  it("a body that breaks off is a 400 incomplete_body and stores nothing", async () => {
    const gate = uniqueGate("cutoff");
    const text = JSON.stringify(good(gate));
    // A Content-Length larger than what arrives: the connection closed mid-upload.
    const cut = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(text.slice(0, 100)));
        controller.close();
      },
    });
    const err = await expectError(
      await call("POST", "/v1/calibrations", {
        token: TOKENS.calibrate,
        body: cut,
        headers: { "content-type": "application/json", "content-length": String(text.length) },
      }),
      400,
      "incomplete_body",
    );
    expect(err.details).toMatchObject({ content_length: text.length });
    await expectError(await call("GET", `/v1/calibrations?${qs(gate)}`), 404, "not_found");
  });
});

describe("observations", () => {
  it("a batch_id reused with a different body is 422 batch_mismatch; the same body is a duplicate", async () => {
    const gate = uniqueGate("batch");
    await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: good(gate) });
    const batch = { batch_id: "w1-0001", ...gate, queries: [[20, 5]] };
    expect(counted(await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: batch })).accepted).toBe(true);
    expect(counted(await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: batch })).duplicate).toBe(true);
    const err = await expectError(
      await call("POST", "/v1/observations", { token: TOKENS.read, json: { ...batch, queries: [[20, 6]] } }),
      422,
      "batch_mismatch",
    );
    expect(err.details).toEqual({ batch_id: "w1-0001" });
    expect((await callJson("GET", `/v1/monitor?${qs(gate)}`, 200)).windows[0]).toMatchObject({ batches: 1, dropped: 5 });
  });

  it("gate fields that contradict calibration_id are 422, each named", async () => {
    const gate = uniqueGate("contradict");
    const other = uniqueGate("contradict-other");
    const cal = (await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: good(gate) })).calibration;
    const err = await expectError(
      await call("POST", "/v1/observations", {
        token: TOKENS.read,
        json: { batch_id: "c1", calibration_id: cal.id, embedding: other.embedding, reranker: other.reranker, queries: [[20, 5]] },
      }),
      422,
      "invalid_input",
    );
    expect(err.details.map((d: any) => d.path)).toEqual(["reranker"]);
    await expectError(
      await call("POST", "/v1/observations", {
        token: TOKENS.read,
        json: { batch_id: "c2", calibration_id: cal.id, index_version: "v9", queries: [[20, 5]] },
      }),
      422,
      "invalid_input",
    );
    await callJson("POST", "/v1/observations", 202, {
      token: TOKENS.read,
      json: { batch_id: "c3", calibration_id: cal.id, ...gate, queries: [[20, 5]] },
    });
  });
});

describe("alert notes", () => {
  it("the note of acknowledge and resolve is stored and shown", async () => {
    const gate = uniqueGate("note");
    await seedSightings([gate]); // a service that kept asking (src/alerts/uncalibrated-alert.ts)
    expect((await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read })).status).toBe(404);
    let alerts: any[] = [];
    for (let i = 0; i < 100 && alerts.length === 0; i++) {
      alerts = (await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "uncalibrated_request" })}`, 200)).alerts;
      if (alerts.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    const id = alerts[0].id;
    expect((await callJson("POST", `/v1/alerts/${id}/acknowledge`, 200, { json: { note: "looking" } })).acknowledged_note).toBe("looking");
    const resolved = await callJson("POST", `/v1/alerts/${id}/resolve`, 200, { json: { note: "typo in the service config" } });
    expect(resolved).toMatchObject({ status: "resolved", acknowledged_note: "looking", resolved_note: "typo in the service config" });
    expect((await callJson("GET", `/v1/alerts/${id}`, 200)).resolved_note).toBe("typo in the service config");
    await expectError(await call("POST", `/v1/alerts/${id}/resolve`, { json: { note: 5 } }), 422, "invalid_input");
  });
});

describe("a body on a route that takes none", () => {
  it("is a 400 that changes nothing (DELETE /v1/webhooks/{id}, the delivery replay); an empty body is no body", async () => {
    const bodiless = Object.values(ROUTES as Record<string, RouteSpec>).filter((r) => r.method !== "get" && r.body === undefined);
    expect(bodiless.map((r) => `${r.method} ${r.path}`).sort()).toEqual(["delete /v1/webhooks/{id}", "post /v1/webhooks/deliveries/{id}/replay"]);
    const hook = await callJson("POST", "/v1/webhooks", 201, { json: { url: `${inject("receiverOrigin")}/hook/bodiless`, description: "bodiless" } });
    const sent = await expectError(await call("DELETE", `/v1/webhooks/${hook.id}`, { json: { confirm: true } }), 400, "bad_request");
    expect(sent.message).toBe("DELETE /v1/webhooks/{id} takes no request body");
    expect((await callJson("GET", "/v1/webhooks", 200)).endpoints.map((w) => w.id)).toContain(hook.id);
    // before the delivery is looked up: no 404 for one that does not exist
    const replay = await expectError(await call("POST", "/v1/webhooks/deliveries/dlv_0000000000000000/replay", { body: "x" }), 400, "bad_request");
    expect(replay.message).toBe("POST /v1/webhooks/deliveries/{id}/replay takes no request body");
    await expectError(await call("POST", "/v1/webhooks/deliveries/dlv_0000000000000000/replay", { body: "" }), 404, "not_found");
    // The deletion is logged for operators: captured and checked here instead of printed.
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    onTestFinished(() => log.mockRestore());
    await callJson("DELETE", `/v1/webhooks/${hook.id}`, 200, { body: "" });
    expect(log.mock.calls).toEqual([[`webhook endpoint ${hook.id} deleted by alice`]]);
    expect((await callJson("GET", "/v1/webhooks", 200)).endpoints.map((w) => w.id)).not.toContain(hook.id);
  });
});
