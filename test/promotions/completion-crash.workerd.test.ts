/**
 * A promotion's completion whose request dies at the worst moments, through the Worker's own wiring killed at a commit
 * point by the test-only fault hook (`afterCommit` never resolves: nothing after that write runs, as when the isolate
 * is reset), then the cron ticks that finish it:
 * - an advance that completes: the promotion row is `completed` and the candidate's activation committed, but its
 *   audit row has no seq and no listener ran (no KV publish, no push);
 * - the same advance dead one step earlier, between the promotion's row and the activation (its next read of the gate
 *   never returns): the control still serves its share;
 * - a straight promotion ([100]): the promotion is stored and its start logged, but its completion (the candidate's
 *   activation) was never written.
 * Each ends, within the ticks an activation's own crash needs, with the candidate served, one promotion_completed
 * event, every audit row linked to its event, and a further tick writing nothing.
 * (A completion whose activation write fails instead is in promotion-routes.workerd.test.ts.)
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PromotionPlanBody } from "../../src/contract";
import type { Env } from "../../src/platform/env";
import { ACTIVATION_LISTENERS_GRACE_MS } from "../../src/platform/limits";
import { overridePromotion, startPromotion } from "../../src/promotions/service";
import { appDeps } from "../../src/worker/wiring";
import { admin, advanceDyingAfterTransition, type Gate, gateLog, twoVersions } from "../support/promotions";
import { tick } from "../support/scheduled";
import { callJson, qs, TOKENS } from "../support/worker";

const scheduledEnv = env as unknown as Env;

/** The Worker's wiring with its clock at `at`, killed at its first commit point: nothing after that write runs. */
const dyingDeps = (at: Date) => ({
  ...appDeps(
    scheduledEnv,
    () => {},
    () => at,
  ),
  afterCommit: () => new Promise<void>(() => {}),
});

/** Waits (at most about 2 s) until `done` holds: the killed request has reached its commit point. */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error("the request never reached its commit point");
}

const plan = (steps: number[]): PromotionPlanBody => ({ steps, min_queries: 2000, on_regression: "rollback", max_step_hours: 72 });
const served = (gate: Gate) => callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
const getPromotion = (id: string) => callJson("GET", `/v1/promotions/${id}`, 200, { token: TOKENS.read });
const kinds = async (gateId: string) => (await gateLog(gateId)).map((r) => r.kind);

/**
 * The cron's tick a minute after `at` finishes the completion: no failure, the gate's log ends with the completion, the
 * promotion's last step is linked to that row, and the candidate is served with no split.
 */
async function expectCompletedByTheNextTick(p: { id: string; gate_id: string }, gate: Gate, candidateId: string, at: Date) {
  const first = await tick(scheduledEnv, new Date(at.getTime() + 60_000));
  expect(first.failed).toEqual([]);
  const log = await gateLog(p.gate_id);
  expect(log.map((r) => r.kind)).toEqual(["activation", "promotion_started", "promotion_completed"]);
  expect((await getPromotion(p.id)).steps.at(-1)).toMatchObject({ kind: "completed", seq: log.at(-1)!.seq });
  expect(await served(gate)).toMatchObject({ calibration_id: candidateId, rollout: null });
}

