/**
 * Reads a JSON upload without building a JavaScript array per query or a result object per number: `scores`,
 * `queries` and `relevance` are read straight from the text into typed arrays (8 bytes a number, Q+1 offsets), and
 * only the rest of the top-level object (the metadata) goes through JSON.parse and zod. Measured in workerd (docs/
 * benchmarks.md, section 19): a valid upload of MAX_QUERIES labelled one-score queries needed 123 MB of isolate heap
 * through JSON.parse and zod, against 128 MB per isolate, and needs 44 MB read this way. Hand-written
 * because no maintained JSON parser for Workers reads numeric arrays into typed arrays; the grammar it reads is
 * JSON's (RFC 8259), and JSON.parse still reads everything that is not a numeric array of these three fields.
 */
import type { z } from "zod";
import { NULL_SCORE } from "../contract";
import { AppError, type ErrorDetail, invalid } from "../platform/errors";
import { countText } from "../platform/format";
import type { JsonShapeLimits } from "../platform/http/body";
import { MAX_ERROR_DETAILS, problemsSentence, validate } from "../platform/http/validate";
import {
  MAX_CANDIDATES_PER_QUERY,
  MAX_JSON_DEPTH,
  MAX_QUERIES,
  MAX_REFERENCE_SCORES,
  MAX_SCORES,
  MAX_UPLOAD_JSON_STRINGS,
  MAX_UPLOAD_META_CONTAINERS,
} from "../platform/limits";

/** Numbers in query order with Q+1 boundaries. */
export interface FlatArrays {
  readonly values: Float64Array;
  readonly offsets: Uint32Array;
}

/** A JSON upload split into its numeric arrays (checked) and the JSON text of everything else. */
export interface JsonUploadParts {
  /** The top-level object without `scores`, `queries` and `relevance`. */
  readonly metaText: string;
  readonly scores: Float64Array | null;
  readonly queries: FlatArrays | null;
  readonly relevance: FlatArrays | null;
}

/** What a JSON value that is not a number is, by its first character: "null" (how pandas writes NaN), "a string", ... */
function valueKind(first: number): string {
  return first === 110
    ? "null"
    : first === 34
      ? "a string"
      : first === 116 || first === 102
        ? "a boolean"
        : first === 91
          ? "an array"
          : first === 123
            ? "an object"
            : "a number";
}

/** Problems found so far: all counted, the first MAX_ERROR_DETAILS listed. */
class Problems {
  readonly details: ErrorDetail[] = [];
  count = 0;
  add(path: string, message: string): void {
    this.count++;
    if (this.details.length < MAX_ERROR_DETAILS) this.details.push({ path, message });
  }
}

