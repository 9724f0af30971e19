/**
 * Guarded promotion and shadows through the API: a promotion's state of record is D1, every transition is one
 * conditional write with its audit row and one row of the gate's activation log; overrides apply where they may and
 * are refused (409, nothing changed) where they may not; a replayed transition (a restart between a decision and its
 * write, retried) changes nothing; a shadow is never served, and its batches count as its own evidence, never as
 * production.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { DEFAULT_PROMOTION_QUERIES, MIN_PROMOTION_QUERIES } from "../../src/contract";
import { liveDecision, liveSide } from "../../src/monitoring/live-decision";
import { D1PromotionStore } from "../../src/promotions/d1-store";
import { addObservation, emptyClusterSums } from "../../src/stats/per-query";
import type { GateMonitor } from "../../src/worker/gate-monitor";
import { isolate, newIsolateMemory } from "../../src/worker/isolate";
import { abortAllObjects } from "../support/abort-objects";
import { tick } from "../support/scheduled";
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

/** The gate's log in D1 (its activations table), oldest first. */
const gateLog = async (gateId: string) =>
  (
    await env.DB.prepare("SELECT seq, kind, event FROM activations WHERE gate_id = ? ORDER BY seq")
      .bind(gateId)
      .all<{ seq: number; kind: string; event: string }>()
  ).results;

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
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
    // The overrides need admin too: a read or calibrate token is refused and the promotion stays as it was.
    for (const action of ["pause", "resume", "advance", "rollback"])
      for (const token of [TOKENS.read, TOKENS.calibrate])
        await expectError(await call("POST", `/v1/promotions/${p.id}/${action}`, { token, json: {} }), 403, "forbidden");
    expect(await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).toMatchObject({ state: "running", step: 0, version: 1 });
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
    // Each override records the step's evidence as it stood, as an automatic decision does.
    expect(done.steps[4]!.numbers).toMatchObject({
      override: "rollback",
      candidate_queries: 0,
      control_queries: 0,
      vs_control: { decision: "inconclusive" },
      vs_target: { decision: "inconclusive" },
      drift_alarm: null,
    });
    const seqs = done.steps.map((s) => s.seq!);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    await expectError(await call("POST", `/v1/promotions/${p.id}/pause`, { ...admin, json: {} }), 409, "conflict");
    // Nothing of it changed what the gate serves.
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(v1.id);
  });

  it("completes by activating the candidate, logged as promotion_completed; a straight plan completes at once", async () => {
    const { gate, v1, v2 } = await twoVersions("promo-complete");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [50, 100] } });
    // A candidate may be mirrored as a shadow too; its completion ends that, as any activation of it does.
    await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { ...admin, json: {} });
    const done = await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { ...admin, json: { reason: "looks good" } });
    expect(done).toMatchObject({ state: "completed", percent: 100 });
    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(served).toMatchObject({ calibration_id: v2.id, rollout: null });
    // One row for the completion: the candidate's activation, of kind promotion_completed, naming the promotion and
    // carrying what is served after it; the promotion's `completed` record names its seq.
    const log = await gateLog(v2.gate_id);
    expect(log.map((r) => r.kind)).toEqual(["activation", "promotion_started", "shadow_added", "promotion_completed"]);
    const completion = log.at(-1)!;
    expect(JSON.parse(completion.event)).toMatchObject({
      kind: "promotion_completed",
      calibration_id: v2.id,
      actor: "alice",
      reason: "looks good",
      promotion: { id: p.id, state: "completed", step: 1, percent: 100 },
      details: { cause: "admin", override: "advance" },
      served: { calibration_id: v2.id, rollout: null, shadows: [] },
    });
    expect(done.steps.at(-1)).toMatchObject({ kind: "completed", seq: completion.seq });
    expect(served.activated_at).toBe(JSON.parse(completion.event).at);
    expect((await callJson("GET", `/v1/gates/${v2.gate_id}/shadows`, 200, { token: TOKENS.read })).shadows).toEqual([]);
    // The gate's activation history lists it as the change of calibration it is.
    const history = await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(
      history.activations.map((a: { calibration_id: string; previous_calibration_id: string | null }) => [
        a.calibration_id,
        a.previous_calibration_id,
      ]),
    ).toEqual([
      [v2.id, v1.id],
      [v1.id, null],
    ]);

    const other = await twoVersions("promo-straight");
    const s = await callJson("POST", `/v1/calibrations/${other.v2.id}/promote`, 201, { ...admin, json: { steps: [100] } });
    expect(s.state).toBe("completed");
    expect((await callJson("GET", `/v1/threshold?${qs(other.gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(other.v2.id);
  });

  it("is superseded by a manual activation of the gate", async () => {
    const { v2 } = await twoVersions("promo-supersede");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
    await callJson("POST", `/v1/calibrations/${v2.id}/activate`, 200, { ...admin, json: {} });
    const superseded = await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read });
    expect(superseded).toMatchObject({ state: "superseded", percent: 0 });
    // The activation, then the promotion's end: its event names it and serves what the activation serves, no split.
    const log = await gateLog(v2.gate_id);
    expect(log.map((r) => r.kind)).toEqual(["activation", "promotion_started", "activation", "promotion_superseded"]);
    const end = JSON.parse(log.at(-1)!.event);
    expect(end).toMatchObject({ kind: "promotion_superseded", promotion: { id: p.id, state: "superseded" } });
    expect(end.served).toMatchObject({ calibration_id: v2.id, rollout: null });
    expect(superseded.steps.at(-1)).toMatchObject({ kind: "superseded", seq: log.at(-1)!.seq });
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

  it("takes at most MAX_SHADOWS_PER_GATE shadows a gate: a fourth is refused, saying so, until one is removed", async () => {
    const { gate, v2 } = await twoVersions("shadow-max");
    const more = [await upload(gate, "v3", 0.1, false), await upload(gate, "v4", 0.2, false), await upload(gate, "v5", 0.4, false)];
    for (const c of [v2, ...more.slice(0, 2)]) await callJson("POST", `/v1/calibrations/${c.id}/shadow`, 200, { ...admin, json: {} });
    const refused = await expectError(await call("POST", `/v1/calibrations/${more[2]!.id}/shadow`, { ...admin, json: {} }), 409, "conflict");
    expect(refused.message).toBe("the gate already has 3 shadows (MAX_SHADOWS_PER_GATE): remove one first");
    const list = await callJson("GET", `/v1/gates/${v2.gate_id}/shadows`, 200, { token: TOKENS.read });
    expect(list.shadows.map((x) => x.calibration_id).sort()).toEqual([v2.id, more[0]!.id, more[1]!.id].sort());
    await callJson("DELETE", `/v1/calibrations/${v2.id}/shadow`, 200, admin);
    await callJson("POST", `/v1/calibrations/${more[2]!.id}/shadow`, 200, { ...admin, json: {} });
  });

  it("changes a shadow's sample rate in place: served and listed with the new rate, one shadow_changed event, its evidence kept", async () => {
    const { gate, v1, v2 } = await twoVersions("shadow-rate");
    // Not a shadow yet: a rate change is refused and changes nothing.
    await expectError(await call("PATCH", `/v1/calibrations/${v2.id}/shadow`, { ...admin, json: { sample_rate: 0.5 } }), 409, "conflict");
    const added = await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { ...admin, json: { sample_rate: 0.2 } });
    const shadowBatch = (id: string) => ({ batch_id: id, calibration_id: v2.id, role: "shadow", queries: Array.from({ length: 60 }, () => [20, 4]) });
    await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: shadowBatch("rate-before") });
    // Adding it again is still refused, and says how to change the rate.
    const again = await expectError(
      await call("POST", `/v1/calibrations/${v2.id}/shadow`, { ...admin, json: { sample_rate: 0.5 } }),
      409,
      "conflict",
    );
    expect(again.message).toContain(`PATCH /v1/calibrations/${v2.id}/shadow`);
    // Bad input: a clear error, nothing changed; a read token may not change it.
    await expectError(await call("PATCH", `/v1/calibrations/${v2.id}/shadow`, { ...admin, json: { sample_rate: 1.5 } }), 422, "invalid_input");
    await expectError(await call("PATCH", `/v1/calibrations/${v2.id}/shadow`, { ...admin, json: {} }), 422, "invalid_input");
    expect((await call("PATCH", `/v1/calibrations/${v2.id}/shadow`, { token: TOKENS.read, json: { sample_rate: 0.5 } })).status).toBe(403);
    await expectError(await call("PATCH", "/v1/calibrations/cal_missing/shadow", { ...admin, json: { sample_rate: 0.5 } }), 404, "not_found");

    const changed = await callJson("PATCH", `/v1/calibrations/${v2.id}/shadow`, 200, {
      ...admin,
      json: { sample_rate: 0.5, reason: "more evidence" },
    });
    // The shadow keeps the seq of its shadow_added event (its evidence is keyed by it); the change is one new event.
    expect(changed.shadows).toEqual([expect.objectContaining({ calibration_id: v2.id, sample_rate: 0.5, since_seq: added.seq })]);
    expect(changed.seq).toBeGreaterThan(added.seq);
    const log = (await gateLog(added.gate_id)).filter((r) => r.seq > added.seq);
    expect(log.map((r) => r.kind)).toEqual(["shadow_changed"]);
    expect(JSON.parse(log[0]!.event)).toMatchObject({ kind: "shadow_changed", reason: "more evidence", details: { sample_rate: 0.5 } });
    // Clients read the new rate with the threshold.
    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(served).toMatchObject({ calibration_id: v1.id, shadows: [{ calibration_id: v2.id, sample_rate: 0.5, since_seq: added.seq }] });
    // Batches before and after the change count as one shadow's evidence.
    await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: shadowBatch("rate-after") });
    const list = await callJson("GET", `/v1/gates/${added.gate_id}/shadows`, 200, { token: TOKENS.read });
    expect(list.shadows).toEqual([expect.objectContaining({ calibration_id: v2.id, sample_rate: 0.5, since_seq: added.seq, queries: 120 })]);
    // Removed, it has no rate to change.
    await callJson("DELETE", `/v1/calibrations/${v2.id}/shadow`, 200, admin);
    await expectError(await call("PATCH", `/v1/calibrations/${v2.id}/shadow`, { ...admin, json: { sample_rate: 0.3 } }), 409, "conflict");
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
    // The shadow's own drift window, run as the active gate's: it alarms on the shift, and raises nothing (below).
    expect(s.drift).toMatchObject({ calibration_id: v2.id, queries: 400, drop_rate: { observed: 0.7 } });
    expect(s.drift!.alarms).toBeGreaterThan(0);
    // The active side spans the shadow's batches only: the served batch before the shadow's first is not in it.
    expect(s.vs_active).toMatchObject({ decision: "shifted", reference_queries: 300 });
    // The gate raised nothing, and serves the same bytes.
    const alerts = await env.DB.prepare("SELECT kind FROM alerts WHERE gate_id = ?").bind(v2.gate_id).all<{ kind: string }>();
    expect(alerts.results.map((a) => a.kind)).not.toContain("drop_rate_drift");
    expect(alerts.results.map((a) => a.kind)).not.toContain("empty_context");
    const after = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read });
    expect(await after.text()).toBe(beforeBody);
  });
  // docs/drift.md: a shadow's anytime sequence is tuned at MIN_PROMOTION_QUERIES (200) planned queries (section 34 of
  // docs/benchmarks.md measured it through the Worker; section 29's figures are for 2,000).
  it("decides a shadow's live evidence with the anytime sequence tuned at MIN_PROMOTION_QUERIES planned queries, as docs/drift.md says", async () => {
    const { v1, v2 } = await twoVersions("shadow-tuning");
    await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { ...admin, json: { sample_rate: 1 } });
    const mirrored = Array.from({ length: 300 }, (_, i) => [20, 2 + ((i * 7) % 5)] as [number, number]);
    const served = Array.from({ length: 300 }, (_, i) => [20, 2 + ((i * 3) % 5)] as [number, number]);
    await callJson("POST", "/v1/observations", 202, {
      token: TOKENS.read,
      json: { batch_id: "tuning-shadow", calibration_id: v2.id, role: "shadow", queries: mirrored },
    });
    await callJson("POST", "/v1/observations", 202, {
      token: TOKENS.read,
      json: { batch_id: "tuning-served", calibration_id: v1.id, queries: served },
    });
    const sums = (qs: readonly [number, number][]) => {
      const s = emptyClusterSums();
      for (const q of qs) addObservation(s, q);
      return liveSide(s);
    };
    const s = (await callJson("GET", `/v1/gates/${v2.gate_id}/shadows`, 200, { token: TOKENS.read })).shadows[0]!;
    expect(s.vs_active).toEqual(liveDecision(sums(served), sums(mirrored), s.vs_active.tolerance, MIN_PROMOTION_QUERIES));
    // and not at a promotion step's default: the two differ on these sums, so the check above can fail
    expect(s.vs_active).not.toEqual(liveDecision(sums(served), sums(mirrored), s.vs_active.tolerance, DEFAULT_PROMOTION_QUERIES));
  });
});

describe("the promotion engine: the candidate's drift alarm, the step's deadline, lost decisions, restarts, retention", () => {
  type P = { id: string; gate_id: string };
  const armBatch = (p: P, id: string, calibration_id: string, arm: "candidate" | "control", queries: number[][], step = 0) => ({
    batch_id: id,
    calibration_id,
    promotion: { id: p.id, step, arm },
    queries,
  });
  const post = async (json: unknown) => callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json });
  const get = (p: P) => callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read });
  const alertsOf = async (gateId: string) =>
    (
      await env.DB.prepare("SELECT kind, details, summary FROM alerts WHERE gate_id = ?")
        .bind(gateId)
        .all<{ kind: string; details: string; summary: string }>()
    ).results;
  const evidenceRows = (gateId: string) =>
    runInDurableObject(env.GATE_MONITOR.get(env.GATE_MONITOR.idFromName(gateId)), (_: GateMonitor, state) =>
      state.storage.sql
        .exec<{ calibration_id: string }>("SELECT calibration_id FROM evidence")
        .toArray()
        .map((r) => r.calibration_id),
    );
  const same = (n: number, q: number[]) => Array.from({ length: n }, () => q);
  /** Queries at the calibrations' 20 % drop rate, varying per query (a design effect above 1, as in production). */
  const onTarget = (n: number) => Array.from({ length: n }, (_, j) => (j % 2 ? [20, 2] : [20, 6]));

  it("a candidate far from its target, with the control comparison still inconclusive, is stopped by its own drift alarm: a promotion alert, never the gate's", async () => {
    const { v1, v2 } = await twoVersions("engine-drift");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200, on_regression: "pause" } });
    await post(armBatch(p, "drift-ctl", v1.id, "control", same(10, [20, 4])));
    // The incident's v2: 70 % dropped against its 20 %; one batch arms the detector (DriftConfig.minQueries) and alarms.
    const counted = await post(armBatch(p, "drift-cand", v2.id, "candidate", same(120, [20, 14])));
    expect(counted).toMatchObject({ accepted: true, alerts: [] });
    const after = await get(p);
    expect(after).toMatchObject({ state: "paused", percent: 10 });
    const last = after.steps.at(-1)!;
    expect(last).toMatchObject({ kind: "paused", cause: "drift_alarm", actor: "promotion" });
    expect(last.numbers).toMatchObject({
      vs_control: { decision: "inconclusive" },
      drift_alarm: { kind: "drop_rate_drift", observed: 0.7, queries: 120 },
    });
    const alarm = last.numbers.drift_alarm as { log_evidence: number; log_threshold: number };
    expect(alarm.log_evidence).toBeGreaterThanOrEqual(alarm.log_threshold);
    // The paused step shows the detector that stopped it.
    expect(after.evidence).toMatchObject({
      step: 0,
      candidate_queries: 120,
      control_queries: 10,
      candidate_drift: { alarm: { kind: "drop_rate_drift" } },
    });
    expect(after.evidence!.candidate_drift!.window).toMatchObject({ calibration_id: v2.id, queries: 120, drop_rate: { alarm: true } });
    // The activation log's event carries the cause and the numbers; the alert is the promotion's, not a drift alert.
    const event = await env.DB.prepare("SELECT event FROM activations WHERE seq = ?").bind(last.seq).first<{ event: string }>();
    expect(JSON.parse(event!.event)).toMatchObject({ details: { cause: "drift_alarm", drift_alarm: { kind: "drop_rate_drift" } } });
    const alerts = await alertsOf(p.gate_id);
    expect(alerts.map((a) => a.kind)).toEqual(["promotion_paused"]);
    expect(JSON.parse(alerts[0]!.details)).toMatchObject({ cause: "drift_alarm", drift_alarm: { kind: "drop_rate_drift" } });
  });

  it("the empty-context test alarms too: a candidate on its drop-rate target (both comparisons inconclusive) is rolled back", async () => {
    const { v2 } = await twoVersions("engine-empty");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    // Half the queries lose every candidate, half keep all: 20 % dropped overall, as calibrated.
    await post(
      armBatch(
        p,
        "empty-cand",
        v2.id,
        "candidate",
        Array.from({ length: 120 }, (_, j) => (j % 2 ? [4, 4] : [16, 0])),
      ),
    );
    const last = (await get(p)).steps.at(-1)!;
    expect(last).toMatchObject({ kind: "rolled_back", cause: "drift_alarm" });
    expect(last.numbers).toMatchObject({
      vs_control: { decision: "inconclusive" },
      vs_target: { decision: "inconclusive" },
      candidate_drop_rate: 0.2,
      drift_alarm: { kind: "empty_context", observed: 0.5 },
    });
    const [alert] = await alertsOf(p.gate_id);
    expect(alert!.kind).toBe("promotion_rolled_back");
    // the step it stopped in (not the 0 % the rollback leaves), the cause and the numbers, in the alert's own sentence
    expect(alert!.summary).toMatch(
      new RegExp(
        `^promotion ${p.id} of ${v2.id} rolled back in step 1 of ${p.plan.steps.length} \\(${p.plan.steps[0]} % of keyed traffic\\): drift_alarm; the candidate arm dropped 20 %; 120 candidate and 0 control queries; `,
      ),
    );
    expect(alert!.summary).toContain("drift alarm: ");
  });

  it("a step without a decision within max_step_hours is paused by the cron (whatever on_regression says); its clock restarts on resume", async () => {
    const { v2 } = await twoVersions("engine-deadline");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { max_step_hours: 1, on_regression: "rollback" } });
    const t0 = Date.parse(p.updated_at);
    await tick(env, new Date(t0 + 59 * 60_000));
    expect((await get(p)).state).toBe("running");
    const late = await tick(env, new Date(t0 + 61 * 60_000));
    expect(late.failed).toEqual([]);
    const paused = await get(p);
    expect(paused).toMatchObject({ state: "paused", percent: 10 });
    expect(paused.steps.at(-1)).toMatchObject({
      kind: "paused",
      cause: "inconclusive_timeout",
      actor: "promotion",
      numbers: { max_step_hours: 1, deadline: new Date(t0 + 3600_000).toISOString() },
    });
    expect((await alertsOf(p.gate_id)).map((a) => a.kind)).toEqual(["promotion_paused"]);
    const resumed = await callJson("POST", `/v1/promotions/${p.id}/resume`, 200, { ...admin, json: {} });
    await tick(env, new Date(Date.parse(resumed.updated_at) + 30 * 60_000));
    expect((await get(p)).state).toBe("running");
  });

  it("a decision lost to a failed D1 write is applied by the next cron tick, exactly once", async () => {
    const { v1, v2 } = await twoVersions("engine-lost");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    await post(armBatch(p, "lost-ctl", v1.id, "control", same(100, [20, 4])));
    // The promotion's transition write fails (a trigger on D1, so the Worker itself has no test hook).
    await env.DB.prepare(
      `CREATE TRIGGER fail_promotion_write BEFORE UPDATE ON promotions WHEN OLD.id = '${p.id}' BEGIN SELECT RAISE(ABORT, 'injected D1 failure'); END`,
    ).run();
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      // Fewer queries than arm the drift detector: the decision is the comparison with control.
      const cand = armBatch(p, "lost-cand", v2.id, "candidate", same(60, [20, 14]));
      // The batch is counted (the client must not retry it): only the decision was lost.
      expect(await post(cand)).toMatchObject({ accepted: true });
      expect(logged).toHaveBeenCalledWith(expect.stringContaining("the cron decides it again"), expect.anything());
      expect(await get(p)).toMatchObject({ state: "running", version: 1 });
      // A tick while D1 still fails decides nothing and reports the promotion.
      expect((await tick(env, new Date())).failed).toContain("promotions");
    } finally {
      logged.mockRestore();
      await env.DB.prepare("DROP TRIGGER fail_promotion_write").run();
    }
    const first = await tick(env, new Date());
    expect(first.promotions!.decided).toBeGreaterThanOrEqual(1);
    await tick(env, new Date());
    // The batch sent again is not counted again: a duplicate, though its promotion ended since.
    expect(await post(armBatch(p, "lost-cand", v2.id, "candidate", same(60, [20, 14])))).toMatchObject({ duplicate: true });
    const after = await get(p);
    expect(after).toMatchObject({ state: "rolled_back", version: 2 });
    expect(after.steps.map((s) => s.kind)).toEqual(["started", "rolled_back"]);
    expect(after.steps[1]).toMatchObject({ cause: "shifted_vs_control", numbers: { candidate_queries: 60, control_queries: 100 } });
  });

  /**
   * Runs `during` while every write to the gate's activation log fails (a D1 trigger: the Worker has no test hook), so a
   * transition is written to D1 and its log event is not; the failures it logs are expected and checked.
   */
  async function withLogFailing(gateId: string, during: () => Promise<void>) {
    await env.DB.prepare(
      `CREATE TRIGGER fail_log_write BEFORE INSERT ON activations WHEN NEW.gate_id = '${gateId}' BEGIN SELECT RAISE(ABORT, 'injected D1 failure'); END`,
    ).run();
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      await during();
      expect(logged).toHaveBeenCalledWith(expect.stringContaining("the cron writes its event"), expect.anything());
    } finally {
      logged.mockRestore();
      await env.DB.prepare("DROP TRIGGER fail_log_write").run();
    }
  }
  const served = (gate: Gate) => callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });

  it("a rollback whose log write failed is finished by the next cron tick: the candidate is no longer served, one alert, the audit row has its seq", async () => {
    const { gate, v1, v2 } = await twoVersions("engine-unlogged-rollback");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    await post(armBatch(p, "ul-ctl", v1.id, "control", same(100, [20, 4])));
    const logBefore = (await gateLog(p.gate_id)).length;
    await withLogFailing(p.gate_id, async () => {
      await post(armBatch(p, "ul-cand", v2.id, "candidate", same(60, [20, 14])));
      // The rollback is written; its event is not: the gate still serves the candidate to its share, and nothing alerted.
      const written = await get(p);
      expect(written).toMatchObject({ state: "rolled_back" });
      expect(written.steps.at(-1)).toMatchObject({ kind: "rolled_back", seq: null });
      expect((await served(gate)).rollout).toMatchObject({ promotion_id: p.id, percent_bp: 1000 });
      expect(await alertsOf(p.gate_id)).toEqual([]);
      // A tick while the log still fails repairs nothing and reports it.
      expect((await tick(env, new Date())).failed).toContain("promotions");
    });
    const repaired = await tick(env, new Date());
    expect(repaired.failed).toEqual([]);
    // (at least 1: a row another test of this file left unlogged on purpose may be repaired in the same tick)
    expect(repaired.promotions!.repaired).toBeGreaterThanOrEqual(1);
    expect(await served(gate)).toMatchObject({ calibration_id: v1.id, rollout: null });
    const log = await gateLog(p.gate_id);
    expect(log).toHaveLength(logBefore + 1);
    const last = log.at(-1)!;
    expect(JSON.parse(last.event)).toMatchObject({
      kind: "promotion_rolled_back",
      promotion: { id: p.id, state: "rolled_back" },
      details: { cause: "shifted_vs_control", candidate_queries: 60 },
      served: { calibration_id: v1.id, rollout: null },
    });
    expect((await get(p)).steps.at(-1)).toMatchObject({ kind: "rolled_back", seq: last.seq });
    // Another tick writes nothing more and alerts no more: one alert, one occurrence.
    expect((await tick(env, new Date())).promotions).toMatchObject({ repaired: 0 });
    expect(await gateLog(p.gate_id)).toHaveLength(logBefore + 1);
    const alerts = await env.DB.prepare("SELECT kind, occurrences FROM alerts WHERE gate_id = ?").bind(p.gate_id).all();
    expect(alerts.results).toEqual([{ kind: "promotion_rolled_back", occurrences: 1 }]);
  });

  it("a completion whose activation failed activates the candidate at the next cron tick, once", async () => {
    const { gate, v1, v2 } = await twoVersions("engine-unlogged-complete");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [50, 100] } });
    await withLogFailing(p.gate_id, async () => {
      // The override answers with the completion written (it stands); the candidate is not activated yet.
      const done = await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { ...admin, json: {} });
      expect(done).toMatchObject({ state: "completed" });
      expect(done.steps.at(-1)).toMatchObject({ kind: "completed", seq: null });
      expect(await served(gate)).toMatchObject({ calibration_id: v1.id, rollout: { percent_bp: 5000 } });
    });
    expect((await tick(env, new Date())).promotions!.repaired).toBeGreaterThanOrEqual(1);
    expect(await served(gate)).toMatchObject({ calibration_id: v2.id, rollout: null });
    const log = await gateLog(p.gate_id);
    expect(log.map((r) => r.kind)).toEqual(["activation", "promotion_started", "promotion_completed"]);
    expect((await get(p)).steps.at(-1)).toMatchObject({ kind: "completed", seq: log.at(-1)!.seq });
    await tick(env, new Date());
    expect(await gateLog(p.gate_id)).toHaveLength(3);
  });

  it("two transitions in a row whose older one is logged last end with the newer state served", async () => {
    const { gate, v2 } = await twoVersions("engine-unlogged-order");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
    await withLogFailing(p.gate_id, async () => {
      await callJson("POST", `/v1/promotions/${p.id}/pause`, 200, { ...admin, json: {} });
    });
    await callJson("POST", `/v1/promotions/${p.id}/resume`, 200, { ...admin, json: {} });
    expect((await served(gate)).rollout).toMatchObject({ state: "running", step: 0 });
    // The pause's event is written now, after the resume's: it serves the promotion as it is (running), not as the
    // pause left it.
    expect((await tick(env, new Date())).promotions!.repaired).toBeGreaterThanOrEqual(1);
    const log = await gateLog(p.gate_id);
    expect(log.map((r) => r.kind)).toEqual(["activation", "promotion_started", "promotion_resumed", "promotion_paused"]);
    expect(JSON.parse(log.at(-1)!.event)).toMatchObject({ promotion: { state: "paused" }, served: { rollout: { state: "running" } } });
    expect((await served(gate)).rollout).toMatchObject({ state: "running", step: 0, percent_bp: 1000 });
    const steps = (await get(p)).steps;
    expect(steps.map((s) => [s.kind, s.seq])).toEqual([
      ["started", log[1]!.seq],
      ["paused", log[3]!.seq],
      ["resumed", log[2]!.seq],
    ]);
  });

  it("refuses an arm batch whose claim does not hold, counting nothing (another gate's promotion, the other arm's calibration), and counts one whose step is over or whose promotion ended in no arm", async () => {
    const { v1, v2 } = await twoVersions("claim-a");
    const other = await twoVersions("claim-b");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [10, 50, 100], min_queries: 100_000 } });
    const refused = async (json: unknown, status: number, code: string, path: string) => {
      const error = await expectError(await call("POST", "/v1/observations", { token: TOKENS.read, json }), status, code);
      expect(error.details).toEqual([expect.objectContaining({ path })]);
    };
    // Another gate's batch naming this promotion; a promotion that does not exist.
    await refused(armBatch(p, "claim-1", other.v2.id, "candidate", onTarget(10)), 422, "invalid_input", "promotion.id");
    await refused(
      armBatch({ ...p, id: "prm_0000000000000000000000000000" }, "claim-2", v2.id, "candidate", onTarget(10)),
      422,
      "invalid_input",
      "promotion.id",
    );
    // The candidate arm naming the control calibration, and the other way round (unassigned is control's traffic too).
    await refused(armBatch(p, "claim-3", v1.id, "candidate", onTarget(10)), 422, "invalid_input", "calibration_id");
    await refused(armBatch(p, "claim-4", v2.id, "control", onTarget(10)), 422, "invalid_input", "calibration_id");
    await refused(
      { ...armBatch(p, "claim-5", v2.id, "control", onTarget(10)), promotion: { id: p.id, step: 0, arm: "unassigned" } },
      422,
      "invalid_input",
      "calibration_id",
    );
    // Nothing of it was counted, in this gate's monitor or the other's; the refused batch ids are free.
    expect((await get(p)).evidence).toMatchObject({ candidate_queries: 0, control_queries: 0 });
    expect((await evidenceRows(other.v2.gate_id)).filter((k) => k.includes(p.id))).toEqual([]);
    expect(await post(armBatch(p, "claim-3", v2.id, "candidate", onTarget(10)))).toMatchObject({ accepted: true });
    expect((await get(p)).evidence).toMatchObject({ step: 0, candidate_queries: 10, control_queries: 0 });
    // A batch queued in a client across a step change (or one that names a step not reached) is accepted and counted as
    // an ordinary batch of its calibration: no arm of any step counts it.
    await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { ...admin, json: {} });
    expect(await post(armBatch(p, "claim-6", v2.id, "candidate", onTarget(10)))).toMatchObject({ accepted: true });
    expect(await post(armBatch(p, "claim-7", v2.id, "candidate", onTarget(10), 2))).toMatchObject({ accepted: true });
    expect((await get(p)).evidence).toMatchObject({ step: 1, candidate_queries: 0, control_queries: 0 });
    expect(await post(armBatch(p, "claim-8", v1.id, "control", onTarget(10), 1))).toMatchObject({ accepted: true });
    expect((await get(p)).evidence).toMatchObject({ step: 1, candidate_queries: 0, control_queries: 10 });
    // After the promotion ended, likewise; its evidence is gone and stays gone.
    await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: {} });
    expect(await post(armBatch(p, "claim-9", v1.id, "control", onTarget(10), 1))).toMatchObject({ accepted: true });
    expect((await evidenceRows(p.gate_id)).filter((k) => k.includes(p.id))).toEqual([]);
  });

  it("survives a fresh isolate and a reset monitor mid-step: the step's evidence continues and its decision lands once", async () => {
    const { v1, v2 } = await twoVersions("engine-restart");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200, tolerance: 0.05 } });
    await post(armBatch(p, "rs-ctl-1", v1.id, "control", onTarget(100)));
    await post(armBatch(p, "rs-cand-1", v2.id, "candidate", onTarget(100)));
    expect((await get(p)).evidence).toMatchObject({ candidate_queries: 100, control_queries: 100, vs_control: { decision: "equivalent" } });
    // (b) The gate's monitor is reset as a crash or a deploy would (every live instance dropped, storage kept).
    await abortAllObjects();
    // (a) A fresh isolate: everything an isolate remembers is src/worker/isolate.ts (test/worker/isolate-state.test.ts
    // holds every other module to keeping nothing), so an empty one is a new isolate's memory.
    Object.assign(isolate, newIsolateMemory());
    // A batch replayed from before the restart is still a duplicate; the step's counts go on from where they were.
    expect(await post(armBatch(p, "rs-cand-1", v2.id, "candidate", onTarget(100)))).toMatchObject({ duplicate: true });
    await post(armBatch(p, "rs-ctl-2", v1.id, "control", onTarget(100)));
    expect((await get(p)).evidence).toMatchObject({ step: 0, candidate_queries: 100, control_queries: 200 });
    await post(armBatch(p, "rs-cand-2", v2.id, "candidate", onTarget(100)));
    await tick(env, new Date());
    const after = await get(p);
    expect(after).toMatchObject({ state: "running", step: 1, percent: 50, version: 2 });
    expect(after.steps.map((s) => s.kind)).toEqual(["started", "advanced"]);
    expect(after.steps[1]).toMatchObject({ cause: "equivalent", numbers: { candidate_queries: 200, control_queries: 200 } });
    expect(after.evidence).toMatchObject({ step: 1, candidate_queries: 0, candidate_drift: null });
  });

  it("deletes the evidence of a closed promotion and of a removed shadow", async () => {
    const { gate, v1, v2 } = await twoVersions("engine-retention");
    await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { ...admin, json: {} });
    await post({ batch_id: "ret-shadow", calibration_id: v2.id, role: "shadow", queries: onTarget(10) });
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
    await post(armBatch(p, "ret-ctl", v1.id, "control", onTarget(10)));
    await post(armBatch(p, "ret-cand", v2.id, "candidate", onTarget(10)));
    const keys = await evidenceRows(p.gate_id);
    expect(keys.filter((k) => k.startsWith(`arm:${p.id}:`)).sort()).toEqual([`arm:${p.id}:0:candidate`, `arm:${p.id}:0:control`]);
    expect(keys.some((k) => k.startsWith(`shadow:${v2.id}@`))).toBe(true);
    const closed = await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: {} });
    expect(closed.evidence).toBeNull();
    expect((await evidenceRows(p.gate_id)).filter((k) => k.includes(p.id) || k.includes(v2.id))).toEqual([]);

    // A shadow removed: its rows go; another shadow's stay.
    const v3 = await upload(gate, "v3", 0.1, false);
    for (const c of [v2, v3]) {
      await callJson("POST", `/v1/calibrations/${c.id}/shadow`, 200, { ...admin, json: {} });
      await post({ batch_id: `ret-shadow-${c.id}`, calibration_id: c.id, role: "shadow", queries: onTarget(10) });
    }
    await post({ batch_id: "ret-served", calibration_id: v1.id, queries: onTarget(10) });
    const shadowRows = async (c: { id: string }) => (await evidenceRows(p.gate_id)).filter((k) => k.includes(c.id)).length;
    expect(await shadowRows(v2)).toBe(2);
    await callJson("DELETE", `/v1/calibrations/${v2.id}/shadow`, 200, admin);
    expect(await shadowRows(v2)).toBe(0);
    expect(await shadowRows(v3)).toBe(2);
  });
});
