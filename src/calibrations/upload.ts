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
import { checkJsonShape, decodeUtf8, type JsonShapeLimits, mediaType, mediaTypeHint, parseJsonText, readBodyBytes } from "../platform/http/body";
import { checkQueryNames } from "../platform/http/query";
import { validate } from "../platform/http/validate";
import {
  MAX_BINARY_BODY_BYTES,
  MAX_CANDIDATES_PER_QUERY,
  MAX_JSON_BODY_BYTES,
  MAX_JSON_DEPTH,
  MAX_NDJSON_BODY_BYTES,
  MAX_QUERIES,
  MAX_REFERENCE_SCORES,
  MAX_SCORES,
  MAX_UPLOAD_JSON_CONTAINERS,
  MAX_UPLOAD_JSON_STRINGS,
  NDJSON_DECODE_CHUNK_BYTES,
} from "../platform/limits";
import type { CalibrationInput } from "./calibrate";
import { checkedMeta, GrowingArray, splitJsonUpload } from "./json-upload";
import { relevanceOf } from "./labels";

/** What a JSON upload may hold (checked before it is parsed): see MAX_UPLOAD_JSON_CONTAINERS and friends. */
const UPLOAD_JSON_SHAPE: JsonShapeLimits = {
  maxDepth: MAX_JSON_DEPTH,
  maxContainers: MAX_UPLOAD_JSON_CONTAINERS,
  maxStrings: MAX_UPLOAD_JSON_STRINGS,
};

/**
 * An upload's metadata (a JSON upload without its numeric arrays, or an NDJSON header line), with at most
 * MAX_REFERENCE_SCORES inline reference scores: a few objects (the policy, its reference, relative tolerances).
 */
const UPLOAD_META_SHAPE: JsonShapeLimits = {
  maxDepth: MAX_JSON_DEPTH,
  maxContainers: 8,
  maxStrings: MAX_UPLOAD_JSON_STRINGS,
  maxNumbers: MAX_REFERENCE_SCORES + MAX_UPLOAD_JSON_STRINGS,
};

/** An NDJSON score or query line: a number, an array of scores, or {"scores": [...], "relevance"?: [...], "answerable"?}. */
const NDJSON_LINE_SHAPE: JsonShapeLimits = { maxDepth: 2, maxContainers: 3, maxStrings: 3, maxNumbers: 2 * MAX_CANDIDATES_PER_QUERY };

export const NDJSON_TYPES = ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"];

/**
 * Relevance labels to a flat 0/1 array parallel to the flattened queries (`offsets`), from `count` label arrays
 * (`labelsAt(i)`, null where a line had none). Labels are 0/1 unless `relevantAt` is given (graded labels: relevant iff
 * label >= relevantAt). 422 for labels without candidates or of the wrong shape.
 */
function labelsOf(
  offsets: Uint32Array,
  count: number,
  labelsAt: (i: number) => ArrayLike<number> | null,
  relevantAt: number | undefined,
  where: (i: number) => string,
): Uint8Array {
  const queries = offsets.length - 1;
  if (count !== queries) {
    throw invalid(`relevance has ${count} entries for ${queries} queries: give one label array per query`, [
      { path: "relevance", message: "must have one entry per query" },
    ]);
  }
  const out = new Uint8Array(offsets[queries]!);
  const details: ErrorDetail[] = [];
  let bad = 0;
  for (let i = 0; i < queries; i++) {
    bad += relevanceOf(labelsAt(i), offsets[i + 1]! - offsets[i]!, relevantAt, where(i), out, offsets[i]!, details);
  }
  if (bad > 0) throw invalid(`${bad} relevance label(s) do not match their candidates`, details);
  return out;
}

/** The upload schema without its numeric arrays, which json-upload.ts reads into typed arrays. */
const UploadMeta = CalibrationUpload.omit({ scores: true, queries: true, relevance: true });

