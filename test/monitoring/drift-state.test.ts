import { describe, expect, it } from "vitest";
import type { Expectation } from "../../src/calibrations/expectation";
import type { WindowStatus } from "../../src/contract";
import { driftState, standingWindow } from "../../src/monitoring/drift-state";
import { addBatch, evaluateWindow, newWindow, restartDetector, type WindowState, windowStatus } from "../../src/monitoring/window";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import type { QueryObservation } from "../../src/stats/per-query";

/** An open window's tests, armed or not. */
const win = (armed: boolean, emptyArmed: boolean | null = null, calibration_id = "cal_a") =>
  ({
    calibration_id,
    drop_rate: { armed } as WindowStatus["drop_rate"],
    empty_context: emptyArmed === null ? null : ({ armed: emptyArmed } as NonNullable<WindowStatus["empty_context"]>),
  }) as const;

const none = { windows: [], recall: [], pending: [], unresolved: [] };

/** A window whose restarted detector is not armed yet: `toArm` more queries, its evidence `logEvidence`. */
const restarted = (toArm: number, logEvidence: number, calibration_id = "cal_a") =>
  ({
    calibration_id,
    drop_rate: { armed: false, not_armed_reason: "too_few_queries", queries_to_arm: toArm, log_evidence: logEvidence } as WindowStatus["drop_rate"],
    empty_context: null,
    abstention: { armed: false, not_armed_reason: "too_few_queries", queries_to_arm: toArm, log_evidence: 0 } as NonNullable<
      WindowStatus["abstention"]
    >,
  }) as const;

