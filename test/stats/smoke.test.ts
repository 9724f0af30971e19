import { describe, expect, it } from "vitest";
import { fitGate } from "../../src/stats/gate-fit";
import { sortedCopy } from "../../src/stats/order-statistics";
import { orderStatisticRanks } from "../../src/stats/intervals";

describe("smoke", () => {
  it("fits", () => {
    const fit = fitGate(sortedCopy([5, 1, 3, 2, 4]), 0.3);
    expect(fit).toMatchObject({ kind: "fitted", threshold: 2, k: 2 });
    expect(orderStatisticRanks(10_000, 0.3)).toEqual({ lower: 2910, upper: 3091 });
  });
});
