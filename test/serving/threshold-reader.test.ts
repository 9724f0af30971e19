import { describe, expect, it } from "vitest";
import { calibrate } from "../../src/calibrations/calibrate";
import type { ActiveRow } from "../../src/calibrations/store";
import { CalibrationMeta, ThresholdQuery } from "../../src/contract";
import { AppError } from "../../src/platform/errors";
import { gateIdOf } from "../../src/platform/ids";
import { IsolateCache } from "../../src/platform/isolate-cache";
import { ISOLATE_CACHE_MAX_ENTRIES, ISOLATE_CACHE_TTL_MS } from "../../src/platform/limits";
import { type CachedThreshold, type ReadOutcome, readThreshold, UncalibratedError } from "../../src/serving/threshold-reader";
import { MemoryCalibrationStore } from "../support/memory-calibration-store";
import { type MemoryDeps, memoryDeps } from "../support/memory-deps";

/** Counts the D1-tier reads (activeRows), so a test can see which reads reached the system of record. */
class CountingStore extends MemoryCalibrationStore {
  activeRowsCalls = 0;
  override async activeRows(gateId: string): Promise<ActiveRow[]> {
    this.activeRowsCalls++;
    return super.activeRows(gateId);
  }
}

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);

function setup() {
  const m = memoryDeps({ store: new CountingStore(), startMs: T0 });
  return {
    ...m,
    /** A fresh isolate: what a new Worker instance starts with. */
    newIsolate: () => new IsolateCache<CachedThreshold>(ISOLATE_CACHE_MAX_ENTRIES, ISOLATE_CACHE_TTL_MS),
  };
}

type Gate = { index: string; embedding: string; reranker: string };

const GATE: Gate = { index: "docs", embedding: "BAAI/bge-m3@v1", reranker: "BAAI/bge-reranker-v2-m3@5f0c1a" };

/** 200 distinct scores j/200 + 0.005 (j = 0..199) in a scrambled order: the k-th smallest is (k-1)/200 + 0.005. */
const SCORES = Float64Array.from({ length: 200 }, (_, i) => ((i * 37) % 200) / 200 + 0.005);

async function seed(deps: MemoryDeps, gate: Gate, version: string, target: number, activate = true) {
  const meta = CalibrationMeta.parse({ ...gate, index_version: version, activate, policy: { kind: "drop_rate", target } });
  return (await calibrate({ meta, scores: SCORES, offsets: null }, "test", deps)).calibration;
}

const query = (gate: Gate, indexVersion?: string): ThresholdQuery =>
  ThresholdQuery.parse(indexVersion === undefined ? gate : { ...gate, index_version: indexVersion });

