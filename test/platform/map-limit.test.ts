import { describe, expect, it } from "vitest";
import { mapLimit } from "../../src/platform/map-limit";

describe("mapLimit", () => {
  it("keeps input order and never has more than `limit` calls in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (x, i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, x));
      inFlight--;
      return `${i}:${x}`;
    });
    expect(out).toEqual(["0:5", "1:1", "2:4", "3:2", "4:3", "5:0", "6:6"]);
    expect(most).toBe(3);
  });

  it("handles no items and rejects a limit below 1 or fractional", async () => {
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
    await expect(mapLimit([1], 0, async (x) => x)).rejects.toThrow(RangeError);
    await expect(mapLimit([1], 1.5, async (x) => x)).rejects.toThrow(RangeError);
  });

  it("rejects with the first error", async () => {
    await expect(
      mapLimit([1, 2, 3], 2, async (x) => {
        if (x === 2) throw new Error("two");
        return x;
      }),
    ).rejects.toThrow("two");
  });
});
