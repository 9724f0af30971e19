/**
 * Promotions racing activations: a start whose control is replaced between its read and its write, a completion
 * landing after a manual activation of another calibration, an activation of the current calibration while a
 * promotion is open but its start not yet logged. Each race is forced: a store wrapper runs the competing activation
 * at the point it would interleave, or a D1 trigger fails the write that would otherwise settle it first.
 */
import { env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { activate } from "../../src/calibrations/activation";
import { PromotionPlanBody } from "../../src/contract";
import { AppError } from "../../src/platform/errors";
import { startPromotion } from "../../src/promotions/service";
import { appDeps } from "../../src/worker/wiring";
import { admin, advanceDyingAfterTransition, gateLog, twoVersions, upload } from "../support/promotions";
import { tick } from "../support/scheduled";
import { asQueries, call, callJson, qs, spreadScores, TOKENS } from "../support/worker";

describe("promotions racing activations", () => {
  it("a promotion started while another calibration is activated is refused 409 and stores nothing", async () => {
    const { gate, v1, v2 } = await twoVersions("race-start");
    const v3 = await upload(gate, "v3", 0.1, false);
    const deps = appDeps(env, () => {});
    let raced = false;
    const store = deps.calibrations;
    // An admin activates v3 right after the promotion read the gate's current calibration (v1).
    const calibrations = new Proxy(store, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (prop !== "gateState") return typeof v === "function" ? v.bind(target) : v;
        return async (gateId: string) => {
          const state = await target.gateState(gateId);
          if (!raced) {
            raced = true;
            await activate(v3.id, "bob", "hotfix", deps);
          }
          return state;
        };
      },
    });
    const plan = PromotionPlanBody.parse({ steps: [10, 50, 100], min_queries: 200 });
    const refused = await startPromotion(v2.id, plan, "alice", { ...deps, calibrations }).catch((e: unknown) => e);
    expect(raced).toBe(true);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: "conflict" });
    expect(String((refused as Error).message)).toContain(v1.id);
    // Nothing was stored: no promotion, no audit row, and the gate serves v3 with no split.
    const list = await callJson("GET", `/v1/gates/${v2.gate_id}/promotions`, 200, { token: TOKENS.read });
    expect(list.promotions).toEqual([]);
    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect({ calibration_id: served.calibration_id, rollout: served.rollout }).toEqual({ calibration_id: v3.id, rollout: null });
    // Started again, it runs against the calibration now served.
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    expect(p.control_calibration_id).toBe(v3.id);
  });

  it("a completion that lands after a manual activation of another calibration is recorded superseded, not completed", async () => {
    const { gate, v2 } = await twoVersions("race-complete");
    const v3 = await upload(gate, "v3", 0.1, false);
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [50, 100], min_queries: 200 } });
    // Widen the window between the activation's commit and its supersede listener (which runs after publish, push,
    // shift alert): the listener's transition fails once, as if the completion's write had won the version first.
    await env.DB.prepare(
      `CREATE TRIGGER race_fail_supersede BEFORE UPDATE ON promotions WHEN NEW.state = 'superseded' AND OLD.id = '${p.id}' BEGIN SELECT RAISE(ABORT, 'injected'); END`,
    ).run();
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      await callJson("POST", `/v1/calibrations/${v3.id}/activate`, 200, { ...admin, json: { reason: "hotfix" } });
      expect(logged).toHaveBeenCalled();
    } finally {
      logged.mockRestore();
      await env.DB.prepare("DROP TRIGGER race_fail_supersede").run();
    }
    expect((await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).state).toBe("running");
    const done = await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { ...admin, json: {} });
    await tick(env, new Date());
    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect({ calibration_id: served.calibration_id, rollout: served.rollout }).toEqual({ calibration_id: v3.id, rollout: null });
    // The candidate was never served to everyone: the record says superseded, with its event and no completion.
    const after = await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read });
    expect({ answered: done.state, stored: after.state }).toEqual({ answered: "superseded", stored: "superseded" });
    expect(after.steps.map((s: { kind: string }) => s.kind)).toEqual(["started", "superseded"]);
    expect(after.steps.at(-1)).toMatchObject({ actor: "promotion", numbers: { activated: v3.id } });
    expect(after.steps.at(-1)!.seq).toBeGreaterThan(0);
    const kinds = (await gateLog(p.gate_id)).map((r) => r.kind);
    expect(kinds).toContain("promotion_superseded");
    expect(kinds).not.toContain("promotion_completed");
  });

  it("while a completion is written but its candidate not yet activated, an activation, a served upload or another promotion's start is refused 409 and changes nothing; after it, the activation replaces the candidate", async () => {
    const { gate, v1, v2 } = await twoVersions("race-completing");
    const v3 = await upload(gate, "v3", 0.1, false);
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [50, 100], min_queries: 200 } });
    // The advance that completes writes the promotion's row, then its request dies before the candidate's activation
    // (its next read of the gate never returns): the window a concurrent activation used to land in.
    const base = appDeps(env, () => {});
    await advanceDyingAfterTransition(p.id, base);
    const logBefore = await gateLog(p.gate_id);

    // An admin's activation of v3, and an upload that would be served: 409 naming the promotion, nothing written.
    const refused = await call("POST", `/v1/calibrations/${v3.id}/activate`, { ...admin, json: { reason: "hotfix" } });
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("conflict");
    expect(body.error.message).toContain(`promotion ${p.id} of this gate has completed and its candidate is being activated`);
    const uploaded = await call("POST", "/v1/calibrations", {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v4", queries: asQueries(spreadScores(400, 0.2)), policy: { kind: "drop_rate", target: 0.2 }, activate: true },
    });
    expect(uploaded.status).toBe(409);
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM calibrations WHERE gate_id = ?").bind(p.gate_id).first<{ n: number }>();
    expect(stored!.n).toBe(3);
    // The store refuses such a write by itself: an activation that read the gate before the completion was written
    // (its state says no completion under way) loses every attempt, and writes nothing.
    const stale = Object.create(base.calibrations) as typeof base.calibrations;
    stale.completingPromotion = async () => null;
    const lost = await activate(v3.id, "bob", "hotfix", { ...base, calibrations: stale }).catch((e: unknown) => e);
    expect(lost).toMatchObject({ code: "conflict" });
    expect(await gateLog(p.gate_id)).toEqual(logBefore);
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(v1.id);

    // Nor is another promotion started against the control the completion is about to replace (its split would never
    // be served): 409 naming the promotion, nothing stored.
    const v4 = await upload(gate, "v4", 0.15, false);
    const startRefused = await call("POST", `/v1/calibrations/${v4.id}/promote`, { ...admin, json: {} });
    expect(startRefused.status).toBe(409);
    expect(((await startRefused.json()) as { error: { message: string } }).error.message).toContain(`promotion ${p.id} of this gate has completed`);
    // The store refuses it too when the start read the gate before the completion was written.
    const staleStart = await startPromotion(v4.id, PromotionPlanBody.parse({}), "bob", { ...base, calibrations: stale }).catch((e: unknown) => e);
    expect(staleStart).toMatchObject({ code: "conflict" });
    expect(
      (await callJson("GET", `/v1/gates/${p.gate_id}/promotions`, 200, { token: TOKENS.read })).promotions.map((x: { id: string }) => x.id),
    ).toEqual([p.id]);

    // The cron applies the completion; the admin's retry then activates v3 over the candidate.
    expect((await tick(env, new Date(Date.now() + 60_000))).failed).toEqual([]);
    expect(await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).toMatchObject({ state: "completed" });
    const retried = await callJson("POST", `/v1/calibrations/${v3.id}/activate`, 200, { ...admin, json: { reason: "hotfix" } });
    expect(retried.activation).toMatchObject({ calibration_id: v3.id, previous_calibration_id: v2.id });
    expect((await gateLog(p.gate_id)).map((r) => r.kind)).toEqual(["activation", "promotion_started", "promotion_completed", "activation"]);
  });

  it("a completion applied, then rolled back to the control before its audit row was linked, locks nothing", async () => {
    const { gate, v1, v2 } = await twoVersions("race-completed-unlinked");
    const v3 = await upload(gate, "v3", 0.1, false);
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [100] } });
    expect(p.state).toBe("completed");
    // the request died after the candidate's activation, before the audit row got its seq
    await env.DB.prepare("UPDATE promotion_steps SET seq = NULL WHERE promotion_id = ? AND kind = 'completed'").bind(p.id).run();
    await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { ...admin, json: { reason: "back to v1" } });
    // v1, the promotion's control, is current again: the completion is done all the same, and nothing is refused
    const activated = await callJson("POST", `/v1/calibrations/${v3.id}/activate`, 200, { ...admin, json: {} });
    expect(activated.activation).toMatchObject({ calibration_id: v3.id, previous_calibration_id: v1.id });
    expect((await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} })).control_calibration_id).toBe(v3.id);
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(v3.id);
  });

  it("activating the current calibration while a promotion is open ends it, even before its start event is logged", async () => {
    const { gate, v1, v2 } = await twoVersions("race-noop");
    // The start's log write fails: the promotion is open in D1 (its state of record) with no split served yet.
    await env.DB.prepare(
      `CREATE TRIGGER race_fail_log BEFORE INSERT ON activations WHEN NEW.gate_id = (SELECT gate_id FROM calibrations WHERE id = '${v2.id}') BEGIN SELECT RAISE(ABORT, 'injected D1 failure'); END`,
    ).run();
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    let p: { id: string };
    try {
      p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
      expect(logged).toHaveBeenCalled();
    } finally {
      logged.mockRestore();
      await env.DB.prepare("DROP TRIGGER race_fail_log").run();
    }
    expect(await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).toMatchObject({ state: "running" });
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).rollout).toBeNull();
    // Neither the dry run nor the activation reads it as a no-op.
    const preview = await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { ...admin, json: { dry_run: true } });
    expect(preview.already_current).toBe(false);
    const res = await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { ...admin, json: { reason: "stop the rollout" } });
    expect(res.already_current).toBe(false);
    expect((await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).state).toBe("superseded");
    // The cron writes the start's event late: it serves the promotion's current state, no split.
    await tick(env, new Date());
    const after = await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read });
    expect(after.steps.map((s: { kind: string; seq: number | null }) => [s.kind, s.seq !== null])).toEqual([
      ["started", true],
      ["superseded", true],
    ]);
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).rollout).toBeNull();
    // Closed, the promotion no longer counts: activating the current calibration again is a no-op.
    const again = await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { ...admin, json: {} });
    expect(again.already_current).toBe(true);
  });
});
