/**
 * The GateMonitor Durable Object driven directly (no HTTP): window rollover, history trimming, and the alarm that
 * retries alerts whose raise failed.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { GateMonitorRpc, ObserveInput } from "../../src/monitoring/monitor-contract";
import { DRIFT_WINDOW_MS } from "../../src/monitoring/window";
import { MAX_WINDOW_HISTORY } from "../../src/platform/limits";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { dropStratumOf } from "../../src/stats/per-query";
import type { GateMonitor } from "../../src/worker/gate-monitor";
import { batch, moved, steady, T0 } from "../support/monitor-batches";

let counter = 0;
function monitor(label: string) {
  counter += 1;
  const gateId = `gate-do-${label}-${counter}`;
  const stub = env.GATE_MONITOR.get(env.GATE_MONITOR.idFromName(gateId));
  return { gateId, stub, rpc: stub as unknown as GateMonitorRpc };
}

const stubs: DurableObjectStub[] = [];
afterEach(async () => {
  // Alarms are not reset between tests: run any that is left so none fires into a later test.
  for (const s of stubs.splice(0)) while (await runDurableObjectAlarm(s)) {}
});

describe("GateMonitor", () => {
  it("rolls a window over into the history when its 24 hours end, and opens a fresh one on the next batch", async () => {
    const { gateId, rpc } = monitor("rollover");
    await rpc.observe(batch(gateId, "b1", T0, steady(40)));
    const before = await rpc.status(gateId, T0 + DRIFT_WINDOW_MS - 1, DEFAULT_DRIFT_CONFIG);
    expect(before.windows.map((w) => w.queries)).toEqual([40]);
    expect(before.history).toEqual([]);

    const after = await rpc.status(gateId, T0 + DRIFT_WINDOW_MS, DEFAULT_DRIFT_CONFIG);
    expect(after.windows).toEqual([]);
    expect(after.history).toHaveLength(1);
    expect(after.history[0]).toMatchObject({ queries: 40, candidates: 800, dropped: 240, started_at: new Date(T0).toISOString() });

    const next = await rpc.observe(batch(gateId, "b2", T0 + DRIFT_WINDOW_MS + 5, steady(10)));
    expect(next.window).toMatchObject({ queries: 10, batches: 1, started_at: new Date(T0 + DRIFT_WINDOW_MS + 5).toISOString() });
  });

  it("carries a window's alarmed numbers to the calibration's next window (an alert outlives the day), and into the history", async () => {
    const { gateId, stub, rpc } = monitor("alarmed-carry");
    stubs.push(stub);
    const out = await rpc.observe(batch(gateId, "c1", T0 + DRIFT_WINDOW_MS - 1000, moved(200)));
    expect(out.alerts).toEqual(["drop_rate_drift"]);
    const alarmed = (await rpc.status(gateId, T0 + DRIFT_WINDOW_MS - 500, DEFAULT_DRIFT_CONFIG)).windows[0]!.drop_rate.alarmed;
    expect(alarmed).toMatchObject({ queries: 200, observed: 0.6, at: new Date(T0 + DRIFT_WINDOW_MS - 1000).toISOString() });
    // The window's day ends: the finished window keeps them, and the next window of the calibration carries them.
    const rolled = await rpc.status(gateId, T0 + 2 * DRIFT_WINDOW_MS, DEFAULT_DRIFT_CONFIG);
    expect(rolled.windows).toEqual([]);
    expect(rolled.history[0]!.drop_rate.alarmed).toEqual(alarmed);
    const next = await rpc.observe(batch(gateId, "c2", T0 + 2 * DRIFT_WINDOW_MS + 5, steady(10)));
    expect(next.window.queries).toBe(10);
    expect(next.window.drop_rate.alarmed).toEqual(alarmed);
  });

  it(`keeps the newest ${MAX_WINDOW_HISTORY} finished windows and drops older ones`, async () => {
    const { gateId, rpc } = monitor("history");
    const windows = MAX_WINDOW_HISTORY + 5;
    for (let i = 0; i < windows; i++) await rpc.observe(batch(gateId, `h${i}`, T0 + i * DRIFT_WINDOW_MS, steady(i + 1)));
    const status = await rpc.status(gateId, T0 + windows * DRIFT_WINDOW_MS, DEFAULT_DRIFT_CONFIG);
    expect(status.history).toHaveLength(MAX_WINDOW_HISTORY);
    // newest first: the last window had `windows` queries, the oldest kept one 6
    expect(status.history.map((w) => w.queries)).toEqual(Array.from({ length: MAX_WINDOW_HISTORY }, (_, i) => windows - i));
  });

  it("keeps an alert whose raise failed and raises it from its alarm once storage takes it", async () => {
    const { gateId, stub, rpc } = monitor("alarm");
    stubs.push(stub);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    // A 30 % -> 60 % move alarms at once; a gate id D1 refuses (NOT NULL) makes the first raise fail.
    const moved: [number, number][] = Array.from({ length: 200 }, () => [20, 12]);
    const out = await rpc.observe(batch(gateId, "a1", Date.now(), moved, { gate_id: null as unknown as string }));
    expect(out.alerts).toEqual(["drop_rate_drift"]);
    expect(errors).toHaveBeenCalledWith(expect.stringContaining("raising a drift alert failed"), expect.anything());
    errors.mockRestore();

    const pending = await runInDurableObject(stub, async (_: GateMonitor, state) => ({
      rows: state.storage.sql.exec("SELECT COUNT(*) AS n FROM pending_alerts").one().n,
      alarm: await state.storage.getAlarm(),
    }));
    expect(pending.rows).toBe(1);
    expect(pending.alarm).not.toBeNull();
    // Meanwhile the snapshot reports the alarm not yet stored, so the gate reads "alarm" (src/monitoring/drift-state.ts).
    const waiting = await rpc.status(gateId, Date.now(), DEFAULT_DRIFT_CONFIG, false);
    expect(waiting.pending_alerts.map((p) => p.kind)).toEqual(["drop_rate_drift"]);

    // Storage takes it now (the row is repaired, as a fixed deployment would): the alarm raises and clears it.
    await runInDurableObject(stub, (_: GateMonitor, state) => {
      state.storage.sql.exec("UPDATE pending_alerts SET alert = json_set(alert, '$.gate_id', ?)", gateId);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const left = await runInDurableObject(
      stub,
      (_: GateMonitor, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM pending_alerts").one().n,
    );
    expect(left).toBe(0);
    expect((await rpc.status(gateId, Date.now(), DEFAULT_DRIFT_CONFIG, false)).pending_alerts).toEqual([]);
    const row = await env.DB.prepare("SELECT kind, status FROM alerts WHERE gate_id = ?").bind(gateId).first();
    expect(row).toEqual({ kind: "drop_rate_drift", status: "open" });
  });

  it("a restart between batches loses nothing and counts a re-sent batch once", async () => {
    const { gateId, stub, rpc } = monitor("restart");
    await rpc.observe(batch(gateId, "r1", T0, steady(30)));
    // The object is evicted from memory (a deploy, an idle eviction); its SQLite storage stays.
    await evictDurableObject(stub);
    const fresh = env.GATE_MONITOR.get(env.GATE_MONITOR.idFromName(gateId)) as unknown as GateMonitorRpc;
    const again = await fresh.observe(batch(gateId, "r1", T0 + 1_000, steady(30)));
    expect(again).toMatchObject({ duplicate: true });
    const next = await fresh.observe(batch(gateId, "r2", T0 + 2_000, steady(10)));
    expect(next.window).toMatchObject({ queries: 40, batches: 2 });
  });
});

describe("GateMonitor: a promotion's candidate arm", () => {
  const arm = (b: ObserveInput, step: number, a: "candidate" | "control"): ObserveInput => ({
    ...b,
    promotion: { id: "prm_0000000000aaaa", step, arm: a },
  });

  it("runs its own drift window per step: its alarm stays in the arm's evidence, never in the gate's alerts; the status lists it as the candidate's", async () => {
    const { gateId, stub, rpc } = monitor("arm-drift");
    stubs.push(stub);
    const first = await rpc.observe(arm(batch(gateId, "a1", T0, moved(200)), 0, "candidate"));
    expect(first).toMatchObject({ alerts: [], window: { queries: 200, drop_rate: { alarm: true } } });
    expect(first.arms?.candidate?.drift?.alarm).toMatchObject({ kind: "drop_rate_drift", at: new Date(T0).toISOString() });
    // Later batches of the step keep the first alarm; the next step starts a fresh detector.
    const later = await rpc.observe(arm(batch(gateId, "a2", T0 + 1_000, steady(50)), 0, "candidate"));
    expect(later.arms?.candidate).toMatchObject({ sums: { queries: 250 }, drift: { alarm: { at: new Date(T0).toISOString() } } });
    const next = await rpc.observe(arm(batch(gateId, "a3", T0 + 2_000, steady(50)), 1, "candidate"));
    expect(next.arms?.candidate?.drift).toMatchObject({ alarm: null, window: { queries: 50 } });
    const status = await rpc.status(gateId, T0 + 3_000, DEFAULT_DRIFT_CONFIG);
    // The status lists the arm's window of its newest step as the candidate's, apart from the gate's (served, shadow).
    expect(status.windows.map((w) => [w.traffic, w.promotion, w.queries])).toEqual([["candidate", { id: "prm_0000000000aaaa", step: 1 }, 50]]);
    expect(status.pending_alerts).toEqual([]);
    // A day after the arm's last batch (its promotion closed and its rows not yet deleted, say) it is no longer listed.
    expect((await rpc.status(gateId, T0 + 2_000 + 24 * 3600 * 1000 + 1, DEFAULT_DRIFT_CONFIG)).windows).toEqual([]);
  });

  it("continues an arm row stored before the detector ran there (migration 6's rows): its counts go on, the detector starts", async () => {
    const { gateId, stub, rpc } = monitor("arm-legacy");
    stubs.push(stub);
    const legacy = { since: T0, sums: (await rpc.observe(arm(batch(gateId, "l0", T0, steady(30)), 0, "control"))).arms!.control!.sums };
    await runInDurableObject(stub, (_: GateMonitor, state) => {
      state.storage.sql.exec(
        "INSERT INTO evidence (calibration_id, updated_at, state) VALUES (?, ?, ?)",
        "arm:prm_0000000000aaaa:0:candidate",
        T0,
        JSON.stringify(legacy),
      );
    });
    const after = await rpc.observe(arm(batch(gateId, "l1", T0 + 1_000, steady(20)), 0, "candidate"));
    expect(after.arms?.candidate).toMatchObject({ since: T0, sums: { queries: 50 }, drift: { alarm: null, window: { queries: 20 } } });
  });
});

describe("GateMonitor.observeMany (queued batches)", () => {
  const many = (nowMs: number, batches: ObserveInput[]) => ({
    now_ms: nowMs,
    config: DEFAULT_DRIFT_CONFIG,
    batches: batches.map(({ now_ms: _n, config: _c, ...b }) => b),
  });

  it("counts every batch of one call once, in order: a repeated id in the same call is a duplicate", async () => {
    const { gateId, rpc } = monitor("many");
    const out = await rpc.observeMany(
      many(T0, [batch(gateId, "m1", T0, steady(10)), batch(gateId, "m2", T0, steady(20)), batch(gateId, "m1", T0, steady(10))]),
    );
    expect(out.results).toEqual([
      { batch_id: "m1", status: "counted" },
      { batch_id: "m2", status: "counted" },
      { batch_id: "m1", status: "duplicate" },
    ]);
    const status = await rpc.status(gateId, T0, DEFAULT_DRIFT_CONFIG);
    expect(status.windows[0]).toMatchObject({ queries: 30, batches: 2 });
    expect(status.queued_ingest).toEqual({ calls: 1, batches: 3, counted: 2, duplicates: 1, mismatches: 0, last_mismatch: null });
  });

  it("a batch already counted by observe() is a duplicate; the same id with another body is a recorded mismatch", async () => {
    const { gateId, rpc } = monitor("many-mismatch");
    await rpc.observe(batch(gateId, "d1", T0, steady(10)));
    const changed = { ...batch(gateId, "d1", T0, steady(12)), batch_hash: "another-body" };
    const out = await rpc.observeMany(many(T0 + 5, [batch(gateId, "d1", T0, steady(10)), changed]));
    expect(out.results.map((r) => r.status)).toEqual(["duplicate", "mismatch"]);
    const status = await rpc.status(gateId, T0 + 5, DEFAULT_DRIFT_CONFIG);
    expect(status.windows[0]).toMatchObject({ queries: 10, batches: 1 });
    expect(status.queued_ingest).toMatchObject({ mismatches: 1, last_mismatch: { batch_id: "d1", at: new Date(T0 + 5).toISOString() } });
  });

  it("a batch whose transaction throws is rolled back alone and reported failed; its id stays free for the retry", async () => {
    const { gateId, rpc } = monitor("many-failed");
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    // dropped > candidates: the window's per-query sums refuse it (RangeError) after the batch id was claimed
    const broken = batch(gateId, "f1", T0, [[5, 9]]);
    const out = await rpc.observeMany(many(T0, [batch(gateId, "f0", T0, steady(10)), broken, batch(gateId, "f2", T0, steady(5))]));
    errors.mockRestore();
    expect(out.results.map((r) => r.status)).toEqual(["counted", "failed", "counted"]);
    expect(out.results[1]).toMatchObject({ error: expect.stringContaining("addCluster") });
    const retried = await rpc.observeMany(many(T0 + 1, [batch(gateId, "f1", T0, steady(7))]));
    expect(retried.results).toEqual([{ batch_id: "f1", status: "counted" }]);
    const status = await rpc.status(gateId, T0 + 1, DEFAULT_DRIFT_CONFIG);
    expect(status.windows[0]).toMatchObject({ queries: 22, batches: 3 });
    expect(status.queued_ingest).toMatchObject({ calls: 2, batches: 3, counted: 3 });
  });

  it("counts a shadow's batches apart (its alarm raises nothing of the gate) and each promotion arm per step", async () => {
    const { gateId, stub, rpc } = monitor("evidence");
    stubs.push(stub);
    const shadowBatch = (id: string, at: number): ObserveInput => ({
      ...batch(gateId, id, at, moved(200)),
      calibration: { ...batch(gateId, id, at, []).calibration, id: `cal_shadow_${gateId}`, index_version: "v2" },
      role: "shadow",
      shadow_since_seq: 7,
    });
    // 60 % against an expected 30 %: as a served batch this alarms within one batch (see moved()).
    const shadowed = await rpc.observe(shadowBatch("s1", T0));
    expect(shadowed.alerts).toEqual([]);
    // Its own window did alarm (the shadow's status): only the gate's alerts are spared.
    expect(shadowed.window.drop_rate.alarm).toBe(true);
    const status = await rpc.status(gateId, T0 + 1, DEFAULT_DRIFT_CONFIG);
    expect(status.pending_alerts).toEqual([]);
    expect(status.windows.find((w) => w.calibration_id === `cal_shadow_${gateId}`)).toMatchObject({ queries: 200, alarms: 1 });

    await rpc.observe(batch(gateId, "served-1", T0 + 2, steady(30)));
    const arm = (id: string, step: number, a: "candidate" | "control" | "unassigned", n: number): ObserveInput => ({
      ...batch(gateId, id, T0 + 3, steady(n)),
      promotion: { id: "prm_0123456789abcdef", step, arm: a },
    });
    await rpc.observe(arm("c0", 0, "candidate", 11));
    await rpc.observe(arm("k0", 0, "control", 13));
    await rpc.observe(arm("c1", 1, "candidate", 17));
    await rpc.observe(arm("u1", 1, "unassigned", 19));
    const ev = await rpc.evidence();
    const queries = Object.fromEntries(Object.entries(ev).map(([k, v]) => [k, v.sums.queries]));
    expect(queries).toEqual({
      [`shadow:cal_shadow_${gateId}@7`]: 200,
      // Served since the shadow's first batch: every batch but the candidate arm's (30 + 13 + 19).
      [`versus:cal_shadow_${gateId}@7`]: 62,
      "arm:prm_0123456789abcdef:0:candidate": 11,
      "arm:prm_0123456789abcdef:0:control": 13,
      "arm:prm_0123456789abcdef:1:candidate": 17,
    });
  });

  it("splits each evidence row's candidates with the guards of the calibration that started it, for the row's life", async () => {
    const { gateId, stub, rpc } = monitor("evidence-guards");
    stubs.push(stub);
    const guarded = (id: string, queries: [number, number][], guards: { min_keep: number; max_keep: number | null } | null): ObserveInput => {
      const b = batch(gateId, id, T0, queries);
      return {
        ...b,
        calibration: { ...b.calibration, expectation: { ...b.calibration.expectation, guards } },
        promotion: { id: "prm_00000000000000aa", step: 0, arm: "candidate" },
      };
    };
    // min_keep 3: a query of 5 leaves 2 candidates to the threshold, a query of 4 leaves 1.
    await rpc.observe(
      guarded(
        "g1",
        [
          [5, 2],
          [4, 1],
        ],
        { min_keep: 3, max_keep: null },
      ),
    );
    // A later batch under other guards is counted the row's way (its strata never mix two ways of counting).
    await rpc.observe(guarded("g2", [[5, 1]], null));
    const row = (await rpc.evidence())["arm:prm_00000000000000aa:0:candidate"]!;
    expect(row.guards).toEqual({ min_keep: 3, max_keep: null });
    const eligible = row.sums.stratumEligible!;
    expect(eligible[dropStratumOf(5)]).toBe(4);
    expect(eligible[dropStratumOf(4)]).toBe(1);
    expect(row.sums.stratumEligibleDropped![dropStratumOf(5)]).toBe(3);
  });
});
