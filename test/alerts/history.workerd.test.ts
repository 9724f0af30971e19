/**
 * Alert history: every occurrence is kept with its own numbers and the first is never overwritten (an alert reads the
 * latest occurrence's summary, and keeps the first's as first_summary); a rollback to the
 * calibration served before a rebuild_shift resolves that alert with a note naming the activation; promoting it back
 * resolves it only once the promotion completes.
 */

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import v1 from "../../fixtures/walkthrough/v1.json";
import v2 from "../../fixtures/walkthrough/v2.json";
import { raiseAlert } from "../../src/alerts/lifecycle";
import type { Env } from "../../src/platform/env";
import { alertDeps } from "../../src/worker/wiring";
import { call, callJson, qs, TOKENS, uniqueGate } from "../support/worker";

describe("rebuild_shift history and rollback", () => {
  it("a rollback to v1 resolves the v2 alert with a note and keeps its 0.4-drops-59 % text", async () => {
    const gate = uniqueGate("rollback");
    const first = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...v1, ...gate } });
    const second = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...v2, ...gate } });
    expect(second.shift!.alert).toBe(true);
    const [alert] = (await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "rebuild_shift" })}`, 200)).alerts;
    expect(alert!.summary).toContain("drops 59.0 %");

    const rollback = await callJson("POST", `/v1/calibrations/${first.calibration.id}/activate`, 200, { json: { reason: "v2 hurt recall" } });
    // v1 against v2 moves too, but the incident is over, not a new one: the report says so and alerts nobody.
    expect(rollback.shift).toMatchObject({ decision: "shifted", alert: false, not_alerted: "rollback" });
    const after = await callJson("GET", `/v1/alerts/${alert!.id}`, 200);
    expect(after).toMatchObject({
      status: "resolved",
      resolved_by: "alice",
      summary: alert!.summary,
      first_summary: alert!.summary,
      details: alert!.details,
      occurrences: 1,
    });
    expect(after.resolved_note).toContain(rollback.activation!.id);
    const all = (await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "rebuild_shift" })}`, 200)).alerts;
    expect(all).toHaveLength(1);

    // promoting v2 again is a new incident: a new alert, and the resolved one keeps its history
    const promoted = await callJson("POST", `/v1/calibrations/${second.calibration.id}/activate`, 200);
    expect(promoted.shift).toMatchObject({ decision: "shifted", alert: true, not_alerted: null });
    const again = (await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "rebuild_shift" })}`, 200)).alerts;
    expect(again).toHaveLength(2);
    expect(again[0]).toMatchObject({ status: "open", calibration_ids: [first.calibration.id, second.calibration.id] });
  });

  it("promoting v1 back at 10 % leaves the v2 alert open: only v1 served to everyone again resolves it", async () => {
    const gate = uniqueGate("partial-return");
    const first = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...v1, ...gate } });
    await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...v2, ...gate, activate: true } });
    const [alert] = (await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "rebuild_shift" })}`, 200)).alerts;
    expect(alert).toMatchObject({ status: "open" });
    const status = async () => (await callJson("GET", `/v1/alerts/${alert!.id}`, 200)).status;

    const promotion = await callJson("POST", `/v1/calibrations/${first.calibration.id}/promote`, 201, {
      json: { steps: [10, 50, 100], min_queries: 200, reason: "back to v1, carefully" },
    });
    expect(promotion).toMatchObject({ state: "running", percent: 10 });
    expect(await status()).toBe("open");
    // the admin ends it: v1 is the gate's current calibration again, which is what resolves the incident
    await callJson("POST", `/v1/promotions/${promotion.id}/advance`, 200, { json: { reason: "enough" } });
    await callJson("POST", `/v1/promotions/${promotion.id}/advance`, 200, { json: { reason: "enough" } });
    expect(await status()).toBe("resolved");
  });

  it("repeats read the latest occurrence's summary, keep the first's, and list every occurrence with its own", async () => {
    const deps = alertDeps(env as unknown as Env, () => undefined);
    const input = (observed: number) => ({
      gate_id: "gate-history-drift",
      gate: { index: "docs", embedding: "e5", reranker: "bge-history" },
      kind: "drop_rate_drift" as const,
      summary: `production drop rate ${observed} %`,
      details: { observed },
      calibration_ids: ["cal_x"],
    });
    const first = await raiseAlert(input(41), deps);
    const second = await raiseAlert(input(47), deps);
    expect(second.opened).toBe(false);
    const alert = await callJson("GET", `/v1/alerts/${first.alert.id}`, 200);
    const latest = { occurrences: 2, summary: "production drop rate 47 %", first_summary: "production drop rate 41 %", details: { observed: 41 } };
    expect(alert).toMatchObject(latest);
    expect(second.alert).toMatchObject(latest);
    // every list reads the same: the latest occurrence's sentence, not the first's
    const listed = (await callJson("GET", `/v1/alerts?${qs({ gate_id: "gate-history-drift" })}`, 200, { token: TOKENS.read })).alerts;
    expect(listed.find((a: any) => a.id === first.alert.id)).toMatchObject(latest);
    const { occurrences } = await callJson("GET", `/v1/alerts/${first.alert.id}/occurrences`, 200, { token: TOKENS.read });
    expect(occurrences.map((o: any) => o.details.observed)).toEqual([47, 41]);
    expect(occurrences[0]!.summary).toBe("production drop rate 47 %");
    expect((await call("GET", "/v1/alerts/alr_nope/occurrences")).status).toBe(404);
  });
});
