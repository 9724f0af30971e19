/**
 * A candidate-arm batch that reaches the Worker after its promotion closed (queued in a client across the change):
 * after a completion it is served traffic of the calibration now served (the candidate), counted in its window and able
 * to raise the gate's alerts, once (a retried batch_id is a duplicate); after a rollback it is counted nowhere
 * (src/monitoring/batch-promotion.ts says why). Neither changes the promotion.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { admin, type Gate, twoVersions } from "../support/promotions";
import { callJson, qs, TOKENS } from "../support/worker";

describe("a candidate-arm batch arriving after its promotion closed", () => {
  type P = { id: string; gate_id: string };
  const same = (n: number, q: number[]) => Array.from({ length: n }, () => q);
  /** The incident's candidate batch of step 0: 70 % dropped against the calibration's 20 % (one batch alarms). */
  const lateBatch = (p: P, batch_id: string, calibration_id: string) => ({
    batch_id,
    calibration_id,
    promotion: { id: p.id, step: 0, arm: "candidate" },
    queries: same(120, [20, 14]),
  });
  const post = (json: unknown) => callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json });
  const alertKinds = async (gateId: string) =>
    (await env.DB.prepare("SELECT kind FROM alerts WHERE gate_id = ?").bind(gateId).all<{ kind: string }>()).results.map((a) => a.kind);
  const windowsOf = async (gate: Gate, calibrationId: string) =>
    (await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read })).windows.filter(
      (w: { calibration_id: string }) => w.calibration_id === calibrationId,
    );

  it("after a completion counts as the now-served calibration's traffic: its window, its drift alert, once", async () => {
    const { gate, v2 } = await twoVersions("late-done");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [10, 100], min_queries: 200 } });
    const done = await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { ...admin, json: {} });
    expect(done).toMatchObject({ state: "completed", percent: 100 });
    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(served).toMatchObject({ calibration_id: v2.id, rollout: null });
    const steps = done.steps.length;
    // (The activation itself raised rebuild_shift: v2's scores are shifted from v1's; no drift alert yet.)
    const drift = async () => (await alertKinds(p.gate_id)).filter((k) => k === "drop_rate_drift");
    expect(await drift()).toEqual([]);

    const late = await post(lateBatch(p, "done-cand-1", v2.id));
    expect(late).toMatchObject({
      queued: false,
      accepted: true,
      duplicate: false,
      calibration_id: v2.id,
      alerts: ["drop_rate_drift"],
      window: { calibration_id: v2.id, queries: 120, drop_rate: { alarm: true } },
    });
    expect(await drift()).toEqual(["drop_rate_drift"]);
    expect(await windowsOf(gate, v2.id)).toMatchObject([{ role: "active", queries: 120 }]);
    // A retry is a duplicate: counted once, no second occurrence of the alert.
    const retried = await post(lateBatch(p, "done-cand-1", v2.id));
    expect(retried).toMatchObject({ accepted: false, duplicate: true, alerts: [] });
    expect(await windowsOf(gate, v2.id)).toMatchObject([{ role: "active", queries: 120 }]);
    // The promotion is closed and stays as it was: no audit row, no evidence.
    expect(await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).toMatchObject({
      state: "completed",
      evidence: null,
      steps: { length: steps },
    });
  });

  it("after a rollback counts nowhere (the candidate is not served), once claimed: a retry is a duplicate", async () => {
    const { gate, v1, v2 } = await twoVersions("late-back");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [10, 100], min_queries: 200 } });
    await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: {} });

    const late = await post(lateBatch(p, "back-cand-1", v2.id));
    expect(late).toMatchObject({ queued: false, accepted: true, duplicate: false, calibration_id: v2.id, alerts: [], window: { queries: 0 } });
    expect(await alertKinds(p.gate_id)).toEqual([]);
    expect(await windowsOf(gate, v2.id)).toEqual([]);
    expect(await post(lateBatch(p, "back-cand-1", v2.id))).toMatchObject({ accepted: false, duplicate: true });
    expect(await windowsOf(gate, v2.id)).toEqual([]);
    // The control's served window was not touched either.
    expect(await windowsOf(gate, v1.id)).toEqual([]);
  });
});
