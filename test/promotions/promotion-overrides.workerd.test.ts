/**
 * Guarded promotion through the API: a promotion starts with its plan resolved (one open a gate), bad plans and tokens
 * without admin scope are refused (nothing changed); its state of record is D1, every transition is one conditional
 * write with its audit row and one row of the gate's activation log; overrides apply where they may and are refused
 * (409, nothing changed) where they may not; a completion activates the candidate; a manual activation supersedes it;
 * a replayed transition (a restart between a decision and its write, retried) changes nothing.
 * The engine's own decisions are in promotion-routes.workerd.test.ts, shadows in shadow-routes.workerd.test.ts.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { D1PromotionStore } from "../../src/promotions/d1-store";
import { admin, gateLog, twoVersions } from "../support/promotions";
import { tick } from "../support/scheduled";
import { asQueries, call, callJson, expectError, qs, spreadScores, TOKENS } from "../support/worker";

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
    const done = await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { ...admin, json: { reason: "looks good" } });
    expect(done).toMatchObject({ state: "completed", percent: 100 });
    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(served).toMatchObject({ calibration_id: v2.id, rollout: null });
    // One row for the completion: the candidate's activation, of kind promotion_completed, naming the promotion and
    // carrying what is served after it; the promotion's `completed` record names its seq.
    const log = await gateLog(v2.gate_id);
    expect(log.map((r) => r.kind)).toEqual(["activation", "promotion_started", "promotion_completed"]);
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
    // said before and when it happens: the dry run and the activation both warn that the promotion ends
    const preview = await callJson("POST", `/v1/calibrations/${v2.id}/activate`, 200, { ...admin, json: { dry_run: true } });
    expect(preview.warnings.map((w) => w.code)).toContain("promotion_superseded");
    expect(await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).toMatchObject({ state: "running" });
    const done = await callJson("POST", `/v1/calibrations/${v2.id}/activate`, 200, { ...admin, json: {} });
    expect(done.warnings.find((w) => w.code === "promotion_superseded")?.message).toBe(
      `this activation ends the gate's open guarded promotion ${p.id}: it becomes "superseded", and this calibration is served to all traffic. GET /v1/promotions/${p.id} shows it; to end it on its evidence instead, advance or roll it back (POST /v1/promotions/${p.id}/advance or /rollback; scoregate promote ${p.id} --advance or --rollback)`,
    );
    // the dry run named it too
    expect(preview.warnings.find((w) => w.code === "promotion_superseded")?.message).toContain(`open guarded promotion ${p.id}:`);
    // with no promotion open, the same activation says nothing of one
    const again = await callJson("POST", `/v1/calibrations/${v2.id}/activate`, 200, { ...admin, json: { dry_run: true } });
    expect(again.warnings.map((w) => w.code)).not.toContain("promotion_superseded");
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

  it('an upload with activate "auto" during a promotion is stored, not served (promotion_open): only an explicit activation ends it', async () => {
    const { gate, v1, v2 } = await twoVersions("promo-auto-upload");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    await callJson("POST", `/v1/promotions/${p.id}/pause`, 200, { ...admin, json: { reason: "holiday" } });
    // an equivalent rebuild of v1's index version, and a dry run of it: served otherwise, here stored for later
    for (const dry_run of [true, false]) {
      const r = await callJson("POST", "/v1/calibrations", dry_run ? 200 : 201, {
        token: TOKENS.calibrate,
        json: { ...gate, index_version: "v1", queries: asQueries(spreadScores(4000, 0)), policy: { kind: "drop_rate", target: 0.2 }, dry_run },
      });
      expect(r.shift?.decision).toBe("equivalent");
      expect(r.activation_outcome).toMatchObject({ activated: false, would_activate: false, reason: "promotion_open" });
      expect(r.activation_outcome.message).toContain("the gate has an open guarded promotion");
      expect(r.activation_outcome.message).toContain(`GET /v1/gates/${v2.gate_id}/promotions shows it`);
    }
    // a shifted rebuild keeps its own reason: not served anyway, it is no promotion's matter
    const shifted = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", queries: asQueries(spreadScores(4000, 0.3)), policy: { kind: "drop_rate", target: 0.2 } },
    });
    expect(shifted.activation_outcome).toMatchObject({ activated: false, reason: "shifted" });
    expect(await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).toMatchObject({ state: "paused" });
    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect([served.calibration_id, served.rollout?.promotion_id]).toEqual([v1.id, p.id]);
    // activate: true is an explicit activation: it supersedes the promotion, as POST .../activate does, and says so,
    // in its dry run too
    const dry = await callJson("POST", "/v1/calibrations", 200, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        index_version: "v1",
        queries: asQueries(spreadScores(4000, 0)),
        policy: { kind: "drop_rate", target: 0.2 },
        activate: true,
        dry_run: true,
      },
    });
    expect(dry.warnings.filter((w) => w.code === "promotion_superseded")).toHaveLength(1);
    // an upload's warning names the promotion it would end, and how to end it otherwise
    expect(dry.warnings.find((w) => w.code === "promotion_superseded")?.message).toContain(`scoregate promote ${p.id} --advance or --rollback`);
    expect(await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).toMatchObject({ state: "paused" });
    const explicit = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", queries: asQueries(spreadScores(4000, 0)), policy: { kind: "drop_rate", target: 0.2 }, activate: true },
    });
    expect(explicit.activation_outcome.message).toContain(`this ends the gate's open guarded promotion (it becomes "superseded", GET /v1/gates/`);
    expect(explicit.warnings.filter((w) => w.code === "promotion_superseded")).toHaveLength(1);
    // said by the answer, not stored with the calibration (a fact of that moment, as alert_not_raised)
    const stored = await callJson("GET", `/v1/calibrations/${explicit.calibration.id}`, 200, { token: TOKENS.read });
    expect(stored.warnings.map((w) => w.code)).not.toContain("promotion_superseded");
    expect(await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).toMatchObject({ state: "superseded" });
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

  it("resume after a pause on the candidate's drift alarm continues the step on fresh evidence; an admin's pause keeps it", async () => {
    const { v1, v2 } = await twoVersions("promo-resume-drift");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200, on_regression: "pause" } });
    const arm = (id: string, calibration_id: string, a: "candidate" | "control", queries: number[][]) => ({
      batch_id: id,
      calibration_id,
      promotion: { id: p.id, step: 0, arm: a },
      queries,
    });
    const post = (json: unknown) => callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json });
    const get = () => callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read });
    const same = (n: number, q: number[]) => Array.from({ length: n }, () => q);
    await post(arm("rd-ctl", v1.id, "control", same(10, [20, 4])));
    // 70 % dropped against v2's 20 %: the candidate arm's drift detector alarms and the step pauses.
    await post(arm("rd-cand", v2.id, "candidate", same(120, [20, 14])));
    expect((await get()).steps.at(-1)).toMatchObject({ kind: "paused", cause: "drift_alarm" });
    await callJson("POST", `/v1/promotions/${p.id}/resume`, 200, { ...admin, json: { reason: "index fixed" } });
    // The step's evidence starts again, both arms: the next tick finds no alarm and leaves it running.
    expect((await get()).evidence).toMatchObject({ step: 0, candidate_queries: 0, control_queries: 0, candidate_drift: null });
    await tick(env, new Date());
    expect(await get()).toMatchObject({ state: "running", step: 0, percent: 10 });
    expect((await get()).steps.map((s: { kind: string }) => s.kind)).toEqual(["started", "paused", "resumed"]);
    // An admin's pause and resume keep the step's evidence.
    await post(arm("rd-ctl-2", v1.id, "control", same(10, [20, 4])));
    await post(arm("rd-cand-2", v2.id, "candidate", same(10, [20, 4])));
    await callJson("POST", `/v1/promotions/${p.id}/pause`, 200, { ...admin, json: {} });
    await callJson("POST", `/v1/promotions/${p.id}/resume`, 200, { ...admin, json: {} });
    expect((await get()).evidence).toMatchObject({ candidate_queries: 10, control_queries: 10 });
    // A regression that persists alarms again on the new queries.
    await post(arm("rd-cand-3", v2.id, "candidate", same(120, [20, 14])));
    expect((await get()).steps.at(-1)).toMatchObject({ kind: "paused", cause: "drift_alarm" });
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
