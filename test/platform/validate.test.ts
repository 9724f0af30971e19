import { describe, expect, it } from "vitest";
import { z } from "zod";
import { CalibrationUpload, ObservationBatch } from "../../src/contract";
import { AppError } from "../../src/platform/errors";
import { MAX_ERROR_DETAILS, MAX_LISTED_UNKNOWN_KEYS, MAX_MESSAGE_PROBLEMS, validate } from "../../src/platform/http/validate";

function refusal(schema: z.ZodType, value: unknown): AppError {
  try {
    validate(schema, value, "bad_request", "query parameters");
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("validate: the message names every problem a user has to fix, up to a few", () => {
  const gateQuery = z.object({ index: z.string(), embedding: z.string(), reranker: z.string() });

  it("one problem reads as before", () => {
    expect(refusal(gateQuery, { index: "docs", reranker: "r" }).message).toBe("invalid query parameters: embedding is required");
  });

  it("two missing fields are both named, not fixed one request at a time", () => {
    const err = refusal(gateQuery, { index: "docs" });
    expect(err.message).toBe("invalid query parameters: embedding is required; reranker is required");
    expect(err.details).toEqual([
      { path: "embedding", message: "is required" },
      { path: "reranker", message: "is required" },
    ]);
  });

  it("a mistyped field reads as the unknown field next to the missing one, without the body's path", () => {
    const err = refusal(gateQuery.strict(), { index: "docs", embeding: "e5", reranker: "r" });
    expect(err.message).toBe("invalid query parameters: embedding is required; unknown field(s): embeding (did you mean embedding?)");
    expect(err.details).toContainEqual({ path: "(body)", message: "unknown field(s): embeding (did you mean embedding?)" });
  });

  it("names at most MAX_LISTED_UNKNOWN_KEYS unknown fields and counts the rest (60,000 made-up keys make a short error)", () => {
    const body = Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, 1]));
    const err = refusal(gateQuery.strict(), { index: "docs", embedding: "e5", reranker: "r", ...body });
    const named = Array.from({ length: MAX_LISTED_UNKNOWN_KEYS }, (_, i) => `k${i}`).join(", ");
    expect(err.details).toEqual([{ path: "(body)", message: `unknown field(s): ${named} and 59,990 more` }]);
    expect(JSON.stringify(err).length).toBeLessThan(1000);
  });

  it("an unknown field deep in the body is matched against its own object's names; a far-off name gets no guess", () => {
    const upload = z.strictObject({
      policy: z.strictObject({ kind: z.literal("drop_rate"), target: z.number(), min_keep: z.number().optional() }).optional(),
      queries: z.array(z.strictObject({ scores: z.array(z.number()) })).optional(),
    });
    expect(refusal(upload, { policy: { kind: "drop_rate", target: 0.2, minkeep: 2 } }).details).toEqual([
      { path: "policy", message: "unknown field(s): minkeep (did you mean min_keep?)" },
    ]);
    expect(refusal(upload, { queries: [{ scores: [0.1] }, { score: [0.2] }] }).details).toContainEqual({
      path: "queries[1]",
      message: "unknown field(s): score (did you mean scores?)",
    });
    expect(refusal(upload, { colour: "red" }).details).toEqual([{ path: "(body)", message: "unknown field(s): colour" }]);
    // a union's options pool their names; a name near none of them gets no guess
    const either = z.discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("a"), alpha: z.number() }),
      z.strictObject({ kind: z.literal("r"), rate: z.number() }),
    ]);
    expect(refusal(z.strictObject({ x: either }), { x: { kind: "r", rate: 1, rat: 1 } }).message).toContain(
      "unknown field(s) in x: rat (did you mean rate?)",
    );
    expect(refusal(z.strictObject({ x: either }), { x: { kind: "r", rate: 1, zzzzzz: 1 } }).message).not.toContain("did you mean");
  });

  it("the calibration upload's own schema guesses a mistyped top-level or policy field", () => {
    const body = { index: "docs", embeding: "e5", reranker: "r", index_version: "v1", policy: { kind: "drop_rate", taget: 0.2 }, scores: [0.1] };
    const messages = refusal(CalibrationUpload, body).details as { path: string; message: string }[];
    expect(messages).toContainEqual({ path: "(body)", message: "unknown field(s): embeding (did you mean embedding?)" });
    expect(messages).toContainEqual({ path: "policy", message: "unknown field(s): taget (did you mean target?)" });
    expect(refusal(CalibrationUpload, { index: "docs", embedding: "e5", reranker: "r", policy: body.policy, scores: [0.1] }).message).toBe(
      "invalid query parameters: index_version is required; policy.target is required; unknown field(s) in policy: taget (did you mean target?)",
    );
  });

  it("beyond the first few, the message counts the rest and says details lists them", () => {
    const err = refusal(gateQuery, {});
    expect(MAX_MESSAGE_PROBLEMS).toBe(3);
    expect(err.message).toBe("invalid query parameters: index is required; embedding is required; reranker is required");
    const many = refusal(z.object({ a: z.string(), b: z.string(), c: z.string(), d: z.string(), e: z.string() }), {});
    expect(many.message).toBe("invalid query parameters: a is required; b is required; c is required; 2 more problems (listed in details)");
  });

  it("more problems than details holds: the message says details lists only the first ones", () => {
    const err = refusal(z.object({ scores: z.array(z.number()) }), { scores: Array.from({ length: 30 }, () => "x") });
    expect(err.message).toBe(
      `invalid query parameters: scores[0] must be a number; scores[1] must be a number; scores[2] must be a number; 27 more problems (details lists the first ${MAX_ERROR_DETAILS})`,
    );
    expect(err.details).toHaveLength(MAX_ERROR_DETAILS);
  });

  it("array bounds without a message of their own read in plain English: entries, not entrys", () => {
    const list = (min: number, max: number) => z.object({ xs: z.array(z.number()).min(min).max(max) });
    expect(refusal(list(0, 2), { xs: [1, 2, 3] }).message).toBe("invalid query parameters: xs must have at most 2 entries");
    expect(refusal(list(0, 1), { xs: [1, 2] }).message).toBe("invalid query parameters: xs must have at most 1 entry");
    expect(refusal(list(3, 9), { xs: [1] }).message).toBe("invalid query parameters: xs must have at least 3 entries");
    expect(refusal(z.object({ s: z.string().min(2) }), { s: "a" }).message).toBe("invalid query parameters: s must be at least 2 characters");
  });

  it('type names that do not read after an article are ours: a whole number, not "a int"', () => {
    expect(refusal(z.object({ n: z.int() }), { n: 2.5 }).message).toBe("invalid query parameters: n must be a whole number");
    expect(refusal(z.object({ t: z.tuple([z.number()]) }), { t: "x" }).message).toBe("invalid query parameters: t must be an array");
    expect(refusal(z.object({ r: z.record(z.string(), z.number()) }), { r: 1 }).message).toBe("invalid query parameters: r must be an object");
  });

  it("a batch's cross-field rules read as sentences about the field they name", () => {
    expect(refusal(ObservationBatch, { batch_id: "b1", queries: [[3, 1]] }).message).toBe(
      "invalid query parameters: calibration_id is required, or name the gate instead (embedding and reranker, optionally index)",
    );
    expect(refusal(ObservationBatch, { batch_id: "b1", role: "shadow", embedding: "e", reranker: "r", queries: [[3, 1]] }).message).toBe(
      "invalid query parameters: calibration_id is required in a shadow batch (its shadow calibration)",
    );
  });

  it("a drift tolerance of the wrong form says which forms it takes", () => {
    for (const drift_tolerance of ["0.05", { relative: "x" }, []]) {
      const err = refusal(CalibrationUpload, {
        index_version: "v",
        embedding: "e",
        reranker: "r",
        policy: { kind: "drop_rate", target: 0.2 },
        scores: [1],
        drift_tolerance,
      });
      expect(err.message).toContain('drift_tolerance must be a number from 0 to 0.5, or {"relative": r} with 0 < r <= 1');
    }
  });
});

describe("validate: a check of several fields together may word the whole error", () => {
  const named = z.object({ a: z.string().optional(), b: z.string().min(1).optional() }).superRefine(
    (v, ctx) => {
      if (v.a !== undefined && v.b !== undefined) {
        for (const k of ["a", "b"])
          ctx.addIssue({ code: "custom", path: [k], message: "given with the other", params: { sentence: "give a or b, not both" } });
      }
    },
    { when: (payload) => payload.issues.length === 0 },
  );

  it("its sentence is the message, each field in details", () => {
    const err = refusal(named, { a: "x", b: "y" });
    expect(err.message).toBe("give a or b, not both");
    expect(err.details).toEqual([
      { path: "a", message: "given with the other" },
      { path: "b", message: "given with the other" },
    ]);
  });

  it("a custom issue without a sentence, and a field's own problem, read as every other", () => {
    const plain = z.object({ a: z.string() }).superRefine((_v, ctx) => ctx.addIssue({ code: "custom", path: ["a"], message: "is odd" }));
    expect(refusal(plain, { a: "x" }).message).toBe("invalid query parameters: a is odd");
    expect(refusal(named, { a: "x", b: "" }).message).toBe("invalid query parameters: b must not be empty");
  });
});
