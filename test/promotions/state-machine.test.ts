import { describe, expect, it } from "vitest";
import type { Activation, PromotionPlan } from "../../src/contract";
import type { PromotionDeps } from "../../src/promotions/deps";
import { supersedeOnActivation } from "../../src/promotions/service";
import { type PromotionPosition, percentOf, startOf, transition, unfinishedStart } from "../../src/promotions/state-machine";
import { stepDeadline } from "../../src/promotions/step-evidence";
import type { PromotionRow } from "../../src/promotions/store";

const plan = (over: Partial<PromotionPlan> = {}): PromotionPlan => ({
  steps: [10, 50, 100],
  min_queries: 200,
  on_regression: "rollback",
  tolerance: 0.02,
  max_step_hours: 72,
  ...over,
});
const at = (state: PromotionPosition["state"], step: number, over: Partial<PromotionPlan> = {}): PromotionPosition => ({
  state,
  step,
  version: 3,
  plan: plan(over),
});
const evidence = (
  over: Partial<{
    step: number;
    vsControl: "equivalent" | "shifted" | "inconclusive";
    vsTarget: "equivalent" | "shifted" | "inconclusive";
    driftAlarm: boolean;
    candidateQueries: number;
  }> = {},
) => ({ kind: "evidence", step: 0, vsControl: "inconclusive", vsTarget: "inconclusive", driftAlarm: false, candidateQueries: 500, ...over }) as const;

describe("the promotion state machine", () => {
  it("tells a straight start left unfinished (running at 100 %) from every position a transition leads to", () => {
    expect(unfinishedStart(at("running", 0, { steps: [100] }))).toBe(true);
    expect(unfinishedStart(at("completed", 0, { steps: [100] }))).toBe(false);
    for (const step of [0, 1]) expect(unfinishedStart(at("running", step))).toBe(false);
    expect(unfinishedStart(at("paused", 1))).toBe(false);
    // An advance into the last step completes instead of running it.
    expect(transition(at("running", 1), { kind: "admin", action: "advance" })).toMatchObject({ kind: "completed", state: "completed" });
  });

  it("starts at the first step, or completes at once on a straight plan", () => {
    expect(startOf(plan())).toMatchObject({ kind: "started", state: "running", step: 0, percent: 10 });
    expect(startOf(plan({ steps: [100] }))).toMatchObject({ kind: "completed", state: "completed", percent: 100 });
  });

  it("advances on equivalent with enough candidate queries, and completes on reaching 100 %", () => {
    expect(transition(at("running", 0), evidence({ vsControl: "equivalent" }))).toMatchObject({
      kind: "advanced",
      cause: "equivalent",
      step: 1,
      percent: 50,
      alert: null,
    });
    expect(transition(at("running", 1), evidence({ step: 1, vsControl: "equivalent" }))).toMatchObject({
      kind: "completed",
      state: "completed",
      percent: 100,
    });
    expect(transition(at("running", 0), evidence({ vsControl: "equivalent", candidateQueries: 199 }))).toEqual({
      kind: "none",
      why: "waiting",
      refused: false,
    });
    expect(transition(at("running", 0), evidence())).toMatchObject({ kind: "none", why: "waiting" });
  });

  it("stops on shifted vs control, shifted vs target or a drift alarm, as the plan says, with an alert", () => {
    for (const [e, cause] of [
      [evidence({ vsControl: "shifted" }), "shifted_vs_control"],
      [evidence({ vsTarget: "shifted", vsControl: "equivalent" }), "shifted_vs_target"],
      [evidence({ driftAlarm: true, vsControl: "equivalent" }), "drift_alarm"],
    ] as const) {
      expect(transition(at("running", 0), e)).toMatchObject({
        kind: "rolled_back",
        cause,
        state: "rolled_back",
        percent: 0,
        alert: "promotion_rolled_back",
      });
      expect(transition(at("running", 0, { on_regression: "pause" }), e)).toMatchObject({
        kind: "paused",
        cause,
        state: "paused",
        percent: 10,
        alert: "promotion_paused",
      });
    }
  });

  it("drops evidence of another step and anything after the promotion closed", () => {
    expect(transition(at("running", 1), evidence({ step: 0, vsControl: "shifted" }))).toMatchObject({ kind: "none", why: "stale" });
    expect(transition(at("paused", 0), evidence({ vsControl: "equivalent" }))).toMatchObject({ kind: "none", why: "stale" });
    for (const s of ["completed", "rolled_back", "superseded"] as const) {
      expect(transition(at(s, 0), evidence({ vsControl: "shifted" }))).toEqual({ kind: "none", why: "closed", refused: false });
      expect(transition(at(s, 0), { kind: "admin", action: "resume" })).toEqual({ kind: "none", why: "closed", refused: true });
    }
  });

  it("pauses on the step's deadline with an alert, once", () => {
    expect(transition(at("running", 1), { kind: "deadline", step: 1 })).toMatchObject({
      kind: "paused",
      cause: "inconclusive_timeout",
      alert: "promotion_paused",
    });
    expect(transition(at("running", 1), { kind: "deadline", step: 0 })).toMatchObject({ kind: "none", why: "stale" });
    expect(transition(at("paused", 1), { kind: "deadline", step: 1 })).toMatchObject({ kind: "none" });
  });

  it("takes admin overrides where they apply, without alerts, and refuses the rest", () => {
    expect(transition(at("running", 0), { kind: "admin", action: "pause" })).toMatchObject({
      kind: "paused",
      cause: "admin",
      alert: null,
      percent: 10,
    });
    expect(transition(at("paused", 0), { kind: "admin", action: "resume" })).toMatchObject({ kind: "resumed", state: "running", step: 0 });
    expect(transition(at("paused", 0), { kind: "admin", action: "advance" })).toMatchObject({
      kind: "advanced",
      state: "running",
      step: 1,
      cause: "admin",
    });
    expect(transition(at("running", 1), { kind: "admin", action: "advance" })).toMatchObject({ kind: "completed", percent: 100 });
    expect(transition(at("paused", 1), { kind: "admin", action: "rollback" })).toMatchObject({ kind: "rolled_back", alert: null, percent: 0 });
    expect(transition(at("running", 0), { kind: "admin", action: "resume" })).toEqual({ kind: "none", why: "stale", refused: true });
    expect(transition(at("paused", 0), { kind: "admin", action: "pause" })).toEqual({ kind: "none", why: "stale", refused: true });
  });

  it("is superseded by a manual activation of the gate", () => {
    expect(transition(at("paused", 1), { kind: "activation" })).toMatchObject({ kind: "superseded", cause: "activation", percent: 0, alert: null });
  });

  it("serves the step's share while running or paused", () => {
    expect([
      percentOf(plan(), "running", 1),
      percentOf(plan(), "paused", 0),
      percentOf(plan(), "completed", 0),
      percentOf(plan(), "rolled_back", 1),
    ]).toEqual([50, 10, 100, 0]);
  });

  it("never mutates its argument", () => {
    const p = Object.freeze(at("running", 0));
    transition(p, evidence({ vsControl: "equivalent" }));
    expect(p).toEqual(at("running", 0));
  });
});

