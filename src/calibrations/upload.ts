/**
 * Parses a calibration upload in any of its three encodings into a CalibrationInput:
 *   application/json          {"embedding", "reranker", "index_version", "policy", "scores" | "queries", ...}
 *   application/x-ndjson      line 1: the same object without scores; then one score, query or labelled query a line
 *                             (ndjson-upload.ts)
 *   application/octet-stream  raw little-endian float32 scores; everything else as query parameters (float32-upload.ts)
 * JSON and NDJSON keep full float64 precision; float32 scores are widened exactly.
 */

import { BinaryUploadQuery, CalibrationUpload, NDJSON_MEDIA_TYPES } from "../contract";
import { AppError, invalid } from "../platform/errors";
import { countText } from "../platform/format";
import {
  checkJsonShape,
  checkUtf8Charset,
  decodeUtf8,
  type JsonShapeLimits,
  mediaType,
  mediaTypeHint,
  parseJsonText,
  readBodyBytes,
} from "../platform/http/body";
import { checkQueryNames } from "../platform/http/query";
import { validate } from "../platform/http/validate";
import {
  MAX_BINARY_BODY_BYTES,
  MAX_JSON_BODY_BYTES,
  MAX_JSON_DEPTH,
  MAX_NDJSON_BODY_BYTES,
  MAX_SCORES,
  MAX_UPLOAD_JSON_CONTAINERS,
  MAX_UPLOAD_JSON_STRINGS,
} from "../platform/limits";
import type { CalibrationInput } from "./calibrate";
import { fromFloat32 } from "./float32-upload";
import { checkedMeta, splitJsonUpload, UPLOAD_META_SHAPE } from "./json-upload";
import { labelsOf } from "./labels";
import { fromNdjson } from "./ndjson-upload";

/** What a JSON upload may hold (checked before it is parsed): see MAX_UPLOAD_JSON_CONTAINERS and friends. */
const UPLOAD_JSON_SHAPE: JsonShapeLimits = {
  maxDepth: MAX_JSON_DEPTH,
  maxContainers: MAX_UPLOAD_JSON_CONTAINERS,
  maxStrings: MAX_UPLOAD_JSON_STRINGS,
};

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
    throw invalid(`answerable needs one flag per query (${countText(nQueries)} queries, ${countText(answerable.length)} flags)`, [
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

/** What a 413 suggests instead, per upload format. */
const LARGER_FORMAT: Record<RawUpload["type"], string> = {
  json: `JSON uploads take about 500,000 scores; send larger calibrations as NDJSON (Content-Type: application/x-ndjson, up to ${MAX_NDJSON_BODY_BYTES / (1024 * 1024)} MiB) or float32 (application/octet-stream, up to ${countText(MAX_SCORES)} scores), see docs/api.md#post-v1calibrations-calibrate`,
  ndjson: `send larger calibrations as float32 (Content-Type: application/octet-stream, 4 bytes a score, up to ${countText(MAX_SCORES)} scores)`,
  float32: `${countText(MAX_SCORES)} float32 scores is the most one calibration takes`,
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
    media === "application/json"
      ? "json"
      : (NDJSON_MEDIA_TYPES as readonly string[]).includes(media)
        ? "ndjson"
        : media === "application/octet-stream"
          ? "float32"
          : null;
  if (type === null) {
    throw new AppError(
      "unsupported_media_type",
      `Content-Type ${media === "" ? "(none)" : JSON.stringify(media)} is not accepted: use application/json, application/x-ndjson or application/octet-stream (float32)${mediaTypeHint(media)}${CSV_TYPES.includes(media) ? CSV_HINT : ""}`,
    );
  }
  if (type !== "float32") checkUtf8Charset(request.headers.get("content-type"));
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
