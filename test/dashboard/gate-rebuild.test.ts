// The gate page's rebuild decision after the newer calibration's promotion was rolled back: the line under the
// decision says whether the rollback overruled the upload-time decision or confirmed it, and whose call it was.
import { describe, expect, it } from "vitest";
import type { Calibration, Promotion, PromotionCause, ShiftReport } from "../../src/contract";
import type { GateView } from "../../src/dashboard/data/gate";
import { RebuildDecision, verdictOf } from "../../src/dashboard/pages/gate-rebuild";

const AT = "2026-12-06T10:00:00.000Z";

const cal = (id: string, version: string, current: boolean, shift: ShiftReport | null): Calibration =>
  ({ id, index_version: version, current, active: current, created_at: AT, shift }) as unknown as Calibration;

function shiftOf(decision: ShiftReport["decision"]): ShiftReport {
  return {
    compared_with: "gate_current",
    previous_gate_id: "g",
    previous_calibration_id: "cal_v1",
    previous_index_version: "v1",
    previous_threshold: 0.34,
    previous_expected_drop_rate: 0.2,
    previous_drop_rate_at_previous_threshold: 0.2,
    drop_rate_at_previous_threshold: decision === "shifted" ? 0.288 : 0.205,
    change_points: decision === "shifted" ? 8.8 : 0.5,
    change_relative: null,
    z: 1,
    p_value: 0.5,
    ks: 0.05,
    psi: { value: 0.01, bins: 10, threshold: 0.25, exceeds: false },
    tolerance: 0.02,
    decision,
    change_interval_95: [0.07, 0.1],
    more_data_factor: null,
    alert: decision === "shifted",
    reason: `${decision} at upload`,
  } as unknown as ShiftReport;
}

function rolledBack(cause: PromotionCause): Promotion {
  return {
    id: "prm_1",
    candidate_calibration_id: "cal_v3",
    control_calibration_id: "cal_v1",
    plan: { steps: [10, 50, 100] },
    state: "rolled_back",
    step: 0,
    percent: 0,
    steps: [
      { kind: "started", cause: "admin", step: 0, percent: 10, at: AT, reason: null },
      { kind: "rolled_back", cause, step: 0, percent: 0, at: AT, reason: null },
    ],
  } as unknown as Promotion;
}

async function render(decision: ShiftReport["decision"], cause: PromotionCause): Promise<string> {
  const older = cal("cal_v1", "v1", true, null);
  const newer = cal("cal_v3", "v3", false, shiftOf(decision));
  const view = {
    current: older,
    calibrations: [newer, older],
    activations: [],
    promotions: [rolledBack(cause)],
    shadows: [],
    comparison: { older, newer, shift: newer.shift },
  } as unknown as GateView;
  const html = (await RebuildDecision({ view }).toString()) as string;
  return html.replace(/<[^>]+>/gu, "").replace(/\s+/gu, " ");
}

describe("the rebuild decision after a promotion's rollback", () => {
  it("says live traffic confirmed a shifted decision, and overruled an equivalent one", async () => {
    const confirmed = await render("shifted", "shifted_vs_control");
    expect(confirmed).toContain("Live traffic confirmed this decision: the promotion of v3 (prm_1) was rolled back at 10 % of traffic");
    expect(confirmed).not.toContain("overruled");
    const overruled = await render("equivalent", "shifted_vs_control");
    expect(overruled).toContain("Live traffic overruled this decision: the promotion of v3 (prm_1) was rolled back");
    expect(await render("inconclusive", "drift_alarm")).toContain("Live traffic overruled this decision");
  });

  it("names a rollback by hand as a person's call, and a timeout as settling nothing", () => {
    expect(verdictOf("shifted", true, "admin")).toEqual({ words: "A person confirmed this decision", field: "confirmed" });
    expect(verdictOf("equivalent", false, "admin")).toEqual({ words: "A person overruled this decision", field: "overruled" });
    for (const decision of ["shifted", "equivalent"] as const)
      expect(verdictOf(decision, decision === "shifted", "inconclusive_timeout").field).toBe("unsettled");
    // a report stored before decisions existed is read by its alert
    expect(verdictOf(null, true, "shifted_vs_target").field).toBe("confirmed");
    expect(verdictOf(null, false, "shifted_vs_target").field).toBe("overruled");
  });
});
