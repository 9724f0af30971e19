import { describe, expect, it } from "vitest";
import { AppError } from "../../src/platform/errors";
import { duplicateKey, parseJsonText, readBodyBytes, readJson } from "../../src/platform/http/body";
import { checkQueryNames, nearest } from "../../src/platform/http/query";

/** A request whose body is a stream of unknown length: `chunks` chunks of `size` bytes. */
function streamed(chunks: number, size: number) {
  const state = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled === chunks) return controller.close();
      state.pulled++;
      controller.enqueue(new Uint8Array(size).fill(32));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  // Node's fetch needs duplex "half" for a streamed request body.
  const request = new Request("http://scoregate.test/v1/calibrations", { method: "POST", body, duplex: "half" } as RequestInit);
  return { request, state };
}

describe("readBodyBytes", () => {
  it("counts bytes while reading a body without Content-Length and cancels it at the limit (413)", async () => {
    const { request, state } = streamed(100, 1024);
    const err = await readBodyBytes(request, 10 * 1024).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("payload_too_large");
    expect((err as AppError).details).toEqual({ max_bytes: 10 * 1024 });
    expect(state.pulled).toBeLessThan(100);
    expect(state.cancelled).toBe(true);
  });

  it("reads a streamed body up to exactly the limit, joining its chunks in order", async () => {
    const { request } = streamed(10, 1024);
    const bytes = await readBodyBytes(request, 10 * 1024);
    expect(bytes.byteLength).toBe(10 * 1024);
    expect(bytes.every((b) => b === 32)).toBe(true);
  });

  it("refuses a declared Content-Length over the limit before reading anything", async () => {
    const { request } = streamed(100, 1024);
    const declared = new Request(request, { headers: { "content-length": String(100 * 1024) } });
    await expect(readBodyBytes(declared, 10 * 1024)).rejects.toMatchObject({ code: "payload_too_large" });
    expect(declared.bodyUsed).toBe(false);
  });

  it("gives an empty body as zero bytes", async () => {
    expect((await readBodyBytes(new Request("http://scoregate.test/", { method: "POST" }), 10)).byteLength).toBe(0);
  });
});

describe("readJson's charset", () => {
  const post = (type: string) =>
    readJson(new Request("http://scoregate.test/v1/webhooks", { method: "POST", headers: { "content-type": type }, body: '{"a":1}' }), 1024);

  it("reads a body declared in UTF-8 or an ASCII-compatible charset as UTF-8; refuses UTF-16 and UTF-32 with 415", async () => {
    for (const type of [
      "application/json",
      "application/json; charset=utf-8",
      'application/json;charset="UTF-8"',
      "application/json; charset='utf-8'",
      "application/json; charset=us-ascii",
      "application/json; charset=ISO-8859-1", // an ASCII body reads the same (non-UTF-8 bytes: the decoder refuses them)
    ])
      expect(await post(type), type).toEqual({ a: 1 });
    for (const type of [
      "application/json; charset=utf-16",
      "application/json; charset = UTF-16LE",
      'application/json; charset="utf-32"',
      "application/json; charset=ucs-2",
    ]) {
      const err = await post(type).catch((e: unknown) => e);
      expect(err, type).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe("unsupported_media_type");
      expect((err as AppError).message, type).toMatch(/^charset "(utf-16|utf-16le|utf-32|ucs-2)" is not accepted: send the body as UTF-8/u);
    }
  });
});

describe("parseJsonText", () => {
  it("says an empty or blank text is empty, not the parser's end-of-input message", () => {
    for (const [text, said] of [
      ["", "the request body is empty"],
      ["\r\n\t ", "the request body is only whitespace"],
    ]) {
      const err = (() => {
        try {
          parseJsonText(text!);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe("malformed_json");
      expect((err as AppError).message.startsWith(`${said} (curl sends an empty body`)).toBe(true);
    }
    expect(() => parseJsonText("{")).toThrow(/^request body is not valid JSON: /);
  });
});

describe("duplicateKey", () => {
  it.each([
    ['{"a": 1, "b": 2}', null],
    ['{"a": 1, "a": 2}', "a"],
    ['{"a": 1, "\\u0061": 2}', "a"],
    ['{"p": {"t": 0.3, "t": 0}}', "p.t"],
    ['{"q": [{"x": 1}, {"x": 1, "x": 2}]}', "q[1].x"],
    ['{"s": "a\\"b{\\"s\\": 1}", "t": "{,}"}', null],
    ['[{"a": 1}, {"a": 1}]', null],
    ['{"a": {"a": 1}, "b": [1, 2, {"a": 3}]}', null],
    ['{"a": [], "a": []}', "a"],
    ["[0.1, 0.2, 0.3]", null],
  ])("%s -> %s", (text, expected) => {
    JSON.parse(text); // the scanner is only called on valid JSON
    expect(duplicateKey(text)).toBe(expected);
  });
});

describe("query names", () => {
  it("suggests the nearest accepted name for a typo, nothing for something unrelated", () => {
    expect(nearest("index_verison", ["index", "embedding", "reranker", "index_version"])).toBe("index_version");
    expect(nearest("embeding", ["index", "embedding", "reranker"])).toBe("embedding");
    expect(nearest("colour", ["index", "embedding", "reranker"])).toBeNull();
  });

  it("passes accepted, single parameters and refuses unknown or repeated ones", () => {
    expect(() => checkQueryNames("http://x/v1?a=1&b=2", ["a", "b"])).not.toThrow();
    expect(() => checkQueryNames("http://x/v1?a=1&a=2", ["a"])).toThrow(/repeated query parameter\(s\) "a"/u);
    expect(() => checkQueryNames("http://x/v1?c=1", ["a"])).toThrow(/unknown query parameter\(s\) "c"/u);
    expect(() => checkQueryNames("http://x/v1?c=1", [])).toThrow(/takes no query parameters/u);
  });
});