/** A Float64Array that doubles as it fills, up to `max` values (then `full` is true and nothing more is kept). */
export class GrowingArray {
  #values = new Float64Array(1024);
  length = 0;
  constructor(readonly max: number) {}
  push(x: number): boolean {
    if (this.length === this.max) return false;
    if (this.length === this.#values.length) {
      const grown = new Float64Array(Math.min(this.max, 2 * this.#values.length));
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.length++] = x;
    return true;
  }
  done(): Float64Array {
    return this.#values.slice(0, this.length);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/y;
const LITERAL = /true|false|null/y;

/** The fields read into typed arrays, and how each of their entries is checked. */
const NUMERIC_FIELDS = ["scores", "queries", "relevance"] as const;
type NumericField = (typeof NUMERIC_FIELDS)[number];

class Reader {
  i = 0;
  readonly shape = new Problems();
  /** Scores that are not finite numbers (null, "x", 1e400): counted in all, reported after the shape. */
  readonly bad = new Problems();
  constructor(readonly text: string) {}

  ws(): void {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.i);
      if (c === 32 || c === 10 || c === 13 || c === 9) this.i++;
      else return;
    }
  }

  peek(): number {
    return this.i < this.text.length ? this.text.charCodeAt(this.i) : -1;
  }

  fail(expected: string): never {
    const found = this.i < this.text.length ? JSON.stringify(this.text[this.i]) : "the end of the body";
    throw new AppError("malformed_json", `request body is not valid JSON: expected ${expected} at position ${this.i}, found ${found}`);
  }

  expect(code: number, what: string): void {
    if (this.peek() !== code) this.fail(what);
    this.i++;
  }

  /** A string token from its opening quote; returns its text with the quotes. */
  string(): string {
    const t = this.text;
    const start = this.i;
    let j = start + 1;
    for (;;) {
      if (j >= t.length) this.fail("a closing quote");
      const c = t.charCodeAt(j);
      if (c === 92) j += 2;
      else if (c === 34) break;
      else j++;
    }
    this.i = j + 1;
    return t.slice(start, this.i);
  }

  /** A number token, or null when none starts here. */
  number(): number | null {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.text);
    if (m === null) return null;
    this.i = NUMBER.lastIndex;
    return Number(m[0]);
  }

  /** Skips one value of any kind (a wrong entry, or a metadata field), checking its syntax. */
  skipValue(): void {
    this.ws();
    const c = this.peek();
    if (c === 34) {
      const s = this.string();
      try {
        JSON.parse(s);
      } catch {
        this.i -= s.length;
        this.fail("a valid string");
      }
    } else if (c === 91 || c === 123) {
      const close = c === 91 ? 93 : 125;
      this.i++;
      this.ws();
      if (this.peek() === close) {
        this.i++;
        return;
      }
      for (;;) {
        if (c === 123) {
          this.ws();
          if (this.peek() !== 34) this.fail("a key");
          this.string();
          this.ws();
          this.expect(58, '":"');
        }
        this.skipValue();
        this.ws();
        if (this.peek() === 44) this.i++;
        else {
          this.expect(close, c === 91 ? '"," or "]"' : '"," or "}"');
          return;
        }
      }
    } else if (this.number() === null) {
      LITERAL.lastIndex = this.i;
      if (LITERAL.exec(this.text) === null) this.fail("a value");
      this.i = LITERAL.lastIndex;
    }
  }

  /**
   * `[n, n, ...]` into `into`; entries that are not finite numbers are `bad` at `path[k]`. Returns the number of
   * entries read, or -1 when the value is not an array (a problem at `path`, value skipped). Throws 422 when `into`
   * is full (a count limit).
   */
  numbers(path: string, into: GrowingArray, bad: Problems, full: () => AppError): number {
    this.ws();
    if (this.peek() !== 91) {
      this.shape.add(path, "must be an array of numbers");
      this.skipValue();
      return -1;
    }
    this.i++;
    this.ws();
    if (this.peek() === 93) {
      this.i++;
      return 0;
    }
    for (let k = 0; ; k++) {
      this.ws();
      const x = this.number();
      if (x === null) {
        const kind = valueKind(this.peek());
        bad.add(`${path}[${k}]`, kind === "null" ? NULL_SCORE : `must be a finite number, not ${kind}`);
        this.skipValue();
      } else if (!Number.isFinite(x)) bad.add(`${path}[${k}]`, `${x} is not finite`);
      else if (!into.push(x)) throw full();
      this.ws();
      if (this.peek() === 44) this.i++;
      else {
        this.expect(93, '"," or "]"');
        return k + 1;
      }
    }
  }

  /** `[[n, ...], ...]` into flat values and offsets: queries (each 1..MAX_CANDIDATES_PER_QUERY) or their labels. */
  nested(field: "queries" | "relevance"): FlatArrays | null {
    this.ws();
    if (this.peek() !== 91) {
      this.shape.add(field, "must be an array of arrays of numbers");
      this.skipValue();
      return null;
    }
    const values = new GrowingArray(MAX_SCORES);
    const offsets: number[] = [0];
    const tooManyScores = () =>
      invalid(`${field} hold more than ${MAX_SCORES} ${field === "queries" ? "scores" : "labels"}; at most ${MAX_SCORES} are accepted`, [
        { path: field, message: "too many scores" },
      ]);
    // labels that are not finite numbers are shape problems (as zod words them), not scores
    const bad = field === "queries" ? this.bad : this.shape;
    this.i++;
    this.ws();
    if (this.peek() === 93) this.i++;
    else {
      for (let q = 0; ; q++) {
        if (q === MAX_QUERIES) {
          throw new AppError("invalid_input", `invalid calibration: ${field} must hold at most ${MAX_QUERIES} queries`, [
            { path: field, message: `must hold at most ${MAX_QUERIES} queries` },
          ]);
        }
        const before = values.length;
        const n = this.numbers(`${field}[${q}]`, values, bad, tooManyScores);
        if (field === "queries" && n === 0) this.shape.add(`queries[${q}]`, "a query must have at least one candidate score");
        if (field === "queries" && n > MAX_CANDIDATES_PER_QUERY)
          this.shape.add(`queries[${q}]`, `a query may have at most ${MAX_CANDIDATES_PER_QUERY} candidates`);
        offsets.push(n < 0 ? before : values.length);
        this.ws();
        if (this.peek() === 44) this.i++;
        else {
          this.expect(93, '"," or "]"');
          break;
        }
      }
    }
    if (field === "queries" && offsets.length === 1) this.shape.add("queries", "must not be empty");
    return { values: values.done(), offsets: Uint32Array.from(offsets) };
  }
}

/**
 * Splits a JSON upload: its numeric arrays read into typed arrays (and checked: 422 with the offending paths, 400 for
 * malformed JSON), the rest returned as JSON text. Null when the body is not a JSON object (the caller lets JSON.parse
 * and the schema say what it is). Duplicate top-level keys are refused as parseJsonText refuses them.
 */
export function splitJsonUpload(text: string): JsonUploadParts | null {
  const r = new Reader(text);
  r.ws();
  if (r.peek() !== 123) return null;
  r.i++;
  const metaParts: string[] = [];
  const seen = new Set<string>();
  const read: Partial<Record<NumericField, Float64Array | FlatArrays | null>> = {};
  r.ws();
  if (r.peek() === 125) r.i++;
  else {
    for (;;) {
      r.ws();
      if (r.peek() !== 34) r.fail("a key");
      const start = r.i;
      const raw = r.string();
      let key = "";
      try {
        key = JSON.parse(raw) as string;
      } catch {
        r.i = start;
        r.fail("a valid key");
      }
      if (seen.has(key)) {
        throw new AppError("malformed_json", `request body has the key ${JSON.stringify(key)} more than once: give each field once`, [
          { path: key, message: "duplicate key" },
        ]);
      }
      seen.add(key);
      r.ws();
      r.expect(58, '":"');
      if ((NUMERIC_FIELDS as readonly string[]).includes(key)) {
        const field = key as NumericField;
        if (field === "scores") {
          const scores = new GrowingArray(MAX_SCORES);
          const n = r.numbers("scores", scores, r.bad, () =>
            invalid(`invalid calibration: scores must hold at most ${MAX_SCORES} scores`, [
              { path: "scores", message: `must hold at most ${MAX_SCORES} scores` },
            ]),
          );
          if (n === 0) r.shape.add("scores", "must not be empty");
          read.scores = n < 0 ? null : scores.done();
        } else read[field] = r.nested(field);
      } else {
        r.skipValue();
        metaParts.push(text.slice(start, r.i));
      }
      r.ws();
      if (r.peek() === 44) r.i++;
      else {
        r.expect(125, '"," or "}"');
        break;
      }
    }
  }
  r.ws();
  if (r.i !== text.length) r.fail("the end of the body");
  if (r.shape.count > 0) {
    const first = r.shape.details[0]!;
    throw new AppError("invalid_input", `invalid calibration: ${first.path} ${first.message}`, r.shape.details);
  }
  if (r.bad.count > 0) {
    throw invalid(
      `${countText(r.bad.count)} score(s) are not finite numbers (JSON has no NaN or Infinity; 1e400 parses as Infinity): ${problemsSentence(r.bad.details, r.bad.count)}`,
      r.bad.details,
    );
  }
  return {
    metaText: `{${metaParts.join(",")}}`,
    scores: (read.scores as Float64Array | null | undefined) ?? null,
    queries: (read.queries as FlatArrays | null | undefined) ?? null,
    relevance: (read.relevance as FlatArrays | null | undefined) ?? null,
  };
}

/**
 * Validates an upload's metadata with `schema`. zod checks each element of an array through a result object of its
 * own, so inline carry reference scores (`policy.reference.scores`, up to MAX_REFERENCE_SCORES) are checked here and
 * zod sees a one-score stand-in, which they replace in the result.
 */
export function checkedMeta<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const policy = (value as { policy?: unknown } | null)?.policy;
  const reference = (policy as { reference?: unknown } | null | undefined)?.reference;
  const scores = (reference as { scores?: unknown } | null | undefined)?.scores;
  if (!Array.isArray(scores) || scores.length === 0) return validate(schema, value, "invalid_input", what);
  if (scores.length > MAX_REFERENCE_SCORES) {
    throw new AppError("invalid_input", `invalid ${what}: policy.reference.scores must hold at most ${MAX_REFERENCE_SCORES} scores`, [
      { path: "policy.reference.scores", message: `must hold at most ${MAX_REFERENCE_SCORES} scores` },
    ]);
  }
  const bad = new Problems();
  for (let i = 0; i < scores.length; i++) {
    const x: unknown = scores[i];
    if (typeof x !== "number" || !Number.isFinite(x)) {
      bad.add(`policy.reference.scores[${i}]`, typeof x === "number" ? `${x} is not finite` : "must be a finite number");
    }
  }
  if (bad.count > 0)
    throw invalid(`${countText(bad.count)} reference score(s) are not finite numbers: ${problemsSentence(bad.details, bad.count)}`, bad.details);
  const standIn = { ...(value as object), policy: { ...(policy as object), reference: { ...(reference as object), scores: [scores[0]] } } };
  const meta = validate(schema, standIn, "invalid_input", what) as { policy: { reference: object } };
  return { ...meta, policy: { ...meta.policy, reference: { ...meta.policy.reference, scores } } } as z.infer<S>;
}

/**
 * An upload's metadata (a JSON upload without its numeric arrays, or an NDJSON header line), with at most
 * MAX_REFERENCE_SCORES inline reference scores: a few objects (the policy, its reference, relative tolerances).
 */
export const UPLOAD_META_SHAPE: JsonShapeLimits = {
  maxDepth: MAX_JSON_DEPTH,
  maxContainers: MAX_UPLOAD_META_CONTAINERS,
  maxStrings: MAX_UPLOAD_JSON_STRINGS,
  maxNumbers: MAX_REFERENCE_SCORES + MAX_UPLOAD_JSON_STRINGS,
};
