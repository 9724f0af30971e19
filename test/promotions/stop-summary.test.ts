// The sentence of a promotion's pause or rollback alert: the step it stopped in (with the share the candidate had,
// not the 0 % a rollback leaves), the cause, and the decision's numbers.
import { describe, expect, it } from "vitest";
import type { PromotionStepRecord } from "../../src/contract";
import { promotionStopSummary } from "../../src/promotions/stop-summary";

const promotion = {
  id: "prm_1",
  candidate_calibration_id: "cal_bad",
  plan: { steps: [10, 50, 100], min_queries: 200, on_regression: "rollback" as const, tolerance: 0.08, max_step_hours: 72 },
};
const record = (over: Partial<PromotionStepRecord>): PromotionStepRecord => ({
  id: "pst_1",
  kind: "rolled_back",
  cause: "shifted_vs_control",
  step: 0,
  percent: 0,
  seq: 9,
  at: "2026-01-01T00:00:00.000Z",
  actor: "promotion",
  reason: null,
  numbers: {},
  ...over,
});

describe("promotion stop summary", () => {
  it("names the step and its share, the cause, both arms' drop rates and the change with its interval", () => {
    const numbers = {
      vs_control: { decision: "shifted", change: 0.374, interval95: [0.301, 0.447] },
      candidate_drop_rate: 0.593,
      control_drop_rate: 0.219,
      candidate_queries: 51,
      control_queries: 480,
      drift_alarm: null,
    };
    expect(promotionStopSummary(promotion, record({ numbers }), "rolled back")).toBe(
      "promotion prm_1 of cal_bad rolled back in step 1 of 3 (10 % of keyed traffic): shifted_vs_control; the candidate arm dropped 59.3 % against 21.9 % on control (+37.4 points, 95 %: +30.1 points to +44.7 points); 51 candidate and 480 control queries",
    );
  });

  it("names the target read when the target stopped it (for a guarded candidate, its expectation for the arm's sizes)", () => {
    const numbers = {
      vs_control: { decision: "inconclusive", change: 0.081, interval95: [-0.01, 0.17] },
      vs_target: { decision: "shifted", change: 0.09, interval95: [0.05, 0.13] },
      candidate_drop_rate: 0.3,
      control_drop_rate: 0.219,
      candidate_queries: 4000,
      control_queries: 36000,
      drift_alarm: null,
    };
    expect(promotionStopSummary(promotion, record({ cause: "shifted_vs_target", numbers }), "rolled back")).toBe(
      "promotion prm_1 of cal_bad rolled back in step 1 of 3 (10 % of keyed traffic): shifted_vs_target; the candidate arm dropped 30.0 % against 21.9 % on control (+8.1 points, 95 %: -1.0 points to +17.0 points); its target 21.0 % (+9.0 points, 95 %: +5.0 points to +13.0 points); 4,000 candidate and 36,000 control queries",
    );
  });

  it("names the index versions of the candidate and the control when they are known", () => {
    expect(
      promotionStopSummary(promotion, record({ kind: "paused", cause: "inconclusive_timeout" }), "paused", { candidate: "v2", control: "v1" }),
    ).toBe("promotion prm_1 of cal_bad (v2 over v1) paused in step 1 of 3 (10 % of keyed traffic): inconclusive_timeout");
    // a recalibration of the served version reads as such
    expect(
      promotionStopSummary(promotion, record({ kind: "paused", cause: "inconclusive_timeout" }), "paused", { candidate: "v1", control: "v1" }),
    ).toBe("promotion prm_1 of cal_bad (v1, over another calibration of v1) paused in step 1 of 3 (10 % of keyed traffic): inconclusive_timeout");
  });

  it("a pause in the second step, and a record without numbers (an admin's), says what it has", () => {
    expect(promotionStopSummary(promotion, record({ kind: "paused", cause: "inconclusive_timeout", step: 1, percent: 50 }), "paused")).toBe(
      "promotion prm_1 of cal_bad paused in step 2 of 3 (50 % of keyed traffic): inconclusive_timeout",
    );
  });
});
