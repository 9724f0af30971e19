/**
 * Request bodies: the content type decides the parser, and bytes are counted while streaming (Content-Length is not
 * trusted, and hono's bodyLimit had bypass CVEs: docs/reliability.md), so an oversized body is refused before it is buffered.
 */
import { AppError } from "../errors";
import { countText } from "../format";
import { MAX_JSON_DEPTH } from "../limits";

/** The media type without parameters, lowercased ("application/json; charset=utf-8" -> "application/json"). */
export function mediaType(header: string | undefined | null): string {
  return (header ?? "").split(";")[0]!.trim().toLowerCase();
}

/**
 * Charsets in which ASCII text is not ASCII bytes: a JSON body declared in one of them is not read as UTF-8 would read
 * it ("{" is 2 or 4 bytes, a NUL among them), so it is refused. Any other declared charset (ISO-8859-1, US-ASCII,
 * windows-1252, ...) is read as UTF-8, as JSON is (RFC 8259, section 8.1): an ASCII body reads the same, and bytes
 * that are not UTF-8 are refused by the decoder.
 */
const NOT_ASCII_COMPATIBLE = /^(?:utf-?16|utf-?32|ucs-?2|ucs-?4|utf-?7|unicode(?:fffe|feff)?$)/u;

/**
 * 415 for a text body (JSON, NDJSON) whose Content-Type declares a charset in which ASCII text is not ASCII bytes
 * (UTF-16, UTF-32...): it was read as UTF-8, and its bytes refused as malformed JSON, or worse, read as something else.
 */
