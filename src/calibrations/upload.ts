/**
 * Parses a calibration upload in any of its three encodings into a CalibrationInput:
 *   application/json          {"embedding", "reranker", "index_version", "policy", "scores" | "queries", ...}
 *   application/x-ndjson      line 1: the same object without scores; then one score (a JSON number) per line,
 *                             or one query (a JSON array of numbers) per line, or one labelled query
 *                             {"scores": [...], "relevance": [...]} per line
 *   application/octet-stream  raw little-endian float32 scores; everything else as query parameters
 * JSON and NDJSON keep full float64 precision; float32 scores are widened exactly.
 */

import { BinaryUploadQuery, CalibrationMeta, CalibrationUpload, LabelledQueryLine, type Policy, Query, type Tolerance } from "../contract";
import { AppError, type ErrorDetail, invalid } from "../platform/errors";
import { decodeUtf8, mediaType, parseJsonText, readBodyBytes } from "../platform/http/body";
import { checkQueryNames } from "../platform/http/query";
import { MAX_ERROR_DETAILS, validate } from "../platform/http/validate";
import {
  MAX_BINARY_BODY_BYTES,
  MAX_CANDIDATES_PER_QUERY,
  MAX_JSON_BODY_BYTES,
  MAX_NDJSON_BODY_BYTES,
  MAX_QUERIES,
  MAX_SCORES,
  NDJSON_DECODE_CHUNK_BYTES,
} from "../platform/limits";
import { flattenQueries as flatLayout } from "../stats/per-query";
import type { CalibrationInput } from "./calibrate";
import { relevanceOf } from "./labels";

export const NDJSON_TYPES = ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"];

/** Flattens queries into one Float64Array with Q+1 offsets, refusing more than MAX_SCORES scores in all. */
function flattenQueries(queries: readonly (readonly number[])[]): { scores: Float64Array; offsets: Uint32Array } {
  let total = 0;
  for (const q of queries) total += q.length;
  if (total > MAX_SCORES)
    throw invalid(`queries hold ${total} scores; at most ${MAX_SCORES} are accepted`, [{ path: "queries", message: "too many scores" }]);
  return flatLayout(queries);
}

/**
 * Checks the large numeric arrays of an upload with a plain loop before zod sees them, listing at most
 * MAX_ERROR_DETAILS offenders: fast, and precise where zod would report (or choke on) one issue per element.
 */
function checkNumericArrays(value: unknown): void {
  if (typeof value !== "object" || value === null) return;
  const v = value as { scores?: unknown; queries?: unknown; policy?: { reference?: { scores?: unknown } } };
  const details: ErrorDetail[] = [];
  let bad = 0;
  const scan = (arr: unknown, path: string): void => {
    if (!Array.isArray(arr)) return;
    for (let i = 0; i < arr.length; i++) {
      const x: unknown = arr[i];
      if (typeof x === "number" && Number.isFinite(x)) continue;
      bad++;
      if (details.length < MAX_ERROR_DETAILS) {
        details.push({ path: `${path}[${i}]`, message: typeof x === "number" ? `${x} is not finite` : "must be a finite number" });
      }
    }
  };
  scan(v.scores, "scores");
  if (Array.isArray(v.queries)) {
    for (let i = 0; i < v.queries.length; i++) scan(v.queries[i], `queries[${i}]`);
  }
  scan(v.policy?.reference?.scores, "policy.reference.scores");
  if (bad > 0) throw invalid(`${bad} score(s) are not finite numbers (JSON has no NaN or Infinity; 1e400 parses as Infinity)`, details);
}

/**
 * Relevance labels to a flat 0/1 array parallel to the flattened queries. Labels are 0/1 unless `relevantAt` is given
 * (graded labels: relevant iff label >= relevantAt). 422 for labels without candidates or of the wrong shape.
 */
function labelsOf(
  queries: readonly (readonly number[])[],
  relevance: readonly (readonly number[] | null)[],
  relevantAt: number | undefined,
  where: (i: number) => string,
): Uint8Array {
  if (relevance.length !== queries.length) {
    throw invalid(`relevance has ${relevance.length} entries for ${queries.length} queries: give one label array per query`, [
      { path: "relevance", message: "must have one entry per query" },
    ]);
  }
  let total = 0;
  for (const q of queries) total += q.length;
  const out = new Uint8Array(total);
  const details: ErrorDetail[] = [];
  let bad = 0;
  let o = 0;
  for (let i = 0; i < queries.length; i++) {
    const m = queries[i]!.length;
    bad += relevanceOf(relevance[i], m, relevantAt, where(i), out, o, details);
    o += m;
  }
  if (bad > 0) throw invalid(`${bad} relevance label(s) do not match their candidates`, details);
  return out;
}

