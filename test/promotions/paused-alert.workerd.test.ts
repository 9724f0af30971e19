/**
 * A promotion's `promotion_paused` alert is resolved once the pause is over, through the API: an admin's rollback,
 * resume, advance to completion, and a manual activation that supersedes the promotion each resolve it, with a note
 * naming the transition, its `alert.resolved` webhook event, and /metrics no longer counting it. A transition whose
 * request died before it resolved the alert (its log write failed, or the alert's own write did) is finished by the
 * next cron tick, once. The late settling of a rollback leaves the alert open while the gate's next promotion is paused.
 * An alert left open by a promotion that ended before (nothing owed by its transitions) is resolved by the cron's
 * reconciliation, named after the promotion's last transition.
 */
import { env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/platform/env";
import type { PromotionDeps } from "../../src/promotions/deps";
import { sweepPromotions } from "../../src/promotions/step-evidence";
import { appDeps } from "../../src/worker/wiring";
import { admin, twoVersions, upload } from "../support/promotions";
import { tick } from "../support/scheduled";
import { call, callJson, qs, TOKENS } from "../support/worker";

type P = { id: string; gate_id: string };

interface AlertRow {
  id: string;
  kind: string;
  status: string;
  occurrences: number;
  resolved_by: string | null;
  resolved_at: string | null;
  resolved_note: string | null;
}

const alertsOf = async (gateId: string) =>
  (
    await env.DB.prepare("SELECT id, kind, status, occurrences, resolved_by, resolved_at, resolved_note FROM alerts WHERE gate_id = ? ORDER BY rowid")
      .bind(gateId)
      .all<AlertRow>()
  ).results;

/** The alert's webhook events as recorded in the outbox, oldest first. */
const eventsOf = async (alertId: string) =>
  (
    await env.DB.prepare("SELECT type, payload FROM webhook_events WHERE alert_id = ? ORDER BY type")
      .bind(alertId)
      .all<{ type: string; payload: string }>()
  ).results;

const getPromotion = (p: P) => callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read });
const post = async (json: unknown) => callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json });
const same = (n: number, q: number[]) => Array.from({ length: n }, () => q);

/**
 * Starts a promotion of `candidateId` that pauses on a regression: a candidate arm far off its target alarms its drift
 * detector at once (test/promotions/promotion-routes.workerd.test.ts has the numbers), which raises promotion_paused.
 */
async function pausedOnRegression(candidateId: string, controlId: string, label: string, steps?: number[]): Promise<P> {
  const plan = { min_queries: 200, on_regression: "pause", ...(steps === undefined ? {} : { steps }) };
  const p = await callJson("POST", `/v1/calibrations/${candidateId}/promote`, 201, { ...admin, json: plan });
  const arm = (id: string, calibration_id: string, role: "candidate" | "control", queries: number[][]) => ({
    batch_id: `${label}-${id}`,
    calibration_id,
    promotion: { id: p.id, step: 0, arm: role },
    queries,
  });
  await post(arm("ctl", controlId, "control", same(10, [20, 4])));
  await post(arm("cand", candidateId, "candidate", same(120, [20, 14])));
  expect(await getPromotion(p)).toMatchObject({
    state: "paused",
    steps: expect.arrayContaining([expect.objectContaining({ cause: "drift_alarm" })]),
  });
  return p;
}

/** The unresolved promotion_paused alerts /metrics counts for the gate (0 when the line is gone). */
async function openPausedInMetrics(gateId: string): Promise<number> {
  const text = await (await call("GET", "/metrics", { token: TOKENS.read })).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith("scoregate_open_alerts{") && l.includes(`gate_id="${gateId}"`) && l.includes('kind="promotion_paused"'));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

/** The alert is resolved by `actor` with a note matching `note`, and its one alert.resolved event says the same. */
/**
 * Runs `run` while D1 refuses the writes `trigger` (a trigger's `BEFORE ... WHEN ...` clause) names, with console.error
 * silenced and handed to `run`: a request that dies between a transition and what it still owes.
 */
async function whileFailing(name: string, when: string, run: (logged: ReturnType<typeof vi.spyOn>) => Promise<void>): Promise<void> {
  await env.DB.prepare(`CREATE TRIGGER ${name} ${when} BEGIN SELECT RAISE(ABORT, 'injected D1 failure'); END`).run();
  const logged = vi.spyOn(console, "error").mockImplementation(() => {});
  try {
    await run(logged);
  } finally {
    logged.mockRestore();
    await env.DB.prepare(`DROP TRIGGER ${name}`).run();
  }
}

