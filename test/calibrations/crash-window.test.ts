/**
 * The crash window of an upload: the request dies right after its D1 commit (calibration, activation, key and request
 * hash in one batch) and before its listeners run and its Idempotency-Key is completed. `afterCommit` kills it there
 * by never resolving: nothing after the commit point runs, as when the isolate is reset. The retry with the same key
 * replays the committed answer (before and after the key's claim expires), never stores a second calibration, and
 * completes the side effects (the KV projection and the rebuild_shift alert here; the Worker wires the isolate
 * invalidation, the push to subscribers and a promotion's supersession the same way, as activation listeners). A
 * request that only stalls past its claim loses the race to its retry: the calibrations_by_request unique index
 * refuses its commit with 409, and exactly one calibration is stored. Without a retry, the cron tick's sweep runs the
 * listeners the change still owes once ACTIVATION_LISTENERS_GRACE_MS has passed (src/calibrations/pending-listeners.ts;
 * test/jobs/scheduled.workerd.test.ts runs it through the Worker's wiring).
 */
import { describe, expect, it, vi } from "vitest";
import type { ActivationListener } from "../../src/calibrations/activation";
import { runOwedListeners, sweepPendingListeners } from "../../src/calibrations/pending-listeners";
import type { RawUpload } from "../../src/calibrations/upload";
import { uploadCalibration } from "../../src/calibrations/upload-service";
import { gateIdOf } from "../../src/platform/ids";
import { ACTIVATION_LISTENERS_GRACE_MS, IDEMPOTENCY_LOCK_MS } from "../../src/platform/limits";
import { memoryDeps } from "../support/memory-deps";
import { MemoryIdempotencyStore } from "../support/memory-idempotency-store";

const GATE = { index: "docs", embedding: "e5", reranker: "bge" };
const scores = (shift: number) => Array.from({ length: 2000 }, (_, i) => ((i * 0.6180339887498949) % 1) + shift);
const raw = (index_version: string, extra: object = {}, shift = 0): RawUpload => ({
  type: "json",
  params: {},
  bytes: new TextEncoder().encode(
    JSON.stringify({ ...GATE, index_version, scores: scores(shift), policy: { kind: "drop_rate", target: 0.2 }, ...extra }),
  ),
});

/** memoryDeps with idempotency keys, a listener that counts, and a switch that kills the next request at its commit. */
function setup() {
  const m = memoryDeps();
  const ran: string[] = [];
  const counting: ActivationListener = { failure: "counting failed", run: ({ activation }) => void ran.push(activation.id) };
  let kill = false;
  const deps = {
    ...m.deps,
    idempotency: new MemoryIdempotencyStore(),
    activationListeners: [...m.deps.activationListeners, counting],
    afterCommit: () => {
      if (!kill) return Promise.resolve();
      kill = false;
      return new Promise<void>(() => {}); // the request dies here: nothing after the commit point ever runs
    },
  };
  const killNext = (): void => {
    kill = true;
  };
  return { m, deps, ran, killNext };
}

/** Starts a request that is killed at its commit point and waits until it got there (its calibration is stored). */
async function crash(s: ReturnType<typeof setup>, upload: RawUpload, key: string | undefined): Promise<void> {
  const gateId = await gateIdOf(GATE);
  const before = (await s.m.calibrations.history(gateId, 10, null)).items.length;
  s.killNext();
  void uploadCalibration(upload, "rebuild-bot", key, s.deps);
  for (let i = 0; i < 1000 && (await s.m.calibrations.history(gateId, 10, null)).items.length === before; i++)
    await new Promise((r) => setTimeout(r, 1));
}

