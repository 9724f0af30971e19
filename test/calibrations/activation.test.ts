/**
 * Activation as one operation: whoever activates (an activating upload, promote, roll back), the listeners run once,
 * in order, after the write committed; a failing listener is logged, never undoes the activation, and adds its
 * warning; a lost race is recomputed and still notifies once; 25 lost races are a 409 that changed nothing.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ActivationEvent, type ActivationListener, activate, commitActivation } from "../../src/calibrations/activation";
import { calibrate } from "../../src/calibrations/calibrate";
import type { LogEntry } from "../../src/calibrations/store";
import type { GateEvent } from "../../src/contract";
import { CalibrationMeta } from "../../src/contract";
import { AppError } from "../../src/platform/errors";
import { gateIdOf } from "../../src/platform/ids";
import { MAX_ACTIVATION_ATTEMPTS } from "../../src/platform/limits";
import { flattenQueries } from "../../src/stats/per-query";
import { MemoryCalibrationStore } from "../support/memory-calibration-store";
import { memoryDeps } from "../support/memory-deps";
import { createRng } from "../support/prng";

const GATE = { index: "docs", embedding: "e5", reranker: "bge" };
const SCORES = Float64Array.from({ length: 200 }, (_, i) => ((i * 37) % 200) / 200 + 0.005);
const meta = (version: string, activate = true) =>
  CalibrationMeta.parse({ ...GATE, index_version: version, activate, policy: { kind: "drop_rate", target: 0.2 } });

/** Records every event a listener saw, under its name. */
function recorder(seen: string[], name: string, fail = false): ActivationListener {
  return {
    failure: `${name} failed`,
    ...(fail ? { warning: { code: `${name}_failed`, message: `${name} could not run` } } : {}),
    run: (e: ActivationEvent) => {
      // the event names the activation of the calibration it carries
      expect(e.activation.calibration_id).toBe(e.calibration.id);
      seen.push(`${name}:${e.calibration.index_version}`);
      if (fail) throw new Error(`${name} broke`);
    },
  };
}