async function expectResolved(alert: AlertRow, actor: string, note: RegExp) {
  expect(alert).toMatchObject({ kind: "promotion_paused", status: "resolved", resolved_by: actor });
  expect(alert.resolved_note).toMatch(note);
  const events = await eventsOf(alert.id);
  expect(events.map((e) => e.type)).toEqual(["alert.opened", "alert.resolved"]);
  const resolved = JSON.parse(events[1]!.payload);
  expect(resolved.data).toMatchObject({ id: alert.id, status: "resolved", resolved_by: actor, resolved_note: alert.resolved_note });
  expect(resolved.text).toContain(`by ${actor}: promotion `);
}

describe("a promotion_paused alert is resolved once its pause is over", () => {
  it("an admin's rollback resolves it at once, naming the promotion and who rolled it back; /metrics stops counting it", async () => {
    const { v1, v2 } = await twoVersions("paused-rollback");
    const p = await pausedOnRegression(v2.id, v1.id, "pr");
    const [opened] = await alertsOf(p.gate_id);
    expect(opened).toMatchObject({ kind: "promotion_paused", status: "open" });
    expect(await openPausedInMetrics(p.gate_id)).toBe(1);

    const rolled = await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: { reason: "v2 hurts recall" } });
    expect(rolled).toMatchObject({ state: "rolled_back" });
    const actor = rolled.steps.at(-1)!.actor;
    const [alert] = await alertsOf(p.gate_id);
    await expectResolved(
      alert!,
      actor,
      new RegExp(
        `^promotion ${p.id} was rolled back by ${actor} \\("v2 hurts recall"\\): it has ended, and its candidate ${v2.id} is served no more$`,
      ),
    );
    expect(await openPausedInMetrics(p.gate_id)).toBe(0);
    // Through the API too, and nothing else was raised or resolved.
    expect(await callJson("GET", `/v1/alerts/${alert!.id}`, 200, { token: TOKENS.read })).toMatchObject({ status: "resolved" });
    expect((await alertsOf(p.gate_id)).map((a) => a.kind)).toEqual(["promotion_paused"]);
  });

  it("a resume resolves it (the pause is over); a later pause opens a new alert, which the rollback resolves", async () => {
    const { v1, v2 } = await twoVersions("paused-resume");
    const p = await pausedOnRegression(v2.id, v1.id, "rs");
    const resumed = await callJson("POST", `/v1/promotions/${p.id}/resume`, 200, { ...admin, json: {} });
    expect(resumed).toMatchObject({ state: "running" });
    const actor = resumed.steps.at(-1)!.actor;
    const [first] = await alertsOf(p.gate_id);
    await expectResolved(first!, actor, new RegExp(`^promotion ${p.id} was resumed by ${actor}: it runs step 1 of 3 again$`));

    // The regression persists: fresh evidence alarms again and pauses it again, a new incident.
    await post({ batch_id: "rs-cand-2", calibration_id: v2.id, promotion: { id: p.id, step: 0, arm: "candidate" }, queries: same(120, [20, 14]) });
    expect(await getPromotion(p)).toMatchObject({ state: "paused" });
    const [, second] = await alertsOf(p.gate_id);
    expect(second).toMatchObject({ kind: "promotion_paused", status: "open", occurrences: 1 });
    expect(await openPausedInMetrics(p.gate_id)).toBe(1);

    await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: {} });
    const after = await alertsOf(p.gate_id);
    expect(after.map((a) => a.status)).toEqual(["resolved", "resolved"]);
    expect(after[1]!.resolved_note).toBe(`promotion ${p.id} was rolled back by ${actor}: it has ended, and its candidate ${v2.id} is served no more`);
    expect(await openPausedInMetrics(p.gate_id)).toBe(0);
  });

  it("an advance that completes the promotion resolves it, acknowledged as it was", async () => {
    const { gate, v1, v2 } = await twoVersions("paused-complete");
    const p = await pausedOnRegression(v2.id, v1.id, "pc", [50, 100]);
    const [opened] = await alertsOf(p.gate_id);
    await callJson("POST", `/v1/alerts/${opened!.id}/acknowledge`, 200, { ...admin, json: { note: "reading the numbers" } });
    const done = await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { ...admin, json: { reason: "understood" } });
    expect(done).toMatchObject({ state: "completed" });
    const actor = done.steps.at(-1)!.actor;
    const [alert] = await alertsOf(p.gate_id);
    await expectResolved(
      alert!,
      actor,
      new RegExp(`^promotion ${p.id} was completed by ${actor} \\("understood"\\): its candidate ${v2.id} is served to all traffic$`),
    );
    expect(await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).toMatchObject({ calibration_id: v2.id });
  });

  it("a manual activation that supersedes the promotion resolves it", async () => {
    const { gate, v1, v2 } = await twoVersions("paused-supersede");
    const p = await pausedOnRegression(v2.id, v1.id, "ps");
    const v3 = await upload(gate, "v3", 0, false);
    await callJson("POST", `/v1/calibrations/${v3.id}/activate`, 200, { ...admin, json: { reason: "v3 instead" } });
    expect(await getPromotion(p)).toMatchObject({ state: "superseded" });
    const [alert] = await alertsOf(p.gate_id);
    await expectResolved(
      alert!,
      "promotion",
      new RegExp(`^promotion ${p.id} was superseded \\(calibration ${v3.id} was activated\\): it has ended$`),
    );
  });

  it("a rollback whose log write failed leaves the alert to the next cron tick, which resolves it once", async () => {
    const { v1, v2 } = await twoVersions("paused-crash-log");
    const p = await pausedOnRegression(v2.id, v1.id, "pcl");
    await whileFailing("fail_paused_log", `BEFORE INSERT ON activations WHEN NEW.gate_id = '${p.gate_id}'`, async (logged) => {
      const rolled = await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: {} });
      expect(rolled.steps.at(-1)).toMatchObject({ kind: "rolled_back", seq: null });
      expect(logged).toHaveBeenCalledWith(expect.stringContaining("the cron writes its event"), expect.anything());
      // The window: the promotion ended, its alert is still open.
      expect((await alertsOf(p.gate_id)).map((a) => a.status)).toEqual(["open"]);
    });
    const repaired = await tick(env, new Date());
    expect(repaired.failed).toEqual([]);
    const [alert] = await alertsOf(p.gate_id);
    const actor = (await getPromotion(p)).steps.at(-1)!.actor;
    await expectResolved(alert!, actor, new RegExp(`^promotion ${p.id} was rolled back by ${actor}: `));
    expect((await getPromotion(p)).steps.at(-1)!.seq).not.toBeNull();
    // Another tick changes nothing: the same resolution, one alert.resolved.
    await tick(env, new Date(Date.now() + 60_000));
    expect(await alertsOf(p.gate_id)).toEqual([alert]);
    expect((await eventsOf(alert!.id)).map((e) => e.type)).toEqual(["alert.opened", "alert.resolved"]);
  });

  it("a resume whose alert write failed is finished by the next cron tick (the event is not written twice)", async () => {
    const { v1, v2 } = await twoVersions("paused-crash-alert");
    const p = await pausedOnRegression(v2.id, v1.id, "pca");
    const [opened] = await alertsOf(p.gate_id);
    await whileFailing("fail_paused_resolve", `BEFORE UPDATE ON alerts WHEN OLD.id = '${opened!.id}'`, async () => {
      const resumed = await callJson("POST", `/v1/promotions/${p.id}/resume`, 200, { ...admin, json: {} });
      // The resume stands and its event is logged; the alert is not resolved, so the audit row waits for the cron.
      expect(resumed).toMatchObject({ state: "running" });
      expect(resumed.steps.at(-1)).toMatchObject({ kind: "resumed", seq: null });
      expect((await alertsOf(p.gate_id)).map((a) => a.status)).toEqual(["open"]);
      expect((await tick(env, new Date())).failed).toContain("promotions");
    });
    const logBefore = await env.DB.prepare("SELECT count(*) AS n FROM activations WHERE gate_id = ?").bind(p.gate_id).first<{ n: number }>();
    const repaired = await tick(env, new Date());
    expect(repaired.failed).toEqual([]);
    const actor = (await getPromotion(p)).steps.at(-1)!.actor;
    const [alert] = await alertsOf(p.gate_id);
    await expectResolved(alert!, actor, new RegExp(`^promotion ${p.id} was resumed by ${actor}: `));
    const last = (await getPromotion(p)).steps.at(-1)!;
    expect(last).toMatchObject({ kind: "resumed" });
    expect(last.seq).not.toBeNull();
    const logAfter = await env.DB.prepare("SELECT count(*) AS n FROM activations WHERE gate_id = ?").bind(p.gate_id).first<{ n: number }>();
    expect(logAfter).toEqual(logBefore);
  });

  it("the late settling of a rollback leaves the alert open while the gate's next promotion is paused", async () => {
    const { v1, v2 } = await twoVersions("paused-next");
    const p1 = await pausedOnRegression(v2.id, v1.id, "pn1");
    await whileFailing("fail_next_log", `BEFORE INSERT ON activations WHEN NEW.gate_id = '${p1.gate_id}'`, async () => {
      await callJson("POST", `/v1/promotions/${p1.id}/rollback`, 200, { ...admin, json: {} });
    });
    // p1's rollback is not settled yet: its alert is open, and p2's pause counts a repeat on it.
    const p2 = await pausedOnRegression(v2.id, v1.id, "pn2");
    expect(await alertsOf(p1.gate_id)).toEqual([expect.objectContaining({ status: "open", occurrences: 2 })]);
    expect((await tick(env, new Date())).failed).toEqual([]);
    expect((await getPromotion(p1)).steps.at(-1)!.seq).not.toBeNull();
    expect(await alertsOf(p1.gate_id)).toEqual([expect.objectContaining({ status: "open", occurrences: 2 })]);
    // p2's rollback ends the pause the alert asks about.
    await callJson("POST", `/v1/promotions/${p2.id}/rollback`, 200, { ...admin, json: {} });
    const [alert] = await alertsOf(p1.gate_id);
    expect(alert).toMatchObject({ status: "resolved" });
    expect(alert!.resolved_note).toMatch(new RegExp(`^promotion ${p2.id} was rolled back by `));
  });

  it("the cron resolves an alert left open by a promotion that has ended (acknowledged or not), once, and leaves a paused one's", async () => {
    const { v1, v2 } = await twoVersions("paused-legacy");
    const p = await pausedOnRegression(v2.id, v1.id, "pl");
    const [opened] = await alertsOf(p.gate_id);
    await callJson("POST", `/v1/alerts/${opened!.id}/acknowledge`, 200, { ...admin, json: { note: "looking" } });
    // A tick while the promotion is paused leaves its alert alone.
    await tick(env, new Date());
    expect((await alertsOf(p.gate_id)).map((a) => a.status)).toEqual(["acknowledged"]);
    const rolled = await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: {} });
    const actor = rolled.steps.at(-1)!.actor;
    // As a rollback left it before it resolved the alert: acknowledged, its resolution and event not written.
    await env.DB.batch([
      env.DB.prepare("UPDATE alerts SET status = 'acknowledged', resolved_at = NULL, resolved_by = NULL, resolved_note = NULL WHERE id = ?").bind(
        opened!.id,
      ),
      env.DB.prepare(
        "DELETE FROM webhook_deliveries WHERE event_id IN (SELECT id FROM webhook_events WHERE alert_id = ? AND type = 'alert.resolved')",
      ).bind(opened!.id),
      env.DB.prepare("DELETE FROM webhook_events WHERE alert_id = ? AND type = 'alert.resolved'").bind(opened!.id),
    ]);
    expect(await openPausedInMetrics(p.gate_id)).toBe(1);
    const swept = await tick(env, new Date());
    expect(swept.failed).toEqual([]);
    expect(swept.promotions!.alerts_resolved).toBeGreaterThanOrEqual(1);
    const [alert] = await alertsOf(p.gate_id);
    await expectResolved(alert!, actor, new RegExp(`^promotion ${p.id} was rolled back by ${actor}: it has ended`));
    expect(await openPausedInMetrics(p.gate_id)).toBe(0);
    await tick(env, new Date());
    expect(await alertsOf(p.gate_id)).toEqual([alert]);
  });
});

describe("the cron's promotions pass when the alerts cannot be read", () => {
  it("still decides the running promotions, then reports the alerts it could not reconcile", async () => {
    const base = appDeps(env as unknown as Env, () => {});
    let runningRead = 0;
    const deps: PromotionDeps = {
      ...base,
      promotions: Object.assign(Object.create(Object.getPrototypeOf(base.promotions)), base.promotions, {
        running: (limit: number) => {
          runningRead++;
          return base.promotions.running(limit);
        },
      }),
      pausedAlerts: { ...base.pausedAlerts, allUnresolved: () => Promise.reject(new Error("D1_ERROR: injected")) },
    };
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const sweep = await sweepPromotions(deps);
      expect(runningRead).toBe(1);
      expect(sweep.failed).toContain("promotion_paused alerts");
      expect(sweep.alerts_resolved).toBe(0);
      expect(logged).toHaveBeenCalledWith(expect.stringContaining("listing the promotion_paused alerts failed"), expect.anything());
    } finally {
      logged.mockRestore();
    }
  });
});
