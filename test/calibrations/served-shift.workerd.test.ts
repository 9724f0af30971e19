/**
 * A calibration is read with the shift that is true now (src/calibrations/served-shift.ts): one stored without being
 * served, then activated, says the alert its activation raised; what its upload answered is not rewritten, and
 * calibrations whose activations raised nothing keep their reasons.
 */
import { describe, expect, it } from "vitest";
import v1Body from "../../fixtures/walkthrough/v1.json";
import v2Body from "../../fixtures/walkthrough/v2.json";
import { asQueries, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

/** As queries of 20, so the rebuild decision measures clustering (test/alerts/routes.workerd.test.ts says why). */
const upload = (gate: object, version: string, scores: number[], extra: object = {}) => ({
  token: TOKENS.calibrate,
  json: { ...gate, index_version: version, queries: asQueries(scores), policy: { kind: "drop_rate", target: 0.2 }, ...extra },
});

const read = async (id: string) => callJson("GET", `/v1/calibrations/${id}`, 200, { token: TOKENS.read });
const historyOf = async (gate: Record<string, string>) => callJson("GET", `/v1/calibrations?${qs(gate)}`, 200, { token: TOKENS.read });
const shiftAlerts = async (gate: Record<string, string>) =>
  (await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "rebuild_shift" })}`, 200, { token: TOKENS.read })).alerts;

describe("the shift an activation recomputes for a calibration of one query", () => {
  it("reads its side as flat (no clustering measured): the design effect is the replaced calibration's, at upload and at activation", async () => {
    const gate = uniqueGate("one-query-activation");
    const v1 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", spreadScores(5000)))).calibration;
    const one = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v2", queries: [spreadScores(5000)], policy: { kind: "drop_rate", target: 0.2 }, activate: false },
    });
    expect(one.calibration.warnings.map((w) => w.code)).toContain("flat_scores");
    expect(one.shift).toMatchObject({ design_effect_source: "previous", design_effect: v1.per_query!.design_effect, new_side: null });
    const activated = await callJson("POST", `/v1/calibrations/${one.calibration.id}/activate`, 200, { json: {} });
    expect(activated.shift).toMatchObject({ design_effect_source: "previous", design_effect: v1.per_query!.design_effect });
  });
});

describe("the shift a calibration is read with", () => {
  it("says the alert an activation raised after the upload stored it without serving it", async () => {
    const gate = uniqueGate("served-shift");
    const v1 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", spreadScores(5000)))).calibration;
    // 0.15 lower: v1's threshold drops ~35 % instead of 20 %. "auto" stores it without serving it.
    const stored = await callJson("POST", "/v1/calibrations", 201, upload(gate, "v2", spreadScores(5000, -0.15)));
    expect(stored.activation_outcome).toMatchObject({ activated: false, reason: "shifted" });
    expect(stored.shift).toMatchObject({ decision: "shifted", alert: false, not_alerted: "not_activated" });
    const v2 = stored.calibration.id;
    // Before it is activated, that is what is true.
    const before = await read(v2);
    expect(before.shift).toMatchObject({ decision: "shifted", alert: false, not_alerted: "not_activated" });
    expect(before.shift).not.toHaveProperty("alert_id");

    const activated = await callJson("POST", `/v1/calibrations/${v2}/activate`, 200, { json: { reason: "reviewed" } });
    const [alert] = await shiftAlerts(gate);
    expect(alert).toMatchObject({ status: "open", calibration_ids: [v1.id, v2] });
    // the answer's own report names the alert it raised, as the calibration's does
    expect(activated.shift).toMatchObject({ decision: "shifted", alert: true, alert_id: alert!.id });
    expect(activated.calibration.shift).toMatchObject({ alert: true, not_alerted: null, alert_id: alert!.id });

    const after = await read(v2);
    expect(after.shift).toMatchObject({ decision: "shifted", alert: true, not_alerted: null, alert_id: alert!.id, previous_calibration_id: v1.id });
    // The report is the one that alerted (the alert's own), with its reason.
    expect(after.shift!.reason).toBe((alert!.details.shift as { reason: string }).reason);
    // Rolling back to v1 resolves the alert v2's activation raised, and raises nothing: "rollback", as for an upload
    // that was served at once.
    const rollback = await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { json: {} });
    expect(rollback.shift).toMatchObject({ decision: "shifted", alert: false, not_alerted: "rollback" });
    expect((await shiftAlerts(gate)).map((a) => [a.id, a.status])).toEqual([[alert!.id, "resolved"]]);
    // The gate's history says the same.
    const listed = (await historyOf(gate)).calibrations.find((c) => c.id === v2);
    expect(listed!.shift).toEqual(after.shift);
    // v1 raised nothing: read as stored.
    expect((await read(v1.id)).shift).toBeNull();
  });

  it("keeps the reasons of a rollback, a no-op activation and a calibration never activated", async () => {
    const gate = uniqueGate("served-shift-rollback");
    const v1 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", spreadScores(5000)))).calibration;
    const v2 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v2", spreadScores(5000, -0.15), { activate: true }))).calibration;
    expect(v2.shift).toMatchObject({ decision: "shifted", alert: true });
    const [raised] = await shiftAlerts(gate);

    // Rolling back to v1 raises nothing and resolves v2's alert: the answer says "rollback", v1 is read as stored.
    const rollback = await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { json: {} });
    expect(rollback.shift).toMatchObject({ decision: "shifted", alert: false, not_alerted: "rollback" });
    expect(rollback.calibration.shift).toBeNull();
    expect((await read(v1.id)).shift).toBeNull();
    expect((await shiftAlerts(gate)).map((a) => [a.id, a.status])).toEqual([[raised!.id, "resolved"]]);
    // v2's activation did raise it (now resolved): still said, with its id.
    expect((await read(v2.id)).shift).toMatchObject({ alert: true, alert_id: raised!.id });

    // Activating the current calibration again is a no-op: nothing raised, nothing read differently.
    const noop = await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { json: {} });
    expect(noop.already_current).toBe(true);
    expect((await read(v1.id)).shift).toBeNull();

    // Stored without being served and never activated: "not_activated" stays true.
    const v3 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v3", spreadScores(5000, -0.15), { activate: false }))).calibration;
    const v3Read = await read(v3.id);
    expect(v3Read.shift).toMatchObject({ decision: "shifted", alert: false, not_alerted: "not_activated" });
    expect(v3Read.shift).not.toHaveProperty("alert_id");
    expect((await shiftAlerts(gate)).length).toBe(1);
  });

  it("one stored without being served and activated later without an alert is read with its activation's report", async () => {
    const gate = uniqueGate("served-shift-later");
    const v1 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", spreadScores(5000)))).calibration;
    const v2 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v2", spreadScores(5000, -0.15)))).calibration;
    expect(v2.shift).toMatchObject({ previous_calibration_id: v1.id, decision: "shifted", not_alerted: "not_activated" });
    // v3, the same scores as v2, is served at once and alerts against v1
    const v3 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v3", spreadScores(5000, -0.15), { activate: true }))).calibration;
    const [alert] = await shiftAlerts(gate);
    expect(alert!.calibration_ids).toEqual([v1.id, v3.id]);
    // v2 replaces v3: nothing moved, nothing raised
    const activated = await callJson("POST", `/v1/calibrations/${v2.id}/activate`, 200, { json: {} });
    expect(activated.shift).toMatchObject({ previous_calibration_id: v3.id, alert: false });
    expect(activated.shift!.decision).not.toBe("shifted");
    expect((await shiftAlerts(gate)).length).toBe(1);
    // "not_activated" is no longer true: v2 is read with the report its activation made, as the activation answered
    const read = await callJson("GET", `/v1/calibrations/${v2.id}`, 200, { token: TOKENS.read });
    expect(read.current).toBe(true);
    expect(read.shift).toEqual(activated.shift);
    expect(activated.calibration.shift).toEqual(activated.shift);
    expect((await historyOf(gate)).calibrations.find((c) => c.id === v2.id)!.shift).toEqual(activated.shift);
    // v3 still says the alert its activation raised
    expect((await callJson("GET", `/v1/calibrations/${v3.id}`, 200, { token: TOKENS.read })).shift).toMatchObject({
      alert: true,
      alert_id: alert!.id,
    });
  });

  it("an activation compared with the calibration its upload compared with gives the upload's numbers, not a design effect measured at its own threshold", async () => {
    // The README walk-through's uploads: v2's queries move together more at v1's threshold 0.4 (design effect 3.42)
    // than at its own 0.1491 (3.05), which the kept distribution alone cannot tell; the activation reuses the upload's.
    const gate = { index: uniqueGate("served-shift-same").index, embedding: v1Body.embedding, reranker: v1Body.reranker };
    const v1 = (await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...v1Body, ...gate } })).calibration;
    const stored = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...v2Body, ...gate, activate: false } });
    const up = stored.shift!;
    expect(up).toMatchObject({ previous_calibration_id: v1.id, design_effect_source: "both" });
    expect(up.new_side).toMatchObject({ guarded: false });
    expect(up.new_side!.design_effect).toBeGreaterThan(stored.calibration.per_query!.design_effect + 0.2);
    const numbers = (s: typeof up) => [
      s.drop_rate_at_previous_threshold,
      s.design_effect,
      s.degrees_of_freedom,
      s.z,
      s.change_interval_95,
      s.decision,
      s.new_side,
    ];
    const dry = await callJson("POST", `/v1/calibrations/${stored.calibration.id}/activate`, 200, { json: { dry_run: true } });
    expect(numbers(dry.shift!)).toEqual(numbers(up));
    const activated = await callJson("POST", `/v1/calibrations/${stored.calibration.id}/activate`, 200, { json: { reason: "reviewed" } });
    expect(numbers(activated.shift!)).toEqual(numbers(up));
    // Against another calibration (v1 again, now the one replaced) the upload's measurement does not apply: the
    // rollback compares v1 with v2's scores from v1's own upload, which measured nothing against v2.
    const rollback = await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { json: {} });
    expect(rollback.shift!.new_side).toBeNull();
  });
});
