// What the OpenAPI document declares of the input matches what the contract's schemas accept, value for value: the
// page size (`limit`) and the listing cursor (`cursor`, with the `next_cursor` every such listing answers), the resume
// point (`after`, Last-Event-ID), the path ids, the query defaults, the float32 upload's query parameters and the
// NDJSON content types. The same requests sent to the running Worker:
// openapi-declared.workerd.test.ts.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import * as S from "../../src/contract";
import { wholeNumberPattern } from "../../src/contract/whole-number-pattern";
import { gateIdOf, newId } from "../../src/platform/ids";
import { openApiDocument } from "../../src/reference/openapi";

interface Param {
  name: string;
  in: string;
  required: boolean;
  description?: string;
  schema: { type?: string; pattern?: string; default?: string; maxLength?: number; minLength?: number; description?: string };
}
interface Doc {
  paths: Record<string, Record<string, { parameters?: Param[]; requestBody?: { content: Record<string, unknown> } }>>;
}
/** A JSON answer as the document declares it. */
interface Answer {
  content: Record<string, { schema: { properties: Record<string, unknown>; required: string[] } }>;
}
const doc = openApiDocument() as Doc;
const routes = Object.values(S.ROUTES) as S.RouteSpec[];
const params = (spec: S.RouteSpec) => doc.paths[spec.path]![spec.method]!.parameters ?? [];
const name = (spec: S.RouteSpec) => `${spec.method.toUpperCase()} ${spec.path}`;

/** A seeded PRNG (mulberry32), for sampled numbers. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Strings a digits check must tell apart: padded, signed, exponent, hex, decimal, blank and empty forms. */
const ODD = ["", " ", " 5", "5 ", "+5", "-5", "05", "00", "0x10", "1e1", "5.0", "5.", ".5", "Infinity", "NaN", "abc", "٣", "1_0"];

describe("wholeNumberPattern", () => {
  it("matches exactly the decimal forms of min..max, for every max up to 400, some larger ones, and min 0 or 1", () => {
    for (const max of [...Array.from({ length: 400 }, (_, i) => i + 1), 999, 1000, 1001, 2090, 4096, 10000, 12345]) {
      for (const min of [0, 1] as const) {
        const re = new RegExp(wholeNumberPattern(min, max), "u");
        for (let n = 0; n <= max + 20; n++) expect(re.test(String(n)), `${min}..${max}: ${n}`).toBe(n >= min && n <= max);
        for (const s of ODD) expect(re.test(s), `${min}..${max}: ${JSON.stringify(s)}`).toBe(false);
      }
    }
  });

  it("bounds Number.MAX_SAFE_INTEGER exactly, checked on its neighbours and on seeded 16-digit numbers", () => {
    const re = new RegExp(wholeNumberPattern(0, Number.MAX_SAFE_INTEGER), "u");
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    for (let d = -3n; d <= 3n; d++) expect(re.test(String(max + d)), String(max + d)).toBe(d <= 0n);
    const random = mulberry32(7);
    for (let i = 0; i < 2000; i++) {
      const n = BigInt(Math.floor(random() * 9e15)) + 10n ** 15n; // 16 digits, about half above the bound
      expect(re.test(String(n)), String(n)).toBe(n <= max);
    }
  });

  it("refuses a max that is not a positive safe integer", () => {
    for (const max of [0, -1, 1.5, Number.NaN, 2 ** 53]) expect(() => wholeNumberPattern(1, max)).toThrow(RangeError);
  });
});

