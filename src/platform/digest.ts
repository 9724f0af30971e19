/** SHA-256 over WebCrypto, and hex: one implementation for every digest the Worker takes. */

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
