/**
 * The JSON upload reader (src/calibrations/json-upload.ts): its numeric arrays must be exactly what JSON.parse gives,
 * in typed arrays; what is not a numeric array reaches JSON.parse untouched; bad input is refused as the contract
 * words it, and a count limit stops the reading where it is exceeded.
 */
import { describe, expect, it } from "vitest";
import { splitJsonUpload } from "../../src/calibrations/json-upload";
import { AppError } from "../../src/platform/errors";
import { checkJsonShape } from "../../src/platform/http/body";
import { MAX_CANDIDATES_PER_QUERY, MAX_JSON_DEPTH, MAX_QUERIES, MAX_SCORES } from "../../src/platform/limits";
import { createRng } from "../support/prng";

const META = '"embedding":"e5","reranker":"bge","index_version":"v1","policy":{"kind":"drop_rate","target":0.2}';

function refusal(text: string): AppError {
  try {
    splitJsonUpload(text);
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error(`accepted: ${text.slice(0, 80)}`);
}

/** Numbers as a JSON writer may print them: integers, exponents, negative zero, long fractions, subnormals. */
function numberTexts(n: number, seed: number): string[] {
  const rng = createRng(seed);
  const out = ["0", "-0", "1", "-1", "0.5", "1e-7", "-2.5E+3", "123456789012345678901234567890", "5e-324", "1.7976931348623157e308"];
  while (out.length < n) {
    const x = (rng.next() - 0.5) * 10 ** Math.floor(rng.next() * 12 - 6);
    const form = Math.floor(rng.next() * 3);
    out.push(form === 0 ? String(x) : form === 1 ? x.toExponential(Math.floor(rng.next() * 17)) : x.toFixed(Math.floor(rng.next() * 10)));
  }
  return out;
}

describe("splitJsonUpload", () => {
  it("reads scores exactly as JSON.parse does, and passes the rest to JSON.parse untouched", () => {
    const texts = numberTexts(2000, 17);
    const text = `{ ${META},\n "scores" : [ ${texts.join(" ,\n")} ] , "score_scale":"logit"}`;
    const parts = splitJsonUpload(text)!;
    expect(Array.from(parts.scores!)).toEqual((JSON.parse(text) as { scores: number[] }).scores);
    expect(Object.is(parts.scores![1], -0)).toBe(true);
    expect(JSON.parse(parts.metaText)).toEqual({ ...JSON.parse(`{${META}}`), score_scale: "logit" });
    expect(parts.queries).toBeNull();
  });

  it("flattens queries and their labels into values and offsets, in order", () => {
    const text = `{${META},"queries":[[0.9,0.1],[0.5],[0.3,0.2,0.1]],"relevance":[[1,0],[0],[2,1,0]]}`;
    const parts = splitJsonUpload(text)!;
    expect(Array.from(parts.queries!.values)).toEqual([0.9, 0.1, 0.5, 0.3, 0.2, 0.1]);
    expect(Array.from(parts.queries!.offsets)).toEqual([0, 2, 3, 6]);
    expect(Array.from(parts.relevance!.values)).toEqual([1, 0, 0, 2, 1, 0]);
    expect(Array.from(parts.relevance!.offsets)).toEqual([0, 2, 3, 6]);
  });

  it("gives null for a body that is not an object, so the schema can say what it is", () => {
    expect(splitJsonUpload("[1, 2, 3]")).toBeNull();
    expect(splitJsonUpload(' "scores"')).toBeNull();
  });

  it.each([
    ['{"scores": [1, 2,]}', /expected a value at position 17, found "\]"/u],
    ['{"scores": [1 2]}', /expected "," or "\]" at position 14/u],
    ['{"scores": [01]}', /position 13/u],
    ['{"scores": [1]', /expected "," or "\}" at position 14, found the end of the body/u],
    ['{"scores": [1]} x', /expected the end of the body at position 16/u],
    ['{"policy": {"kind": "drop_rate",}, "scores": [1]}', /expected a key/u],
    ['{"a": "unterminated}', /a closing quote/u],
  ])("refuses malformed JSON %s with 400 malformed_json and its position", (text, message) => {
    const e = refusal(text);
    expect(e.code).toBe("malformed_json");
    expect(e.message).toMatch(message);
  });

  it("refuses a top-level key given twice, the numeric ones included", () => {
    for (const text of ['{"scores": [1], "scores": [2]}', '{"index": "a", "\\u0069ndex": "b", "scores": [1]}']) {
      const e = refusal(text);
      expect(e.code).toBe("malformed_json");
      expect(e.message).toMatch(/more than once/u);
    }
  });

  it("counts every score that is not a finite number and lists the first 20, as the contract words them", () => {
    const entries = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? "null" : '"x"'));
    const e = refusal(`{${META},"scores":[0.5,1e400,${entries.join(",")},{"a":[1]}]}`);
    expect(e.code).toBe("invalid_input");
    // the message names the first three, and what each is (null: how pandas writes NaN)
    expect(e.message).toBe(
      "52 score(s) are not finite numbers (JSON has no NaN or Infinity; 1e400 parses as Infinity): scores[1] Infinity is not finite; scores[2] must be a finite number, not null (pandas writes NaN as null: drop or fill those); scores[3] must be a finite number, not a string; 49 more problems (details lists the first 20)",
    );
    expect(e.details).toHaveLength(20);
    expect((e.details as { path: string; message: string }[]).slice(0, 2)).toEqual([
      { path: "scores[1]", message: "Infinity is not finite" },
      { path: "scores[2]", message: "must be a finite number, not null (pandas writes NaN as null: drop or fill those)" },
    ]);
    expect((e.details as { path: string; message: string }[]).at(-1)).toEqual({
      path: "scores[20]",
      message: "must be a finite number, not null (pandas writes NaN as null: drop or fill those)",
    });
  });

  it.each([
    ['"scores": []', "scores", "must not be empty"],
    ['"scores": 3', "scores", "must be an array of numbers"],
    ['"queries": []', "queries", "must not be empty"],
    ['"queries": [[0.5], []]', "queries[1]", "a query must have at least one candidate score"],
    ['"queries": [[0.5], 0.4]', "queries[1]", "must be an array of numbers"],
    ['"queries": {"a": 1}', "queries", "must be an array of arrays of numbers"],
    ['"queries": [[0.5]], "relevance": [["1"]]', "relevance[0][0]", "must be a finite number, not a string"],
    ['"scores": [0.5, true]', "scores[1]", "must be a finite number, not a boolean"],
    ['"scores": [0.5, [1]]', "scores[1]", "must be a finite number, not an array"],
  ])("refuses %s with 422 at %s: %s", (field, path, message) => {
    const e = refusal(`{${META},${field}}`);
    expect(e.code).toBe("invalid_input");
    expect((e.details as { path: string; message: string }[])[0]).toEqual({ path, message });
  });

  it("refuses a query of more than MAX_CANDIDATES_PER_QUERY candidates", () => {
    const e = refusal(
      `{${META},"queries":[[${Array(MAX_CANDIDATES_PER_QUERY + 1)
        .fill(0.5)
        .join(",")}]]}`,
    );
    expect((e.details as { path: string; message: string }[])[0]).toEqual({
      path: "queries[0]",
      message: `a query may have at most ${MAX_CANDIDATES_PER_QUERY} candidates`,
    });
  });

  it("stops at MAX_QUERIES queries and at MAX_SCORES scores, without reading further", () => {
    const queries = refusal(
      `{${META},"queries":[${Array(MAX_QUERIES + 1)
        .fill("[1]")
        .join(",")},oops]}`,
    );
    expect(queries.message).toBe(`invalid calibration: queries must hold at most ${MAX_QUERIES} queries`);
    // "oops" after the limit is never reached: the refusal is the count's, not a syntax error
    const scores = refusal(
      `{${META},"scores":[${Array(MAX_SCORES + 1)
        .fill("1")
        .join(",")},oops]}`,
    );
    expect(scores.message).toBe(`invalid calibration: scores must hold at most ${MAX_SCORES} scores`);
  });
});

