/**
 * A float32 calibration upload (application/octet-stream): raw little-endian float32 scores, widened exactly to
 * float64, with everything else as query parameters (upload.ts dispatches by content type).
 */
import { BinaryUploadQuery, CalibrationMeta, type Policy, type Tolerance } from "../contract";
import { invalid } from "../platform/errors";
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
  );
  if (bytes.byteLength === 0) throw invalid("empty body: send little-endian float32 scores", [{ path: "scores", message: "must not be empty" }]);
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
    throw invalid(`${n} scores do not split into queries of ${m} candidates`, [
      { path: "candidates_per_query", message: "must divide the number of scores" },
    ]);
  }
  const offsets = new Uint32Array(n / m + 1);
  for (let i = 1; i < offsets.length; i++) offsets[i] = i * m;
  return { meta, scores, offsets, precision: "float32" };
}