function fromJson(value: unknown): CalibrationInput {
  checkNumericArrays(value);
  const body = validate(CalibrationUpload, value, "invalid_input", "calibration");
  const { scores, queries, relevance, answerable, ...meta } = body;
  if ((scores === undefined) === (queries === undefined)) {
    throw invalid('give exactly one of "scores" (number[]) or "queries" (number[][])', [
      { path: "scores", message: "exactly one of scores or queries is required" },
    ]);
  }
  if (relevance !== undefined && queries === undefined) {
    throw invalid('relevance labels need the candidates they label: upload "queries" with a parallel "relevance"', [
      { path: "relevance", message: "labels without queries" },
    ]);
  }
  if (meta.relevant_at !== undefined && relevance === undefined) {
    throw invalid("relevant_at needs relevance labels", [{ path: "relevant_at", message: "without relevance" }]);
  }
  if (answerable !== undefined && (queries === undefined || answerable.length !== queries.length)) {
    throw invalid(`answerable needs one flag per query (${queries?.length ?? 0} queries, ${answerable.length} flags)`, [
      { path: "answerable", message: "must have one entry per query of queries" },
    ]);
  }
  if (scores !== undefined) return { meta, scores: Float64Array.from(scores), offsets: null, relevant: null };
  const relevant = relevance === undefined ? null : labelsOf(queries!, relevance, meta.relevant_at, (i) => `relevance[${i}]`);
  return { meta, ...flattenQueries(queries!), relevant, answerable: answerable ?? null };
}

/**
 * Yields [1-based line number, trimmed non-empty line], decoding NDJSON_DECODE_CHUNK_BYTES at a time (cut after a
 * newline, so no character is split): 1M lines never exist as one text or as 1M strings at once, and decoding stays
 * about as fast as one whole decode (per-line TextDecoder calls measured 3x slower).
 */
function* ndjsonLines(bytes: Uint8Array): Generator<[number, string]> {
  let offset = 0;
  let no = 0;
  while (offset < bytes.length) {
    let cut = bytes.length;
    if (offset + NDJSON_DECODE_CHUNK_BYTES < bytes.length) {
      const before = bytes.lastIndexOf(10, offset + NDJSON_DECODE_CHUNK_BYTES - 1);
      const after = bytes.indexOf(10, offset + NDJSON_DECODE_CHUNK_BYTES);
      if (before >= offset) cut = before + 1;
      else if (after >= 0) cut = after + 1; // a single line longer than a chunk
    }
    const text = decodeUtf8(bytes.subarray(offset, cut));
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      no++;
      const line = text.slice(start, end).trim();
      if (line !== "") yield [no, line];
      start = end + 1;
    }
    offset = cut;
  }
}

