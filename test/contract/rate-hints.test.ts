// Rates and shares given as points or percentages (`8` meant as 8 points, `20` as 20 %): the refusal says what the
// value would be as a rate, on every field that takes one.
import { describe, expect, it } from "vitest";
import { BinaryUploadQuery, CalibrationMeta, PromotionPlanBody, ShadowBody, Tolerance } from "../../src/contract";

const meta = { index: "docs", embedding: "e5", reranker: "bge", index_version: "v1", policy: { kind: "drop_rate", target: 0.2 } };

/** The messages of a failed parse, by path. */
const refusals = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  r.success ? [] : r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);

describe("a rate given as points, a share as a percentage", () => {
  it("says what the value is as a rate", () => {
    expect(refusals(CalibrationMeta.safeParse({ ...meta, shift_tolerance: 8 }))).toEqual([
      "shift_tolerance: must be at most 1: a rate, not points (8 points is 0.08)",
    ]);
    expect(refusals(CalibrationMeta.safeParse({ ...meta, drift_tolerance: 2 }))).toContainEqual(
      "drift_tolerance: must be at most 0.5: a rate, not points (2 points is 0.02)",
    );
    expect(refusals(PromotionPlanBody.safeParse({ tolerance: 8 }))).toEqual([
      "tolerance: must be at most 0.5: a rate, not points (8 points is 0.08)",
    ]);
    expect(refusals(ShadowBody.safeParse({ sample_rate: 20 }))).toEqual(["sample_rate: must be at most 1: a share, not a percentage (20 % is 0.2)"]);
    const query = { index: "docs", embedding: "e5", reranker: "bge", index_version: "v1", kind: "drop_rate", target: "0.2" };
    expect(refusals(BinaryUploadQuery.safeParse({ ...query, shift_tolerance: "3" }))).toEqual([
      "shift_tolerance: must be at most 1: a rate, not points (3 points is 0.03)",
    ]);
  });

  it("keeps the plain bound where the value cannot be points or a percentage, and takes what is in range", () => {
    expect(refusals(CalibrationMeta.safeParse({ ...meta, shift_tolerance: 250 }))).toEqual(["shift_tolerance: must be at most 1"]);
    expect(refusals(ShadowBody.safeParse({ sample_rate: 101 }))).toEqual(["sample_rate: must be at most 1"]);
    expect(refusals(Tolerance.safeParse(0.7))).toContainEqual(": must be at most 0.5");
    expect(CalibrationMeta.safeParse({ ...meta, shift_tolerance: 1 }).success).toBe(true);
    expect(ShadowBody.safeParse({ sample_rate: 1 }).success).toBe(true);
    expect(PromotionPlanBody.safeParse({ tolerance: 0.08 }).success).toBe(true);
  });
});