let errors: string[] = [];
beforeEach(() => {
  errors = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    errors.push(args.map(String).join(" "));
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("activation listeners", () => {
  it("run once each, in order, after an activating upload and after a promotion, and not for an upload that does not activate", async () => {
    const seen: string[] = [];
    const m = memoryDeps();
    const deps = { ...m.deps, activationListeners: [...m.deps.activationListeners, recorder(seen, "first"), recorder(seen, "second")] };
    await calibrate({ meta: meta("v1"), scores: SCORES, offsets: null }, "alice", deps);
    const staged = await calibrate({ meta: meta("v2", false), scores: SCORES, offsets: null }, "alice", deps);
    expect(seen).toEqual(["first:v1", "second:v1"]);
    await activate(staged.calibration.id, "bob", "promote", deps);
    expect(seen).toEqual(["first:v1", "second:v1", "first:v2", "second:v2"]);
    // the publish listener of the wiring ran too: the projection serves v2
    expect((await m.projection.get(await gateIdOf(GATE), null))?.threshold.calibration_id).toBe(staged.calibration.id);
    expect(errors).toEqual([]);
  });

  it("a failing listener is logged and adds its warning; the activation stands and later listeners still run", async () => {
    const seen: string[] = [];
    const m = memoryDeps();
    const deps = { ...m.deps, activationListeners: [recorder(seen, "broken", true), recorder(seen, "after")] };
    const r = await calibrate({ meta: meta("v1"), scores: SCORES, offsets: null }, "alice", deps);
    expect(seen).toEqual(["broken:v1", "after:v1"]);
    expect(r.outcome.activated).toBe(true);
    expect(r.warnings.map((w) => w.code)).toContain("broken_failed");
    expect(await m.calibrations.activeRows(await gateIdOf(GATE))).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^broken failed Error: broken broke/);
  });
});

describe("the event of every activation", () => {
  it("links each to the gate's row before it, carries what is served, and is what the log replays", async () => {
    const events: GateEvent[] = [];
    const m = memoryDeps();
    const listener: ActivationListener = { failure: "never", run: (e) => void events.push(e.event) };
    const deps = { ...m.deps, activationListeners: [listener] };
    const v1 = await calibrate({ meta: meta("v1"), scores: SCORES, offsets: null }, "alice", deps);
    const v2 = await calibrate({ meta: meta("v2", false), scores: SCORES, offsets: null }, "alice", deps);
    await activate(v2.calibration.id, "bob", "promote", deps);
    await activate(v1.calibration.id, "bob", "roll back", deps);
    expect(events.map((e) => [e.kind, e.calibration_id, e.served?.calibration_id, e.actor, e.reason])).toEqual([
      ["activation", v1.calibration.id, v1.calibration.id, "alice", "uploaded with activate: true"],
      ["activation", v2.calibration.id, v2.calibration.id, "bob", "promote"],
      ["activation", v1.calibration.id, v1.calibration.id, "bob", "roll back"],
    ]);
    expect(events[0]!.prev_seq).toBe(0);
    expect(events[1]!.prev_seq).toBe(events[0]!.seq);
    expect(events[2]!.prev_seq).toBe(events[1]!.seq);
    expect(events[2]!.served?.threshold).toBe(v1.calibration.threshold);
    const gateId = await gateIdOf(GATE);
    expect(await m.calibrations.events(gateId, 0, 10)).toEqual(events);
    expect(await m.calibrations.events(gateId, events[0]!.seq, 10)).toEqual(events.slice(1));
    expect(await m.calibrations.latestEvent(gateId)).toEqual(events[2]);
  });
});

describe("the optimistic loop", () => {
  /** A store that lets `lose` activations of other callers land first, one per attempt. */
  class RacedStore extends MemoryCalibrationStore {
    lose = 0;
    override async append(entry: LogEntry, expectedHeadSeq: number): Promise<number | null> {
      if (this.lose > 0) {
        this.lose--;
        return null;
      }
      return super.append(entry, expectedHeadSeq);
    }
  }

  it("recomputes after a lost race and notifies the listeners once", async () => {
    const seen: string[] = [];
    const store = new RacedStore();
    const m = memoryDeps({ store });
    const deps = { ...m.deps, activationListeners: [recorder(seen, "once")] };
    const staged = await calibrate({ meta: meta("v1", false), scores: SCORES, offsets: null }, "alice", deps);
    store.lose = 3;
    const r = await activate(staged.calibration.id, "bob", null, deps);
    expect(r.activation?.calibration_id).toBe(staged.calibration.id);
    expect(seen).toEqual(["once:v1"]);
  });

  it(`gives up with 409 conflict after ${MAX_ACTIVATION_ATTEMPTS} lost races, having written nothing and notified nobody`, async () => {
    const seen: string[] = [];
    const m = memoryDeps();
    let attempts = 0;
    const err = await commitActivation(await gateIdOf(GATE), { ...m.deps, activationListeners: [recorder(seen, "never")] }, async () => {
      attempts++;
      return null;
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("conflict");
    expect(attempts).toBe(MAX_ACTIVATION_ATTEMPTS);
    expect(seen).toEqual([]);
  });
});

describe("an explicit activation that changes what the gate drops", () => {
  const at = (version: string, target: number, activate: "auto" | boolean) =>
    CalibrationMeta.parse({ ...GATE, index_version: version, activate, policy: { kind: "drop_rate", target } });

  // 500 queries of 20 independent scores: enough for the rebuild decision to say equivalent on the same scores.
  const rng = createRng(5150);
  const { scores, offsets } = flattenQueries(Array.from({ length: 500 }, () => Array.from({ length: 20 }, () => rng.normal())));
  const upload = (version: string, target: number, activate: "auto" | boolean) => ({ meta: at(version, target, activate), scores, offsets });

  it("warns drop_rate_changed with both rates (activate auto would have stored it for review), and not within the tolerance", async () => {
    const m = memoryDeps();
    await calibrate(upload("v1", 0.2, true), "alice", m.deps);
    // The same scores at another target: the rebuild decision is equivalent (the served threshold means the same on
    // them), but the gate would drop 60 % where it dropped 20 %.
    const wider = await calibrate(upload("v2", 0.6, "auto"), "alice", m.deps);
    expect(wider.outcome.reason).toBe("drop_rate_changed");
    const r = await activate(wider.calibration.id, "bob", "reviewed", m.deps);
    expect(r.shift?.decision).toBe("equivalent");
    const w = r.warnings.find((x) => x.code === "drop_rate_changed");
    expect(w?.message).toContain("drops 60.");
    expect(w?.message).toContain("dropped 20.");
    // Back to a calibration that drops about what is served now: nothing to say.
    const near = await calibrate(upload("v3", 0.61, false), "alice", m.deps);
    const again = await activate(near.calibration.id, "bob", null, m.deps);
    expect(again.warnings.map((x) => x.code)).not.toContain("drop_rate_changed");
  });
});
