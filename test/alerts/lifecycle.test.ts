/**
 * The alert lifecycle as a service over the store interfaces (no workerd): open, repeat, cap, acknowledge, resolve,
 * and the webhook events each emits. The D1 store's SQL is covered by the workerd tests in this folder.
 */
import { describe, expect, it } from "vitest";
import {
  type AlertInput,
  acknowledgeAlert,
  actOnAlert,
  alertOccurrencesPage,
  raiseAlert,
  raiseCappedAlert,
  resolveAlert,
} from "../../src/alerts/lifecycle";
import { memoryDeps } from "../support/memory-deps";

function alertDeps() {
  // The events are asserted in the store's outbox; sending them is the webhooks feature's (test/webhooks/).
  const core = memoryDeps();
  return { ...core, deps: core.alertDeps };
}

const drift = (summary: string): AlertInput => ({
  gate_id: "gate-1",
  gate: { index: "docs", embedding: "e5", reranker: "bge" },
  kind: "drop_rate_drift",
  summary,
  details: { observed: 0.41 },
  calibration_ids: ["cal_a"],
});

describe("alert lifecycle", () => {
  it("opens one alert per gate and kind, counts repeats as occurrences, reads the latest summary and keeps the first", async () => {
    const { deps, alerts, advance, flush } = alertDeps();
    const first = await raiseAlert(drift("41 % against 30 %"), deps);
    advance(60_000);
    const again = await raiseAlert(drift("47 % against 30 %"), deps);
    await flush();
    expect(first.opened).toBe(true);
    expect(again).toMatchObject({
      opened: false,
      alert: { id: first.alert.id, occurrences: 2, summary: "47 % against 30 %", first_summary: "41 % against 30 %" },
    });
    const { occurrences, next_cursor } = await alertOccurrencesPage(first.alert.id, 10, undefined, deps);
    expect(occurrences.map((o) => o.summary)).toEqual(["47 % against 30 %", "41 % against 30 %"]);
    expect(next_cursor).toBeNull();
    // one alert.opened event, however often it repeats
    expect(alerts.events.map((e) => e.type)).toEqual(["alert.opened"]);
    expect(JSON.parse(alerts.events[0]!.payload)).toMatchObject({ type: "alert.opened", data: { id: first.alert.id } });
  });

  it("refuses to open beyond the cap but still counts repeats of an open one", async () => {
    const { deps } = alertDeps();
    const a = await raiseCappedAlert({ ...drift("x"), gate_id: "g-a", kind: "uncalibrated_request" }, deps, 1);
    expect(a?.opened).toBe(true);
    expect(await raiseCappedAlert({ ...drift("y"), gate_id: "g-b", kind: "uncalibrated_request" }, deps, 1)).toBeNull();
    expect(await raiseCappedAlert({ ...drift("z"), gate_id: "g-a", kind: "uncalibrated_request" }, deps, 1)).toMatchObject({ opened: false });
  });

  it("acknowledges with a note, resolves once (emitting alert.resolved), and refuses to acknowledge a resolved alert", async () => {
    const { deps, alerts, flush } = alertDeps();
    const { alert } = await raiseAlert(drift("41 %"), deps);
    expect(await acknowledgeAlert(alert.id, "alice", "looking", deps)).toMatchObject({
      status: "acknowledged",
      acknowledged_by: "alice",
      acknowledged_note: "looking",
    });
    expect(await resolveAlert(alert.id, "bob", "refitted", deps)).toMatchObject({
      status: "resolved",
      resolved_by: "bob",
      resolved_note: "refitted",
    });
    expect(await resolveAlert(alert.id, "carol", null, deps)).toMatchObject({ resolved_by: "bob" });
    await flush();
    expect(alerts.events.map((e) => e.type)).toEqual(["alert.opened", "alert.resolved"]);
    await expect(acknowledgeAlert(alert.id, "alice", null, deps)).rejects.toMatchObject({ code: "conflict" });
    await expect(acknowledgeAlert("alr_missing", "alice", null, deps)).rejects.toMatchObject({ code: "not_found" });
    // after resolution the same drift opens a new alert
    expect((await raiseAlert(drift("again"), deps)).opened).toBe(true);
  });

  it("a person acting on a stale page: an alert already past the action is reported unchanged, not refused", async () => {
    const { deps, alerts, flush } = alertDeps();
    const { alert } = await raiseAlert(drift("41 %"), deps);
    expect(await actOnAlert("acknowledge", alert.id, "alice", "on it", deps)).toMatchObject({
      changed: true,
      alert: { status: "acknowledged", acknowledged_by: "alice", acknowledged_note: "on it" },
    });
    expect(await actOnAlert("acknowledge", alert.id, "carol", null, deps)).toMatchObject({ changed: false, alert: { acknowledged_by: "alice" } });
    expect(await actOnAlert("resolve", alert.id, "bob", "fixed", deps)).toMatchObject({
      changed: true,
      alert: { status: "resolved", resolved_by: "bob" },
    });
    for (const action of ["acknowledge", "resolve"] as const) {
      expect(await actOnAlert(action, alert.id, "carol", "late", deps)).toMatchObject({
        changed: false,
        alert: { status: "resolved", resolved_by: "bob", resolved_note: "fixed" },
      });
    }
    await flush();
    expect(alerts.events.map((e) => e.type)).toEqual(["alert.opened", "alert.resolved"]);
    await expect(actOnAlert("resolve", "alr_missing", "alice", null, deps)).rejects.toMatchObject({ code: "not_found" });
  });
});
