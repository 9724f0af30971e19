/**
 * Request bodies: the content type decides the parser, and bytes are counted while streaming (Content-Length is not
 * trusted, and hono's bodyLimit had bypass CVEs: docs/architecture.md#platform-facts), so an oversized body is refused before it is buffered.
 */
import { AppError } from "../errors";

/** The media type without parameters, lowercased ("application/json; charset=utf-8" -> "application/json"). */
export function mediaType(header: string | undefined | null): string {
  return (header ?? "").split(";")[0]!.trim().toLowerCase();
}

/** Reads the whole body, refusing with 413 as soon as more than `maxBytes` arrive. */
export async function readBodyBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
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

const tooLarge = (maxBytes: number): AppError => new AppError("payload_too_large", `request body exceeds ${maxBytes} bytes`, { max_bytes: maxBytes });

/** Parses UTF-8 JSON text; malformed JSON is a 400 with the parser's position. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AppError("malformed_json", `request body is not valid JSON: ${(e as Error).message}`);
  }
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
export async function readJson(request: Request, maxBytes: number, options: { allowEmpty?: boolean } = {}): Promise<unknown> {
  const type = mediaType(request.headers.get("content-type"));
  const bytes = await readBodyBytes(request, maxBytes);
  if (bytes.byteLength === 0 && options.allowEmpty) return {};
  if (type !== "application/json") {
    throw new AppError("unsupported_media_type", `expected Content-Type: application/json, got ${type === "" ? "none" : JSON.stringify(type)}`);
  }
  return parseJsonText(decodeUtf8(bytes));
}
