import { describe, expect, it } from "vitest";
import { call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const policy = { kind: "drop_rate", target: 0.25 };

describe("upload formats", () => {
  it("NDJSON with one score per line gives the same fit as JSON", async () => {
    const gate = uniqueGate("ndjson");
    const scores = spreadScores(500, -3, 6);
    const header = JSON.stringify({ ...gate, index_version: "v1", policy, activate: false });
    const body = `${[header, ...scores.map((s) => JSON.stringify(s))].join("\n")}\n`;
    const viaNdjson = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      body,
      headers: { "content-type": "application/x-ndjson" },
    });
    const viaJson = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores, policy, activate: false },
    });
    expect(viaNdjson.calibration.threshold).toBe(viaJson.calibration.threshold);
    expect(viaNdjson.calibration.n).toBe(500);
    expect(viaNdjson.calibration.active).toBe(false);
  });

  it("NDJSON queries (one array per line) give per-query statistics", async () => {
    const gate = uniqueGate("ndjson-q");
    const queries = [
      [0.9, 0.8, 0.1],
      [0.05, 0.02],
      [0.7, 0.6, 0.5, 0.4],
    ];
    const body = [
      JSON.stringify({ ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.3 } }),
      ...queries.map((q) => JSON.stringify(q)),
    ].join("\n");
    const res = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      body,
      headers: { "content-type": "application/x-ndjson" },
    });
    // n = 9, k = ceil(10 * 0.3) = 3: threshold = third smallest = 0.1; query 2 loses both candidates.
    expect(res.calibration.threshold).toBe(0.1);
    expect(res.calibration.n_queries).toBe(3);
    expect(res.calibration.per_query!.empty_context_rate).toBeCloseTo(1 / 3, 12);
    expect(res.calibration.per_query!.mean_kept).toBeCloseTo((3 + 0 + 4) / 3, 12);
  });

  it("an NDJSON line that repeats a key, or is not JSON, is a 400 naming the line and its column; nothing is stored", async () => {
    const gate = uniqueGate("ndjson-lines");
    const header = JSON.stringify({ ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.3 } });
    const refusal = async (...lines: string[]) => {
      const res = await call("POST", "/v1/calibrations", {
        token: TOKENS.calibrate,
        body: `${[header, ...lines].join("\n")}\n`,
        headers: { "content-type": "application/x-ndjson" },
      });
      const err = (await res.json<any>()).error;
      expect(res.status, err.message).toBe(400);
      expect(err.code).toBe("malformed_json");
      return err;
    };
    // JSON.parse keeps the last: the ten scores would be dropped, or a query relabelled, without a word
    const dup = await refusal('{"scores":[1,2,3,4,5,6,7,8,9,10],"scores":[100]}', "[1,2]");
    expect(dup.message).toBe('NDJSON line 2 has the key "scores" more than once: give each field once');
    expect(dup.details).toEqual([{ path: "line 2.scores", message: "duplicate key" }]);
    expect((await refusal("[1,2]", '{"relevance":[1,0],"relevance":[0,1]}')).message).toContain('NDJSON line 3 has the key "relevance"');
    // a key spelled with an escape is the same key
    expect((await refusal('{"scores":[1,2],"\\u0073cores":[3]}')).message).toBe(
      'NDJSON line 2 has the key "scores" more than once: give each field once',
    );
    // the line's own column, not the parser's "(line 1 column 5)" after "line 2"
    expect((await refusal("[1,2")).message).toBe("NDJSON line 2 is not valid JSON: Expected ',' or ']' after array element at column 5");
    expect((await refusal("[0.5]", "{")).message).toMatch(/^NDJSON line 3 is not valid JSON: .* at column 2$/u);
    expect((await call("GET", `/v1/calibrations?${qs(gate)}`)).status).toBe(404);
  });

  it("float32 bodies are read little-endian with metadata in the query string", async () => {
    const gate = uniqueGate("f32");
    const scores = Float32Array.from(spreadScores(2000));
    const params = qs({ ...gate, index_version: "v1", kind: "drop_rate", target: 0.5, candidates_per_query: 20 });
    const res = await callJson("POST", `/v1/calibrations?${params}`, 201, {
      token: TOKENS.calibrate,
      body: new Uint8Array(scores.buffer),
      headers: { "content-type": "application/octet-stream" },
    });
    const sorted = [...scores].sort((a, b) => a - b);
    expect(res.calibration.threshold).toBe(sorted[Math.ceil(2001 * 0.5) - 1]);
    expect(res.calibration.n_queries).toBe(100);
  });

  it("a float32 body that curl -d stripped of its CR and LF bytes is refused with a --data-binary hint", async () => {
    const gate = uniqueGate("f32-curl-d");
    const url = `/v1/calibrations?${qs({ ...gate, index_version: "v1", kind: "drop_rate", target: 0.5 })}`;
    const post = (body: Uint8Array) => call("POST", url, { token: TOKENS.calibrate, body, headers: { "content-type": "application/octet-stream" } });
    const refusal = async (body: Uint8Array): Promise<string> => {
      const res = await post(body);
      const err = (await res.json<any>()).error;
      expect(res.status, err.message).toBe(422);
      expect(err.code).toBe("invalid_input");
      return err.message;
    };
    // A file read with `curl -d @scores.f32`: every 0x0A and 0x0D byte dropped.
    const file = new Uint8Array(Float32Array.from(spreadScores(2000)).buffer);
    const stripped = file.filter((b) => b !== 10 && b !== 13);
    expect(stripped.byteLength % 4).not.toBe(0);
    expect(await refusal(stripped)).toBe(
      `body of ${stripped.byteLength} bytes is not a whole number of float32 scores. If the file was sent with curl -d: curl -d strips newlines; send the file with --data-binary @file`,
    );
    expect(await refusal(new Uint8Array(Float32Array.from([0.1, Number.NaN, 0.3]).buffer))).toBe(
      "score 1 is not finite (NaN). If the file was sent with curl -d: curl -d strips newlines; send the file with --data-binary @file",
    );
    // A body with a newline byte was not sent that way: the refusal alone.
    const withNewline = new DataView(new ArrayBuffer(8));
    withNewline.setUint32(0, 0x3f00000a, true);
    withNewline.setFloat32(4, Number.NaN, true);
    expect(await refusal(new Uint8Array(withNewline.buffer))).toBe("score 1 is not finite (NaN)");
    expect(await refusal(new Uint8Array([10, 0, 0, 63, 1]))).toBe("body of 5 bytes is not a whole number of float32 scores");
    expect((await call("GET", `/v1/calibrations?${qs(gate)}`)).status).toBe(404);
    expect((await post(file)).status).toBe(201);
  });

  it("a JSON or CSV file sent as float32 is refused as text, stores nothing, and names the right Content-Type", async () => {
    const gate = uniqueGate("f32-text");
    const url = `/v1/calibrations?${qs({ ...gate, index_version: "v1", kind: "drop_rate", target: 0.3 })}`;
    const post = (body: string | Uint8Array) =>
      call("POST", url, { token: TOKENS.calibrate, body, headers: { "content-type": "application/octet-stream" } });
    const refusal = async (body: string | Uint8Array): Promise<string> => {
      const res = await post(body);
      const err = (await res.json<any>()).error;
      expect(res.status, err.message).toBe(422);
      expect(err.code).toBe("invalid_input");
      return err.message;
    };
    const scores = spreadScores(1000);
    // the README's JSON request body, its length a whole number of float32 scores or not
    const json = JSON.stringify({ ...gate, index_version: "v1", scores, policy: { kind: "drop_rate", target: 0.3 } });
    const whole = json.padEnd(Math.ceil(json.length / 4) * 4);
    for (const body of [whole, `${whole}\n`]) {
      expect(await refusal(body)).toBe(
        `the body looks like JSON, not little-endian float32 scores (it starts ${JSON.stringify(json.slice(0, 24))}): send a JSON body with ` +
          "Content-Type: application/json (or NDJSON with application/x-ndjson), or a CSV file with npx scoregate calibrate",
      );
    }
    const csv = `query_id,score\n${scores.map((s, i) => `q${i % 50},${s}`).join("\n")}\n`;
    expect(await refusal(csv.padEnd(Math.ceil(csv.length / 4) * 4))).toMatch(
      /^the body looks like text \(CSV or one score per line\?\), not little-endian float32 scores \(it starts "query_id,score\\nq0,/u,
    );
    // one score a line, four characters each: every value alike, but out of a score's range (1e-19)
    expect(await refusal("0.5 ".repeat(40))).toMatch(/^the body looks like text /u);
    expect((await call("GET", `/v1/calibrations?${qs(gate)}`)).status).toBe(404);
    // round scores are printable in float32 (0.9 is "fff?", 0.7 "333?"): a real upload of them is taken
    for (const round of [
      [0.7, 0.65, 0.95, 0.9],
      [0.9, 0.65],
    ]) {
      const f32 = Float32Array.from({ length: 40 }, (_, i) => round[i % round.length]!);
      expect([...new Uint8Array(f32.buffer)].every((b) => b >= 0x20 && b <= 0x7e)).toBe(true);
      const url2 = `/v1/calibrations?${qs({ ...gate, index_version: `round-${round.join("-")}`, kind: "drop_rate", target: 0.5, dry_run: true })}`;
      const res = await call("POST", url2, {
        token: TOKENS.calibrate,
        body: new Uint8Array(f32.buffer),
        headers: { "content-type": "application/octet-stream" },
      });
      // a dry run answers the fit (200): read, not refused as text
      expect(res.status, `${JSON.stringify(round)}: ${await res.clone().text()}`).toBe(200);
    }
  });

  it("keeps full float64 precision from JSON", async () => {
    const gate = uniqueGate("precision");
    const scores = [0.12345678901234568, 0.30000000000000004, 0.7777777777777777, 0.9];
    const res = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores, policy: { kind: "drop_rate", target: 0.4 } },
    });
    expect(res.calibration.threshold).toBe(0.30000000000000004);
  });

  it("refuses other content types with 415", async () => {
    const res = await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, body: "scores=1", headers: { "content-type": "text/plain" } });
    expect(res.status).toBe(415);
    expect((await res.json<any>()).error.code).toBe("unsupported_media_type");
  });

  it("refuses a JSON or NDJSON upload declared UTF-16 or UTF-32 with 415 (it was read as UTF-8)", async () => {
    for (const type of ["application/json; charset=utf-16", "application/x-ndjson; charset=utf-32be"]) {
      const res = await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, body: "{}", headers: { "content-type": type } });
      expect(res.status, type).toBe(415);
      expect((await res.json<any>()).error.message).toMatch(/^charset "(utf-16|utf-32be)" is not accepted/u);
    }
  });

  it("a 415 says what the refused type most likely means: curl -d without a Content-Type, or a CSV for the CLI", async () => {
    const json = JSON.stringify({
      index: "x",
      embedding: "e",
      reranker: "r",
      index_version: "v1",
      policy: { kind: "drop_rate", target: 0.2 },
      scores: [0.1],
    });
    const form = await call("POST", "/v1/calibrations", {
      token: TOKENS.calibrate,
      body: json,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(415);
    expect((await form.json<any>()).error.message).toContain(
      `curl's -d sends it when no Content-Type is given: add -H "Content-Type: application/json"`,
    );
    const csv = await call("POST", "/v1/calibrations", {
      token: TOKENS.calibrate,
      body: "query_id,score\nq0,0.5\n",
      headers: { "content-type": "text/csv" },
    });
    expect(csv.status).toBe(415);
    expect((await csv.json<any>()).error.message).toContain("npx scoregate calibrate FILE");
    const plain = await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, body: "scores=1", headers: { "content-type": "text/plain" } });
    expect((await plain.json<any>()).error.message).toBe(
      `Content-Type "text/plain" is not accepted: use application/json, application/x-ndjson or application/octet-stream (float32)`,
    );
    const observations = await call("POST", "/v1/observations", {
      token: TOKENS.read,
      body: json,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(observations.status).toBe(415);
    expect((await observations.json<any>()).error.message).toBe(
      `expected Content-Type: application/json, got "application/x-www-form-urlencoded" (curl's -d sends it when no Content-Type is given: add -H "Content-Type: application/json")`,
    );
  });
});

describe("large NDJSON", () => {
  it("decodes in chunks: 150,000 lines (several decode chunks) give the same fit as float64 math", async () => {
    const gate = uniqueGate("ndjson-big");
    const scores = spreadScores(150_000, -1, 7.123456789);
    const header = JSON.stringify({ ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.37 }, activate: false });
    const body = `${header}\r\n${scores.map((s) => JSON.stringify(s)).join("\r\n")}\r\n`;
    expect(body.length).toBeGreaterThan(2 * 1024 * 1024);
    const res = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      body,
      headers: { "content-type": "application/x-ndjson" },
    });
    const sorted = [...scores].sort((a, b) => a - b);
    expect(res.calibration.n).toBe(150_000);
    expect(res.calibration.threshold).toBe(sorted[Math.ceil(150_001 * 0.37) - 1]);
  });

  it("reports the line number of a bad line", async () => {
    const gate = uniqueGate("ndjson-bad");
    const body = [JSON.stringify({ ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.1 } }), "0.5", "0.7", "oops"].join("\n");
    const err = await callJson("POST", "/v1/calibrations", 400, {
      token: TOKENS.calibrate,
      body,
      headers: { "content-type": "application/x-ndjson" },
    });
    expect(err.error.message).toContain("line 4");
  });
});