describe("checkJsonShape", () => {
  const limits = { maxDepth: 3, maxContainers: 5, maxStrings: 4, maxNumbers: 6 };
  const shape = (text: string) => {
    try {
      checkJsonShape(text, limits);
      return "ok";
    } catch (e) {
      return `${(e as AppError).code}: ${(e as AppError).message}`;
    }
  };

  it("accepts what is within every limit, strings with brackets, commas and escaped quotes included", () => {
    expect(shape('{"a": [[1, 2], "[[[{,:", "\\"]]]"], "b": -3}')).toBe("ok");
    expect(shape("[1, 2, 3, 4, 5, 6]")).toBe("ok");
  });

  it("refuses nesting deeper than maxDepth (422) and more containers, strings or numbers than allowed (413)", () => {
    expect(shape("[[[[]]]]")).toBe("invalid_input: request body nests arrays and objects more than 3 deep");
    expect(shape("[[],[],[],[],[]]")).toBe("payload_too_large: request body holds more than 5 arrays and objects: at most 5 are accepted");
    expect(shape('["a","b","c","d","e"]')).toMatch(/^payload_too_large: request body holds more than 4 strings/u);
    expect(shape("[1,2,3,4,5,6,-7]")).toMatch(/^payload_too_large: request body holds more than 6 numbers/u);
  });

  it("stops at the limit: a body nested millions deep is refused after reading past the limit, never parsed", () => {
    const deep = "[".repeat(5_000_000);
    expect(shape(deep)).toMatch(/more than 3 deep/u);
    expect(() => checkJsonShape(deep, { maxDepth: MAX_JSON_DEPTH, maxContainers: Infinity, maxStrings: Infinity })).toThrow(
      `nests arrays and objects more than ${MAX_JSON_DEPTH} deep`,
    );
  });
});
