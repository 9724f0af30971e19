import { describe, expect, it } from "vitest";
import { calibrate } from "../../src/calibrations/calibrate";
import { CalibrationMeta } from "../../src/contract";
import { gateIdOf } from "../../src/platform/ids";
import { projectionKey } from "../../src/serving/projection";
import { reconcileProjection } from "../../src/serving/reconcile";
import { memoryDeps } from "../support/memory-deps";

describe("reconcileProjection", () => {
  it("repairs missing KV values in bounded slices that together cover every gate, and names only the gates it republished", async () => {
    const { deps: d, projection } = memoryDeps();
    const gates = Array.from({ length: 5 }, (_, i) => ({ index: "docs", embedding: "e5", reranker: `bge-${i}` }));
    for (const g of gates) {
      // 10 scores miss target 0.1 by more than activate "auto" accepts: served explicitly.
      const meta = CalibrationMeta.parse({ ...g, index_version: "v1", policy: { kind: "drop_rate", target: 0.1 }, activate: true });
      await calibrate({ meta, scores: Float64Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]), offsets: null }, "test", d);
    }
    projection.values.clear();
    const first = await reconcileProjection(d, 0, 2);
    expect(first).toMatchObject({ checked: 2, unchanged: 0 });
    expect(first.written).toBe(4); // current + pinned v1 for each of two gates
    await reconcileProjection(d, 1, 2);
    await reconcileProjection(d, 2, 2);
    for (const g of gates) expect(await projection.get(await gateIdOf(g), null)).not.toBeNull();
    const told: string[] = [];
    const republished = async (gateId: string) => {
      told.push(gateId);
    };
    const again = await reconcileProjection(d, 3, 2, republished); // slice 0 again: nothing to write
    expect(again).toMatchObject({ checked: 2, written: 0, unchanged: 4 });
    expect(told).toEqual([]);
    // Only a gate whose value it republished is told of (the cron syncs that gate's hub).
    const behind = await gateIdOf(gates[3]!);
    projection.values.delete(await projectionKey(behind, null));
    const repaired = await reconcileProjection(d, 0, 5, republished);
    expect(repaired).toMatchObject({ checked: 5, written: 1 });
    expect(told).toEqual([behind]);
  });
});
