import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uploadCalibration } from "../../src/calibrations/upload-service";
import type { Env } from "../../src/platform/env";
import { gateIdOf } from "../../src/platform/ids";
import { ACTIVATION_LISTENERS_GRACE_MS, IDEMPOTENCY_TTL_MS } from "../../src/platform/limits";
import { type ProjectedThreshold, projectionKey } from "../../src/serving/projection";
import { appDeps } from "../../src/worker/wiring";
import { tick } from "../support/scheduled";
import { callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const scheduledEnv = env as unknown as Env;

async function calibrateThroughApi(gate: object, version: string, target: number): Promise<{ id: string; threshold: number | null }> {
  const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
    token: TOKENS.calibrate,
    // Served whatever the rebuild decision: the tests switch the served version on purpose.
    json: { ...gate, index_version: version, scores: spreadScores(400), policy: { kind: "drop_rate", target }, activate: true },
  });
  return calibration;
}

const kvGet = async (gateId: string, version: string | null): Promise<ProjectedThreshold | null> =>
  env.THRESHOLDS.get<ProjectedThreshold>(await projectionKey(gateId, version), "json");

const kvDelete = async (gateId: string, version: string | null): Promise<void> => env.THRESHOLDS.delete(await projectionKey(gateId, version));

/** The D1 row the projection must agree with. */
async function activeRow(gateId: string, version: string): Promise<{ calibration_id: string; activation_seq: number }> {
  const row = await env.DB.prepare("SELECT calibration_id, activation_seq FROM active_calibrations WHERE gate_id = ? AND index_version = ?")
    .bind(gateId, version)
    .first<{ calibration_id: string; activation_seq: number }>();
  expect(row).not.toBeNull();
  return row!;
}

describe("runScheduled: projection reconciliation", () => {
  it("republishes deleted KV values from D1 with the right activation_seq and calibration", async () => {
    const gate = uniqueGate("sched-repair");
    const cal = await calibrateThroughApi(gate, "v1", 0.3);
    const gateId = await gateIdOf({ index: gate.index, embedding: gate.embedding, reranker: gate.reranker });
    const published = await kvGet(gateId, null);
    expect(published?.threshold.calibration_id).toBe(cal.id);

    await kvDelete(gateId, null);
    await kvDelete(gateId, "v1");
    expect(await kvGet(gateId, null)).toBeNull();
    expect(await kvGet(gateId, "v1")).toBeNull();

    const run = await tick(scheduledEnv, new Date());
    expect(run.failed).toEqual([]);
    expect(run.reconcile?.written).toBe(2);
    expect(run.lines).toContain("reconcile: republished 2 projection value(s)");

    const row = await activeRow(gateId, "v1");
    expect(row.calibration_id).toBe(cal.id);
    // The current value is the one first published; a pinned version's value serves its calibration alone (no
    // promotion split or shadow set, which belong to the gate's current reads).
    const { rollout: _rollout, shadows: _shadows, ...pinnedThreshold } = published!.threshold;
    for (const version of [null, "v1"]) {
      const value = await kvGet(gateId, version);
      expect(value).toEqual(version === null ? published : { ...published, threshold: pinnedThreshold });
      expect(value).toMatchObject({ v: 1, gate_id: gateId, activation_seq: row.activation_seq });
      expect(value?.threshold).toMatchObject({ calibration_id: cal.id, threshold: cal.threshold, index_version: "v1" });
    }
  });

  it("republishes the current and every pinned version of a gate after a blue/green switch", async () => {
    const gate = uniqueGate("sched-pins");
    const blue = await calibrateThroughApi(gate, "blue", 0.1);
    const green = await calibrateThroughApi(gate, "green", 0.4);
    const gateId = await gateIdOf(gate);
    for (const version of [null, "blue", "green"]) await kvDelete(gateId, version);

    await tick(scheduledEnv, new Date());

    const greenRow = await activeRow(gateId, "green");
    const blueRow = await activeRow(gateId, "blue");
    expect(greenRow.activation_seq).toBeGreaterThan(blueRow.activation_seq);
    expect(await kvGet(gateId, null)).toMatchObject({ activation_seq: greenRow.activation_seq, threshold: { calibration_id: green.id } });
    expect(await kvGet(gateId, "green")).toMatchObject({ activation_seq: greenRow.activation_seq, threshold: { calibration_id: green.id } });
    expect(await kvGet(gateId, "blue")).toMatchObject({ activation_seq: blueRow.activation_seq, threshold: { calibration_id: blue.id } });
  });

  it("writes nothing on a second run when KV already agrees with D1, and replaces an older value", async () => {
    const gate = uniqueGate("sched-idem");
    await calibrateThroughApi(gate, "v1", 0.2);
    const gateId = await gateIdOf(gate);
    await tick(scheduledEnv, new Date());
    const agreed = (await kvGet(gateId, null))!;
    expect((await tick(scheduledEnv, new Date())).lines.filter((l) => l.startsWith("reconcile"))).toEqual([]);
    const key = await projectionKey(gateId, null);

    // Same activation_seq, different content: a run that wrote would restore the D1 content.
    const marked = { ...agreed, threshold: { ...agreed.threshold, fitted_at: "marker: not rewritten" } };
    await env.THRESHOLDS.put(key, JSON.stringify(marked));
    await tick(scheduledEnv, new Date());
    expect(await kvGet(gateId, null)).toEqual(marked);

    // An older activation_seq is stale: the run replaces it with the D1 value.
    await env.THRESHOLDS.put(key, JSON.stringify({ ...marked, activation_seq: agreed.activation_seq - 1 }));
    await tick(scheduledEnv, new Date());
    expect(await kvGet(gateId, null)).toEqual(agreed);
  });
});

