// A float32 upload's query parameters are refused in the caller's own names: the policy and tolerances built from them
// have other paths (policy.max_keep, drift_tolerance.relative), which a caller never sent.
import { describe, expect, it } from "vitest";
import { fromFloat32, queryParameterOf } from "../../src/calibrations/float32-upload";
import { AppError } from "../../src/platform/errors";

const body = new Uint8Array(new Float32Array(40).fill(0.5).buffer);
const base = { index: "f", embedding: "e", reranker: "r", index_version: "v", kind: "drop_rate", target: "0.2" };

function refusal(params: Record<string, string>): { message: string; paths: string[] } {
  try {
    fromFloat32(body, { ...base, ...params });
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    const err = e as AppError;
    return { message: err.message, paths: ((err.details ?? []) as unknown as { path: string }[]).map((d) => d.path) };
  }
  throw new Error("accepted");
}

describe("a float32 upload's refused query parameters", () => {
  it.each([
    [{ candidates_per_query: "20", max_keep: "-0" }, "max_keep", "max_keep must be at least 1"],
    [{ drift_tolerance_relative: "0" }, "drift_tolerance_relative", "drift_tolerance_relative must be above 0"],
    [{ candidates_per_query: "20", min_keep: "2.5" }, "min_keep", "min_keep must be a whole number"],
    [{ target: "1.5" }, "target", "target must be in [0, 1)"],
    [{ candidates_per_query: "20", abstention_rate: "2" }, "abstention_rate", "abstention_rate"],
    [{ candidates_per_query: "20.5" }, "candidates_per_query", "candidates_per_query must be a whole number"],
  ])("%j: named %s", (params, path, said) => {
    const r = refusal(params);
    expect(r.paths).toEqual([path]);
    expect(r.message).toContain(said);
    expect(r.message).not.toMatch(/policy\.|\.relative|a int/u);
  });

  it("maps each built path back to its parameter", () => {
    expect(queryParameterOf("policy.min_keep")).toBe("min_keep");
    expect(queryParameterOf("policy.abstention.rate")).toBe("abstention_rate");
    expect(queryParameterOf("empty_context_tolerance.relative")).toBe("empty_context_tolerance_relative");
    expect(queryParameterOf("shift_tolerance")).toBe("shift_tolerance");
  });
});