describe("a completion whose request died midway is finished by the cron", () => {
  it("dead after the candidate's activation committed: the next tick links the audit row and serves the candidate, the owed listeners run after their grace, once", async () => {
    const { gate, v2 } = await twoVersions("crash-complete");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [50, 100] } });
    const at = new Date();
    void overridePromotion(p.id, "advance", "alice", "looks fine", dyingDeps(at));
    await until(async () => (await kinds(p.gate_id)).includes("promotion_completed"));
    // The state the dead request left: completed in D1, the activation written, its seq not linked, nothing published.
    const dead = await getPromotion(p.id);
    expect(dead).toMatchObject({ state: "completed", percent: 100 });
    expect(dead.steps.at(-1)).toMatchObject({ kind: "completed", seq: null });
    const markers = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM pending_listeners WHERE gate_id = ?").bind(p.gate_id).first<{ n: number }>())!.n;
    expect(await markers()).toBe(1);

    await expectCompletedByTheNextTick(p, gate, v2.id, at);

    const late = await tick(scheduledEnv, new Date(at.getTime() + ACTIVATION_LISTENERS_GRACE_MS + 60_000));
    expect(late.failed).toEqual([]);
    expect(late.listeners).toMatchObject({ ran: 1 });
    expect(await markers()).toBe(0);
    expect(await served(gate)).toMatchObject({ calibration_id: v2.id, rollout: null });
    expect(await kinds(p.gate_id)).toEqual(["activation", "promotion_started", "promotion_completed"]);
    const again = await tick(scheduledEnv, new Date(at.getTime() + ACTIVATION_LISTENERS_GRACE_MS + 120_000));
    expect(again.promotions).toMatchObject({ repaired: 0, decided: 0 });
    expect(again.listeners).toMatchObject({ ran: 0 });
    expect(await kinds(p.gate_id)).toHaveLength(3);
  });

  it("dead between the promotion's row (completed) and the candidate's activation: the next tick activates it, once", async () => {
    const { gate, v1, v2 } = await twoVersions("crash-between");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [50, 100] } });
    const at = new Date();
    const base = appDeps(
      scheduledEnv,
      () => {},
      () => at,
    );
    // Once the transition is written, the request's next read of the gate never returns: it dies right there.
    await advanceDyingAfterTransition(p.id, base);
    expect(await getPromotion(p.id)).toMatchObject({ state: "completed", steps: { length: 2 } });
    expect(await served(gate)).toMatchObject({ calibration_id: v1.id, rollout: { percent_bp: 5000 } });

    await expectCompletedByTheNextTick(p, gate, v2.id, at);
    expect((await tick(scheduledEnv, new Date(at.getTime() + 120_000))).promotions).toMatchObject({ repaired: 0 });
    expect(await gateLog(p.gate_id)).toHaveLength(3);
  });

  it("a straight promotion dead after its start was logged: the next tick completes it as the start would have, once", async () => {
    const { gate, v1, v2 } = await twoVersions("crash-straight");
    const at = new Date();
    void startPromotion(v2.id, { ...plan([100]), reason: "straight" }, "alice", dyingDeps(at));
    await until(async () => (await kinds(v1.gate_id)).includes("promotion_started"));
    const listed = (await callJson("GET", `/v1/gates/${v1.gate_id}/promotions`, 200, { token: TOKENS.read })).promotions;
    expect(listed).toHaveLength(1);
    const row = listed[0]!;
    // The dead request's state: running its only step, the candidate served to every keyed query, no activation.
    expect(row).toMatchObject({ state: "running", step: 0, percent: 100 });
    expect((await served(gate)).calibration_id).toBe(v1.id);

    const first = await tick(scheduledEnv, new Date(at.getTime() + 60_000));
    expect(first.failed).toEqual([]);
    const after = await getPromotion(row.id);
    expect(after).toMatchObject({ state: "completed", percent: 100, evidence: null });
    expect(after.steps.map((s: { kind: string }) => s.kind)).toEqual(["started", "completed"]);
    expect(after.steps.at(-1)).toMatchObject({ cause: "admin", actor: "alice", reason: "straight", numbers: { plan: { steps: [100] } } });
    const log = await gateLog(v1.gate_id);
    expect(log.map((r) => r.kind)).toEqual(["activation", "promotion_started", "promotion_completed"]);
    expect(after.steps.map((s: { seq: number | null }) => s.seq)).toEqual([log[1]!.seq, log[2]!.seq]);
    expect(await served(gate)).toMatchObject({ calibration_id: v2.id, rollout: null });

    const again = await tick(scheduledEnv, new Date(at.getTime() + 120_000));
    expect(again.promotions).toMatchObject({ repaired: 0, decided: 0 });
    expect(await gateLog(v1.gate_id)).toHaveLength(3);
  });
});
