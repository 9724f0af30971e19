/**
 * The threshold ETag carries the activation_seq, and a reader whose isolate or KV copy is older than the one a caller
 * proves to hold goes to D1 instead of serving the older copy as current. Over the in-memory doubles: KV is made
 * older by putting the previous projection value back, D1 failing is injected through the store.
 */
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { calibrate } from "../../src/calibrations/calibrate";
import type { ActiveRow } from "../../src/calibrations/store";
import { CalibrationMeta, ThresholdQuery } from "../../src/contract";
import { AppError } from "../../src/platform/errors";
import { gateIdOf } from "../../src/platform/ids";
import { IsolateCache } from "../../src/platform/isolate-cache";
import { ISOLATE_CACHE_MAX_ENTRIES, ISOLATE_CACHE_TTL_MS, LAST_KNOWN_GOOD_MS } from "../../src/platform/limits";
import { seenActivationSeq, thresholdEtag } from "../../src/serving/threshold-etag";
import { type CachedThreshold, readThreshold } from "../../src/serving/threshold-reader";
import { MemoryCalibrationStore } from "../support/memory-calibration-store";
import { memoryDeps } from "../support/memory-deps";

describe("seenActivationSeq", () => {
  it.each([
    [undefined, null],
    ["", null],
    ["*", null],
    ['"cal_00ab"', null], // the ETag format before sequence numbers: proves nothing
    ['"cal_00ab.7"', 7],
    ['W/"cal_00ab.7"', 7],
    ['"cal_00ab.7", "cal_00cd.12" ,"cal_00ef.3"', 12],
    ['"cal_00ab.0"', null],
    ['"cal_00ab.07"', null],
    ['"cal_00ab.-7"', null],
    ['"cal_00ab.1e3"', null],
    ['"cal_00ab.9007199254740993"', null], // beyond Number.MAX_SAFE_INTEGER: D1 never issued it
    ['"cal 00ab.7"', null],
    ["cal_00ab.7", null], // unquoted
  ])("%j -> %j", (header, expected) => {
    expect(seenActivationSeq(header)).toBe(expected);
  });
});

class SwitchableStore extends MemoryCalibrationStore {
  failing = false;
  activeRowsCalls = 0;
  override async activeRows(gateId: string): Promise<ActiveRow[]> {
    this.activeRowsCalls++;
    if (this.failing) throw new Error("D1_ERROR: Network connection lost.");
    return super.activeRows(gateId);
  }
}

const GATE = { index: "docs", embedding: "e5", reranker: "bge" };
const SCORES = Float64Array.from({ length: 200 }, (_, i) => ((i * 37) % 200) / 200 + 0.005);
const newIsolate = () => new IsolateCache<CachedThreshold>(ISOLATE_CACHE_MAX_ENTRIES, ISOLATE_CACHE_TTL_MS);

/** v1 then v2 activated; `kvOlder()` puts KV's current key back to v1's projection. */
async function setup() {
  const store = new SwitchableStore();
  const m = memoryDeps({ store });
  const up = async (version: string, target: number) => {
    const meta = CalibrationMeta.parse({ ...GATE, index_version: version, policy: { kind: "drop_rate", target } });
    const cal = (await calibrate({ meta, scores: SCORES, offsets: null }, "test", m.deps)).calibration;
    await m.flush();
    return cal;
  };
  const q = ThresholdQuery.parse(GATE);
  const gateId = await gateIdOf(GATE);
  const v1 = await up("v1", 0.2);
  const older = (await m.projection.get(gateId, null))!;
  const v2 = await up("v2", 0.4);
  const newer = (await m.projection.get(gateId, null))!;
  expect(newer.activation_seq).toBeGreaterThan(older.activation_seq);
  const kvOlder = () => m.projection.put(gateId, null, older);
  return { ...m, store, q, gateId, v1, v2, older, newer, kvOlder };
}

describe("thresholdEtag", () => {
  it("names the calibration and its activation, and round-trips through seenActivationSeq", async () => {
    const s = await setup();
    expect(thresholdEtag(s.newer)).toBe(`"${s.v2.id}.${s.newer.activation_seq}"`);
    expect(seenActivationSeq(thresholdEtag(s.newer))).toBe(s.newer.activation_seq);
  });
});