describe("driftState", () => {
  it("says how many queries a restarted detector needs before it is armed, whatever evidence it already holds", () => {
    // An alarm restarted the detector; its alert was resolved; 40 queries since hold evidence above the alarm level.
    const s = driftState({ ...none, windows: [restarted(60, 61.06)] });
    expect(s).toMatchObject({ state: "not_armed", queries_to_arm: 60 });
    // The fewest over the gate's tests; none once a test is armed.
    expect(driftState({ ...none, windows: [restarted(60, 61.06), restarted(25, 0)] }).queries_to_arm).toBe(25);
    expect(driftState({ ...none, windows: [restarted(60, 61.06), win(true)] })).toMatchObject({ state: "watching", queries_to_arm: null });
    // While the alarm stands, the restarted detector's count is there too.
    const alarm = driftState({
      ...none,
      windows: [restarted(60, 61.06)],
      unresolved: [{ kind: "drop_rate_drift", since: "2026-12-02T10:00:00.000Z", id: "a" }],
    });
    expect(alarm).toMatchObject({ state: "alarm", queries_to_arm: 60 });
  });

  it("reads alarm while a drift alert is unresolved, since its first occurrence, whatever the restarted detector says", () => {
    const s = driftState({
      ...none,
      windows: [win(false)],
      unresolved: [
        { kind: "drop_rate_drift", since: "2026-12-02T10:00:00.000Z", id: "alr_1" },
        { kind: "rebuild_shift", since: "2026-12-01T09:00:00.000Z", id: "alr_0" },
      ],
    });
    expect(s).toEqual({
      state: "alarm",
      since: "2026-12-02T10:00:00.000Z",
      kinds: ["drop_rate_drift"],
      alert_ids: ["alr_1"],
      alerts: [{ kind: "drop_rate_drift", alert_id: "alr_1", since: "2026-12-02T10:00:00.000Z" }],
      queries_to_arm: null,
    });
  });

  it("reads alarm for an alarm the monitor has not yet stored, and starts the alarm at the earliest holder", () => {
    const s = driftState({
      ...none,
      windows: [win(true)],
      pending: [{ kind: "empty_context", at: Date.parse("2026-12-02T08:00:00Z") }],
      unresolved: [{ kind: "recall_drift", since: "2026-12-02T09:00:00.000Z", id: null }],
    });
    expect(s).toEqual({
      state: "alarm",
      since: "2026-12-02T08:00:00.000Z",
      kinds: ["empty_context", "recall_drift"],
      alert_ids: [],
      alerts: [
        { kind: "empty_context", alert_id: null, since: "2026-12-02T08:00:00.000Z" },
        { kind: "recall_drift", alert_id: null, since: "2026-12-02T09:00:00.000Z" },
      ],
      queries_to_arm: null,
    });
  });

  it("lists alert_ids in the order of kinds, and pairs each kind with its alert, whatever order the alerts came in", () => {
    // The gate's unresolved alerts arrive newest first: recall, then empty context, then drop rate.
    const s = driftState({
      ...none,
      unresolved: [
        { kind: "recall_drift", since: "2026-12-02T12:00:00.000Z", id: "alr_recall" },
        { kind: "empty_context", since: "2026-12-02T11:00:00.000Z", id: "alr_empty" },
        { kind: "drop_rate_drift", since: "2026-12-02T10:00:00.000Z", id: "alr_drop" },
      ],
      pending: [{ kind: "abstention_drift", at: Date.parse("2026-12-02T13:00:00Z") }],
    });
    expect(s.kinds).toEqual(["drop_rate_drift", "empty_context", "recall_drift", "abstention_drift"]);
    expect(s.alert_ids).toEqual(["alr_drop", "alr_empty", "alr_recall"]);
    expect(s.alerts.map((a) => [a.kind, a.alert_id])).toEqual([
      ["drop_rate_drift", "alr_drop"],
      ["empty_context", "alr_empty"],
      ["recall_drift", "alr_recall"],
      ["abstention_drift", null],
    ]);
  });

  it("is watched only by the current calibration's tests: after a rollback, the replaced calibration's armed window does not count", () => {
    // v2's window (services not yet refreshed) is armed; v1, served again, holds a restarted detector 50 queries short.
    const windows = [win(true, null, "cal_v2"), restarted(50, 58.4, "cal_v1")];
    expect(driftState({ ...none, windows, currentCalibrationId: "cal_v1" })).toMatchObject({ state: "not_armed", queries_to_arm: 50 });
    expect(driftState({ ...none, windows, currentCalibrationId: "cal_v2" })).toMatchObject({ state: "watching", queries_to_arm: null });
    // the same for coverage tests
    const recall = [{ calibration_id: "cal_v2", armed: true }];
    expect(driftState({ ...none, windows: [restarted(50, 0, "cal_v1")], recall, currentCalibrationId: "cal_v1" }).state).toBe("not_armed");
  });

  it("counts a repeat alarm waiting in the outbox as the alert already stored, not as a second holder", () => {
    const s = driftState({
      ...none,
      unresolved: [{ kind: "drop_rate_drift", since: "2026-12-02T10:00:00.000Z", id: "alr_1" }],
      pending: [{ kind: "drop_rate_drift", at: Date.parse("2026-12-02T11:00:00Z") }],
    });
    expect(s.alerts).toEqual([{ kind: "drop_rate_drift", alert_id: "alr_1", since: "2026-12-02T10:00:00.000Z" }]);
    expect(s.alert_ids).toEqual(["alr_1"]);
  });

  it("without an alarm: watching once a test is armed, not armed before, no observations without windows or coverage tests", () => {
    expect(driftState({ ...none, windows: [win(false), win(true)] }).state).toBe("watching");
    expect(driftState({ ...none, windows: [win(false, true)] }).state).toBe("watching");
    expect(driftState({ ...none, windows: [win(false, false)] })).toEqual({
      state: "not_armed",
      since: null,
      kinds: [],
      alert_ids: [],
      alerts: [],
      queries_to_arm: null,
    });
    expect(driftState({ ...none, recall: [{ calibration_id: "cal_a", armed: true }] }).state).toBe("watching");
    expect(driftState(none).state).toBe("no_observations");
    // Alerts that are not drift alerts do not put a gate in alarm.
    expect(driftState({ ...none, unresolved: [{ kind: "uncalibrated_request", since: "2026-12-02T09:00:00.000Z", id: "alr_2" }] }).state).toBe(
      "no_observations",
    );
  });
});

