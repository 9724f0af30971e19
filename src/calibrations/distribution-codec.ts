/**
 * Binary encoding of a stored distribution (stats/distribution.ts) for the D1 BLOB column:
 *   [u32 version=1][u32 knots][f64 n][f64 values x K][f64 below x K][f64 atOrBelow x K], little-endian.
 * K <= DISTRIBUTION_KNOTS (2000) gives at most 48 KB + 16 bytes, far below D1's 2 MB row limit.
 */
import type { Distribution } from "../stats/distribution";

const VERSION = 1;
const HEADER_BYTES = 16;

export function encodeDistribution(dist: Distribution): Uint8Array {
  const k = dist.values.length;
  const buf = new ArrayBuffer(HEADER_BYTES + 3 * 8 * k);
  const view = new DataView(buf);
  view.setUint32(0, VERSION, true);
  view.setUint32(4, k, true);
  view.setFloat64(8, dist.n, true);
  let o = HEADER_BYTES;
  for (const arr of [dist.values, dist.below, dist.atOrBelow]) {
    for (let i = 0; i < k; i++, o += 8) view.setFloat64(o, arr[i]!, true);
  }
  return new Uint8Array(buf);
}

/** Decodes what `encodeDistribution` wrote. D1 may hand BLOBs back as ArrayBuffer, a typed array or number[]. */
export function decodeDistribution(raw: ArrayBuffer | ArrayBufferView | readonly number[]): Distribution {
  const bytes = Array.isArray(raw)
    ? Uint8Array.from(raw as readonly number[])
    : raw instanceof ArrayBuffer
      ? new Uint8Array(raw)
      : new Uint8Array((raw as ArrayBufferView).buffer, (raw as ArrayBufferView).byteOffset, (raw as ArrayBufferView).byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < HEADER_BYTES || view.getUint32(0, true) !== VERSION) {
    throw new TypeError("decodeDistribution: unknown encoding");
  }
  const k = view.getUint32(4, true);
  if (bytes.byteLength !== HEADER_BYTES + 24 * k) throw new TypeError("decodeDistribution: truncated");
  const n = view.getFloat64(8, true);
  const read = (start: number): Float64Array => {
    const out = new Float64Array(k);
    for (let i = 0; i < k; i++) out[i] = view.getFloat64(start + 8 * i, true);
    return out;
  };
  return { n, values: read(HEADER_BYTES), below: read(HEADER_BYTES + 8 * k), atOrBelow: read(HEADER_BYTES + 16 * k) };
}