describe("readThreshold with a caller that has seen a newer activation", () => {
  it("KV older than the caller's proof: D1 answers the newer value, caches it and repairs KV", async () => {
    const s = await setup();
    await s.kvOlder();
    const cache = newIsolate();
    const r = await readThreshold(s.q, cache, s.deps, null, s.newer.activation_seq);
    expect(r.source).toBe("d1");
    expect(r.projection).toEqual(s.newer);
    expect((await readThreshold(s.q, cache, s.deps)).source).toBe("isolate");
    await s.flush();
    expect(await s.projection.get(s.gateId, null)).toEqual(s.newer);
  });

  it("without the proof (a plain reader), or with an older one, KV's older value is served as KV's (eventual consistency)", async () => {
    const s = await setup();
    await s.kvOlder();
    for (const seen of [null, s.older.activation_seq]) {
      const r = await readThreshold(s.q, newIsolate(), s.deps, null, seen);
      expect(r.source).toBe("kv");
      expect(r.projection.threshold.calibration_id).toBe(s.v1.id);
    }
  });

  it("an isolate entry older than the proof is skipped for D1; one as new is answered without I/O", async () => {
    const s = await setup();
    await s.kvOlder();
    const cache = newIsolate();
    expect((await readThreshold(s.q, cache, s.deps)).projection.threshold.calibration_id).toBe(s.v1.id); // cached from KV
    const calls = s.store.activeRowsCalls;
    const r = await readThreshold(s.q, cache, s.deps, null, s.newer.activation_seq);
    expect(r).toMatchObject({ source: "d1", projection: s.newer });
    expect(s.store.activeRowsCalls).toBeGreaterThan(calls);
    await s.flush(); // the KV repair (it reads D1's rows too)
    const afterD1 = s.store.activeRowsCalls;
    expect((await readThreshold(s.q, cache, s.deps, null, s.newer.activation_seq)).source).toBe("isolate");
    expect(s.store.activeRowsCalls).toBe(afterD1);
  });

  it("a negatively cached gate is re-read when the caller proves an activation (first calibration seen elsewhere)", async () => {
    const store = new SwitchableStore();
    const m = memoryDeps({ store });
    const cache = newIsolate();
    const q = ThresholdQuery.parse(GATE);
    await expect(readThreshold(q, cache, m.deps)).rejects.toMatchObject({ code: "uncalibrated" });
    const meta = CalibrationMeta.parse({ ...GATE, index_version: "v1", policy: { kind: "drop_rate", target: 0.2 } });
    const cal = (await calibrate({ meta, scores: SCORES, offsets: null }, "test", m.deps)).calibration;
    await m.flush();
    const seq = (await m.projection.get(await gateIdOf(GATE), null))!.activation_seq;
    await expect(readThreshold(q, cache, m.deps)).rejects.toMatchObject({ code: "uncalibrated" }); // cached miss, no proof
    const r = await readThreshold(q, cache, m.deps, null, seq);
    expect(r.projection.threshold.calibration_id).toBe(cal.id);
  });

  it("a proof D1 cannot confirm (made up, or after a Time Travel restore) gets D1's answer: D1 is the record", async () => {
    const s = await setup();
    const r = await readThreshold(s.q, newIsolate(), s.deps, null, s.newer.activation_seq + 1_000);
    expect(r).toMatchObject({ source: "d1", projection: s.newer });
    expect(thresholdEtag(r.projection)).not.toBe(`"${s.v2.id}.${s.newer.activation_seq + 1_000}"`);
  });

  it("D1 failing too: a last-known-good copy as new as the proof is served stale; an older one never, 503 instead", async () => {
    const s = await setup();
    await s.kvOlder();
    const lkg = new IsolateCache<CachedThreshold>(ISOLATE_CACHE_MAX_ENTRIES, LAST_KNOWN_GOOD_MS);
    const cache = newIsolate();
    await readThreshold(s.q, cache, s.deps, lkg); // v1 from KV, now the last-known-good copy
    s.advance(10 * ISOLATE_CACHE_TTL_MS);
    s.store.failing = true;
    // The reader logs each failed D1 read for operators: captured and checked at the end instead of printed.
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    onTestFinished(() => errors.mockRestore());
    // deferred work (the KV repair) meets the injected fault: swallow it as the Worker does
    const deferred: Promise<unknown>[] = [];
    const deps = { ...s.deps, defer: (p: Promise<unknown>) => void deferred.push(p.catch(() => undefined)) };
    const err = await readThreshold(s.q, cache, deps, lkg, s.newer.activation_seq).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("storage_unavailable");
    // the plain reader still gets KV's value (it has not seen anything newer)
    expect((await readThreshold(s.q, cache, deps, lkg)).projection.threshold.calibration_id).toBe(s.v1.id);

    s.store.failing = false;
    await readThreshold(s.q, newIsolate(), deps, lkg, s.newer.activation_seq); // v2 from D1 becomes last-known-good
    s.store.failing = true;
    await Promise.all(deferred); // the KV repair of that D1 read...
    await s.kvOlder(); // ...undone: KV is older again
    s.advance(10 * ISOLATE_CACHE_TTL_MS);
    const stale = await readThreshold(s.q, newIsolate(), deps, lkg, s.newer.activation_seq);
    expect(stale).toMatchObject({ source: "stale", projection: s.newer });
    // one line per read that needed D1 while it failed (the 503 and the stale answer), each with the injected error
    expect(errors.mock.calls.map(([line, e]) => [line, (e as Error).message])).toEqual([
      ["D1 read of the threshold failed", "D1_ERROR: Network connection lost."],
      ["D1 read of the threshold failed", "D1_ERROR: Network connection lost."],
    ]);
  });
});
