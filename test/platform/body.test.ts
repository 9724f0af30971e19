import { describe, expect, it } from "vitest";
import { AppError } from "../../src/platform/errors";
import { readBodyBytes } from "../../src/platform/http/body";

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