describe("runScheduled: idempotency key retention", () => {
  it("purges keys older than 24 hours and keeps younger ones", async () => {
    const now = new Date(Date.UTC(2026, 10, 24, 12, 0, 0));
    const at = (msAgo: number) => new Date(now.getTime() - msAgo).toISOString();
    const rows: [string, string][] = [
      ["sched-old", at(IDEMPOTENCY_TTL_MS + 60_000)],
      ["sched-just-expired", at(IDEMPOTENCY_TTL_MS + 1)],
      ["sched-exactly-24h", at(IDEMPOTENCY_TTL_MS)],
      ["sched-fresh", at(3600_000)],
    ];
    for (const [key, createdAt] of rows) {
      await env.DB.prepare("INSERT INTO idempotency_keys (actor, key, request_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind("rebuild-bot", key, "hash", 201, "{}", createdAt)
        .run();
    }

    const run = await tick(scheduledEnv, now);
    expect(run.idempotencyKeysPurged).toBeGreaterThanOrEqual(2);

    const { results } = await env.DB.prepare("SELECT key FROM idempotency_keys WHERE key LIKE 'sched-%' ORDER BY key").all<{ key: string }>();
    expect(results.map((r) => r.key)).toEqual(["sched-exactly-24h", "sched-fresh"]);
  });
});

describe("runScheduled: the listeners owed by an upload whose request died at its D1 commit", () => {
  it("a shifted activate: true upload, no retry, no key: the tick past the grace period raises rebuild_shift and serves it; the next changes nothing", async () => {
    const gate = uniqueGate("sched-owed");
    const gateId = await gateIdOf(gate);
    // Flat uploads are judged at an assumed design effect of 50: enough scores that a 20-point move is "shifted".
    const upload = (index_version: string, offset: number) => ({
      ...gate,
      index_version,
      scores: spreadScores(4000, offset),
      policy: { kind: "drop_rate", target: 0.2 },
      activate: true,
    });
    await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: upload("v1", 0) });
    // The Worker's own wiring, killed at the commit point (the test-only fault hook): nothing after the commit runs.
    const committedAt = new Date();
    const deps = {
      ...appDeps(
        scheduledEnv,
        () => {},
        () => committedAt,
      ),
      afterCommit: () => new Promise<void>(() => {}),
    };
    const bytes = new TextEncoder().encode(JSON.stringify(upload("v2", 0.3)));
    void uploadCalibration({ type: "json", params: {}, bytes }, "rebuild-bot", undefined, deps);
    const markers = async () =>
      (await env.DB.prepare("SELECT activation_id FROM pending_listeners WHERE gate_id = ?").bind(gateId).all<{ activation_id: string }>()).results;
    for (let i = 0; i < 2000 && (await markers()).length === 0; i++) await new Promise((r) => setTimeout(r, 1));
    const v2 = await activeRow(gateId, "v2");
    expect(
      JSON.parse((await env.DB.prepare("SELECT shift FROM pending_listeners WHERE gate_id = ?").bind(gateId).first<{ shift: string }>())!.shift),
    ).toMatchObject({ decision: "shifted", alert: true });
    expect(await markers()).toEqual([{ activation_id: expect.stringMatching(/^act_/u) }]);
    const shiftAlerts = () =>
      env.DB.prepare("SELECT status, occurrences, calibration_ids FROM alerts WHERE gate_id = ? AND kind = 'rebuild_shift'").bind(gateId).all();
    expect((await shiftAlerts()).results).toEqual([]);

    // Within the grace period the request might still be running its listeners: left to it.
    const early = await tick(scheduledEnv, new Date(committedAt.getTime() + ACTIVATION_LISTENERS_GRACE_MS - 1000));
    expect(early.listeners).toEqual({ ran: 0, replaced: 0, failed: 0, given_up: 0 });
    expect((await shiftAlerts()).results).toEqual([]);

    const late = await tick(scheduledEnv, new Date(committedAt.getTime() + ACTIVATION_LISTENERS_GRACE_MS + 60_000));
    expect(late.failed).toEqual([]);
    expect(late.listeners).toEqual({ ran: 1, replaced: 0, failed: 0, given_up: 0 });
    const raised = (await shiftAlerts()).results;
    expect(raised).toEqual([{ status: "open", occurrences: 1, calibration_ids: expect.stringContaining(v2.calibration_id) }]);
    expect((await kvGet(gateId, null))?.threshold.calibration_id).toBe(v2.calibration_id);
    expect(await markers()).toEqual([]);

    const next = await tick(scheduledEnv, new Date(committedAt.getTime() + ACTIVATION_LISTENERS_GRACE_MS + 120_000));
    expect(next.listeners).toEqual({ ran: 0, replaced: 0, failed: 0, given_up: 0 });
    expect((await shiftAlerts()).results).toEqual(raised);
  });
});
