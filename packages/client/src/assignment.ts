/**
 * Arm assignment for progressive promotions and shadow sampling: a stable bucket in basis points (0..9,999) from
 * MurmurHash3 x86_32 of the UTF-8 bytes of `salt + ":" + key`, seed 0. The Python client computes the same bits
 * (python/scoregate/_assignment.py); fixtures/assignment.json pins both to one table. docs/clients.md explains it.
 */
// Hand-written rather than a dependency: ~25 lines, synchronous (WebCrypto digests are async and the hot path never
// awaits), and it must hash UTF-8 bytes: the common npm ports hash `charCodeAt & 0xff` and disagree on non-ASCII keys.
import type { ServedShadow } from "../../../src/contract/wire-types";

/** Basis points in 100 %: a rollout's `percent_bp` and a bucket share this scale. */
export const BASIS_POINTS = 10_000;

let encoder: { encode(s: string): Uint8Array } | undefined;

/**
 * MurmurHash3 x86_32 (aappleby/smhasher, src/MurmurHash3.cpp) of `bytes` with `seed`, as an unsigned 32-bit integer.
 * O(n) in the byte length.
 */
export function murmur3(bytes: Uint8Array, seed = 0): number {
  let h = seed >>> 0;
  const n = bytes.length;
  let k = 0;
  // One loop for the 4-byte blocks and the tail: a block's little-endian word, or the tail's 1 to 3 bytes, is mixed
  // into h when it is complete; only a full block also rotates and scales h.
  for (let i = 0; i < n; i++) {
    k |= bytes[i]! << ((i & 3) * 8);
    const full = (i & 3) === 3;
    if (full || i === n - 1) {
      k = Math.imul(k, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      h ^= Math.imul(k, 0x1b873593);
      if (full) {
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      }
      k = 0;
    }
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The bucket of `key` under `salt` (a promotion id, or a shadow's calibration id), in basis points 0..9,999:
 * `floor(murmur3(utf8(salt + ":" + key)) * 10000 / 2^32)`, exact in a double and free of modulo bias. A key is in the
 * candidate arm iff its bucket is below the rollout's `percent_bp`, so a key that is in at 10 % stays in at 50 %.
 */
export function bucketOf(salt: string, key: string): number {
  encoder ??= new TextEncoder();
  return Math.floor((murmur3(encoder.encode(`${salt}:${key}`)) * BASIS_POINTS) / 2 ** 32);
}

/**
 * The shadows whose sample takes `key`: the key's bucket under the shadow's calibration id is below its `sample_rate`
 * in basis points; with `indexVersion`, only the shadows of that index version. `shadow()` reports for exactly these
 * and `shadowsFor()` names them, so the two agree by construction (Python: `shadows_taking` in _assignment.py;
 * fixtures/assignment.json pins both). A key that is not a string (a JavaScript caller's undefined or null) takes none:
 * hashed as its text, every keyless query would share one bucket, all sampled or none. O(shadows x key length).
 */
/**
 * `key` when it can place a request in an arm or a shadow's sample: a non-empty string; else undefined (no key). The
 * empty string is no key either: `headers.get("x-user") ?? ""` would put every anonymous request in one bucket.
 */
export const assignable = (key: unknown): string | undefined => (typeof key === "string" && key !== "" ? key : undefined);

export const shadowsTaking = <S extends Pick<ServedShadow, "calibration_id" | "index_version" | "sample_rate">>(
  shadows: readonly S[] | undefined,
  key: string,
  indexVersion?: string,
): S[] =>
  (assignable(key) !== undefined && shadows ? shadows : []).filter(
    (s) => (indexVersion ?? s.index_version) === s.index_version && bucketOf(s.calibration_id, key) < s.sample_rate * BASIS_POINTS,
  );