export function checkUtf8Charset(header: string | undefined | null): void {
  for (const param of (header ?? "").split(";").slice(1)) {
    const eq = param.indexOf("=");
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== "charset") continue;
    const charset = param
      .slice(eq + 1)
      .trim()
      .replace(/^(["'])(.*)\1$/u, "$2")
      .toLowerCase();
    if (NOT_ASCII_COMPATIBLE.test(charset))
      throw new AppError("unsupported_media_type", `charset ${JSON.stringify(charset)} is not accepted: send the body as UTF-8 (JSON is UTF-8)`);
  }
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

/** "10 MiB (10485760 bytes)" for a whole number of MiB, else "8,000,000 bytes" (the exact figure once). */
const limitText = (bytes: number): string =>
  bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB (${bytes} bytes)` : `${countText(bytes)} bytes`;

const tooLarge = (maxBytes: number, larger?: LargerHint): AppError =>
  new AppError("payload_too_large", `request body exceeds the limit of ${limitText(maxBytes)}${larger === undefined ? "" : `: ${larger}`}`, {
    max_bytes: maxBytes,
    ...(larger === undefined ? {} : { hint: larger }),
  });

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

/**
 * How much structure one JSON text may hold, checked before JSON.parse builds it. JSON.parse allocates a heap object
 * for every array and object (and a string for every key) whatever their content: within the 10 MiB upload limit,
 * 3.5 M empty arrays needed 117 MB of isolate heap, and arrays nested 5 M deep 666 MB (docs/benchmarks.md, section 19),
 * against 128 MB per isolate. Scalars are not counted here: a number in an array costs its 4 or 8 bytes.
 */
export interface JsonShapeLimits {
  /** Deepest nesting of arrays and objects (the top level is depth 1). */
  readonly maxDepth: number;
  /** Most arrays and objects in all. */
  readonly maxContainers: number;
  /** Most strings in all, object keys included. */
  readonly maxStrings: number;
  /** Most numbers in all (omitted: bounded by the body's size only). */
  readonly maxNumbers?: number;
}

/** The shape every JSON body may have unless its reader says otherwise: nesting only (sizes bound the rest). */
export const DEFAULT_JSON_SHAPE: JsonShapeLimits = {
  maxDepth: MAX_JSON_DEPTH,
  maxContainers: Number.POSITIVE_INFINITY,
  maxStrings: Number.POSITIVE_INFINITY,
};

/**
 * One pass over `text` (before JSON.parse) that stops at the first limit exceeded, so a body that would make the
 * parser build millions of objects is refused after reading only as far as the limit: deeper than maxDepth is 422
 * invalid_input, more containers, strings or numbers than allowed is 413 payload_too_large. Malformed JSON is left to
 * JSON.parse, which names the position; hand-written because no JSON parser offers these limits without building the
 * value first.
 */
export function checkJsonShape(text: string, limits: JsonShapeLimits, what = "request body"): void {
  let depth = 0;
  let containers = 0;
  let strings = 0;
  let numbers = 0;
  const maxNumbers = limits.maxNumbers ?? Number.POSITIVE_INFINITY;
  // A number starts where a value may start: at the beginning, or after "[", "," or ":".
  let valueMayStart = true;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 32 || ch === 10 || ch === 13 || ch === 9) continue;
    if (ch === 34) {
      if (++strings > limits.maxStrings)
        throw shapeTooLarge(what, `more than ${limits.maxStrings} strings (object keys included)`, limits.maxStrings);
      let j = i + 1;
      while (j < n) {
        const c = text.charCodeAt(j);
        if (c === 92) j += 2;
        else if (c === 34) break;
        else j++;
      }
      i = j;
      valueMayStart = false;
    } else if (ch === 91 || ch === 123) {
      if (++depth > limits.maxDepth) {
        throw new AppError("invalid_input", `${what} nests arrays and objects more than ${limits.maxDepth} deep`, [
          { path: "(body)", message: `nesting deeper than ${limits.maxDepth}` },
        ]);
      }
      if (++containers > limits.maxContainers) {
        throw shapeTooLarge(what, `more than ${limits.maxContainers} arrays and objects`, limits.maxContainers);
      }
      valueMayStart = true;
    } else if (ch === 93 || ch === 125) {
      depth--;
      valueMayStart = false;
    } else if (ch === 44 || ch === 58) valueMayStart = true;
    else {
      if (valueMayStart && (ch === 45 || (ch >= 48 && ch <= 57)) && ++numbers > maxNumbers) {
        throw shapeTooLarge(what, `more than ${maxNumbers} numbers`, maxNumbers);
      }
      valueMayStart = false;
    }
  }
}

const shapeTooLarge = (what: string, holds: string, max: number): AppError =>
  new AppError("payload_too_large", `${what} holds ${holds}: at most ${max} are accepted`, { max });

/**
 * Parses UTF-8 JSON text within `shape` (checkJsonShape, before anything is built); malformed JSON is a 400 with the
 * parser's position, and so are an empty text and a duplicate object key.
 */
export function parseJsonText(text: string, what = "request body", shape: JsonShapeLimits = DEFAULT_JSON_SHAPE): unknown {
  // JSON.parse would say "Unexpected end of JSON input"; an empty body is most often a file curl could not read.
  if (text.trim() === "") {
    throw new AppError(
      "malformed_json",
      `the ${what} is ${text === "" ? "empty" : "only whitespace"} (curl sends an empty body when it cannot read the file after --data @, and -s hides its warning)`,
    );
  }
  checkJsonShape(text, shape, what);
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

/**
 * What a refused content type most likely means, to append to a 415 message, or "". curl's `-d` without `-H
 * "Content-Type: ..."` sends form encoding, the most common way a first request is refused.
 */
export function mediaTypeHint(media: string): string {
  if (media === "application/x-www-form-urlencoded") {
    return ` (curl's -d sends it when no Content-Type is given: add -H "Content-Type: application/json")`;
  }
  return "";
}

/**
 * What a body refused as mangled by `curl -d @file` (or `--data`) adds: curl drops every CR and LF of a file it reads
 * that way, which glues NDJSON lines into one and shortens binary float32 scores.
 */
export const CURL_DATA_BINARY_HINT = "curl -d strips newlines; send the file with --data-binary @file";

/** Reads a small JSON body (content type application/json, or none with an empty body). */
export async function readJson(request: Request, maxBytes: number, options: { allowEmpty?: boolean; larger?: LargerHint } = {}): Promise<unknown> {
  const type = mediaType(request.headers.get("content-type"));
  const bytes = await readBodyBytes(request, maxBytes, options.larger);
  if (bytes.byteLength === 0 && options.allowEmpty) return {};
  if (type !== "application/json") {
    throw new AppError(
      "unsupported_media_type",
      `expected Content-Type: application/json, got ${type === "" ? "none" : JSON.stringify(type)}${mediaTypeHint(type)}`,
    );
  }
  checkUtf8Charset(request.headers.get("content-type"));
  return parseJsonText(decodeUtf8(bytes));
}
