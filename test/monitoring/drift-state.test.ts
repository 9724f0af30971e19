import { describe, expect, it } from "vitest";
import type { WindowStatus } from "../../src/contract";
import { driftState } from "../../src/monitoring/drift-state";

/** An open window's tests, armed or not. */
const win = (armed: boolean, emptyArmed: boolean | null = null) =>
  ({
    drop_rate: { armed } as WindowStatus["drop_rate"],
    empty_context: emptyArmed === null ? null : ({ armed: emptyArmed } as NonNullable<WindowStatus["empty_context"]>),
  }) as const;

const none = { windows: [], recall: [], pending: [], unresolved: [] };

/** A window whose restarted detector is not armed yet: `toArm` more queries, its evidence `logEvidence`. */
const restarted = (toArm: number, logEvidence: number) =>
  ({
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
    expect(driftState({ ...none, recall: [{ armed: true }] }).state).toBe("watching");
    expect(driftState(none).state).toBe("no_observations");
    // Alerts that are not drift alerts do not put a gate in alarm.
    expect(driftState({ ...none, unresolved: [{ kind: "uncalibrated_request", since: "2026-12-02T09:00:00.000Z", id: "alr_2" }] }).state).toBe(
      "no_observations",
    );
  });
});
