/**
 * The promotion engine through the API: the decisions a promotion takes on its own (the candidate's drift alarm, the
 * step's deadline), a decision or a log write lost to a failed D1 write and finished by the next cron tick, an arm
 * batch whose claim does not hold, a fresh isolate and a reset monitor mid-step, and the retention of evidence.
 * A promotion's start, plan and overrides are in promotion-overrides.workerd.test.ts, shadows in
 * shadow-routes.workerd.test.ts.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { GateMonitor } from "../../src/worker/gate-monitor";
import { isolate, newIsolateMemory } from "../../src/worker/isolate";
import { abortAllObjects } from "../support/abort-objects";
import { admin, type Gate, gateLog, twoVersions, upload } from "../support/promotions";
import { tick } from "../support/scheduled";
import { asQueries, call, callJson, expectError, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

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
        `^promotion ${p.id} of ${v2.id} \\(v2 over v1\\) rolled back in step 1 of ${p.plan.steps.length} \\(${p.plan.steps[0]} % of keyed traffic\\): drift_alarm; the candidate arm dropped 20.0 %; 120 candidate and 0 control queries; drift alarm: 50.0 % of 120 candidate arm queries lost every candidate`,
      ),
    );
    expect(alert!.summary).toContain("drift alarm: ");
  });

  it("the abstention test alarms too: a candidate on its drop-rate target that abstains five times as often as calibrated is paused", async () => {
    const gate = uniqueGate("engine-abstain");
    await upload(gate, "v1", 0);
    const v2 = (
      await callJson("POST", "/v1/calibrations", 201, {
        token: TOKENS.calibrate,
        json: {
          ...gate,
          index_version: "v2",
          queries: asQueries(spreadScores(4000, 0.3)),
          policy: { kind: "drop_rate", target: 0.2, abstention: { rate: 0.1 } },
          activate: false,
        },
      })
    ).calibration;
    expect(v2.abstention).toMatchObject({ mode: "rate" });
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200, on_regression: "pause" } });
    // 20 % dropped, as calibrated; every other query abstains (its top score below abstain_below), against 10 %.
    await post(
      armBatch(
        p,
        "abstain-cand",
        v2.id,
        "candidate",
        Array.from({ length: 120 }, (_, j) => [20, 4, 4, j % 2]),
      ),
    );
    const after = await get(p);
    expect(after).toMatchObject({ state: "paused" });
    const last = after.steps.at(-1)!;
    expect(last).toMatchObject({ kind: "paused", cause: "drift_alarm", actor: "promotion" });
    expect(last.numbers).toMatchObject({
      candidate_drop_rate: 0.2,
      drift_alarm: { kind: "abstention_drift", observed: 0.5, queries: 120 },
    });
    expect((last.numbers.drift_alarm as { summary: string }).summary).toMatch(/ of the last \d+ candidate arm queries abstained /u);
    // the arm's traffic raises the promotion's alert, never the gate's abstention_drift
    expect((await alertsOf(p.gate_id)).map((a) => a.kind)).toEqual(["promotion_paused"]);
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
    // counted from 1, as the alert, the CLI and the dashboard count the steps
    expect(paused.steps.at(-1)!.reason).toBe(`step 1 of ${p.plan.steps.length} (10 %) reached no decision within max_step_hours = 1`);
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
    // A candidate batch queued in a client across a step change is accepted and counted nowhere: no arm of any step
    // counts it, nor the gate's served traffic (the candidate's share is not served). One that names a step not reached
    // was never served to anyone: refused, naming the step.
    await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { ...admin, json: {} });
    expect(await post(armBatch(p, "claim-6", v2.id, "candidate", onTarget(10)))).toMatchObject({ accepted: true });
    await refused(armBatch(p, "claim-7", v2.id, "candidate", onTarget(10), 2), 422, "invalid_input", "promotion.step");
    expect((await get(p)).evidence).toMatchObject({ step: 1, candidate_queries: 0, control_queries: 0 });
    expect(await post(armBatch(p, "claim-8", v1.id, "control", onTarget(10), 1))).toMatchObject({ accepted: true });
    expect((await get(p)).evidence).toMatchObject({ step: 1, candidate_queries: 0, control_queries: 10 });
    // After the promotion ended, likewise; its evidence is gone and stays gone.
    await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: {} });
    expect(await post(armBatch(p, "claim-9", v1.id, "control", onTarget(10), 1))).toMatchObject({ accepted: true });
    expect((await evidenceRows(p.gate_id)).filter((k) => k.includes(p.id))).toEqual([]);
  });

  it("a candidate-arm batch queued across a rollback is counted nowhere: no production alert, no served window, no shadow comparison", async () => {
    const { gate, v1, v2 } = await twoVersions("late-cand");
    // A shadow with evidence: the gate's served queries are its comparison side (`versus:`).
    const v3 = await upload(gate, "v3", 0.1, false);
    await callJson("POST", `/v1/calibrations/${v3.id}/shadow`, 200, { ...admin, json: {} });
    await post({ batch_id: "late-sh-1", calibration_id: v3.id, role: "shadow", queries: onTarget(10) });
    await post({ batch_id: "late-served-1", calibration_id: v1.id, queries: onTarget(10) });
    const versus = () =>
      runInDurableObject(env.GATE_MONITOR.get(env.GATE_MONITOR.idFromName(v1.gate_id)), (_: GateMonitor, state) =>
        state.storage.sql.exec<{ state: string }>("SELECT state FROM evidence WHERE calibration_id LIKE 'versus:%'").toArray(),
      );
    const before = await versus();
    expect(before).toHaveLength(1);
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: { reason: "manual" } });
    // The client's queue still held the candidate arm's batch of step 0: 70 % dropped against v2's 20 %.
    const late = await post(armBatch(p, "late-cand-1", v2.id, "candidate", same(120, [20, 14])));
    expect(late).toMatchObject({ queued: false, accepted: true, alerts: [], window: { queries: 0 } });
    expect((await alertsOf(p.gate_id)).map((a) => a.kind)).not.toContain("drop_rate_drift");
    expect(await versus()).toEqual(before);
    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(monitor.windows.filter((w: { calibration_id: string }) => w.calibration_id === v2.id)).toEqual([]);
    // Its batch id is claimed: a retry is a duplicate.
    expect(await post(armBatch(p, "late-cand-1", v2.id, "candidate", same(120, [20, 14])))).toMatchObject({ duplicate: true });
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
