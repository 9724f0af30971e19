/**
 * Request bodies: the content type decides the parser, and bytes are counted while streaming (Content-Length is not
 * trusted, and hono's bodyLimit had bypass CVEs: docs/reliability.md), so an oversized body is refused before it is buffered.
 */
import { AppError } from "../errors";

/** The media type without parameters, lowercased ("application/json; charset=utf-8" -> "application/json"). */
export function mediaType(header: string | undefined | null): string {
  return (header ?? "").split(";")[0]!.trim().toLowerCase();
}

/** What a 413 says besides the limit: which format takes more (the upload formats), or how to split the request. */
export type LargerHint = string;

/**
 * Reads the whole body, refusing with 413 as soon as more than `maxBytes` arrive. A body that breaks off (the client
 * disconnected, a Content-Length larger than what was sent, broken chunked framing) is a 400 incomplete_body, never
 * an unhandled error; if the client is gone nobody reads that answer, and nothing was stored.
 */
export async function readBodyBytes(request: Request, maxBytes: number, larger?: LargerHint): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes, larger);
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw new AppError(
        "incomplete_body",
        `the request body broke off after ${total} bytes (${(e as Error)?.message ?? "stream error"}): nothing was stored; send it again`,
        {
          received_bytes: total,
          ...(Number.isFinite(declared) ? { content_length: declared } : {}),
        },
      );
    }
    const { done, value } = chunk;
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes, larger);
    }
    chunks.push(value);
  }
  if (Number.isFinite(declared) && total < declared) {
    throw new AppError(
      "incomplete_body",
      `the request body has ${total} bytes but Content-Length said ${declared}: nothing was stored; send it again`,
      {
        received_bytes: total,
        content_length: declared,
      },
    );
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

const mib = (bytes: number): string => (bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes.toLocaleString("en-US")} bytes`);

const tooLarge = (maxBytes: number, larger?: LargerHint): AppError =>
  new AppError(
    "payload_too_large",
    `request body exceeds the limit of ${mib(maxBytes)} (${maxBytes} bytes)${larger === undefined ? "" : `: ${larger}`}`,
    {
      max_bytes: maxBytes,
      ...(larger === undefined ? {} : { hint: larger }),
    },
  );

/**
 * The first object key that occurs twice in one object of `text` (valid JSON: call after JSON.parse succeeded), as a
 * path, or null. JSON.parse keeps the last of duplicate keys, so `{"target": 0.3, "target": 0}` would silently mean 0.
 * A single pass over the text; keys with escapes are decoded so `"a"` and `"\u0061"` count as the same key.
 */
export function duplicateKey(text: string): string | null {
  // One frame per open object (its keys and path) or array (null keys).
  const stack: { keys: Set<string> | null; path: string; key: string | null; index: number }[] = [];
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 34) {
      let j = i + 1;
      let escaped = false;
      for (;;) {
        const c = text.charCodeAt(j);
        if (c === 92) {
          escaped = true;
          j += 2;
        } else if (c === 34) break;
        else j++;
      }
      const top = stack[stack.length - 1];
      if (top?.keys && expectKey) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        if (top.keys.has(key)) return top.path === "" ? key : `${top.path}.${key}`;
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j;
    } else if (ch === 123 || ch === 91) {
      const top = stack[stack.length - 1];
      const path = top === undefined ? "" : top.keys ? (top.path === "" ? (top.key ?? "") : `${top.path}.${top.key}`) : `${top.path}[${top.index}]`;
      stack.push({ keys: ch === 123 ? new Set() : null, path, key: null, index: 0 });
      expectKey = ch === 123;
    } else if (ch === 125 || ch === 93) {
      stack.pop();
      expectKey = false;
    } else if (ch === 44) {
      const top = stack[stack.length - 1];
      if (top?.keys) expectKey = true;
      else if (top) top.index++;
    }
  }
  return null;
}

/** Parses UTF-8 JSON text; malformed JSON is a 400 with the parser's position, and so is a duplicate object key. */
export function parseJsonText(text: string, what = "request body"): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new AppError("malformed_json", `${what} is not valid JSON: ${(e as Error).message}`);
  }
  // Only objects can repeat a key; a bare array of numbers (no "{") skips the scan.
  if (text.includes("{")) {
    const dup = duplicateKey(text);
    if (dup !== null) {
      throw new AppError("malformed_json", `${what} has the key ${JSON.stringify(dup)} more than once: give each field once`, [
        { path: dup, message: "duplicate key" },
      ]);
    }
  }
  return value;
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new AppError("malformed_json", "request body is not valid UTF-8");
  }
}

/** Reads a small JSON body (content type application/json, or none with an empty body). */
export async function readJson(request: Request, maxBytes: number, options: { allowEmpty?: boolean; larger?: LargerHint } = {}): Promise<unknown> {
  const type = mediaType(request.headers.get("content-type"));
  const bytes = await readBodyBytes(request, maxBytes, options.larger);
  if (bytes.byteLength === 0 && options.allowEmpty) return {};
  if (type !== "application/json") {
    throw new AppError("unsupported_media_type", `expected Content-Type: application/json, got ${type === "" ? "none" : JSON.stringify(type)}`);
  }
  return parseJsonText(decodeUtf8(bytes));
}