function fromNdjson(bytes: Uint8Array): CalibrationInput {
  const it = ndjsonLines(bytes);
  const first = it.next();
  if (first.done) throw invalid("empty NDJSON body: the first line must be the calibration's metadata object");
  let header: unknown;
  try {
    header = parseJsonText(first.value[1], "NDJSON line 1 (the metadata object)");
  } catch (e) {
    // `curl -d @file` strips newlines: the header and every score arrive glued into one line.
    if (e instanceof AppError && e.code === "malformed_json" && bytes.indexOf(10) < 0) {
      throw new AppError(
        "malformed_json",
        `${e.message}. The body arrived as a single line: NDJSON needs one value per line (curl -d strips newlines; send the file with --data-binary @file)`,
      );
    }
    throw e;
  }
  const meta = validate(CalibrationMeta.strict(), header, "invalid_input", "NDJSON header line");
  // Scores go straight into a growing Float64Array (8 bytes a score) rather than a JS array of numbers.
  let flat = new Float64Array(1024);
  let nFlat = 0;
  const queries: number[][] = [];
  // Labelled query lines are objects {"scores": [...], "relevance": [...]}; null marks a line without labels.
  const relevance: (number[] | null)[] = [];
  // Explicit answerability of labelled lines (null: derived from the labels).
  const answerable: (boolean | null)[] = [];
  const lineOf: number[] = [];
  for (const [no, line] of it) {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new AppError("malformed_json", `NDJSON line ${no} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw invalid(`NDJSON line ${no}: ${line} is not a finite number`, [{ path: `line ${no}`, message: "not finite" }]);
      if (nFlat === MAX_SCORES) throw invalid(`more than ${MAX_SCORES} scores`, [{ path: `line ${no}`, message: "too many scores" }]);
      if (nFlat === flat.length) {
        const grown = new Float64Array(Math.min(MAX_SCORES, flat.length * 2));
        grown.set(flat);
        flat = grown;
      }
      flat[nFlat++] = v;
    } else if (Array.isArray(v)) {
      queries.push(validate(Query, v, "invalid_input", `NDJSON line ${no}`));
      relevance.push(null);
      answerable.push(null);
      lineOf.push(no);
      if (queries.length > MAX_QUERIES) throw invalid(`more than ${MAX_QUERIES} queries`, [{ path: `line ${no}`, message: "too many queries" }]);
    } else if (typeof v === "object" && v !== null) {
      const q = validate(LabelledQueryLine, v, "invalid_input", `NDJSON line ${no}`);
      queries.push(q.scores);
      relevance.push(q.relevance);
      answerable.push(q.answerable ?? null);
      lineOf.push(no);
      if (queries.length > MAX_QUERIES) throw invalid(`more than ${MAX_QUERIES} queries`, [{ path: `line ${no}`, message: "too many queries" }]);
    } else {
      throw invalid(`NDJSON line ${no} must be a number (a score), an array of numbers (a query) or {"scores", "relevance"} (a labelled query)`, [
        { path: `line ${no}`, message: "expected a number, an array or an object" },
      ]);
    }
  }
  if (nFlat > 0 && queries.length > 0) throw invalid("NDJSON lines must be all scores or all queries, not both");
  if (nFlat === 0 && queries.length === 0)
    throw invalid("NDJSON body has no score lines after the header", [{ path: "scores", message: "must not be empty" }]);
  if (nFlat > 0) {
    if (meta.relevant_at !== undefined)
      throw invalid("relevant_at needs labelled query lines", [{ path: "relevant_at", message: "without relevance" }]);
    return { meta, scores: flat.slice(0, nFlat), offsets: null, relevant: null };
  }
  const labelledLines = relevance.filter((r) => r !== null).length;
  if (labelledLines === 0) {
    if (meta.relevant_at !== undefined)
      throw invalid("relevant_at needs labelled query lines", [{ path: "relevant_at", message: "without relevance" }]);
    return { meta, ...flattenQueries(queries), relevant: null };
  }
  if (labelledLines < queries.length) {
    const first = relevance.indexOf(null);
    throw invalid("NDJSON query lines must be all labelled ({scores, relevance}) or all unlabelled (arrays), not both", [
      { path: `line ${lineOf[first]}`, message: "query without relevance labels" },
    ]);
  }
  return {
    meta,
    ...flattenQueries(queries),
    relevant: labelsOf(queries, relevance, meta.relevant_at, (i) => `line ${lineOf[i]}.relevance`),
    answerable: answerable.some((a) => a !== null) ? answerable : null,
  };
}

/** The guard and abstention fields of a float32 upload's policy (validated with the policy by CalibrationMeta). */
function guardsFromQuery(q: ReturnType<typeof BinaryUploadQuery.parse>): Pick<Policy, "min_keep" | "max_keep" | "abstention"> {
  return {
    ...(q.min_keep !== undefined ? { min_keep: q.min_keep } : {}),
    ...(q.max_keep !== undefined ? { max_keep: q.max_keep } : {}),
    ...(q.abstention_rate !== undefined ? { abstention: { rate: q.abstention_rate } } : {}),
  };
}

function policyFromQuery(q: ReturnType<typeof BinaryUploadQuery.parse>): Policy {
  return { ...barePolicyFromQuery(q), ...guardsFromQuery(q) } as Policy;
}

function barePolicyFromQuery(q: ReturnType<typeof BinaryUploadQuery.parse>): Policy {
  if (q.kind === "drop_rate") {
    if (q.target === undefined) throw invalid("kind=drop_rate needs target", [{ path: "target", message: "is required" }]);
    if (q.threshold !== undefined || q.reference !== undefined) {
      throw invalid("kind=drop_rate takes target only; threshold and reference belong to kind=carry", [
        { path: "kind", message: "mixed policy parameters" },
      ]);
    }
    return { kind: "drop_rate", target: q.target };
  }
  if (q.target !== undefined)
    throw invalid("kind=carry takes threshold and reference, not target", [{ path: "target", message: "not allowed with kind=carry" }]);
  if (q.reference === undefined)
    throw invalid('kind=carry needs reference ("active" or a calibration id)', [{ path: "reference", message: "is required" }]);
  const reference = q.reference === "active" ? ("active" as const) : { calibration_id: q.reference };
  return q.threshold === undefined ? { kind: "carry", reference } : { kind: "carry", threshold: q.threshold, reference };
}

/** `name=0.005` (absolute) or `name_relative=0.5`, never both; CalibrationMeta validates the ranges. */
function toleranceFromQuery(absolute: number | undefined, relative: number | undefined, name: string): Tolerance | undefined {
  if (absolute !== undefined && relative !== undefined) {
    throw invalid(`give ${name} or ${name}_relative, not both`, [{ path: name, message: "absolute and relative given" }]);
  }
  return relative !== undefined ? { relative } : absolute;
}

function fromFloat32(bytes: Uint8Array, params: Record<string, string>): CalibrationInput {
  const q = validate(BinaryUploadQuery, params, "invalid_input", "query parameters");
  const meta = validate(
    CalibrationMeta,
    {
      index: q.index,
      embedding: q.embedding,
      reranker: q.reranker,
      index_version: q.index_version,
      policy: policyFromQuery(q),
      activate: q.activate === "true",
      score_scale: q.score_scale,
      shift_tolerance: q.shift_tolerance,
      drift_tolerance: toleranceFromQuery(q.drift_tolerance, q.drift_tolerance_relative, "drift_tolerance"),
      empty_context_tolerance: toleranceFromQuery(q.empty_context_tolerance, q.empty_context_tolerance_relative, "empty_context_tolerance"),
    },
    "invalid_input",
    "query parameters",
  );
  if (bytes.byteLength === 0) throw invalid("empty body: send little-endian float32 scores", [{ path: "scores", message: "must not be empty" }]);
  if (bytes.byteLength % 4 !== 0) throw invalid(`body of ${bytes.byteLength} bytes is not a whole number of float32 scores`);
  const n = bytes.byteLength / 4;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = view.getFloat32(4 * i, true);
    if (!Number.isFinite(s)) throw invalid(`score ${i} is not finite (${s})`, [{ path: `scores[${i}]`, message: "not finite" }]);
    scores[i] = s;
  }
  if (q.candidates_per_query === undefined) return { meta, scores, offsets: null, precision: "float32" };
  const m = q.candidates_per_query;
  if (m > MAX_CANDIDATES_PER_QUERY || n % m !== 0) {
    throw invalid(`${n} scores do not split into queries of ${m} candidates`, [
      { path: "candidates_per_query", message: "must divide the number of scores" },
    ]);
  }
  const offsets = new Uint32Array(n / m + 1);
  for (let i = 1; i < offsets.length; i++) offsets[i] = i * m;
  return { meta, scores, offsets, precision: "float32" };
}

/** What a 413 suggests instead, per upload format. */
const LARGER_FORMAT: Record<RawUpload["type"], string> = {
  json: `JSON uploads take about 500,000 scores; send larger calibrations as NDJSON (Content-Type: application/x-ndjson, up to ${MAX_NDJSON_BODY_BYTES / (1024 * 1024)} MiB) or float32 (application/octet-stream, up to ${MAX_SCORES.toLocaleString("en-US")} scores), see docs/api.md#post-v1calibrations-calibrate`,
  ndjson: `send larger calibrations as float32 (Content-Type: application/octet-stream, 4 bytes a score, up to ${MAX_SCORES.toLocaleString("en-US")} scores)`,
  float32: `${MAX_SCORES.toLocaleString("en-US")} float32 scores is the most one calibration takes`,
};

/** A read but not yet parsed upload: what idempotency hashes and the parser reads. */
export interface RawUpload {
  readonly type: "json" | "ndjson" | "float32";
  readonly bytes: Uint8Array;
  readonly params: Record<string, string>;
}

/** Reads the body (counting bytes against the content type's limit); 415 for an unaccepted content type. */
export async function readCalibrationUpload(request: Request): Promise<RawUpload> {
  const media = mediaType(request.headers.get("content-type"));
  const type =
    media === "application/json" ? "json" : NDJSON_TYPES.includes(media) ? "ndjson" : media === "application/octet-stream" ? "float32" : null;
  if (type === null) {
    throw new AppError(
      "unsupported_media_type",
      `Content-Type ${media === "" ? "(none)" : JSON.stringify(media)} is not accepted: use application/json, application/x-ndjson or application/octet-stream (float32)`,
    );
  }
  // Only float32 uploads carry fields in the query string; elsewhere a parameter would be silently ignored.
  checkQueryNames(request.url, type === "float32" ? Object.keys(BinaryUploadQuery.shape) : []);
  const limit = type === "float32" ? MAX_BINARY_BODY_BYTES : type === "ndjson" ? MAX_NDJSON_BODY_BYTES : MAX_JSON_BODY_BYTES;
  const bytes = await readBodyBytes(request, limit, LARGER_FORMAT[type]);
  return { type, bytes, params: type === "float32" ? Object.fromEntries(new URL(request.url).searchParams) : {} };
}

/** Parses a read upload into a CalibrationInput (400/422 on bad input). */
export function parseCalibrationUpload(raw: RawUpload): CalibrationInput {
  switch (raw.type) {
    case "json":
      return fromJson(parseJsonText(decodeUtf8(raw.bytes)));
    case "ndjson":
      return fromNdjson(raw.bytes);
    case "float32":
      return fromFloat32(raw.bytes, raw.params);
    default: {
      const unreachable: never = raw.type;
      throw new TypeError(`unknown upload type ${String(unreachable)}`);
    }
  }
}
