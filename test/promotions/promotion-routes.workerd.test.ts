/**
 * Guarded promotion and shadows through the API: a promotion's state of record is D1, every transition is one
 * conditional write with its audit row and one row of the gate's activation log; overrides apply where they may and
 * are refused (409, nothing changed) where they may not; a replayed transition (a restart between a decision and its
 * write, retried) changes nothing; a shadow is never served, and its batches count as its own evidence, never as
 * production.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { D1PromotionStore } from "../../src/promotions/d1-store";
import { asQueries, call, callJson, expectError, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

type Gate = ReturnType<typeof uniqueGate>;
const upload = async (gate: Gate, index_version: string, offset: number, activate: boolean | "auto" = "auto") =>
  (
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version, queries: asQueries(spreadScores(4000, offset)), policy: { kind: "drop_rate", target: 0.2 }, activate },
    })
  ).calibration;
const admin = { token: TOKENS.admin };

async function twoVersions(label: string) {
  const gate = uniqueGate(label);
  const v1 = await upload(gate, "v1", 0);
  const v2 = await upload(gate, "v2", 0.3, false);
  return { gate, v1, v2 };
}

describe("POST /v1/calibrations/{id}/promote", () => {
  it("starts at the first step with its plan resolved, one open promotion per gate, and logs the start", async () => {
    const { v1, v2 } = await twoVersions("promo-start");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, {
      ...admin,
      json: { steps: [10, 50, 100], min_queries: 500, reason: "rebuild" },
    });
    expect(p).toMatchObject({
      state: "running",
      step: 0,
      percent: 10,
      version: 1,
      candidate_calibration_id: v2.id,
      control_calibration_id: v1.id,
      plan: { steps: [10, 50, 100], min_queries: 500, on_regression: "rollback", tolerance: 0.02, max_step_hours: 72 },
    });
    expect(p.steps).toHaveLength(1);
    expect(p.steps[0]).toMatchObject({ kind: "started", cause: "admin", percent: 10, reason: "rebuild" });
    expect(p.steps[0]!.seq).toBeGreaterThan(0);
    await expectError(await call("POST", `/v1/calibrations/${v2.id}/promote`, { ...admin, json: {} }), 409, "conflict");
    await expectError(await call("POST", `/v1/calibrations/${v1.id}/promote`, { ...admin, json: {} }), 409, "conflict");
    expect((await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).id).toBe(p.id);
    const list = await callJson("GET", `/v1/gates/${p.gate_id}/promotions`, 200, { token: TOKENS.read });
    expect(list.promotions.map((x) => x.id)).toEqual([p.id]);
  });

  it("refuses bad plans and tokens without admin scope, changing nothing", async () => {
    const { v2 } = await twoVersions("promo-bad");
    await expectError(await call("POST", `/v1/calibrations/${v2.id}/promote`, { ...admin, json: { steps: [50, 10] } }), 422, "invalid_input");
    await expectError(await call("POST", `/v1/calibrations/${v2.id}/promote`, { token: TOKENS.calibrate, json: {} }), 403, "forbidden");
    await expectError(await call("POST", "/v1/calibrations/cal_000000000000aaaaaaaaaaaaaaaa/promote", { ...admin, json: {} }), 404, "not_found");
    await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
  });

  it("takes pause, resume, advance and rollback overrides in order, each logged with its seq, and refuses the rest", async () => {
    const { gate, v1, v2 } = await twoVersions("promo-override");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
    await expectError(await call("POST", `/v1/promotions/${p.id}/resume`, { ...admin, json: {} }), 409, "conflict");
    expect(await callJson("POST", `/v1/promotions/${p.id}/pause`, 200, { ...admin, json: { reason: "hold" } })).toMatchObject({
      state: "paused",
      percent: 10,
    });
    expect(await callJson("POST", `/v1/promotions/${p.id}/resume`, 200, { ...admin, json: {} })).toMatchObject({ state: "running", step: 0 });
    expect(await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { ...admin, json: {} })).toMatchObject({
      state: "running",
      step: 1,
      percent: 50,
    });
    const done = await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: { reason: "manual" } });
    expect(done).toMatchObject({ state: "rolled_back", percent: 0, version: 5 });
    expect(done.steps.map((s) => s.kind)).toEqual(["started", "paused", "resumed", "advanced", "rolled_back"]);
    const seqs = done.steps.map((s) => s.seq!);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    await expectError(await call("POST", `/v1/promotions/${p.id}/pause`, { ...admin, json: {} }), 409, "conflict");
    // Nothing of it changed what the gate serves.
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(v1.id);
  });

  it("completes by activating the candidate; a straight plan completes at once", async () => {
    const { gate, v2 } = await twoVersions("promo-complete");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [50, 100] } });
    expect(await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { ...admin, json: {} })).toMatchObject({ state: "completed", percent: 100 });
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(v2.id);

    const other = await twoVersions("promo-straight");
    const s = await callJson("POST", `/v1/calibrations/${other.v2.id}/promote`, 201, { ...admin, json: { steps: [100] } });
    expect(s.state).toBe("completed");
    expect((await callJson("GET", `/v1/threshold?${qs(other.gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(other.v2.id);
  });

  it("is superseded by a manual activation of the gate", async () => {
    const { v2 } = await twoVersions("promo-supersede");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
    await callJson("POST", `/v1/calibrations/${v2.id}/activate`, 200, { ...admin, json: {} });
    expect(await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).toMatchObject({ state: "superseded", percent: 0 });
  });

  it("rolls back on the arms' evidence: a candidate that drops far more than control at its step (the incident's v2)", async () => {
    const { gate, v1, v2 } = await twoVersions("promo-evidence");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [10, 50, 100], min_queries: 200 } });
    const arm = (id: string, calibration_id: string, a: "candidate" | "control", dropped: number) => ({
      batch_id: id,
      calibration_id,
      promotion: { id: p.id, step: 0, arm: a },
      queries: Array.from({ length: 100 }, () => [20, dropped]),
    });
    await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: arm("ctl-1", v1.id, "control", 4) });
    // Still running while the candidate arm has no evidence.
    expect((await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).state).toBe("running");
    await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: arm("cand-1", v2.id, "candidate", 14) });
    const after = await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read });
    expect(after).toMatchObject({ state: "rolled_back", percent: 0 });
    const last = after.steps.at(-1)!;
    expect(last).toMatchObject({ kind: "rolled_back", actor: "promotion" });
    expect(last.cause).not.toBe("admin");
    expect(last.numbers).toMatchObject({ vs_control: { decision: "shifted" } });
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).rollout).toBeNull();
  });

  it("a transition replayed after a restart (the same version, the same audit id) changes nothing", async () => {
    const { v2 } = await twoVersions("promo-replay");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
    const store = new D1PromotionStore(env.DB);
    const rec = {
      id: `${p.id}:2:paused`,
      kind: "paused",
      cause: "shifted_vs_control",
      step: 0,
      percent: 10,
      seq: null,
      at: "2026-12-03T00:00:00.000Z",
      actor: "promotion",
      reason: null,
      numbers: { change: 0.37 },
    } as const;
    const next = { state: "paused", step: 0, updated_at: rec.at } as const;
    expect(await store.transition(p.id, 1, next, rec)).toBe(true);
    expect(await store.transition(p.id, 1, next, rec)).toBe(false);
    const after = (await store.get(p.id))!;
    expect(after).toMatchObject({ state: "paused", version: 2 });
    expect((await store.steps(p.id)).map((s) => s.kind)).toEqual(["started", "paused"]);
    // An override that read version 1 (before the decision) loses: the promotion moved on.
    expect(
      await store.transition(
        p.id,
        1,
        { state: "rolled_back", step: 0, updated_at: rec.at },
        { ...rec, id: `${p.id}:2:rolled_back`, kind: "rolled_back" },
      ),
    ).toBe(false);
    expect((await store.get(p.id))!.state).toBe("paused");
  });
});

describe("shadow calibrations", () => {
  it("adds and removes a shadow (logged, listed with no evidence before its batches), never for a served calibration, never served", async () => {
    const { gate, v1, v2 } = await twoVersions("shadow-add");
    const added = await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { ...admin, json: { sample_rate: 0.2 } });
    expect(added.shadows).toEqual([expect.objectContaining({ calibration_id: v2.id, sample_rate: 0.2, threshold: v2.threshold })]);
    await expectError(await call("POST", `/v1/calibrations/${v2.id}/shadow`, { ...admin, json: {} }), 409, "conflict");
    await expectError(await call("POST", `/v1/calibrations/${v1.id}/shadow`, { ...admin, json: {} }), 409, "conflict");
    const list = await callJson("GET", `/v1/gates/${added.gate_id}/shadows`, 200, { token: TOKENS.read });
    expect(list).toMatchObject({
      active_calibration_id: v1.id,
      shadows: [{ calibration_id: v2.id, queries: 0, vs_active: { decision: "inconclusive" } }],
    });
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(v1.id);
    const removed = await callJson("DELETE", `/v1/calibrations/${v2.id}/shadow`, 200, admin);
    expect(removed.shadows).toEqual([]);
    expect(removed.seq).toBeGreaterThan(added.seq);
    await expectError(await call("DELETE", `/v1/calibrations/${v2.id}/shadow`, admin), 409, "conflict");
  });

  it("counts shadow batches in the shadow's own evidence: `shifted` for a v2 that drops far more, no alert of the gate, nothing served changes", async () => {
    const { gate, v1, v2 } = await twoVersions("shadow-batch");
    // Not a shadow (yet): refused, nothing counted.
    const early = { batch_id: "shadow-early", calibration_id: v2.id, role: "shadow", queries: [[20, 4]] };
    await expectError(await call("POST", "/v1/observations", { token: TOKENS.read, json: early }), 409, "conflict");
    await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { ...admin, json: { sample_rate: 0.5 } });
    const before = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read });
    const beforeBody = await before.text();
    // The served traffic keeps its expected ~20 % drop; the shadow's mirrored queries drop 70 % (the incident's v2),
    // far past anything the gate's own detector would let through without an alarm.
    for (let i = 0; i < 4; i++) {
      const served = { batch_id: `served-${i}`, calibration_id: v1.id, queries: Array.from({ length: 100 }, () => [20, 4]) };
      await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: served });
      const shadow = { batch_id: `shadow-${i}`, calibration_id: v2.id, role: "shadow", queries: Array.from({ length: 100 }, () => [20, 14]) };
      const counted = await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: shadow });
      expect(counted).toMatchObject({ queued: false, accepted: true, calibration_id: v2.id, alerts: [] });
    }
    const list = await callJson("GET", `/v1/gates/${v2.gate_id}/shadows`, 200, { token: TOKENS.read });
    const s = list.shadows[0]!;
    expect(s).toMatchObject({ calibration_id: v2.id, queries: 400 });
    expect(s.drop_rate).toBeCloseTo(0.7, 10);
    expect(s.vs_target).toMatchObject({ decision: "shifted", queries: 400 });
    expect(s.vs_target.change!).toBeGreaterThan(0.4);
    // The active side spans the shadow's batches only: the served batch before the shadow's first is not in it.
    expect(s.vs_active).toMatchObject({ decision: "shifted", reference_queries: 300 });
    // The gate raised nothing, and serves the same bytes.
    const alerts = await env.DB.prepare("SELECT kind FROM alerts WHERE gate_id = ?").bind(v2.gate_id).all<{ kind: string }>();
    expect(alerts.results.map((a) => a.kind)).not.toContain("drop_rate_drift");
    expect(alerts.results.map((a) => a.kind)).not.toContain("empty_context");
    const after = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read });
    expect(await after.text()).toBe(beforeBody);
  });
});
