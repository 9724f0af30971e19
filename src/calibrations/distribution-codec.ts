/**
 * Binary encoding of a stored distribution (stats/distribution.ts) for the D1 BLOB column, little-endian:
 *   version 1 (a bare gate):    [u32 1][u32 K][f64 n][f64 values x K][f64 below x K][f64 atOrBelow x K]
 *   version 2 (a guarded gate): the same block with version 2, then [f64 floor][u32 K_e][u32 0][f64 n_e] and the
 *                               eligible scores' values, below and atOrBelow (K_e each; K_e = 0: no eligible score).
 * K <= DISTRIBUTION_KNOTS (2000) gives at most 48 KB + 16 bytes per block (96 KB for a guarded gate), far below D1's
 * 2 MB row limit. Version 1 rows written before guarded calibrations kept their eligible summary still decode.
 *
 * D1 stores these bytes as base64 text (`distributionText`), not as a BLOB: its Worker binding sends a BLOB parameter,
 * and returns a BLOB column, as a JSON array with one number per byte (48,000 numbers, about 170 KB of JSON, for a
 * 48 KB summary), which the Worker serializes and parses at every upload and every read of a previous calibration,
 * where base64 is one 64 KB string (docs/benchmarks.md, "Stored distributions"). Rows stored as BLOBs before still
 * decode: the column keeps whatever type each row was written with.
 */
import { fromBase64, toBase64 } from "../platform/digest";
import type { Distribution } from "../stats/distribution";

const BARE = 1;
const GUARDED = 2;
const HEADER_BYTES = 16;
/** [f64 floor][u32 K_e][u32 reserved][f64 n_e] */
const GUARDED_HEADER_BYTES = 24;

const blockBytes = (k: number): number => HEADER_BYTES + 24 * k;

export function encodeDistribution(dist: Distribution): Uint8Array {
  const k = dist.values.length;
  const g = dist.guarded;
  const ke = g?.eligible?.values.length ?? 0;
  const buf = new ArrayBuffer(blockBytes(k) + (g === undefined ? 0 : GUARDED_HEADER_BYTES + 24 * ke));
  const view = new DataView(buf);
  view.setUint32(0, g === undefined ? BARE : GUARDED, true);
  view.setUint32(4, k, true);
  view.setFloat64(8, dist.n, true);
  let o = writeArrays(view, HEADER_BYTES, dist);
  if (g !== undefined) {
    view.setFloat64(o, g.floor, true);
    view.setUint32(o + 8, ke, true);
    view.setUint32(o + 12, 0, true);
    view.setFloat64(o + 16, g.eligible?.n ?? 0, true);
    o += GUARDED_HEADER_BYTES;
    if (g.eligible) writeArrays(view, o, g.eligible);
  }
  return new Uint8Array(buf);
}

function writeArrays(view: DataView, start: number, d: Distribution): number {
  let o = start;
  const k = d.values.length;
  for (const arr of [d.values, d.below, d.atOrBelow]) {
    for (let i = 0; i < k; i++, o += 8) view.setFloat64(o, arr[i]!, true);
  }
  return o;
}

function readArrays(view: DataView, start: number, k: number, n: number): Distribution {
  const read = (at: number): Float64Array => {
    const out = new Float64Array(k);
    for (let i = 0; i < k; i++) out[i] = view.getFloat64(at + 8 * i, true);
    return out;
  };
  return { n, values: read(start), below: read(start + 8 * k), atOrBelow: read(start + 16 * k) };
}

/** What D1's `distribution` column holds: the encoded summary as base64 text. */
export const distributionText = (dist: Distribution): string => toBase64(encodeDistribution(dist));

/**
 * Decodes what `encodeDistribution` wrote: base64 text (`distributionText`), or the bytes of a row stored as a BLOB,
 * which D1 may hand back as ArrayBuffer, a typed array or number[].
 */
export function decodeDistribution(raw: string | ArrayBuffer | ArrayBufferView | readonly number[]): Distribution {
  const bytes =
    typeof raw === "string"
      ? fromBase64(raw)
      : Array.isArray(raw)
        ? Uint8Array.from(raw as readonly number[])
        : raw instanceof ArrayBuffer
          ? new Uint8Array(raw)
          : new Uint8Array((raw as ArrayBufferView).buffer, (raw as ArrayBufferView).byteOffset, (raw as ArrayBufferView).byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes.byteLength < HEADER_BYTES ? 0 : view.getUint32(0, true);
  if (version !== BARE && version !== GUARDED) throw new TypeError("decodeDistribution: unknown encoding");
  const k = view.getUint32(4, true);
  const pooledEnd = blockBytes(k);
  if (version === BARE) {
    if (bytes.byteLength !== pooledEnd) throw new TypeError("decodeDistribution: truncated");
    return readArrays(view, HEADER_BYTES, k, view.getFloat64(8, true));
  }
  if (bytes.byteLength < pooledEnd + GUARDED_HEADER_BYTES) throw new TypeError("decodeDistribution: truncated");
  const ke = view.getUint32(pooledEnd + 8, true);
  if (bytes.byteLength !== pooledEnd + GUARDED_HEADER_BYTES + 24 * ke) throw new TypeError("decodeDistribution: truncated");
  const pooled = readArrays(view, HEADER_BYTES, k, view.getFloat64(8, true));
  const eligible = ke === 0 ? null : readArrays(view, pooledEnd + GUARDED_HEADER_BYTES, ke, view.getFloat64(pooledEnd + 16, true));
  return { ...pooled, guarded: { floor: view.getFloat64(pooledEnd, true), eligible } };
}
