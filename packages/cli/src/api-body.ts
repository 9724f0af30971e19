/**
 * A request body of the API (POST /v1/calibrations) given to `scoregate calibrate` as a score file: the README's
 * walk-through sends such files (fixtures/walkthrough/v2.json) with curl, so passing one to the CLI is a plausible
 * mistake. Read as JSONL it would fail on its `queries` field with advice about query lines; it is named for what it
 * is instead, with the two ways on: send it with curl as it is, or write its scores as a file this command reads.
 */
import { InputError } from "./input-error";
import { shellWord } from "./suggest";

/** Fields of the upload's metadata (src/contract/calibration-upload.ts) that a candidate's row never has together with scores. */
const GATE_FIELDS = ["embedding", "reranker", "index_version"];

const isObject = (x: unknown): boolean => typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * What kind of API body the first JSON object of a file is: `json` (the metadata with `queries` or `scores`, an
 * `application/json` upload), `ndjson` (the metadata alone: the first line of an `application/x-ndjson` upload), or
 * null for anything else (a candidate's row, a query line `{"scores": [...]}`).
 */
export function apiBodyKind(o: Readonly<Record<string, unknown>>): "json" | "ndjson" | null {
  const scores = Array.isArray(o.queries) || Array.isArray(o.scores);
  const gate = GATE_FIELDS.some((k) => typeof o[k] === "string");
  if (scores && (gate || isObject(o.policy))) return "json";
  if (isObject(o.policy) && gate) return "ndjson";
  return null;
}

/** The curl command that sends `file` (a path, or "stdin": then FILE) as an upload of content type `type`. */
export const curlUpload = (file: string, type: string, data: "--data" | "--data-binary"): string =>
  `curl -X POST "$SCOREGATE_URL/v1/calibrations" -H "Authorization: Bearer $SCOREGATE_TOKEN" -H "Content-Type: ${type}" ${data} @${file === "stdin" ? "FILE" : shellWord(file)}`;

/** The refusal of an API body (apiBodyKind) found on line `lineNo` of `file` (a path, or "stdin"). */
export function apiBodyError(kind: "json" | "ndjson", o: Readonly<Record<string, unknown>>, lineNo: number, file: string): InputError {
  const fields = Object.keys(o)
    .filter((k) => k === "policy" || k === "queries" || k === "scores" || GATE_FIELDS.includes(k))
    .map((k) => JSON.stringify(k))
    .join(", ");
  const f = file === "stdin" ? "FILE" : shellWord(file);
  if (kind === "ndjson")
    return new InputError(
      `line ${lineNo} is the first line of an API request body (an NDJSON upload: ${fields}), not scores: scoregate calibrate reads scores and sends the gate and policy from its flags`,
      [
        `send it as it is: ${curlUpload(file, "application/x-ndjson", "--data-binary")}`,
        `or pass its score lines alone (one query array per line is JSONL this command reads): tail -n +${lineNo + 1} ${f} > scores.jsonl`,
      ],
    );
  const convert = Array.isArray(o.queries)
    ? `jq -r '.queries | to_entries[] | .key as $q | .value[] | "q\\($q),\\(.)"' ${f} | sed '1i query_id,score' > scores.csv (as the README's CLI section does)`
    : `jq -r '.scores[]' ${f} > scores.txt (one score per line)`;
  return new InputError(
    `line ${lineNo} is an API request body (POST /v1/calibrations: ${fields}), not a score file: scoregate calibrate reads scores (CSV, TSV, JSONL or one per line) and sends the gate and policy from its flags`,
    [`send it as it is: ${curlUpload(file, "application/json", "--data")}`, `or write its scores as a file for this command: ${convert}`],
  );
}