describe("the alarmed tests' numbers after an alarm (empty context and abstention as the drop rate)", () => {
  const FLAT_Q: Expectation = { n: 5000, expected_drop_rate: 0.1, empty_context_rate: 0.05, n_queries: 500 };
  /** A window whose empty-context and abstention tests just alarmed (the drop rate's did not). */
  function alarmedWindow(): { w: WindowState; status: WindowStatus } {
    const queries: QueryObservation[] = Array.from({ length: 200 }, (_, i) => [10, i % 2 === 0 ? 10 : 1, i % 2 === 0 ? 10 : 1, i % 2 === 0 ? 1 : 0]);
    const w = addBatch(newWindow("cal_x", "v1", FLAT_Q, 0), queries, null, () => 0, 0);
    const ev = evaluateWindow(w, DEFAULT_DRIFT_CONFIG);
    const status = windowStatus(w, ev);
    const abstention = { ...status.empty_context!, observed: 0.5, expected: 0.1, log_evidence: 33 };
    const fired = {
      ...ev,
      dropRate: { ...ev.dropRate, alarm: false },
      emptyContext: { ...ev.emptyContext!, alarm: true },
      abstention: { ...ev.dropRate, alarm: true },
    };
    const withAbstention = { ...status, abstention, abstention_queries: 200 };
    return { w: restartDetector(w, withAbstention, fired, Date.parse("2026-12-02T10:00:00Z")), status: withAbstention };
  }

  it("keeps each alarmed test's numbers in the window and restarts the tests that alarmed, the counts kept", () => {
    const { w, status } = alarmedWindow();
    expect(w.alarms).toBe(1);
    expect(w.sums.queries).toBe(200);
    // The drop rate did not alarm: it keeps its evidence in the shared detector; the two that did start afresh.
    expect(w.detector?.total.queries).toBe(200);
    expect(w.test_detectors?.empty_context?.total.queries).toBe(0);
    expect(w.test_detectors?.abstention?.total.queries).toBe(0);
    expect(w.alarmed?.drop_rate).toBeUndefined();
    expect(w.alarmed?.empty_context).toMatchObject({
      at: "2026-12-02T10:00:00.000Z",
      queries: 200,
      observed: 0.5,
      log_evidence: status.empty_context!.log_evidence,
    });
    expect(w.alarmed?.abstention).toMatchObject({ queries: 200, observed: 0.5, expected: 0.1, log_evidence: 33 });
    const shown = windowStatus(w, evaluateWindow(w, DEFAULT_DRIFT_CONFIG));
    // The restarted detector's evidence is 0; the alarmed numbers stand beside it.
    expect(shown.empty_context).toMatchObject({ log_evidence: 0, observed: 0.5 });
    expect(shown.empty_context!.alarmed).toEqual(w.alarmed!.empty_context);
  });

  it("reports them while their alert holds the gate's alarm, on served traffic only", () => {
    const { w } = alarmedWindow();
    const served = { ...windowStatus(w, evaluateWindow(w, DEFAULT_DRIFT_CONFIG)), abstention: null, traffic: "served" as const };
    const withAbstention = { ...served, abstention: { ...served.empty_context!, alarmed: w.alarmed!.abstention! } };
    // Each alert began at the alarm (its first_seen_at is the monitor's detection time).
    const AT = "2026-12-02T10:00:00.000Z";
    const holds = (...kinds: ("empty_context" | "abstention_drift")[]) => kinds.map((kind) => ({ kind, alert_id: `alr_${kind}`, since: AT }));
    const both = standingWindow(withAbstention, holds("empty_context", "abstention_drift"));
    expect(both.empty_context!.alarmed).toEqual(w.alarmed!.empty_context);
    expect(both.abstention!.alarmed).toEqual(w.alarmed!.abstention);
    // empty_context resolved, abstention_drift still open
    const one = standingWindow(withAbstention, holds("abstention_drift"));
    expect(one.empty_context!.alarmed).toBeNull();
    expect(one.abstention!.alarmed).toEqual(w.alarmed!.abstention);
    expect(standingWindow({ ...withAbstention, traffic: "shadow" }, holds("empty_context", "abstention_drift")).empty_context!.alarmed).toBeNull();
    expect(standingWindow(served, []).abstention).toBeNull();
  });

  it("are not shown under a later alert of the same kind: an earlier, resolved alert's alarm is older than it", () => {
    const { w } = alarmedWindow();
    const served = { ...windowStatus(w, evaluateWindow(w, DEFAULT_DRIFT_CONFIG)), traffic: "served" as const };
    // the 10:00 alarm's alert was resolved; a new empty_context alert began at 12:00 (from another window)
    const later = standingWindow(served, [{ kind: "empty_context", alert_id: "alr_new", since: "2026-12-02T12:00:00.000Z" }]);
    expect(later.empty_context!.alarmed).toBeNull();
  });
});