describe("an upload killed after its D1 commit, before its Idempotency-Key completes", () => {
  it("is replayed by its retry (no 409, no second calibration) and its KV publish and listeners complete", async () => {
    const s = setup();
    const gateId = await gateIdOf(GATE);
    await crash(s, raw("v1"), "rebuild-42");
    const [committed] = (await s.m.calibrations.history(gateId, 10, null)).items;
    expect(committed).toBeDefined();
    expect(await s.m.calibrations.activeRows(gateId)).toHaveLength(1);
    // The dead request published nothing and ran no listener.
    expect(await s.m.projection.get(gateId, null)).toBeNull();
    expect(s.ran).toEqual([]);

    const retry = await uploadCalibration(raw("v1"), "rebuild-bot", "rebuild-42", s.deps);
    expect(retry).toMatchObject({ status: 201, replayed: true });
    expect(retry.body.calibration).toMatchObject({ id: committed!.id, active: true, current: true });
    expect(retry.body.activation_outcome).toMatchObject({ activated: true, reason: "first_calibration" });
    expect((await s.m.projection.get(gateId, null))?.threshold.calibration_id).toBe(committed!.id);
    expect(s.ran).toHaveLength(1);

    // The key is complete now: a further retry replays the stored answer without running anything again.
    const again = await uploadCalibration(raw("v1"), "rebuild-bot", "rebuild-42", s.deps);
    expect(again).toMatchObject({ status: 201, replayed: true, body: retry.body });
    expect(s.ran).toHaveLength(1);
    expect((await s.m.calibrations.history(gateId, 10, null)).items.map((c) => c.id)).toEqual([committed!.id]);
  });

  it("after the key's claim expired (IDEMPOTENCY_LOCK_MS) the retry still replays, never calibrating a second time", async () => {
    const s = setup();
    const gateId = await gateIdOf(GATE);
    await crash(s, raw("v1"), "rebuild-7");
    s.m.advance(IDEMPOTENCY_LOCK_MS + 1000);
    const retry = await uploadCalibration(raw("v1"), "rebuild-bot", "rebuild-7", s.deps);
    expect(retry.replayed).toBe(true);
    const history = (await s.m.calibrations.history(gateId, 10, null)).items;
    expect(history).toHaveLength(1);
    expect(retry.body.calibration.id).toBe(history[0]!.id);
    expect(await s.m.calibrations.activations(gateId, 10)).toHaveLength(1);
    expect((await s.m.projection.get(gateId, null))?.threshold.calibration_id).toBe(history[0]!.id);
  });

  it("a crash of an upload that is stored but not served replays its outcome and activates nothing", async () => {
    const s = setup();
    const gateId = await gateIdOf(GATE);
    const v1 = await uploadCalibration(raw("v1"), "rebuild-bot", "v1", s.deps);
    s.killNext();
    void uploadCalibration(raw("v2", {}, -0.5), "rebuild-bot", "v2", s.deps);
    for (let i = 0; i < 1000 && (await s.m.calibrations.history(gateId, 10, null)).items.length < 2; i++) await new Promise((r) => setTimeout(r, 1));
    const retry = await uploadCalibration(raw("v2", {}, -0.5), "rebuild-bot", "v2", s.deps);
    expect(retry.replayed).toBe(true);
    expect(retry.body.activation_outcome).toMatchObject({ activated: false, reason: "shifted" });
    expect(retry.body.calibration.current).toBe(false);
    expect((await s.m.projection.get(gateId, null))?.threshold.calibration_id).toBe(v1.body.calibration.id);
    expect(s.ran).toHaveLength(1); // v1's activation only
  });

  it("the same key with another request is still 422 idempotency_mismatch", async () => {
    const s = setup();
    await crash(s, raw("v1"), "rebuild-9");
    await expect(uploadCalibration(raw("v1", {}, 0.1), "rebuild-bot", "rebuild-9", s.deps)).rejects.toMatchObject({ code: "idempotency_mismatch" });
  });

  it("a slow request whose claim expired before its commit: the retry stores it, the slow one's commit is refused (409 idempotency_in_progress), one calibration", async () => {
    const s = setup();
    const gateId = await gateIdOf(GATE);
    // Hold the first request just before its D1 commit, as a request that stalls past IDEMPOTENCY_LOCK_MS.
    let release: () => void = () => {};
    let stalled: () => void = () => {};
    const atCommit = new Promise<void>((r) => {
      stalled = r;
    });
    const store = s.m.calibrations;
    const create = store.create.bind(store);
    let first = true;
    const deps = {
      ...s.deps,
      calibrations: Object.assign(Object.create(store) as typeof store, {
        create: async (input: Parameters<typeof store.create>[0]) => {
          if (first) {
            first = false;
            stalled();
            await new Promise<void>((r) => {
              release = r;
            });
          }
          return create(input);
        },
      }),
    };
    const slow = uploadCalibration(raw("v1"), "rebuild-bot", "rebuild-slow", deps);
    await atCommit;
    s.m.advance(IDEMPOTENCY_LOCK_MS + 1000);
    const retry = await uploadCalibration(raw("v1"), "rebuild-bot", "rebuild-slow", deps);
    expect(retry).toMatchObject({ status: 201, replayed: false });
    release();
    await expect(slow).rejects.toMatchObject({ code: "idempotency_in_progress" });
    const history = (await store.history(gateId, 10, null)).items;
    expect(history.map((c) => c.id)).toEqual([retry.body.calibration.id]);
    expect(await store.activations(gateId, 10)).toHaveLength(1);
    // the client that saw the 409 retries and gets the stored answer
    const again = await uploadCalibration(raw("v1"), "rebuild-bot", "rebuild-slow", deps);
    expect(again).toMatchObject({ status: 201, replayed: true });
    expect(again.body.calibration.id).toBe(retry.body.calibration.id);
  });
});

