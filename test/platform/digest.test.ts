import { describe, expect, it } from "vitest";
import { fromBase64, toBase64 } from "../../src/platform/digest";
import { createRng } from "../support/prng";

describe("base64", () => {
  // Node's Buffer is an independent implementation (the Worker has none).
  const rng = createRng(3);
  const sizes = [0, 1, 2, 3, 255, 8191, 8192, 8193, 3 * 8192 + 1, 96_024];
  it.each(sizes)("%i bytes: the same text as Buffer's, and back to the same bytes", (n) => {
    const bytes = Uint8Array.from({ length: n }, () => Math.floor(rng.next() * 256));
    const text = toBase64(bytes);
    expect(text).toBe(Buffer.from(bytes).toString("base64"));
    expect(fromBase64(text)).toEqual(bytes);
  });

  it("every byte value", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromBase64(toBase64(bytes))).toEqual(bytes);
  });

  it("refuses text that is not base64", () => {
    expect(() => fromBase64("not base64!")).toThrow();
  });
});
