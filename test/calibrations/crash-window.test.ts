/**
 * The crash window of an upload: the request dies right after its D1 commit (calibration, activation, key and request
 * hash in one batch) and before its listeners run and its Idempotency-Key is completed. `afterCommit` kills it there
 * by never resolving: nothing after the commit point runs, as when the isolate is reset. The retry with the same key
 * replays the committed answer (before and after the key's claim expires), never stores a second calibration, and
 * completes the side effects (the KV projection here; the Worker wires the isolate invalidation and rebuild_shift the
 * same way, as activation listeners). A request that only stalls past its claim loses the race to its retry: the
 * calibrations_by_request unique index refuses its commit with 409, and exactly one calibration is stored.
 */
import { describe, expect, it } from "vitest";
import type { ActivationListener } from "../../src/calibrations/activation";
import type { RawUpload } from "../../src/calibrations/upload";
import { uploadCalibration } from "../../src/calibrations/upload-service";
import { gateIdOf } from "../../src/platform/ids";
import { IDEMPOTENCY_LOCK_MS } from "../../src/platform/limits";
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

/** Starts a request that is killed at its commit point and waits until it got there. */
async function crash(s: ReturnType<typeof setup>, upload: RawUpload, key: string): Promise<void> {
  s.killNext();
  void uploadCalibration(upload, "rebuild-bot", key, s.deps);
  const gateId = await gateIdOf(GATE);
  for (let i = 0; i < 1000 && (await s.m.calibrations.history(gateId, 10, null)).items.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
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

  it("a slow request whose claim expired before its commit: the retry stores it, the slow one's commit is refused (409), one calibration", async () => {
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
    await expect(slow).rejects.toMatchObject({ code: "conflict" });
    const history = (await store.history(gateId, 10, null)).items;
    expect(history.map((c) => c.id)).toEqual([retry.body.calibration.id]);
    expect(await store.activations(gateId, 10)).toHaveLength(1);
    // the client that saw the 409 retries and gets the stored answer
    const again = await uploadCalibration(raw("v1"), "rebuild-bot", "rebuild-slow", deps);
    expect(again).toMatchObject({ status: 201, replayed: true });
    expect(again.body.calibration.id).toBe(retry.body.calibration.id);
  });
});
