/**
 * An NDJSON calibration upload (application/x-ndjson): line 1 the calibration's metadata object, then one score (a JSON
 * number) per line, or one query (a JSON array of numbers) per line, or one labelled query {"scores": [...],
 * "relevance": [...]} per line. Read line by line into typed arrays (upload.ts dispatches by content type).
 */
import { CalibrationMeta, LabelledQueryLine, Query } from "../contract";
import { AppError, invalid } from "../platform/errors";
import { CURL_DATA_BINARY_HINT, checkJsonShape, decodeUtf8, duplicateKey, type JsonShapeLimits, parseJsonText } from "../platform/http/body";
import { validate } from "../platform/http/validate";
import { MAX_CANDIDATES_PER_QUERY, MAX_QUERIES, MAX_SCORES, NDJSON_DECODE_CHUNK_BYTES } from "../platform/limits";
import type { CalibrationInput } from "./calibrate";
import { checkedMeta, GrowingArray, UPLOAD_META_SHAPE } from "./json-upload";
import { labelsOf } from "./labels";

/** An NDJSON score or query line: a number, an array of scores, or {"scores": [...], "relevance"?: [...], "answerable"?}. */
const NDJSON_LINE_SHAPE: JsonShapeLimits = { maxDepth: 2, maxContainers: 3, maxStrings: 3, maxNumbers: 2 * MAX_CANDIDATES_PER_QUERY };

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

/**
 * "scores" or "queries" when the body's leading JSON object has that key and a "policy" (a JSON upload sent as NDJSON,
 * pretty-printed or on one line), else null (a labelled query line has "scores" but no policy). Reads the bytes (UTF-8
 * puts no ASCII byte inside a multi-byte character) and stops where that object ends, so a metadata line followed by
 * score lines is read only as far as its own end.
 */
export function jsonUploadField(bytes: Uint8Array): "scores" | "queries" | null {
  const n = bytes.length;
  let i = 0;
  while (i < n && (bytes[i] === 32 || bytes[i] === 10 || bytes[i] === 13 || bytes[i] === 9)) i++;
  if (bytes[i] !== 123) return null;
  let depth = 0;
  let expectKey = false;
  let field: "scores" | "queries" | null = null;
  let policy = false;
  for (; i < n; i++) {
    const b = bytes[i]!;
    if (b === 34) {
      let j = i + 1;
      while (j < n && bytes[j] !== 34) j += bytes[j] === 92 ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = j - i - 1 <= 7 ? String.fromCharCode(...bytes.subarray(i + 1, j)) : "";
        if (key === "scores" || key === "queries") field ??= key;
        policy ||= key === "policy";
        if (field !== null && policy) return field;
        expectKey = false;
      }
      i = j;
    } else if (b === 123 || b === 91) {
      depth++;
      expectKey = depth === 1;
    } else if (b === 125 || b === 93) {
      if (--depth === 0) return null;
    } else if (b === 44 && depth === 1) expectKey = true;
  }
  return null;
}

/** A JSON upload sent with an NDJSON content type. */
const jsonSentAsNdjson = (field: "scores" | "queries"): AppError =>
  new AppError(
    "malformed_json",
    `the body is a JSON upload (its top-level object has "${field}"), not NDJSON: send it with Content-Type: application/json (NDJSON is the metadata object alone on line 1, then one score or query per line)`,
  );

export function fromNdjson(bytes: Uint8Array): CalibrationInput {
  const it = ndjsonLines(bytes);
  const first = it.next();
  if (first.done) throw invalid("empty NDJSON body: the first line must be the calibration's metadata object");
  let header: unknown;
  try {
    header = parseJsonText(first.value[1], "NDJSON line 1 (the metadata object)", UPLOAD_META_SHAPE);
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    // Whatever line 1 holds (too many arrays for metadata, malformed JSON), the likelier cause is said first: a JSON
    // upload sent as NDJSON, or NDJSON whose newlines `curl -d @file` stripped (the header and every line glued into one).
    const field = jsonUploadField(bytes);
    if (field !== null) throw jsonSentAsNdjson(field);
    if (bytes.indexOf(10) < 0) {
      throw new AppError(
        "malformed_json",
        `${e.message}. The body arrived as a single line: NDJSON needs one value per line (${CURL_DATA_BINARY_HINT})`,
        e.details,
      );
    }
    throw e;
  }
  if (typeof header === "object" && header !== null && "policy" in header) {
    if ("queries" in header) throw jsonSentAsNdjson("queries");
    if ("scores" in header) throw jsonSentAsNdjson("scores");
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
      throw new AppError("malformed_json", `NDJSON line ${no} is not valid JSON: ${lineParseError((e as Error).message)}`);
    }
    // JSON.parse keeps the last of repeated keys: {"scores": [...], "scores": [1]} would drop a query's scores, and a
    // repeated "relevance" would relabel it, without a word (the header line and JSON bodies refuse it the same way)
    const dup = line.includes("{") && mayRepeatKey(line) ? duplicateKey(line) : null;
    if (dup !== null)
      throw new AppError("malformed_json", `NDJSON line ${no} has the key ${JSON.stringify(dup)} more than once: give each field once`, [
        { path: `line ${no}.${dup}`, message: "duplicate key" },
      ]);
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

/**
 * JSON.parse's message about one NDJSON line, its position as the line's column: V8 counts lines within the text it
 * was given, so its "(line 1 column 5)" would contradict the body's line number said before it.
 */
function lineParseError(message: string): string {
  return message
    .replace(/ in JSON at position \d+ \(line \d+ column (\d+)\)$/u, " at column $1")
    .replace(/ in JSON at position (\d+)$/u, (_, p: string) => ` at column ${Number(p) + 1}`)
    .replace(/^Unexpected end of JSON input$/u, "the line ends before its value does");
}

/** The keys a labelled line may hold (LabelledQueryLine is strict: any other key is refused by name). */
const LINE_KEYS = ['"scores"', '"relevance"', '"answerable"'];

/**
 * Whether a labelled line may repeat a key, cheaply: only if one of its keys occurs twice, or an escape could spell one
 * (`"\u0073cores"`). The full scan (duplicateKey) costs 1.5 times JSON.parse of a 20-candidate labelled line, measured
 * in Node; this check a few indexOf calls. Values are arrays of numbers and booleans, so a key's text occurs only as a key.
 */
function mayRepeatKey(line: string): boolean {
  return line.includes("\\") || LINE_KEYS.some((k) => line.indexOf(k) !== line.lastIndexOf(k));
}