/** A JSON upload: the numeric arrays straight into typed arrays (json-upload.ts), the metadata through zod. */
function fromJson(text: string): CalibrationInput {
  checkJsonShape(text, UPLOAD_JSON_SHAPE);
  const parts = splitJsonUpload(text);
  // not an object: the schema says what is wrong with it
  if (parts === null) throw new TypeError(`unreachable: ${String(validate(UploadMeta, parseJsonText(text), "invalid_input", "calibration"))}`);
  const { answerable, ...meta } = checkedMeta(UploadMeta, parseJsonText(parts.metaText, "request body", UPLOAD_META_SHAPE), "calibration");
  const { scores, queries, relevance } = parts;
  if ((scores === null) === (queries === null)) {
    throw invalid('give exactly one of "scores" (number[]) or "queries" (number[][])', [
      { path: "scores", message: "exactly one of scores or queries is required" },
    ]);
  }
  if (relevance !== null && queries === null) {
    throw invalid('relevance labels need the candidates they label: upload "queries" with a parallel "relevance"', [
      { path: "relevance", message: "labels without queries" },
    ]);
  }
  if (meta.relevant_at !== undefined && relevance === null) {
    throw invalid("relevant_at needs relevance labels", [{ path: "relevant_at", message: "without relevance" }]);
  }
  const nQueries = queries === null ? 0 : queries.offsets.length - 1;
  if (answerable !== undefined && (queries === null || answerable.length !== nQueries)) {
    throw invalid(`answerable needs one flag per query (${nQueries} queries, ${answerable.length} flags)`, [
      { path: "answerable", message: "must have one entry per query of queries" },
    ]);
  }
  if (scores !== null) return { meta, scores, offsets: null, relevant: null };
  const q = queries!;
  const relevant =
    relevance === null
      ? null
      : labelsOf(
          q.offsets,
          relevance.offsets.length - 1,
          (i) => relevance.values.subarray(relevance.offsets[i]!, relevance.offsets[i + 1]!),
          meta.relevant_at,
          (i) => `relevance[${i}]`,
        );
  return { meta, scores: q.values, offsets: q.offsets, relevant, answerable: answerable ?? null };
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
    header = parseJsonText(first.value[1], "NDJSON line 1 (the metadata object)", UPLOAD_META_SHAPE);
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
  const meta = checkedMeta(CalibrationMeta.strict(), header, "NDJSON header line");
  // Scores, queries and labels go straight into growing Float64Arrays (8 bytes a number): a JS array per query line
  // kept until the end made 500,000 labelled lines need 105 MB of isolate heap, 77 MB now (docs/benchmarks.md, section 19).
  const flat = new GrowingArray(MAX_SCORES);
  const queries = new GrowingArray(MAX_SCORES);
  const queryEnds: number[] = [0];
  const labels = new GrowingArray(MAX_SCORES);
  const labelEnds: number[] = [0];
  // Explicit answerability of each query line (null: derived from its labels); kept only once a line sets it.
  const answerable: (boolean | null)[] = [];
  let anyAnswerable = false;
  // The line of each query, and of the first one without labels (labelled lines are objects {"scores", "relevance"}).
  const lineOf: number[] = [];
  let labelled = 0;
  let firstUnlabelled: number | null = null;
  const tooMany = (no: number) => invalid(`more than ${MAX_SCORES} scores`, [{ path: `line ${no}`, message: "too many scores" }]);
  const addQuery = (no: number, scores: readonly number[], relevance: readonly number[] | null, explicit: boolean | null): void => {
    if (queryEnds.length > MAX_QUERIES) throw invalid(`more than ${MAX_QUERIES} queries`, [{ path: `line ${no}`, message: "too many queries" }]);
    for (const x of scores) if (!queries.push(x)) throw tooMany(no);
    queryEnds.push(queries.length);
    if (relevance === null) firstUnlabelled ??= no;
    else {
      labelled++;
      for (const l of relevance) if (!labels.push(l)) throw tooMany(no);
    }
    labelEnds.push(labels.length);
    answerable.push(explicit);
    anyAnswerable ||= explicit !== null;
    lineOf.push(no);
  };
  for (const [no, line] of it) {
    let v: unknown;
    try {
      checkJsonShape(line, NDJSON_LINE_SHAPE, `NDJSON line ${no}`);
      v = JSON.parse(line);
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError("malformed_json", `NDJSON line ${no} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw invalid(`NDJSON line ${no}: ${line} is not a finite number`, [{ path: `line ${no}`, message: "not finite" }]);
      if (!flat.push(v)) throw tooMany(no);
    } else if (Array.isArray(v)) {
      addQuery(no, validate(Query, v, "invalid_input", `NDJSON line ${no}`), null, null);
    } else if (typeof v === "object" && v !== null) {
      const q = validate(LabelledQueryLine, v, "invalid_input", `NDJSON line ${no}`);
      addQuery(no, q.scores, q.relevance ?? null, q.answerable ?? null);
    } else {
      throw invalid(`NDJSON line ${no} must be a number (a score), an array of numbers (a query) or {"scores", "relevance"} (a labelled query)`, [
        { path: `line ${no}`, message: "expected a number, an array or an object" },
      ]);
    }
  }
  const nQueries = lineOf.length;
  if (flat.length > 0 && nQueries > 0) throw invalid("NDJSON lines must be all scores or all queries, not both");
  if (flat.length === 0 && nQueries === 0)
    throw invalid("NDJSON body has no score lines after the header", [{ path: "scores", message: "must not be empty" }]);
  if (labelled === 0 && meta.relevant_at !== undefined) {
    throw invalid("relevant_at needs labelled query lines", [{ path: "relevant_at", message: "without relevance" }]);
  }
  if (flat.length > 0) return { meta, scores: flat.done(), offsets: null, relevant: null };
  const offsets = Uint32Array.from(queryEnds);
  if (labelled === 0) {
    // Without labels a flag is all there is to say whether a query is answerable: every line gives one, or none does.
    const missing = answerable.indexOf(null);
    if (anyAnswerable && missing >= 0) {
      throw invalid(
        `NDJSON query lines without relevance labels must all carry "answerable" or none: line ${lineOf[missing]} has none (with labels, a line without a flag is answerable iff it has a relevant candidate)`,
        [{ path: `line ${lineOf[missing]}`, message: "query without an answerable flag" }],
      );
    }
    return { meta, scores: queries.done(), offsets, relevant: null, answerable: anyAnswerable ? answerable : null };
  }
  if (firstUnlabelled !== null) {
    throw invalid("NDJSON query lines must be all labelled ({scores, relevance}) or all unlabelled (arrays), not both", [
      { path: `line ${firstUnlabelled}`, message: "query without relevance labels" },
    ]);
  }
  const labelValues = labels.done();
  return {
    meta,
    scores: queries.done(),
    offsets,
    relevant: labelsOf(
      offsets,
      nQueries,
      (i) => labelValues.subarray(labelEnds[i]!, labelEnds[i + 1]!),
      meta.relevant_at,
      (i) => `line ${lineOf[i]}.relevance`,
    ),
    answerable: anyAnswerable ? answerable : null,
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
      activate: q.activate === "auto" ? "auto" : q.activate === "true",
      dry_run: q.dry_run === "true",
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

/** Types a spreadsheet export is sent as; the API takes no CSV, the CLI reads it and uploads NDJSON. */
const CSV_TYPES: readonly string[] = ["text/csv", "application/csv", "text/tab-separated-values"];
const CSV_HINT = "; a CSV goes through the CLI, which reads it and uploads NDJSON: npx scoregate calibrate FILE";

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
      `Content-Type ${media === "" ? "(none)" : JSON.stringify(media)} is not accepted: use application/json, application/x-ndjson or application/octet-stream (float32)${mediaTypeHint(media)}${CSV_TYPES.includes(media) ? CSV_HINT : ""}`,
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
      return fromJson(decodeUtf8(raw.bytes));
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
