// The resolved_note of a promotion_paused alert whose pause is over: which promotion, what ended the pause, and who
// (an admin by name, with the reason; an automatic transition by its cause).
import { describe, expect, it } from "vitest";
import { PromotionStepKind, type PromotionStepRecord } from "../../src/contract";
import { endsPause, pauseEndedNote } from "../../src/promotions/paused-alert";

const promotion = {
  id: "prm_1",
  candidate_calibration_id: "cal_new",
  plan: { steps: [10, 50, 100], min_queries: 200, on_regression: "pause" as const, tolerance: 0.08, max_step_hours: 72 },
};
const record = (over: Partial<PromotionStepRecord>): PromotionStepRecord => ({
  id: "prm_1:3:rolled_back",
  kind: "rolled_back",
  cause: "admin",
  step: 1,
  percent: 0,
  seq: 9,
  at: "2026-01-01T00:00:00.000Z",
  actor: "alice",
  reason: null,
  numbers: {},
  ...over,
});

describe("the note of a promotion_paused alert resolved when its pause is over", () => {
  it("names the promotion, the transition and the admin with the reason", () => {
    expect(pauseEndedNote(promotion, record({ reason: "v2 hurt recall" }))).toBe(
      'promotion prm_1 was rolled back by alice ("v2 hurt recall"): it has ended, and its candidate cal_new is served no more',
    );
    expect(pauseEndedNote(promotion, record({ kind: "resumed", step: 1 }))).toBe("promotion prm_1 was resumed by alice: it runs step 2 of 3 again");
    expect(pauseEndedNote(promotion, record({ kind: "advanced", step: 1 }))).toBe("promotion prm_1 was advanced by alice: it runs step 2 of 3");
    expect(pauseEndedNote(promotion, record({ kind: "completed", step: 2 }))).toBe(
      "promotion prm_1 was completed by alice: its candidate cal_new is served to all traffic",
    );
  });

  it("names an automatic transition by its cause, and a supersession by what was activated", () => {
    expect(pauseEndedNote(promotion, record({ kind: "completed", cause: "equivalent", actor: "promotion", step: 2 }))).toBe(
      "promotion prm_1 was completed on its own (equivalent): its candidate cal_new is served to all traffic",
    );
    expect(
      pauseEndedNote(promotion, record({ kind: "superseded", cause: "activation", actor: "promotion", reason: "calibration cal_x was activated" })),
    ).toBe("promotion prm_1 was superseded (calibration cal_x was activated): it has ended");
  });

  it("only the transitions that leave a pause end it", () => {
    expect(PromotionStepKind.options.filter(endsPause)).toEqual(["advanced", "resumed", "rolled_back", "completed", "superseded"]);
    expect(() => pauseEndedNote(promotion, record({ kind: "paused" }))).toThrow(TypeError);
    expect(() => pauseEndedNote(promotion, record({ kind: "started" }))).toThrow(TypeError);
  });
});
