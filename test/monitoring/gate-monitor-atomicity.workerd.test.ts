/**
 * A GateMonitor batch is applied whole or not at all. The idempotency claim, the series bucket, the window update and
 * any pending alert are one synchronous `transactionSync`; here a statement late in that transaction is made to fail after the earlier
 * ones wrote (a SQLite trigger installed through runInDurableObject, so the object itself has no test hook), and the
 * object is aborted right after a committed batch.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { GateMonitorRpc, ObserveInput } from "../../src/monitoring/monitor-contract";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import type { GateMonitor } from "../../src/worker/gate-monitor";
import { abortAllObjects } from "../support/abort-objects";
import { batch, moved, steady, T0 } from "../support/monitor-batches";

type MonitorStub = ReturnType<typeof env.GATE_MONITOR.get>;

let counter = 0;
function monitor(label: string) {
  counter += 1;
  const gateId = `gate-atomic-${label}-${counter}`;
  const stub = env.GATE_MONITOR.get(env.GATE_MONITOR.idFromName(gateId));
  stubs.push(stub);
  return { gateId, stub, rpc: stub as unknown as GateMonitorRpc };
}

const INJECTED = "injected failure after the batch id was claimed";

/**
 * `observe` called on the instance itself. A rejecting call through the stub leaks an unhandled rejection in the
 * Vitest integration even when the test handles it (cloudflare/workers-sdk#14736); runInDurableObject does not.
 */
const observeInside = (stub: MonitorStub, input: ObserveInput) => runInDurableObject(stub, (instance: GateMonitor) => instance.observe(input));

/** Makes every write of a window row fail: the last statement of a batch's transaction. */
const breakWindowWrites = (stub: MonitorStub) =>
  runInDurableObject(stub, (_: GateMonitor, state) => {
    state.storage.sql.exec(`CREATE TRIGGER fail_window_insert BEFORE INSERT ON windows BEGIN SELECT RAISE(ABORT, '${INJECTED}'); END`);
    state.storage.sql.exec(`CREATE TRIGGER fail_window_update BEFORE UPDATE ON windows BEGIN SELECT RAISE(ABORT, '${INJECTED}'); END`);
  });
const repairWindowWrites = (stub: MonitorStub) =>
  runInDurableObject(stub, (_: GateMonitor, state) => {
    state.storage.sql.exec("DROP TRIGGER fail_window_insert");
    state.storage.sql.exec("DROP TRIGGER fail_window_update");
  });

/** What the object has stored, read from its SQLite directly. */
const stored = (stub: MonitorStub, batchId: string) =>
  runInDurableObject(stub, (_: GateMonitor, state) => {
    const n = (sql: string, ...args: string[]) => Number(state.storage.sql.exec<{ n: number }>(sql, ...args).one().n);
    return {
      batchRecorded: n("SELECT COUNT(*) AS n FROM batches WHERE batch_id = ?", batchId),
      batches: n("SELECT COUNT(*) AS n FROM batches"),
      pendingAlerts: n("SELECT COUNT(*) AS n FROM pending_alerts"),
      series: n("SELECT COUNT(*) AS n FROM series"),
      seriesAlarms: n("SELECT COALESCE(SUM(drop_alarms), 0) AS n FROM series"),
    };
  });

const stubs: DurableObjectStub[] = [];
afterEach(async () => {
  // Alarms are not reset between tests: run any that is left so none fires into a later test.
  for (const s of stubs.splice(0)) while (await runDurableObjectAlarm(s)) {}
});

