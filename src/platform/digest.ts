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

/** Standard base64 of bytes (btoa over a binary string; the Workers runtime has no Buffer). */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
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