/** The rejection of a read, asserted to be the uncalibrated domain error. */
async function uncalibrated(read: Promise<ReadOutcome>): Promise<UncalibratedError> {
  const err = await read.then(
    (ok) => {
      throw new Error(`expected uncalibrated, got ${ok.projection.threshold.calibration_id} from ${ok.source}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UncalibratedError);
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe("uncalibrated");
  return err as UncalibratedError;
}

describe("readThreshold tiers", () => {
  it("answers from KV first, then from the isolate without any I/O", async () => {
    const s = setup();
    const cal = await seed(s.deps, GATE, "v1", 0.3);
    const reads = s.calibrations.activeRowsCalls;
    const cache = s.newIsolate();

    const first = await readThreshold(query(GATE), cache, s.deps);
    expect(first.source).toBe("kv");
    expect(first.projection.threshold.calibration_id).toBe(cal.id);
    expect(first.projection.threshold.threshold).toBe(cal.threshold);
    expect(cal.threshold).toBe(60 / 200 + 0.005); // k = ceil(201 * 0.3) = 61: the 61st smallest
    expect(JSON.parse(first.body)).toEqual(first.projection.threshold);

    // The isolate tier answers even with KV emptied: it does not look.
    s.projection.values.clear();
    const second = await readThreshold(query(GATE), cache, s.deps);
    expect(second.source).toBe("isolate");
    expect(second.projection).toEqual(first.projection);
    expect(second.body).toBe(first.body);
    expect(s.calibrations.activeRowsCalls).toBe(reads); // neither read reached D1
    expect(s.pending).toHaveLength(0);
  });

  it("falls back to D1 when KV has no value, answers, and repairs KV after responding", async () => {
    const s = setup();
    const cal = await seed(s.deps, GATE, "v1", 0.3);
    const published = await s.projection.get(await gateIdOf(GATE), null);
    expect(published).not.toBeNull();
    s.projection.values.clear();

    const cache = s.newIsolate();
    const fromD1 = await readThreshold(query(GATE), cache, s.deps);
    expect(fromD1.source).toBe("d1");
    expect(fromD1.projection).toEqual(published);
    expect(fromD1.projection.threshold.calibration_id).toBe(cal.id);

    // The repair is deferred: KV is still empty until the deferred work runs.
    expect(s.pending).toHaveLength(1);
    expect(s.projection.values.size).toBe(0);
    await s.flush();
    expect(await s.projection.get(await gateIdOf(GATE), null)).toEqual(published);

    // The same isolate answers from memory; a new isolate now finds the repaired KV value.
    expect((await readThreshold(query(GATE), cache, s.deps)).source).toBe("isolate");
    const other = await readThreshold(query(GATE), s.newIsolate(), s.deps);
    expect(other.source).toBe("kv");
    expect(other.projection).toEqual(published);
  });

  it("repairs the pinned key too when a pinned read falls back to D1", async () => {
    const s = setup();
    const blue = await seed(s.deps, GATE, "blue", 0.1);
    const green = await seed(s.deps, GATE, "green", 0.4);
    s.projection.values.clear();

    const pinned = await readThreshold(query(GATE, "blue"), s.newIsolate(), s.deps);
    expect(pinned.source).toBe("d1");
    expect(pinned.projection.threshold.calibration_id).toBe(blue.id);
    await s.flush();
    const gateId = await gateIdOf(GATE);
    expect((await s.projection.get(gateId, "blue"))?.threshold.calibration_id).toBe(blue.id);
    expect((await s.projection.get(gateId, null))?.threshold.calibration_id).toBe(green.id);
    expect(await s.projection.get(gateId, "green")).toBeNull(); // only the versions read are republished
  });
});

describe("readThreshold negative caching", () => {
  it("serves a cached uncalibrated from the isolate until its TTL passes, then sees the new activation", async () => {
    const s = setup();
    const cache = s.newIsolate();

    const miss = await uncalibrated(readThreshold(query(GATE), cache, s.deps));
    expect(miss.gateId).toBe(await gateIdOf(GATE));
    expect(miss.details).toMatchObject({ gate_id: await gateIdOf(GATE), ...GATE, index_version: null });
    expect(s.calibrations.activeRowsCalls).toBe(1);
    expect(s.pending).toHaveLength(0); // nothing to repair

    const cal = await seed(s.deps, GATE, "v1", 0.3);
    const readsAfterSeed = s.calibrations.activeRowsCalls;

    // Within the TTL the isolate keeps answering "uncalibrated" without asking KV or D1.
    s.advance(ISOLATE_CACHE_TTL_MS - 1);
    await uncalibrated(readThreshold(query(GATE), cache, s.deps));
    expect(s.calibrations.activeRowsCalls).toBe(readsAfterSeed);

    // At the TTL the entry is stale: this read goes past the cache and finds the published value.
    s.advance(1);
    const fresh = await readThreshold(query(GATE), cache, s.deps);
    expect(fresh.source).toBe("kv");
    expect(fresh.projection.threshold.calibration_id).toBe(cal.id);
    expect((await readThreshold(query(GATE), cache, s.deps)).source).toBe("isolate");
  });

  it("asks D1 at most once per TTL for a gate that stays uncalibrated", async () => {
    const s = setup();
    const cache = s.newIsolate();
    for (let i = 0; i < 5; i++) await uncalibrated(readThreshold(query(GATE), cache, s.deps));
    expect(s.calibrations.activeRowsCalls).toBe(1);
    s.advance(ISOLATE_CACHE_TTL_MS);
    for (let i = 0; i < 5; i++) await uncalibrated(readThreshold(query(GATE), cache, s.deps));
    expect(s.calibrations.activeRowsCalls).toBe(2);
  });

  it("keeps an inactive upload invisible: stored but not activated is still uncalibrated", async () => {
    const s = setup();
    await seed(s.deps, GATE, "v1", 0.3, false);
    await uncalibrated(readThreshold(query(GATE), s.newIsolate(), s.deps));
    await uncalibrated(readThreshold(query(GATE, "v1"), s.newIsolate(), s.deps));
  });
});

describe("readThreshold freshness after an activation", () => {
  it("serves the previous threshold from the isolate until the TTL, then the new activation", async () => {
    const s = setup();
    const v1 = await seed(s.deps, GATE, "v1", 0.3);
    const cache = s.newIsolate();
    expect((await readThreshold(query(GATE), cache, s.deps)).projection.threshold.calibration_id).toBe(v1.id);

    const v2 = await seed(s.deps, GATE, "v2", 0.1);
    expect(v2.threshold).not.toBe(v1.threshold);

    s.advance(ISOLATE_CACHE_TTL_MS - 1);
    const stale = await readThreshold(query(GATE), cache, s.deps);
    expect(stale.source).toBe("isolate");
    expect(stale.projection.threshold.calibration_id).toBe(v1.id);

    s.advance(1);
    const fresh = await readThreshold(query(GATE), cache, s.deps);
    expect(fresh.source).toBe("kv");
    expect(fresh.projection.threshold).toMatchObject({ calibration_id: v2.id, index_version: "v2", threshold: v2.threshold });
    const v2Row = await s.calibrations.current(await gateIdOf(GATE));
    expect(fresh.projection.activation_seq).toBe(v2Row?.activation_seq);
  });
});

describe("readThreshold pinning", () => {
  it("serves the most recent activation by default and a pinned version's own calibration", async () => {
    const s = setup();
    const blue = await seed(s.deps, GATE, "blue", 0.1);
    const green = await seed(s.deps, GATE, "green", 0.4);
    const cache = s.newIsolate();

    expect((await readThreshold(query(GATE), cache, s.deps)).projection.threshold.calibration_id).toBe(green.id);
    const pinnedBlue = await readThreshold(query(GATE, "blue"), cache, s.deps);
    expect(pinnedBlue.projection.threshold).toMatchObject({ calibration_id: blue.id, index_version: "blue", threshold: blue.threshold });
    expect((await readThreshold(query(GATE, "green"), cache, s.deps)).projection.threshold.calibration_id).toBe(green.id);

    // Cached entries stay apart: the pinned read did not overwrite the current one, nor the reverse.
    expect((await readThreshold(query(GATE), cache, s.deps)).projection.threshold.calibration_id).toBe(green.id);
    expect((await readThreshold(query(GATE, "blue"), cache, s.deps)).projection.threshold.calibration_id).toBe(blue.id);
  });

  it("answers uncalibrated for a version that was never activated, naming that version", async () => {
    const s = setup();
    await seed(s.deps, GATE, "blue", 0.1);
    const err = await uncalibrated(readThreshold(query(GATE, "red"), s.newIsolate(), s.deps));
    expect(err.message).toContain('"red"');
    expect(err.details).toMatchObject({ index_version: "red" });
  });
});

describe("readThreshold gate isolation", () => {
  const neighbours: [string, Gate][] = [
    ["another reranker", { ...GATE, reranker: `${GATE.reranker}-b` }],
    ["another embedding", { ...GATE, embedding: "intfloat/e5-large-v2" }],
    ["another index", { ...GATE, index: "default" }],
    ["the same strings split differently", { index: "docs", embedding: "BAAI/bge-m3@v1BAAI", reranker: "/bge-reranker-v2-m3@5f0c1a" }],
  ];

  for (const [label, other] of neighbours) {
    it(`never serves a calibrated gate's threshold to ${label}`, async () => {
      const s = setup();
      await seed(s.deps, GATE, "v1", 0.3);
      const cache = s.newIsolate();
      await readThreshold(query(GATE), cache, s.deps); // the calibrated gate is in the isolate and in KV

      const err = await uncalibrated(readThreshold(query(other), cache, s.deps));
      expect(err.gateId).toBe(await gateIdOf(other));
      expect(err.gateId).not.toBe(await gateIdOf(GATE));
      // The same version pinned on the other gate is not calibrated either.
      await uncalibrated(readThreshold(query(other, "v1"), cache, s.deps));
      // And through the D1 tier (KV empty, new isolate).
      s.projection.values.clear();
      await uncalibrated(readThreshold(query(other), s.newIsolate(), s.deps));
    });
  }

  it("gives each of two calibrated gates its own threshold through every tier", async () => {
    const s = setup();
    const other: Gate = { ...GATE, reranker: "mixedbread-ai/mxbai-rerank-large-v1" };
    const a = await seed(s.deps, GATE, "v1", 0.1);
    const b = await seed(s.deps, other, "v1", 0.5);
    expect(a.threshold).not.toBe(b.threshold);

    const cache = s.newIsolate();
    for (const expectedSource of ["kv", "isolate"] as const) {
      const ra = await readThreshold(query(GATE), cache, s.deps);
      const rb = await readThreshold(query(other), cache, s.deps);
      expect([ra.source, rb.source]).toEqual([expectedSource, expectedSource]);
      expect(ra.projection.threshold).toMatchObject({ calibration_id: a.id, threshold: a.threshold, reranker: GATE.reranker });
      expect(rb.projection.threshold).toMatchObject({ calibration_id: b.id, threshold: b.threshold, reranker: other.reranker });
      expect(ra.projection.gate_id).toBe(await gateIdOf(GATE));
      expect(rb.projection.gate_id).toBe(await gateIdOf(other));
    }

    s.projection.values.clear();
    const fresh = s.newIsolate();
    const da = await readThreshold(query(GATE), fresh, s.deps);
    const db = await readThreshold(query(other), fresh, s.deps);
    expect([da.source, db.source]).toEqual(["d1", "d1"]);
    expect(da.projection.threshold.calibration_id).toBe(a.id);
    expect(db.projection.threshold.calibration_id).toBe(b.id);
    await s.flush();
    expect((await s.projection.get(await gateIdOf(GATE), null))?.threshold.calibration_id).toBe(a.id);
    expect((await s.projection.get(await gateIdOf(other), null))?.threshold.calibration_id).toBe(b.id);
  });
});
