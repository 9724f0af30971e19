import { validate } from "@readme/openapi-parser";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/reference/openapi";

describe("the OpenAPI document", () => {
  it("validates as OpenAPI 3.1 with a maintained validator (@readme/openapi-parser)", async () => {
    const doc = structuredClone(openApiDocument()) as Parameters<typeof validate>[0];
    const result = await validate(doc);
    expect(result.valid ? [] : result.errors).toEqual([]);
  });
});
