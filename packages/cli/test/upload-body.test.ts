/**
 * An upload over the server's NDJSON limit: the refusal offers only the ways out that work for the file. `--float32`
 * is offered for flat scores and equal-size queries, never for queries of different sizes, which a float32 body cannot
 * group (offered there, it was refused next, naming a flag the user had not passed).
 */
import { describe, expect, it } from "vitest";
import { BodyError, encodeUpload } from "../src/body";

const meta = { embedding: "e", reranker: "r", index_version: "v", policy: { kind: "drop_rate" as const, target: 0.2 } };

/** `n` full-precision scores (never float32 values, about 20 bytes each in NDJSON), seeded. */
function scoresOf(n: number): Float64Array {
  const out = new Float64Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x / 2 ** 32 + 1e-12;
  }
  return out;
}

/** Query boundaries of alternating sizes 19 and 21 (or all `equal`) over `n` scores. */
function offsetsOf(n: number, equal?: number): Uint32Array {
  const bounds = [0];
  for (let i = 0; bounds.at(-1)! < n; i++) bounds.push(Math.min(n, bounds.at(-1)! + (equal ?? (i % 2 === 0 ? 19 : 21))));
  return Uint32Array.from(bounds);
}

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BodyError);
    return (e as Error).message;
  }
  throw new Error("not refused");
};

describe("an upload over the server's NDJSON limit", () => {
  // 1,400,000 scores of 40 a pair of queries: about 26 MiB of NDJSON against 24 MiB
  const n = 1_400_000;
  const scores = scoresOf(n);

  it("of queries of different sizes: round or upload fewer queries; --float32 is not offered, and asked for it says why", () => {
    const offsets = offsetsOf(n);
    const message = refusal(() => encodeUpload(meta, scores, offsets, false));
    expect(message).toMatch(
      /over the server's 24 MiB limit: round the scores in the file \(6-7 significant digits are plenty\), or upload fewer queries$/u,
    );
    expect(message).not.toContain("--float32");
    expect(refusal(() => encodeUpload(meta, scores, offsets, true))).toContain(
      "these queries differ in size: upload without --float32 (NDJSON keeps the groups; over the server's limit, round the scores in the file or upload fewer queries), or send the scores flat with --no-query-column",
    );
  });

  it("of flat scores or equal-size queries: --float32 is offered, and sends them", () => {
    for (const offsets of [null, offsetsOf(n, 20)]) {
      expect(refusal(() => encodeUpload(meta, scores, offsets, false))).toMatch(
        /: round the scores in the file \(6-7 significant digits are plenty\), pass --float32 \(rounds to float32\), or upload fewer (scores|queries)$/u,
      );
      expect(encodeUpload(meta, scores, offsets, true)).toMatchObject({ contentType: "application/octet-stream", bytes: n * 4 });
    }
  });
});
