import { describe, expect, it } from "vitest";
import { decodeDistribution, distributionText, encodeDistribution } from "../../src/calibrations/distribution-codec";
import { buildDistribution, type Distribution } from "../../src/stats/distribution";
import { createRng } from "../support/prng";

const plain = (d: Distribution) => ({ n: d.n, values: [...d.values], below: [...d.below], atOrBelow: [...d.atOrBelow] });

describe("distribution codec", () => {
  const rng = createRng(7);
  const sorted = Float64Array.from({ length: 5000 }, () => rng.normal()).sort();
  const pooled = buildDistribution(sorted, 2000);

  it("a bare gate's summary round-trips as version 1 (the layout of rows stored before guarded summaries)", () => {
    const bytes = encodeDistribution(pooled);
    expect(new DataView(bytes.buffer).getUint32(0, true)).toBe(1);
    expect(bytes.byteLength).toBe(16 + 24 * pooled.values.length);
    const back = decodeDistribution(bytes);
    expect(plain(back)).toEqual(plain(pooled));
    expect(back.guarded).toBeUndefined();
    // D1 may return the BLOB as number[]
    expect(plain(decodeDistribution([...bytes]))).toEqual(plain(pooled));
  });

  it("a guarded gate's summary keeps its floor and eligible scores (version 2), also with none eligible", () => {
    const eligible = buildDistribution(sorted.subarray(0, 1500), 2000);
    for (const guarded of [
      { floor: 37, eligible },
      { floor: 12, eligible: null },
    ]) {
      const bytes = encodeDistribution({ ...pooled, guarded });
      expect(new DataView(bytes.buffer).getUint32(0, true)).toBe(2);
      const back = decodeDistribution(bytes.slice().buffer);
      expect(plain(back)).toEqual(plain(pooled));
      expect(back.guarded!.floor).toBe(guarded.floor);
      expect(back.guarded!.eligible === null ? null : plain(back.guarded!.eligible)).toEqual(
        guarded.eligible === null ? null : plain(guarded.eligible),
      );
    }
  });

  it("is stored as base64 text of the same bytes (D1's column), and rows stored as bytes still decode", () => {
    const guarded = { ...pooled, guarded: { floor: 3, eligible: buildDistribution(sorted.subarray(0, 1500), 2000) } };
    for (const d of [pooled, guarded]) {
      const text = distributionText(d);
      expect(text).toBe(Buffer.from(encodeDistribution(d)).toString("base64"));
      const fromText = decodeDistribution(text);
      expect(plain(fromText)).toEqual(plain(d));
      expect(fromText.guarded?.floor).toBe(d.guarded?.floor);
      expect(plain(decodeDistribution(encodeDistribution(d)))).toEqual(plain(fromText));
    }
    // a 96 KB guarded summary is 128 KB of text, well within D1's 2 MB for a value
    expect(distributionText(guarded).length).toBe(4 * Math.ceil(encodeDistribution(guarded).byteLength / 3));
  });

  it("refuses unknown versions and truncated blobs", () => {
    const bytes = encodeDistribution({ ...pooled, guarded: { floor: 1, eligible: pooled } });
    expect(() => decodeDistribution(bytes.subarray(0, bytes.byteLength - 8))).toThrow(TypeError);
    expect(() => decodeDistribution(bytes.subarray(0, 16 + 24 * pooled.values.length + 4))).toThrow(TypeError);
    const v3 = bytes.slice();
    new DataView(v3.buffer).setUint32(0, 3, true);
    expect(() => decodeDistribution(v3)).toThrow(TypeError);
  });
});
