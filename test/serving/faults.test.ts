/**
 * Storage faults on the read path, injected through the store and projection interfaces: KV that throws or hangs,
 * then D1 failing too. The threshold comes from D1, then from the isolate's last-known-good copy marked stale; a 503
 * storage_unavailable only when nothing is known; never an unhandled error.
 */
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from "vitest";
import { calibrate } from "../../src/calibrations/calibrate";
import type { ActiveRow } from "../../src/calibrations/store";
import { CalibrationMeta, ThresholdQuery } from "../../src/contract";
import { AppError } from "../../src/platform/errors";
import { IsolateCache } from "../../src/platform/isolate-cache";
import { ISOLATE_CACHE_MAX_ENTRIES, ISOLATE_CACHE_TTL_MS, KV_READ_DEADLINE_MS, LAST_KNOWN_GOOD_MS } from "../../src/platform/limits";
import type { ProjectedThreshold } from "../../src/serving/projection";
import { type CachedThreshold, readThreshold } from "../../src/serving/threshold-reader";
import { MemoryCalibrationStore } from "../support/memory-calibration-store";
import { memoryDeps } from "../support/memory-deps";
import { MemoryThresholdProjection } from "../support/memory-projection";

type Mode = "ok" | "throw" | "hang";

class FaultyProjection extends MemoryThresholdProjection {
  mode: Mode = "ok";
  /** Called once a read reached KV in "hang" mode (the read sets its deadline's timer right after). */
  onHang: () => void = () => {};
  override async get(gateId: string, indexVersion: string | null): Promise<ProjectedThreshold | null> {
    if (this.mode === "throw") throw new Error("KV GET failed: 503");
    if (this.mode === "hang") {
      this.onHang();
      return new Promise(() => undefined);
    }
    return super.get(gateId, indexVersion);
  }
}

class FaultyStore extends MemoryCalibrationStore {
  failing = false;
  override async activeRows(gateId: string): Promise<ActiveRow[]> {
    if (this.failing) throw new Error("D1_ERROR: Network connection lost.");
    return super.activeRows(gateId);
  }
}

const GATE = { index: "docs", embedding: "e5", reranker: "bge" };
const SCORES = Float64Array.from({ length: 200 }, (_, i) => ((i * 37) % 200) / 200 + 0.005);

async function setup() {
  const store = new FaultyStore();
  const projection = new FaultyProjection();
  const m = memoryDeps({ store, projection });
  const deps: { -readonly [K in keyof typeof m.deps]: (typeof m.deps)[K] } = { ...m.deps };
  const meta = CalibrationMeta.parse({ ...GATE, index_version: "v1", policy: { kind: "drop_rate", target: 0.2 } });
  const cal = (await calibrate({ meta, scores: SCORES, offsets: null }, "test", deps)).calibration;
  await m.flush();
  // From here deferred work (the KV repair after a D1 read) meets the injected faults: swallow it as the Worker does.
  deps.defer = (p: Promise<unknown>) => {
    p.catch(() => undefined);
  };
  const cache = new IsolateCache<CachedThreshold>(ISOLATE_CACHE_MAX_ENTRIES, ISOLATE_CACHE_TTL_MS);
  const lkg = new IsolateCache<CachedThreshold>(ISOLATE_CACHE_MAX_ENTRIES, LAST_KNOWN_GOOD_MS);
  return { ...m, deps, store, projection, cal, cache, lkg, q: ThresholdQuery.parse(GATE) };
}

// The read path logs each storage failure it falls back from (operators need them). Here each log line is captured and checked instead of printed.
let logged: string[] = [];
beforeEach(() => {
  logged = [];
  for (const level of ["log", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const line of logged) expect(line).toMatch(/^(KV read of the threshold projection failed|D1 read of the threshold failed)/);
});

describe("read path under storage faults", () => {
  it("KV throwing: the threshold comes from D1", async () => {
    const s = await setup();
    s.projection.mode = "throw";
    const r = await readThreshold(s.q, s.cache, s.deps, s.lkg);
    expect(r).toMatchObject({ source: "d1" });
    expect(r.projection.threshold.calibration_id).toBe(s.cal.id);
  });

  it("KV hanging: D1 answers at the KV deadline, not before and not never", async () => {
    const s = await setup();
    s.projection.mode = "hang";
    const reached = new Promise<void>((resolve) => {
      s.projection.onHang = resolve;
    });
    // the deadline's timer on a fake clock: what is checked is when the read settles, not how long a machine took
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    let settled = false;
    const read = readThreshold(s.q, s.cache, s.deps, s.lkg).finally(() => {
      settled = true;
    });
    // the read reaches KV after awaits of its own (a digest among them, however long a cold start takes), and sets
    // the deadline's timer as it does
    await reached;
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(KV_READ_DEADLINE_MS - 1);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    // past the deadline nothing else waits on a timer: D1 answers (a read that hung on KV would never settle here)
    expect(vi.getTimerCount()).toBe(0);
    expect((await read).source).toBe("d1");
  });

  it("the isolate cache answers without touching either store while fresh", async () => {
    const s = await setup();
    await readThreshold(s.q, s.cache, s.deps, s.lkg);
    s.projection.mode = "throw";
    s.store.failing = true;
    expect((await readThreshold(s.q, s.cache, s.deps, s.lkg)).source).toBe("isolate");
  });

  it("KV and D1 both failing after the cache expired: the last-known-good copy, marked stale", async () => {
    const s = await setup();
    await readThreshold(s.q, s.cache, s.deps, s.lkg);
    s.advance(10 * ISOLATE_CACHE_TTL_MS);
    s.projection.mode = "throw";
    s.store.failing = true;
    const r = await readThreshold(s.q, s.cache, s.deps, s.lkg);
    expect(r.source).toBe("stale");
    expect(r.projection.threshold.calibration_id).toBe(s.cal.id);
  });

  it("KV and D1 both failing with nothing known: 503 storage_unavailable with a retry hint", async () => {
    const s = await setup();
    s.projection.mode = "hang";
    s.store.failing = true;
    const err = await readThreshold(s.q, s.cache, s.deps, s.lkg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("storage_unavailable");
    expect((err as AppError).details).toMatchObject({ retry_after_seconds: expect.any(Number) });
  });
});
