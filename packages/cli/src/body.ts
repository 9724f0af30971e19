/**
 * The upload body. NDJSON keeps every score at full float64 precision: String(x) is the shortest decimal that parses
 * back to the same double, so a file's "0.734" travels as "0.734" and the body is about as large as the file.
 * float32 (application/octet-stream) is used only when it loses nothing (every score is a float32 value) and NDJSON
 * would exceed the server's limit, or when asked for with --float32.
 */
import type { z } from "zod";
import { type CalibrationMeta, MAX_BINARY_BODY_BYTES, MAX_NDJSON_BODY_BYTES, type Policy } from "../../../src/contract";
import { count, size } from "./format";

/**
 * What the CLI sends as the NDJSON header line: the contract's metadata as the server reads it before defaults (a
 * recall policy's coverage among them).
 */
export type UploadMeta = Omit<CalibrationMeta, "activate" | "dry_run" | "score_scale" | "shift_tolerance" | "index" | "policy"> &
  Partial<Pick<CalibrationMeta, "activate" | "dry_run" | "score_scale" | "shift_tolerance" | "index">> & { policy: z.input<typeof Policy> };

export interface EncodedBody {
  contentType: "application/x-ndjson" | "application/octet-stream";
  chunks: Uint8Array[];
  bytes: number;
  /** Query parameters (float32 uploads carry the metadata there). */
  query: Record<string, string> | null;
  /** Why float32 was chosen, for the summary. */
  note: string | null;
}

const CHUNK_CHARS = 1 << 16;

/** What a labelled upload sends beside the scores: one label per score, one answerable flag per query, or both. */
export interface UploadLabels {
  /** Parallel to the scores; null: flags only (a query's answerable flag is all that says it has an answer). */
  relevance: Float64Array | null;
  /** Parallel to the queries (offsets.length - 1 flags); null: a query is answerable iff it has a relevant candidate. */
  answerable: readonly boolean[] | null;
}

/**
 * The NDJSON body: the metadata line, then one score per line (flat), one query per line as an array, or, with
 * `labelled` (which needs queries), one query object per line: `{"scores": [...], "relevance": [...]}` with labels,
 * `"answerable": true|false` when the flags are given, or both (the contract's LabelledQueryLine).
 */
export function ndjsonChunks(
  meta: UploadMeta,
  scores: Float64Array,
  offsets: Uint32Array | null,
  labelled: UploadLabels | null = null,
): { chunks: Uint8Array[]; bytes: number } {
  if (labelled !== null && offsets === null) throw new RangeError("ndjsonChunks: labels need queries");
  if (labelled?.answerable && labelled.answerable.length !== offsets!.length - 1)
    throw new RangeError("ndjsonChunks: answerable needs one flag per query");
  const labels = labelled?.relevance ?? null;
  const answerable = labelled?.answerable ?? null;
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let buf = `${JSON.stringify(meta)}\n`;
  const flush = (): void => {
    const b = enc.encode(buf);
    chunks.push(b);
    bytes += b.length;
    buf = "";
  };
  if (offsets === null) {
    for (let i = 0; i < scores.length; i++) {
      buf += `${scores[i]}\n`;
      if (buf.length > CHUNK_CHARS) flush();
    }
  } else {
    for (let q = 0; q + 1 < offsets.length; q++) {
      const a = offsets[q]!;
      const b = offsets[q + 1]!;
      const object = labels !== null || answerable !== null;
      buf += object ? `{"scores":[${scores[a]}` : `[${scores[a]}`;
      for (let i = a + 1; i < b; i++) buf += `,${scores[i]}`;
      if (labels !== null) {
        buf += `],"relevance":[${labels[a]}`;
        for (let i = a + 1; i < b; i++) buf += `,${labels[i]}`;
      }
      buf += answerable !== null ? `],"answerable":${answerable[q]}}\n` : object ? "]}\n" : "]\n";
      if (buf.length > CHUNK_CHARS) flush();
    }
  }
  if (buf.length > 0) flush();
  return { chunks, bytes };
}

/** True when every score is exactly a float32 value, so a float32 upload loses nothing. */
export function float32Exact(scores: Float64Array): boolean {
  for (let i = 0; i < scores.length; i++) if (Math.fround(scores[i]!) !== scores[i]) return false;
  return true;
}

/** The common query size, or null when queries differ in size (float32 uploads can only split into equal queries). */
function equalQuerySize(offsets: Uint32Array): number | null {
  const first = offsets[1]! - offsets[0]!;
  for (let q = 1; q + 1 < offsets.length; q++) if (offsets[q + 1]! - offsets[q]! !== first) return null;
  return first;
}