describe("GateMonitor: a failure inside a batch's transaction", () => {
  it("rolls back the claimed batch id and the counts; the retried batch then counts once", async () => {
    const { gateId, stub, rpc } = monitor("rollback");
    await rpc.observe(batch(gateId, "b1", T0, steady(40)));
    await breakWindowWrites(stub);

    await expect(observeInside(stub, batch(gateId, "b2", T0 + 1_000, steady(25)))).rejects.toThrow(INJECTED);
    expect(await stored(stub, "b2")).toEqual({ batchRecorded: 0, batches: 1, pendingAlerts: 0, series: 1, seriesAlarms: 0 });
    expect((await rpc.series(T0, T0 + 2_000))[0]).toMatchObject({ queries: 40, batches: 1 });
    const status = await rpc.status(gateId, T0 + 2_000, DEFAULT_DRIFT_CONFIG);
    expect(status.windows.map((w) => [w.queries, w.batches])).toEqual([[40, 1]]);

    await repairWindowWrites(stub);
    const retried = await rpc.observe(batch(gateId, "b2", T0 + 3_000, steady(25)));
    expect(retried).toMatchObject({ duplicate: false, window: { queries: 65, batches: 2 } });
    const again = await rpc.observe(batch(gateId, "b2", T0 + 4_000, steady(25)));
    expect(again).toMatchObject({ duplicate: true, mismatch: false, window: { queries: 65, batches: 2 } });
    expect(await stored(stub, "b2")).toMatchObject({ batchRecorded: 1, batches: 2 });
  });

  it("rolls back an alarm's pending alert and series bucket with it; the retry alarms once", async () => {
    const { gateId, stub, rpc } = monitor("rollback-alarm");
    await breakWindowWrites(stub);
    // This batch alarms: the transaction writes its series bucket and queues the alert, then fails writing the window.
    await expect(observeInside(stub, batch(gateId, "a1", T0, moved(200)))).rejects.toThrow(INJECTED);
    expect(await stored(stub, "a1")).toEqual({ batchRecorded: 0, batches: 0, pendingAlerts: 0, series: 0, seriesAlarms: 0 });
    expect((await rpc.status(gateId, T0 + 1_000, DEFAULT_DRIFT_CONFIG)).windows).toEqual([]);

    await repairWindowWrites(stub);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {}); // in case the raise in D1 fails: it stays pending
    const retried = await rpc.observe(batch(gateId, "a1", T0 + 2_000, moved(200)));
    errors.mockRestore();
    expect(retried).toMatchObject({ duplicate: false, alerts: ["drop_rate_drift"] });
    const after = await stored(stub, "a1");
    // The alarm restarted the detector, not the window: the day's window keeps the batch, the series marks the alarm.
    expect(after).toMatchObject({ batchRecorded: 1, batches: 1, series: 1, seriesAlarms: 1 });
    const status = await rpc.status(gateId, T0 + 2_500, DEFAULT_DRIFT_CONFIG);
    expect(status.windows.map((w) => [w.queries, w.alarms])).toEqual([[200, 1]]);
    expect(status.windows[0]!.drop_rate.log_evidence).toBeLessThan(status.windows[0]!.log_threshold);
    // One alert in all: raised in D1 already, or still pending for the object's alarm (never one of each, never two).
    const raised = await env.DB.prepare("SELECT COUNT(*) AS n FROM alerts WHERE gate_id = ?").bind(gateId).first<{ n: number }>();
    expect(after.pendingAlerts + (raised?.n ?? 0)).toBe(1);
  });
});

describe("GateMonitor: aborted right after a batch", () => {
  it("the next request meets a fresh instance that has the committed batch exactly once", async () => {
    const { gateId, stub, rpc } = monitor("abort");
    await rpc.observe(batch(gateId, "k1", T0, steady(30)));
    const marker = Symbol("instance");
    await runInDurableObject(stub, (instance: GateMonitor) => {
      (instance as unknown as Record<symbol, boolean>)[marker] = true;
    });
    // Aborted as a crash would: the runtime drops the instance and its in-memory state, storage stays. (Aborting from
    // outside, as the integration's abortAllDurableObjects() does, rather than with ctx.abort() from a call inside:
    // the two reset the object the same way, but ctx.abort() makes workerd print an "uncaught exception" line into a
    // passing run.)
    await abortAllObjects();
    const freshStub = env.GATE_MONITOR.get(env.GATE_MONITOR.idFromName(gateId));
    stubs.splice(stubs.indexOf(stub), 1, freshStub); // the aborted stub cannot run alarms any more
    const fresh = freshStub as unknown as GateMonitorRpc;
    expect(await runInDurableObject(freshStub, (instance: GateMonitor) => marker in instance)).toBe(false);

    const status = await fresh.status(gateId, T0 + 1_000, DEFAULT_DRIFT_CONFIG);
    expect(status.windows.map((w) => [w.queries, w.batches])).toEqual([[30, 1]]);
    expect(await fresh.observe(batch(gateId, "k1", T0 + 2_000, steady(30)))).toMatchObject({ duplicate: true, window: { queries: 30 } });
    expect(await fresh.observe(batch(gateId, "k2", T0 + 3_000, steady(10)))).toMatchObject({ duplicate: false, window: { queries: 40, batches: 2 } });
  });
});
