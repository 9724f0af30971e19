/**
 * A float32 calibration upload (application/octet-stream): raw little-endian float32 scores, widened exactly to
 * float64, with everything else as query parameters (upload.ts dispatches by content type).
 */
import { BinaryUploadQuery, CalibrationMeta, type Policy, type Tolerance } from "../contract";
import { type AppError, invalid } from "../platform/errors";
import { countText } from "../platform/format";
import { CURL_DATA_BINARY_HINT } from "../platform/http/body";
import { validate } from "../platform/http/validate";
import { MAX_CANDIDATES_PER_QUERY } from "../platform/limits";
import type { CalibrationInput } from "./calibrate";

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

/**
 * How many leading bytes tell a text body (a JSON, NDJSON or CSV file sent with the float32 Content-Type) from float32
 * scores. Text bytes decode to finite float32 values (an ASCII byte is at most 0x7E, below the all-ones exponent), so
 * without this check such a file would be stored as thousands of meaningless scores.
 */
const TEXT_PROBE_BYTES = 64;
/**
 * Binary orders of magnitude beyond which the probe's values are read as text: text puts a character in every fourth
 * byte, the float's sign and exponent, so its values range over 2^40 and more (JSON, CSV, NDJSON and one score a line
 * measured 42 to 208) or are out of a score's range (a line "0.5 " repeated decodes to 1e-19 each).
 */
const TEXT_EXPONENT_SPAN = 32;
const TEXT_MAGNITUDE = 2 ** 32;

/** Tab, LF, CR and the printable ASCII range. */
const isTextByte = (b: number): boolean => b === 9 || b === 10 || b === 13 || (b >= 0x20 && b <= 0x7e);

/**
 * The refusal of a body that is text, or null: its first bytes are all printable, and read as float32 they span more
 * than TEXT_EXPONENT_SPAN binary orders or leave [2^-32, 2^32]. Printable bytes alone would not do: round scores are
 * printable in float32 (0.9 is "fff?", 0.7 "333?"), and a file of them is a real upload; their values span a few orders.
 */
function textBodyRefusal(bytes: Uint8Array): AppError | null {
  const probe = bytes.subarray(0, TEXT_PROBE_BYTES);
  if (!probe.every(isTextByte)) return null;
  const view = new DataView(probe.buffer, probe.byteOffset, probe.byteLength - (probe.byteLength % 4));
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (let i = 0; i < view.byteLength; i += 4) {
    const x = Math.abs(view.getFloat32(i, true));
    if (x === 0) continue;
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  if (hi === 0 || (hi / lo <= 2 ** TEXT_EXPONENT_SPAN && lo >= 1 / TEXT_MAGNITUDE && hi <= TEXT_MAGNITUDE)) return null;
  const start = new TextDecoder().decode(probe.subarray(0, 24)).trimStart();
  const what = start.startsWith("{") || start.startsWith("[") ? "JSON" : "text (CSV or one score per line?)";
  return invalid(
    `the body looks like ${what}, not little-endian float32 scores (it starts ${JSON.stringify(start)}): send a JSON body with ` +
      "Content-Type: application/json (or NDJSON with application/x-ndjson), or a CSV file with npx scoregate calibrate",
    [{ path: "scores", message: "text, not float32" }],
  );
}

/**
 * The query parameter a path of the calibration built from them came from: `policy.max_keep` is `max_keep`,
 * `policy.abstention.rate` is `abstention_rate`, `drift_tolerance.relative` is `drift_tolerance_relative`, so an
 * error names what the caller sent.
 */
export function queryParameterOf(path: string): string {
  if (path.startsWith("policy.abstention")) return "abstention_rate";
  if (path.startsWith("policy.")) return path.slice("policy.".length);
  return path.replace(/^(drift_tolerance|empty_context_tolerance)\.relative$/u, "$1_relative");
}

export function fromFloat32(bytes: Uint8Array, params: Record<string, string>): CalibrationInput {
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
    queryParameterOf,
  );
  if (bytes.byteLength === 0) throw invalid("empty body: send little-endian float32 scores", [{ path: "scores", message: "must not be empty" }]);
  const text = textBodyRefusal(bytes);
  if (text !== null) throw text;
  // `curl -d @scores.f32` drops every CR and LF byte: the rest is shorter, or shifted into NaNs. A body without either
  // byte may have been sent that way, so its refusal says how to send a file as it is.
  const hint = bytes.indexOf(10) < 0 && bytes.indexOf(13) < 0 ? `. If the file was sent with curl -d: ${CURL_DATA_BINARY_HINT}` : "";
  if (bytes.byteLength % 4 !== 0) throw invalid(`body of ${bytes.byteLength} bytes is not a whole number of float32 scores${hint}`);
  const n = bytes.byteLength / 4;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = view.getFloat32(4 * i, true);
    if (!Number.isFinite(s)) throw invalid(`score ${i} is not finite (${s})${hint}`, [{ path: `scores[${i}]`, message: "not finite" }]);
    scores[i] = s;
  }
  if (q.candidates_per_query === undefined) return { meta, scores, offsets: null, precision: "float32" };
  const m = q.candidates_per_query;
  if (m > MAX_CANDIDATES_PER_QUERY || n % m !== 0) {
    throw invalid(`${countText(n)} scores do not split into queries of ${countText(m)} candidates`, [
      { path: "candidates_per_query", message: "must divide the number of scores" },
    ]);
  }
  const offsets = new Uint32Array(n / m + 1);
  for (let i = 1; i < offsets.length; i++) offsets[i] = i * m;
  return { meta, scores, offsets, precision: "float32" };
}
