/** SHA-256 and HMAC-SHA256 over WebCrypto, hex and base64: one implementation for every digest the Worker takes. */

const encoder = new TextEncoder();

/** Lowercase hex of bytes. */
export const toHex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

/** SHA-256 of UTF-8 text or of bytes. */
export const sha256 = (data: string | Uint8Array): Promise<ArrayBuffer> =>
  crypto.subtle.digest("SHA-256", typeof data === "string" ? encoder.encode(data) : data);

/** Lowercase hex SHA-256 of UTF-8 text or of bytes; `bytes` keeps the first bytes only (16: a 128-bit key). */
export async function sha256Hex(data: string | Uint8Array, bytes = 32): Promise<string> {
  return toHex(new Uint8Array(await sha256(data)).slice(0, bytes));
}

/** Bytes per String.fromCharCode call in toBase64: well within the engines' argument limits. */
const BASE64_CHUNK = 8192;

/**
 * Standard base64 of bytes (btoa over a binary string; the Workers runtime has no Buffer, and Uint8Array.toBase64 is
 * not in Node 20, where the unit tests run). Built a chunk of bytes at a time: a stored distribution is up to 96 KB.
 */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += BASE64_CHUNK) s += String.fromCharCode(...bytes.subarray(i, i + BASE64_CHUNK));
  return btoa(s);
}

/** The bytes of standard base64 text (atob throws a DOMException on anything else). */
export function fromBase64(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** URL-safe base64 without padding (RFC 4648 section 5): fits a cookie value or a URL untouched. */
export const toBase64Url = (bytes: Uint8Array): string => toBase64(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/u, "");

/** HMAC-SHA256 of UTF-8 text under a key's bytes. */
export async function hmacSha256(key: Uint8Array, message: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, encoder.encode(message)));
}

/** Whether two strings are equal, in time that depends on their lengths only (for MACs and CSRF tokens). */
export function sameString(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.min(x.length, y.length); i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}
