/**
 * D1 failing during an upload, with the route's Idempotency-Key wrapper around the service (as
 * src/calibrations/routes.ts runs it): the error surfaces, nothing is stored, the key is released, and the retry
 * stores exactly one calibration.
 */
import { describe, expect, it } from "vitest";
import { calibrate } from "../../src/calibrations/calibrate";
import { CalibrationMeta } from "../../src/contract";
import { once } from "../../src/platform/idempotency";
import { gateIdOf } from "../../src/platform/ids";
import { MemoryCalibrationStore } from "../support/memory-calibration-store";
import { memoryDeps } from "../support/memory-deps";
import { MemoryIdempotencyStore } from "../support/memory-idempotency-store";

/** A store whose next `failures` writes fail the way D1 does when its connection drops. */
class FlakyStore extends MemoryCalibrationStore {
  failures = 0;
  override async create(input: Parameters<MemoryCalibrationStore["create"]>[0]): ReturnType<MemoryCalibrationStore["create"]> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error("D1_ERROR: Network connection lost.");
    }
    return super.create(input);
  }
}

const GATE = { index: "docs", embedding: "e5", reranker: "bge" };
const input = () => ({
  meta: CalibrationMeta.parse({ ...GATE, index_version: "v1", policy: { kind: "drop_rate", target: 0.2 } }),
  scores: Float64Array.from({ length: 500 }, (_, i) => (i * 0.618) % 1),
  offsets: null,
});

describe("an upload while D1 fails", () => {
  it("stores nothing, releases the Idempotency-Key, and the retry with the same key stores exactly one calibration", async () => {
    const store = new FlakyStore();
    const s = memoryDeps({ store });
    const keys = new MemoryIdempotencyStore();
    const upload = () =>
      once(keys, "rebuild-bot", "rebuild-42", "hash-of-body", s.deps.now(), async () => {
        const r = await calibrate(input(), "rebuild-bot", s.deps);
        return { status: 201, body: { id: r.calibration.id } };
      });
    store.failures = 1;
    await expect(upload()).rejects.toThrow(/Network connection lost/u);
    const gateId = await gateIdOf(GATE);
    expect((await store.history(gateId, 10, null)).items).toEqual([]);
    expect(await store.activeRows(gateId)).toEqual([]);
    expect(await s.projection.get(gateId, null)).toBeNull();

    const retried = await upload();
    expect(retried.replayed).toBe(false);
    const again = await upload(); // a client that retries once more after a timeout gets the same answer
    expect(again).toMatchObject({ replayed: true, body: retried.body });
    expect((await store.history(gateId, 10, null)).items.map((c) => c.id)).toEqual([(retried.body as { id: string }).id]);
    expect(await store.activeRows(gateId)).toHaveLength(1);
  });
});