describe("stepDeadline", () => {
  it("counts max_step_hours from the step's entry into running (the row's updated_at: a start, an advance or a resume)", () => {
    const row = { updated_at: "2026-12-01T10:00:00.000Z", plan: plan({ max_step_hours: 1.5 }) };
    expect(new Date(stepDeadline(row)).toISOString()).toBe("2026-12-01T11:30:00.000Z");
    expect(stepDeadline({ ...row, updated_at: "2026-12-02T00:00:00.000Z" }) - stepDeadline(row)).toBe(14 * 3600 * 1000);
  });
});

describe("a manual activation supersedes the gate's open promotion (supersedeOnActivation), also when run late", () => {
  const open: PromotionRow = {
    id: "prm_1",
    gate_id: "g",
    candidate_calibration_id: "cal_candidate",
    control_calibration_id: "cal_control",
    plan: plan(),
    state: "running",
    step: 0,
    version: 1,
    started_at: "2026-12-03T10:00:00.000Z",
    updated_at: "2026-12-03T10:00:00.000Z",
    actor: "ops",
  };
  const activation = (calibration_id: string, previous_calibration_id: string | null): Activation => ({
    id: "act_1",
    gate_id: "g",
    index_version: "v2",
    calibration_id,
    previous_calibration_id,
    activated_at: "2026-12-03T10:05:00.000Z",
    actor: "ops",
    reason: null,
  });
  /** Promotion deps that record the supersession's attempted transition (refused, so nothing else runs). */
  function deps() {
    const tried: string[] = [];
    const d = {
      now: () => new Date("2026-12-03T10:10:00.000Z"),
      promotions: {
        open: async () => open,
        transition: async (_id: string, _v: number, next: { state: string }) => {
          tried.push(next.state);
          return false;
        },
      },
    };
    return { tried, deps: d as unknown as PromotionDeps };
  }

  it("supersedes a promotion open before the activation (its control is the calibration the activation replaced)", async () => {
    const { tried, deps: d } = deps();
    await supersedeOnActivation(activation("cal_other", "cal_control"), d);
    expect(tried).toEqual(["superseded"]);
  });

  it("leaves a promotion started after it (its control is the activated calibration): the late run of a crashed activation", async () => {
    const { tried, deps: d } = deps();
    await supersedeOnActivation(activation("cal_control", "cal_before"), d);
    expect(tried).toEqual([]);
  });

  it("re-activating the current calibration still supersedes, as it always did", async () => {
    const { tried, deps: d } = deps();
    await supersedeOnActivation(activation("cal_control", "cal_control"), d);
    expect(tried).toEqual(["superseded"]);
  });
});