function metaQuery(meta: UploadMeta, candidatesPerQuery: number | null): Record<string, string> {
  const q: Record<string, string> = { embedding: meta.embedding, reranker: meta.reranker, index_version: meta.index_version };
  if (meta.index !== undefined) q.index = meta.index;
  if (meta.policy.kind === "drop_rate") {
    q.kind = "drop_rate";
    q.target = String(meta.policy.target);
  } else if (meta.policy.kind === "recall") {
    // A recall policy needs relevance labels, which a float32 body cannot carry.
    throw new RangeError("a recall policy cannot be sent as float32 scores");
  } else {
    q.kind = "carry";
    if (meta.policy.threshold !== undefined) q.threshold = String(meta.policy.threshold);
    const ref = meta.policy.reference;
    q.reference = ref === "active" ? "active" : "calibration_id" in ref ? ref.calibration_id : "";
  }
  if (meta.policy.min_keep !== undefined) q.min_keep = String(meta.policy.min_keep);
  if (meta.policy.max_keep !== undefined && meta.policy.max_keep !== null) q.max_keep = String(meta.policy.max_keep);
  const abstention = meta.policy.abstention;
  if (abstention !== undefined) {
    // The float32 query string has only abstention_rate; encodeUpload refuses the other forms before this.
    if (abstention === "carry" || !("rate" in abstention)) throw new RangeError("float32 uploads carry only an abstention rate");
    q.abstention_rate = String(abstention.rate);
  }
  if (meta.activate !== undefined) q.activate = String(meta.activate);
  if (meta.dry_run !== undefined) q.dry_run = String(meta.dry_run);
  if (meta.score_scale !== undefined) q.score_scale = meta.score_scale;
  if (meta.shift_tolerance !== undefined) q.shift_tolerance = String(meta.shift_tolerance);
  if (candidatesPerQuery !== null) q.candidates_per_query = String(candidatesPerQuery);
  return q;
}

export class BodyError extends Error {}

export function encodeUpload(
  meta: UploadMeta,
  scores: Float64Array,
  offsets: Uint32Array | null,
  forceFloat32: boolean,
  labels: UploadLabels | null = null,
): EncodedBody {
  // The float32 query string carries an abstention rate but not the carried form (nor labels).
  const abstention = meta.policy.abstention;
  const float32Sendable = labels === null && (abstention === undefined || (abstention !== "carry" && "rate" in abstention));
  const float32 = (note: string | null): EncodedBody => {
    if (labels !== null) throw new BodyError("relevance labels cannot be sent as float32 (it carries scores only): upload without --float32");
    if (!float32Sendable)
      throw new BodyError(
        "--abstain-carry cannot be sent as float32 (its query parameters carry only an abstention rate): upload without --float32, or give the rate with --abstain-rate R",
      );
    const perQuery = offsets === null ? null : equalQuerySize(offsets);
    if (offsets !== null && perQuery === null)
      throw new BodyError(
        "float32 uploads can only group scores into queries of equal size, and these queries differ in size: upload without --float32 (NDJSON keeps the groups; over the server's limit, round the scores in the file or upload fewer queries), or send the scores flat with --no-query-column (the fit then cannot measure how a query's candidates move together)",
      );
    if (scores.length * 4 > MAX_BINARY_BODY_BYTES)
      throw new BodyError(`${count(scores.length)} scores are more than a float32 upload holds (${count(MAX_BINARY_BODY_BYTES / 4)})`);
    const f32 = Float32Array.from(scores);
    // Float32Array is platform-endian; every platform Node supports is little-endian, the order the server reads
    const bytes = new Uint8Array(f32.buffer);
    return { contentType: "application/octet-stream", chunks: [bytes], bytes: bytes.length, query: metaQuery(meta, perQuery), note };
  };
  if (forceFloat32) return float32(float32Exact(scores) ? null : "--float32: scores rounded to float32 (about 7 significant digits)");
  const nd = ndjsonChunks(meta, scores, offsets, labels);
  if (nd.bytes <= MAX_NDJSON_BODY_BYTES) return { contentType: "application/x-ndjson", chunks: nd.chunks, bytes: nd.bytes, query: null, note: null };
  // float32 can carry these scores: no labels or carried abstention, flat or equal-size queries, within its own limit
  const float32Fits = float32Sendable && (offsets === null || equalQuerySize(offsets) !== null) && scores.length * 4 <= MAX_BINARY_BODY_BYTES;
  if (float32Fits && float32Exact(scores))
    return float32("sent as float32: every score is a float32 value, so nothing is lost, and NDJSON would exceed the server's limit");
  // only the ways out that work for this file: --float32 is not offered where it would be refused next
  throw new BodyError(
    `${count(scores.length)} scores make ${size(nd.bytes)} of full-precision NDJSON, over the server's ${size(MAX_NDJSON_BODY_BYTES)} limit: ` +
      `round the scores in the file (6-7 significant digits are plenty)${float32Fits ? ", pass --float32 (rounds to float32)" : ""}, or upload fewer ${offsets === null ? "scores" : "queries"}`,
  );
}

/** A ReadableStream over the chunks that reports progress as the request body is pulled. */
export function bodyStream(chunks: Uint8Array[], onProgress?: (sent: number) => void): ReadableStream<Uint8Array> {
  let i = 0;
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const c = chunks[i++];
      if (c === undefined) {
        controller.close();
        return;
      }
      sent += c.length;
      onProgress?.(sent);
      controller.enqueue(c);
    },
  });
}
