import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/distribution.json";
import {
  buildDistribution,
  countAtOrBelowIn,
  countBelowIn,
  guardedShareBelow,
  quantileOf,
  shareAtOrBelow,
  shareBelow,
} from "../../src/stats/distribution";
import { eligibleScores, guardedDropCount } from "../../src/stats/guarded-gate";
import { countAtOrBelow, countBelow, sortedCopy } from "../../src/stats/order-statistics";
import { flattenQueries } from "../../src/stats/per-query";
import { scores } from "../support/golden";
import { createRng } from "../support/prng";

const K = golden.knots;
/** The requirement on a kept summary: rank error at most 0.1 point. */
const RANK_TOLERANCE = 0.001;

describe(`buildDistribution(sorted, ${K}) + shareBelow against exact shares (numpy searchsorted)`, () => {
  for (const c of golden.cases) {
    const exact = c.n <= K;
    const how = exact ? "exact" : `within ${RANK_TOLERANCE}`;
    it(`${c.dataset} (n=${c.n}, ${c.distinct} distinct): ${how} at ${c.queries.x.length} points`, () => {
      const dist = buildDistribution(sortedCopy(scores(c.dataset)), K);
      expect(dist.n).toBe(c.n);
      expect(dist.values.length).toBeLessThanOrEqual(Math.min(K, c.distinct));
      c.queries.x.forEach((x, i) => {
        const below = c.queries.below[i]!;
        const atOrBelow = c.queries.atOrBelow[i]!;
        if (exact) {
          expect(countBelowIn(dist, x), `below ${x}`).toBe(below);
          expect(countAtOrBelowIn(dist, x), `at or below ${x}`).toBe(atOrBelow);
        }
        expect(Math.abs(shareBelow(dist, x) - below / c.n), `share below ${x}`).toBeLessThanOrEqual(RANK_TOLERANCE);
        expect(Math.abs(shareAtOrBelow(dist, x) - atOrBelow / c.n), `share at or below ${x}`).toBeLessThanOrEqual(RANK_TOLERANCE);
      });
    });
  }

  it("is exact at every knot, below the minimum and above the maximum, whatever n", () => {
    for (const name of ["normal_100000", "ties_100000", "logits_100000"]) {
      const s = sortedCopy(scores(name));
      const dist = buildDistribution(s, K);
      expect(dist.values[0]).toBe(s[0]);
      expect(dist.values[dist.values.length - 1]).toBe(s[s.length - 1]);
      dist.values.forEach((v, i) => {
        expect(dist.below[i]).toBe(countBelow(s, v));
        expect(dist.atOrBelow[i]).toBe(countAtOrBelow(s, v));
        expect(countBelowIn(dist, v)).toBe(countBelow(s, v));
      });
      expect(shareBelow(dist, s[0]! - 1)).toBe(0);
      expect(shareBelow(dist, -Infinity)).toBe(0);
      expect(shareBelow(dist, s[s.length - 1]! + 1)).toBe(1);
      expect(shareBelow(dist, Infinity)).toBe(1);
    }
  });

  it("exercises real interpolation error for n > knots (the tolerance is not vacuous)", () => {
    const c = golden.cases.find((r) => r.dataset === "normal_100000")!;
    const dist = buildDistribution(sortedCopy(scores(c.dataset)), K);
    const worst = Math.max(...c.queries.x.map((x, i) => Math.abs(countBelowIn(dist, x) - c.queries.below[i]!)));
    expect(worst).toBeGreaterThan(0);
  });

  it("keeps every distinct value as a knot when n <= knots", () => {
    const s = sortedCopy(scores("normal_2000"));
    expect(buildDistribution(s, K).values).toEqual(Float64Array.from(new Set(s)));
  });

  it("does not mutate its input and rejects empty samples, bad knot counts and NaN queries", () => {
    const s = sortedCopy([0.3, 0.1, 0.2]);
    const before = Float64Array.from(s);
    const dist = buildDistribution(s, K);
    expect(s).toEqual(before);
    expect(() => buildDistribution(new Float64Array(0), K)).toThrow(RangeError);
    for (const k of [1, 0, 2.5]) expect(() => buildDistribution(s, k)).toThrow(RangeError);
    expect(() => countBelowIn(dist, NaN)).toThrow(RangeError);
    expect(() => countAtOrBelowIn(dist, NaN)).toThrow(RangeError);
  });
});

describe("quantileOf against numpy inverted_cdf", () => {
  for (const c of golden.cases) {
    it(`${c.dataset} (n=${c.n})`, () => {
      const s = sortedCopy(scores(c.dataset));
      const dist = buildDistribution(s, K);
      for (const { p, expected, rank } of c.quantiles) {
        const v = quantileOf(dist, p);
        if (c.n <= K) {
          expect(v, `p=${p}`).toBe(expected);
        } else {
          // A knot at or above the true quantile, at most one knot spacing (n/(K-1) ranks, rounded) further.
          expect(countAtOrBelow(s, v), `p=${p}`).toBeGreaterThanOrEqual(rank);
          expect(countBelow(s, v), `p=${p}`).toBeLessThanOrEqual(rank + Math.ceil((c.n - 1) / (K - 1)));
        }
      }
    });
  }

  it("rejects p outside [0, 1]", () => {
    const dist = buildDistribution(Float64Array.of(1, 2), K);
    for (const p of [-0.1, 1.1, NaN]) expect(() => quantileOf(dist, p)).toThrow(RangeError);
  });
});

describe("guardedShareBelow", () => {
  it("is the guarded drop rate D(t)/n: exact with every eligible score a knot, within the rank error otherwise", () => {
    const rng = createRng(8);
    const qs = Array.from({ length: 600 }, () => {
      const m = 1 + Math.floor(rng.next() * 15);
      const base = rng.normal();
      return Array.from({ length: m }, () => base + rng.normal());
    });
    const flat = flattenQueries(qs);
    const n = flat.scores.length;
    const e = eligibleScores(flat.scores, flat.offsets, { minKeep: 2, maxKeep: 9 });
    for (const knots of [e.eligible.length, 200]) {
      const summary = { floor: e.floor, eligible: buildDistribution(e.eligible, knots) };
      for (const t of [-3, -0.5, 0, 0.7, 2.5]) {
        const exact = guardedDropCount(e, t) / n;
        const tolerance = knots === e.eligible.length ? 1e-12 : (e.eligible.length / (knots - 1) + 2) / n;
        expect(Math.abs(guardedShareBelow(summary, n, t) - exact)).toBeLessThanOrEqual(tolerance);
      }
    }
    expect(guardedShareBelow({ floor: e.floor, eligible: null }, n, 1)).toBe(e.floor / n);
  });
});
