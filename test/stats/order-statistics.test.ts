import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/order-statistics.json";
import { countAtOrBelow, countBelow, kthSmallest, quantileInvertedCdf, quantileSummary, sortedCopy } from "../../src/stats/order-statistics";
import { scores } from "../support/golden";

/** JSON has no Infinity: the generator writes the strings "Infinity" and "-Infinity". */
const num = (x: number | string): number => (typeof x === "number" ? x : Number(x));

describe("sortedCopy", () => {
  it("sorts ascending without mutating the input (every golden set)", () => {
    for (const c of golden.cases) {
      const input = scores(c.dataset);
      const before = Float64Array.from(input);
      const s = sortedCopy(input);
      expect(s).not.toBe(input);
      expect(input).toEqual(before);
      expect(s.length).toBe(c.n);
      expect(s.findIndex((v, i) => i > 0 && s[i - 1]! > v)).toBe(-1);
      expect(s[0]).toBe(c.min);
      expect(s[s.length - 1]).toBe(c.max);
    }
  });

  it("does not mutate a plain array either", () => {
    const input = [3, -1, 2, -1];
    sortedCopy(input);
    expect(input).toEqual([3, -1, 2, -1]);
  });

  it.each([NaN, Infinity, -Infinity])("rejects %s with RangeError", (bad) => {
    expect(() => sortedCopy([0.1, bad, 0.2])).toThrow(RangeError);
    expect(() => sortedCopy(Float64Array.of(bad))).toThrow(RangeError);
  });

  it("orders -0 before +0 as its comment says, and both count as equal", () => {
    const s = sortedCopy([0, -0, 0, -0]);
    expect([...s].map((v) => Object.is(v, -0))).toEqual([true, true, false, false]);
    expect(countBelow(s, 0)).toBe(0);
    expect(countAtOrBelow(s, -0)).toBe(4);
  });

  it("accepts the empty sample", () => {
    expect(sortedCopy([]).length).toBe(0);
  });
});

describe("quantileInvertedCdf against numpy inverted_cdf", () => {
  for (const c of golden.cases) {
    it(`${c.dataset} (n=${c.n}) at ${c.quantiles.p.length} probabilities incl. 0, 1, k/n`, () => {
      const s = sortedCopy(scores(c.dataset));
      c.quantiles.p.forEach((p, i) => {
        const rank = c.quantiles.rank[i]!;
        expect(quantileInvertedCdf(s, p), `p=${p}`).toBe(c.quantiles.expected[i]);
        expect(kthSmallest(s, rank)).toBe(c.quantiles.expected[i]);
      });
    });
  }

  it("treats n p within float error of an integer as that integer, where numpy does not", () => {
    // numpy computes 0.07 * 100 = 7.000000000000001 and returns x_(8); the documented definition gives x_(7).
    const flagged = golden.cases.flatMap((c) =>
      c.quantiles.p.flatMap((p, i) => (c.quantiles.numpyAgrees[i] ? [] : [{ n: c.n, p, rank: c.quantiles.rank[i]! }])),
    );
    expect(flagged).toContainEqual({ n: 100, p: 0.07, rank: 7 });
    const x = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantileInvertedCdf(x, 0.07)).toBe(7);
    expect(quantileInvertedCdf(x, 0.29)).toBe(29);
    expect(golden.numpyKOverNMismatches.count).toBeGreaterThan(0);
  });

  it("returns x_(k) at p = k/n for every k <= n <= 300 (numpy misses some of these)", () => {
    for (let n = 1; n <= 300; n++) {
      const x = Float64Array.from({ length: n }, (_, i) => i + 1);
      for (let k = 1; k <= n; k++) {
        if (quantileInvertedCdf(x, k / n) !== k) expect.fail(`n=${n} k=${k}: got ${quantileInvertedCdf(x, k / n)}`);
      }
    }
    // The pairs where np.quantile(x, k/n, method="inverted_cdf") returns x_(k+1) instead.
    for (const [k, n] of golden.numpyKOverNMismatches.examples as [number, number][]) {
      const x = Float64Array.from({ length: n }, (_, i) => i + 1);
      expect(quantileInvertedCdf(x, k / n)).toBe(k);
    }
  });

  it("rejects an empty sample and p outside [0, 1]", () => {
    expect(() => quantileInvertedCdf(new Float64Array(0), 0.5)).toThrow(RangeError);
    for (const p of [-0.01, 1.01, NaN]) expect(() => quantileInvertedCdf(Float64Array.of(1), p)).toThrow(RangeError);
  });
});

describe("quantileSummary", () => {
  it("gives the inverted_cdf deciles, minimum and maximum included", () => {
    for (const c of golden.cases) {
      expect(quantileSummary(sortedCopy(scores(c.dataset)), 10), c.dataset).toEqual(c.decileSummary);
    }
  });

  it("rejects a non-positive or fractional step count", () => {
    for (const steps of [0, -1, 2.5]) expect(() => quantileSummary(Float64Array.of(1), steps)).toThrow(RangeError);
  });
});

describe("countBelow / countAtOrBelow against numpy searchsorted", () => {
  for (const c of golden.cases) {
    it(`${c.dataset}: data points, ties, gaps, outside the range, infinities`, () => {
      const s = sortedCopy(scores(c.dataset));
      c.counts.x.forEach((raw, i) => {
        const x = num(raw);
        expect(countBelow(s, x), `below ${x}`).toBe(c.counts.below[i]);
        expect(countAtOrBelow(s, x), `at or below ${x}`).toBe(c.counts.atOrBelow[i]);
      });
    });
  }

  it("counts nothing in an empty sample", () => {
    expect(countBelow(new Float64Array(0), 1)).toBe(0);
    expect(countAtOrBelow(new Float64Array(0), 1)).toBe(0);
  });
});

describe("kthSmallest", () => {
  it("rejects ranks outside 1..n", () => {
    const s = sortedCopy([1, 2, 3]);
    for (const k of [0, 4, 1.5, -1, NaN]) expect(() => kthSmallest(s, k)).toThrow(RangeError);
    expect(kthSmallest(s, 1)).toBe(1);
    expect(kthSmallest(s, 3)).toBe(3);
  });
});