describe("the OpenAPI document's query parameters", () => {
  it("limit: the declared pattern accepts exactly the values the schema accepts (1 to MAX_PAGE_SIZE), with the same refusal", () => {
    const withLimit = routes.filter((spec) => spec.query?.shape.limit !== undefined);
    expect(withLimit.length).toBe(6);
    for (const spec of withLimit) {
      const limit = params(spec).find((p) => p.name === "limit")!;
      expect(limit.schema.default, name(spec)).toBe(String(S.DEFAULT_PAGE_SIZE));
      const re = new RegExp(limit.schema.pattern!, "u");
      const schema = spec.query!.shape.limit as typeof S.PageLimit;
      for (const s of [...ODD, ...Array.from({ length: 1200 }, (_, n) => String(n)), "999999", "1000000"]) {
        expect(re.test(s), `${name(spec)} limit=${JSON.stringify(s)}`).toBe(schema.safeParse(s).success);
      }
      expect(re.test(String(S.MAX_PAGE_SIZE + 1))).toBe(false);
    }
    // the refusal's wording is the one the schema always had, for a value over the bound as for one of another form
    for (const s of ["201", "abc"]) expect(S.PageLimit.safeParse(s).error?.issues[0]?.message).toBe("must be a whole number from 1 to 200");
  });

  it("cursor: every listing with a limit declares an optional cursor of the contract's form and answers next_cursor, a string or null", () => {
    const withLimit = routes.filter((spec) => spec.query?.shape.limit !== undefined);
    expect(withLimit.map(name).sort()).toEqual(
      [
        "GET /v1/alerts",
        "GET /v1/alerts/{id}/occurrences",
        "GET /v1/calibrations",
        "GET /v1/gates",
        "GET /v1/gates/{gate_id}/promotions",
        "GET /v1/webhooks/deliveries",
      ].sort(),
    );
    for (const spec of withLimit) {
      const cursor = params(spec).find((p) => p.name === "cursor");
      expect(cursor, name(spec)).toMatchObject({ in: "query", required: false, schema: { type: "string" } });
      const re = new RegExp(cursor!.schema.pattern!, "u");
      for (const s of ["zl033h8o", "0000001", "garbage", "5", "5!!", "ZL033H8O", "", "0".repeat(18)]) {
        expect(re.test(s), `${name(spec)} cursor=${s}`).toBe(S.Cursor.safeParse(s).success);
      }
      const answer = (doc.paths[spec.path]![spec.method] as unknown as { responses: Record<string, Answer> }).responses["200"]!;
      const schema = answer.content["application/json"]!.schema;
      expect(schema.properties.next_cursor, name(spec)).toEqual({ type: ["string", "null"] });
      expect(schema.required, name(spec)).toContain("next_cursor");
    }
  });

  it("after and Last-Event-ID: the declared pattern accepts exactly the seqs EventSeq accepts (0 to Number.MAX_SAFE_INTEGER)", () => {
    const random = mulberry32(11);
    const samples = [
      ...ODD,
      ...Array.from({ length: 200 }, (_, n) => String(n)),
      ...Array.from({ length: 600 }, () => String(BigInt(Math.floor(random() * 9e15)) + 10n ** 15n)),
      "9007199254740991",
      "9007199254740992",
      "9999999999999999",
      "10000000000000000",
      "0009",
    ];
    for (const spec of [S.ROUTES.streamEvents, S.ROUTES.streamGateEvents]) {
      const declared = params(spec).filter((p) => p.name === "after" || p.name === "Last-Event-ID");
      expect(declared.map((p) => p.in).sort(), name(spec)).toEqual(["header", "query"]);
      for (const p of declared) {
        const re = new RegExp(p.schema.pattern!, "u");
        for (const s of samples) expect(re.test(s), `${name(spec)} ${p.name}=${s}`).toBe(S.EventSeq.safeParse(s).success);
      }
    }
    // the refusal's wording is the one the schema always had, past the bound as for another form
    for (const s of ["9007199254740992", "01"]) {
      expect(S.EventSeq.safeParse(s).error?.issues[0]?.message).toBe("must be an event seq: a whole number from 0 to 9007199254740991");
    }
  });

  it("index defaults to DEFAULT_INDEX, and every declared default parses as the parameter left out does", () => {
    let defaults = 0;
    for (const spec of routes) {
      const fields = queryFields(spec);
      for (const p of params(spec).filter((q) => q.in === "query" && q.schema.default !== undefined)) {
        const field = fields[p.name]!;
        expect(field.parse(p.schema.default), `${name(spec)} ${p.name}`).toEqual(field.parse(undefined));
        defaults += 1;
      }
      // a route that reads a missing index as the default one declares it; the alert filter (any index) does not
      const index = fields.index;
      if (index !== undefined) {
        const declared = params(spec).find((p) => p.name === "index")?.schema.default;
        expect(declared, name(spec)).toBe(index.safeParse(undefined).data === S.DEFAULT_INDEX ? S.DEFAULT_INDEX : undefined);
      }
    }
    expect(defaults).toBeGreaterThan(10);
    expect(params(S.ROUTES.getThreshold).find((p) => p.name === "index")?.schema.default).toBe(S.DEFAULT_INDEX);
  });

  it("POST /v1/calibrations declares the float32 upload's query parameters, none required of every upload", () => {
    const query = params(S.ROUTES.createCalibration).filter((p) => p.in === "query");
    expect(query.map((p) => p.name)).toEqual(Object.keys(S.BinaryUploadQuery.shape));
    for (const p of query) {
      expect(p.required, p.name).toBe(false);
      expect(p.description, p.name).toContain("application/octet-stream only");
      // those the float32 upload cannot do without say so
      const needed = !(S.BinaryUploadQuery.shape[p.name as keyof typeof S.BinaryUploadQuery.shape] as z.ZodType).safeParse(undefined).success;
      expect(p.description!.includes("required then"), p.name).toBe(needed);
    }
    expect(query.filter((p) => p.description!.includes("required then")).map((p) => p.name)).toEqual([
      "embedding",
      "reranker",
      "index_version",
      "kind",
    ]);
  });

  it("the float32 upload's numbers say their range, and a name its length, where a pattern cannot", () => {
    const query = params(S.ROUTES.createCalibration).filter((p) => p.in === "query");
    const numbers = query.filter((p) => p.schema.pattern !== undefined);
    expect(numbers.length).toBeGreaterThan(10);
    for (const p of numbers) expect(p.schema.description, p.name).toMatch(/\[0, |\(0, |from [01] to |threshold/u);
    expect(numbers.find((p) => p.name === "candidates_per_query")?.schema.description).toContain(`to ${S.MAX_CANDIDATES_PER_QUERY}`);
    for (const n of ["index", "embedding", "reranker", "index_version"]) {
      const schema = query.find((p) => p.name === n)?.schema;
      expect(schema?.description, n).toContain(`1 to ${S.MAX_ID_LENGTH} characters`);
      expect(schema?.minLength, n).toBe(1);
    }
  });
});

describe("the OpenAPI document's request bodies and path ids", () => {
  it("the calibration upload declares every content type the upload reads, and no other", () => {
    const types = Object.keys(doc.paths["/v1/calibrations"]!.post!.requestBody!.content);
    expect(types).toEqual(["application/json", ...S.NDJSON_MEDIA_TYPES, "application/octet-stream"]);
  });

  it("every calibration id and gate id in a path declares its form, which the ids the server makes have", async () => {
    const cal = newId("cal", new Date("2026-01-01T00:00:00Z"), "0123456789abcdef");
    const gate = await gateIdOf({ index: "docs", embedding: "e5", reranker: "bge" });
    let checked = 0;
    for (const spec of routes) {
      for (const p of params(spec).filter((q) => q.in === "path")) {
        const kind = p.name === "gate_id" ? "gate" : spec.path.startsWith("/v1/calibrations/") ? "calibration" : "other";
        if (kind === "other") {
          // alert, webhook, delivery and promotion ids: any string is looked up (an unknown one is a 404)
          expect(p.schema, `${name(spec)} ${p.name}`).toEqual({ type: "string" });
          continue;
        }
        const re = new RegExp(p.schema.pattern!, "u");
        const schema = kind === "gate" ? S.GateId : S.CalibrationId;
        for (const id of [cal, gate, "cal_", "cal_ABCDEF0123", `${gate}0`, "x", ""]) {
          expect(re.test(id), `${name(spec)} ${id}`).toBe(schema.safeParse(id).success);
        }
        expect(re.test(kind === "gate" ? gate : cal), name(spec)).toBe(true);
        checked += 1;
      }
    }
    expect(checked).toBe(9);
  });
});

/** The query parameters a route reads, by name: its query's, and those of a body encoding (the float32 upload's). */
function queryFields(spec: S.RouteSpec): Record<string, z.ZodType> {
  const fromBody = Object.values(spec.body?.content ?? {}).flatMap((c) => (c instanceof z.ZodType || c.query === undefined ? [] : [c.query.shape]));
  return Object.assign({}, spec.query?.shape, ...fromBody) as Record<string, z.ZodType>;
}
