/**
 * Ids and gate keys. Randomness and time are injected (each feature's deps slice: `random`, `now`), so services stay
 * deterministic under test.
 */
import type { GateRef } from "../contract";
import { sha256Hex, toHex } from "./digest";

/** `<prefix>_<12 hex ms since epoch><16 hex random>`: readable, roughly time-ordered, 64 random bits. */
export function newId(prefix: string, now: Date, randomHex16: string): string {
  if (!/^[0-9a-f]{16}$/u.test(randomHex16)) throw new TypeError("newId: need 16 lowercase hex characters");
  return `${prefix}_${now.getTime().toString(16).padStart(12, "0")}${randomHex16}`;
}

/** 16 random hex characters from the platform CSPRNG (what src/worker/wiring.ts gives the features as `random`). */
export function cryptoRandomHex16(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(8)));
}

/**
 * The gate's stable key: the first 32 hex characters (128 bits) of SHA-256 over the JSON array
 * [index, embedding, reranker] of NFC-normalized ids. Ids may be 256 characters of any script, too long for KV keys
 * and Durable Object names, so we hash; JSON encoding keeps ("a b", "c") and ("a", "b c") apart.
 */
export async function gateIdOf(gate: GateRef): Promise<string> {
  const canonical = JSON.stringify([gate.index.normalize("NFC"), gate.embedding.normalize("NFC"), gate.reranker.normalize("NFC")]);
  return sha256Hex(canonical, 16);
}
