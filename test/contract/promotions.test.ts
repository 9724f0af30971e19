import { describe, expect, it } from "vitest";
import { BASIS_POINTS } from "../../packages/client/src/assignment";
import { MIN_SHADOW_SAMPLE_RATE, ObservationBatch, PromotionPlanBody, ROUTES, ShadowBody, ShadowRateBody } from "../../src/contract";

describe("the promotion contract", () => {
  it("resolves a plan's defaults and refuses malformed steps", () => {
    expect(PromotionPlanBody.parse({})).toEqual({ steps: [10, 50, 100], min_queries: 2000, on_regression: "rollback", max_step_hours: 72 });
    expect(PromotionPlanBody.parse({ steps: [100] }).steps).toEqual([100]);
    for (const steps of [[], [10, 50], [50, 10, 100], [10, 10, 100], [0, 100], [10.5, 100], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100]]) {
      expect(PromotionPlanBody.safeParse({ steps }).success, JSON.stringify(steps)).toBe(false);
    }
    expect(PromotionPlanBody.safeParse({ min_queries: 199 }).success).toBe(false);
    expect(PromotionPlanBody.safeParse({ on_regression: "ignore" }).success).toBe(false);
    expect(PromotionPlanBody.safeParse({ extra: 1 }).success).toBe(false);
  });

  it("bounds a shadow's sample rate", () => {
    expect(ShadowBody.parse({}).sample_rate).toBe(0.1);
    expect(ShadowBody.safeParse({ sample_rate: 0 }).success).toBe(false);
    expect(ShadowBody.safeParse({ sample_rate: 1.01 }).success).toBe(false);
    // Clients mirror keys by bucket of one in 10,000 (BASIS_POINTS): a smaller share would still take a whole bucket.
    expect(MIN_SHADOW_SAMPLE_RATE * BASIS_POINTS).toBe(1);
    expect(ShadowBody.parse({ sample_rate: MIN_SHADOW_SAMPLE_RATE }).sample_rate).toBe(MIN_SHADOW_SAMPLE_RATE);
    const tiny = ShadowBody.safeParse({ sample_rate: 0.00005 });
    expect(tiny.success).toBe(false);
    expect(tiny.error!.issues[0]!.message).toContain("at least 0.0001");
    expect(ShadowRateBody.safeParse({ sample_rate: 0.00005 }).success).toBe(false);
  });

  it("names a batch's role and promotion arm", () => {
    const base = { batch_id: "b", calibration_id: "cal_0123456789", queries: [[20, 4]] };
    expect(ObservationBatch.safeParse({ ...base, role: "shadow" }).success).toBe(true);
    expect(ObservationBatch.safeParse({ ...base, promotion: { id: "prm_0123456789", step: 1, arm: "candidate" } }).success).toBe(true);
    expect(ObservationBatch.safeParse({ ...base, role: "shadow", promotion: { id: "prm_0123456789", step: 1, arm: "candidate" } }).success).toBe(
      false,
    );
    expect(ObservationBatch.safeParse({ batch_id: "b", embedding: "e", reranker: "r", queries: [[1, 0]], role: "shadow" }).success).toBe(false);
    expect(ObservationBatch.safeParse({ ...base, promotion: { id: "prm_0123456789", step: 0, arm: "both" } }).success).toBe(false);
  });

  it("routes the overrides at admin scope and the reads at read scope", () => {
    expect([ROUTES.promoteCalibration.scope, ROUTES.pausePromotion.scope, ROUTES.addShadow.scope]).toEqual(["admin", "admin", "admin"]);
    expect([ROUTES.getPromotion.scope, ROUTES.listShadows.scope, ROUTES.listGatePromotions.scope]).toEqual(["read", "read", "read"]);
  });
});
