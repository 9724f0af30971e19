/** The static assets' headers file gives them the same API version header as the Worker's own answers. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { API_VERSION, API_VERSION_HEADER } from "../../src/contract";

describe("public/_headers", () => {
  it(`gives every static asset ${API_VERSION_HEADER}: ${API_VERSION}`, () => {
    const lines = readFileSync("public/_headers", "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "" && !l.startsWith("#"));
    expect(lines).toEqual(["/*", `  ${API_VERSION_HEADER}: ${API_VERSION}`]);
  });
});