describe("the listeners a shifted activate: true upload owes after a crash at its commit", () => {
  /** Every marker still there, whatever its age. */
  const owed = (s: ReturnType<typeof setup>) => s.m.calibrations.pendingListeners("9999-12-31", 100);

  /** v1 served normally, then v2 (shifted, activate: true) killed at its commit: served in D1, nothing after it ran. */
  async function crashedShift(key: string | undefined) {
    const s = setup();
    const gateId = await gateIdOf(GATE);
    const v1 = await uploadCalibration(raw("v1"), "rebuild-bot", undefined, s.deps);
    await crash(s, raw("v2", { activate: true }, -0.5), key);
    const [v2] = (await s.m.calibrations.history(gateId, 1, null)).items;
    expect(v2?.shift).toMatchObject({ decision: "shifted", alert: true });
    expect((await s.m.calibrations.current(gateId))?.calibration_id).toBe(v2!.id);
    expect((await s.m.projection.get(gateId, null))?.threshold.calibration_id).toBe(v1.body.calibration.id);
    expect(await s.m.alerts.list({ gate_id: gateId, kind: "rebuild_shift", limit: 10 })).toEqual([]);
    const [marker] = await owed(s);
    expect(marker).toMatchObject({ gate_id: gateId, shift: { decision: "shifted", alert: true } });
    return { s, gateId, v2: v2!, marker: marker! };
  }

  const openShiftAlerts = async (s: ReturnType<typeof setup>, gateId: string) =>
    (await s.m.alerts.list({ gate_id: gateId, kind: "rebuild_shift", limit: 10 })).filter((a) => a.status === "open");

  it("its retry with the same key raises rebuild_shift, publishes it and deletes the marker", async () => {
    const { s, gateId, v2 } = await crashedShift("shift-1");
    const retry = await uploadCalibration(raw("v2", { activate: true }, -0.5), "rebuild-bot", "shift-1", s.deps);
    expect(retry).toMatchObject({ replayed: true, body: { calibration: { id: v2.id, current: true } } });
    const [alert] = await openShiftAlerts(s, gateId);
    expect(alert).toMatchObject({ occurrences: 1, calibration_ids: [v2.shift!.previous_calibration_id, v2.id] });
    expect((await s.m.projection.get(gateId, null))?.threshold.calibration_id).toBe(v2.id);
    expect(await owed(s)).toEqual([]);
    // The cron tick finds nothing owed.
    s.m.advance(ACTIVATION_LISTENERS_GRACE_MS + 60_000);
    expect(await sweepPendingListeners(s.deps, s.deps.now())).toEqual({ ran: 0, replaced: 0, failed: 0, given_up: 0 });
    expect((await openShiftAlerts(s, gateId))[0]?.occurrences).toBe(1);
  });

  it("with no retry (and no key), one cron tick past the grace period raises it, publishes it and deletes the marker; a second changes nothing", async () => {
    const { s, gateId, v2 } = await crashedShift(undefined);
    const ranBefore = s.ran.length;
    // Within the grace period the request may still be running its listeners: the sweep leaves them to it.
    s.m.advance(ACTIVATION_LISTENERS_GRACE_MS - 1000);
    expect(await sweepPendingListeners(s.deps, s.deps.now())).toEqual({ ran: 0, replaced: 0, failed: 0, given_up: 0 });
    expect(await openShiftAlerts(s, gateId)).toEqual([]);

    s.m.advance(2000);
    expect(await sweepPendingListeners(s.deps, s.deps.now())).toEqual({ ran: 1, replaced: 0, failed: 0, given_up: 0 });
    const [alert] = await openShiftAlerts(s, gateId);
    expect(alert).toMatchObject({ occurrences: 1, calibration_ids: [v2.shift!.previous_calibration_id, v2.id] });
    expect((await s.m.projection.get(gateId, null))?.threshold.calibration_id).toBe(v2.id);
    expect(await owed(s)).toEqual([]);
    expect(s.ran).toHaveLength(ranBefore + 1);

    s.m.advance(60_000);
    expect(await sweepPendingListeners(s.deps, s.deps.now())).toEqual({ ran: 0, replaced: 0, failed: 0, given_up: 0 });
    expect(await s.m.alerts.list({ gate_id: gateId, kind: "rebuild_shift", limit: 10 })).toEqual([alert]);
    expect(s.ran).toHaveLength(ranBefore + 1);
  });

  it("run twice (a retry racing the tick), the listeners raise the alert once: no second alert, no repeat counted", async () => {
    const { s, gateId, marker } = await crashedShift("shift-3");
    expect((await runOwedListeners(marker, s.deps)).outcome).toBe("ran");
    expect((await runOwedListeners(marker, s.deps)).outcome).toBe("ran");
    const alerts = await s.m.alerts.list({ gate_id: gateId, kind: "rebuild_shift", limit: 10 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ status: "open", occurrences: 1 });
  });

  it("a crashed activation replaced since as the gate's current calibration is not run late: its marker is dropped", async () => {
    const { s, gateId } = await crashedShift(undefined);
    // v3 is served after it (its own listeners run): v2's shift alert would now describe a calibration no one serves.
    const v3 = await uploadCalibration(raw("v3", { activate: true }), "rebuild-bot", undefined, s.deps);
    const ranBefore = s.ran.length;
    s.m.advance(ACTIVATION_LISTENERS_GRACE_MS + 60_000);
    expect(await sweepPendingListeners(s.deps, s.deps.now())).toEqual({ ran: 0, replaced: 1, failed: 0, given_up: 0 });
    expect(s.ran).toHaveLength(ranBefore);
    expect(await owed(s)).toEqual([]);
    expect((await s.m.projection.get(gateId, null))?.threshold.calibration_id).toBe(v3.body.calibration.id);
  });

  it("a listener that fails keeps the marker for the next tick, which runs them again", async () => {
    const { s, gateId, v2 } = await crashedShift(undefined);
    let down = true;
    const flaky = {
      failure: "flaky listener failed",
      run: () => {
        if (down) throw new Error("down");
      },
    };
    const deps = { ...s.deps, activationListeners: [...s.deps.activationListeners, flaky] };
    s.m.advance(ACTIVATION_LISTENERS_GRACE_MS + 60_000);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await sweepPendingListeners(deps, deps.now())).toEqual({ ran: 0, replaced: 0, failed: 1, given_up: 0 });
    expect(errors.mock.calls.map((c) => c[0])).toEqual(["flaky listener failed"]);
    errors.mockRestore();
    expect(await owed(s)).toHaveLength(1);
    down = false;
    s.m.advance(60_000);
    expect(await sweepPendingListeners(deps, deps.now())).toEqual({ ran: 1, replaced: 0, failed: 0, given_up: 0 });
    expect(await owed(s)).toEqual([]);
    expect((await openShiftAlerts(s, gateId)).map((a) => [a.calibration_ids[1], a.occurrences])).toEqual([[v2.id, 1]]);
  });
});
