import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/shift.json";
import { buildDistribution, countAtOrBelowIn, countBelowIn, type Distribution } from "../../src/stats/distribution";
import { sortedCopy } from "../../src/stats/order-statistics";
import { ksDistance, PSI_EMPTY_BIN_SHARE, populationStabilityIndex, twoProportionTest } from "../../src/stats/shift";
import { scores } from "../support/golden";
import { createRng } from "../support/prng";

/** |actual - expected| <= rtol |expected| + atol. */
function expectClose(actual: number, expected: number, rtol: number, atol: number, label: string): void {
  expect(Math.abs(actual - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rtol * Math.abs(expected) + atol);
}

const K = golden.knots;
const summaries = new Map<string, Distribution>();
function summary(name: string): Distribution {
  let d = summaries.get(name);
  if (d === undefined) {
    d = buildDistribution(sortedCopy(scores(name)), K);
    summaries.set(name, d);
  }
  return d;
}

const label = (c: (typeof golden.cases)[number]): string => `${c.reference} (n=${c.n}) vs ${c.current} (m=${c.m})`;

describe("ksDistance against scipy.stats.ks_2samp(...).statistic", () => {
  for (const c of golden.cases) {
    // Exact summaries (n, m <= knots) give the exact statistic; otherwise each summary is off by < 1/(K-1) in rank.
    const tolerance = c.exactSummaries ? 1e-12 : 2 / K;
    it(`${label(c)} within ${tolerance}`, () => {
      const a = summary(c.reference);
      const b = summary(c.current);
      expectClose(ksDistance(a, b), c.ks, 0, tolerance, "ks");
      expect(ksDistance(b, a)).toBe(ksDistance(a, b));
    });
  }

  it("covers identical samples (0) and disjoint ones (1)", () => {
    expect(golden.cases.some((c) => c.ks === 0)).toBe(true);
    expect(golden.cases.some((c) => c.ks === 1)).toBe(true);
    expect(ksDistance(summary("normal_1000"), summary("normal_1000"))).toBe(0);
  });

  it("is exactly the largest gap of countBelowIn and countAtOrBelowIn over every knot of both summaries (ties, summaries of other sizes)", () => {
    // The definition, a search per knot; ksDistance walks both knot lists once and must give the same number.
    const byDefinition = (a: Distribution, b: Distribution): number => {
      let d = 0;
      for (const v of [...a.values, ...b.values]) {
        d = Math.max(
          d,
          Math.abs(countBelowIn(a, v) / a.n - countBelowIn(b, v) / b.n),
          Math.abs(countAtOrBelowIn(a, v) / a.n - countAtOrBelowIn(b, v) / b.n),
        );
      }
      return d;
    };
    const rng = createRng(20261203);
    for (let t = 0; t < 100; t++) {
      // every fourth pair on a grid of thirds (many ties, shared knots); sizes from 1 to 5,000, 2 to 2,000 knots
      const draw = (n: number, shift: number) =>
        Array.from({ length: n }, () => (t % 4 === 0 ? Math.round(3 * rng.normal()) / 3 : rng.normal()) + shift);
      const a = buildDistribution(sortedCopy(draw(1 + Math.floor(rng.next() * (t % 3 === 0 ? 5000 : 300)), 0)), 2 + (t % 1999));
      const b = buildDistribution(sortedCopy(draw(1 + Math.floor(rng.next() * 3000), rng.next() - 0.5)), K);
      expect(ksDistance(a, b), `pair ${t}`).toBe(byDefinition(a, b));
      expect(ksDistance(b, a), `pair ${t}`).toBe(byDefinition(b, a));
    }
  });
});

describe("populationStabilityIndex against a numpy computation of the same definition", () => {
  for (const c of golden.cases) {
    it(`${label(c)}`, () => {
      const r = populationStabilityIndex(summary(c.reference), summary(c.current));
      const want = c.psi;
      if (c.exactSummaries) {
        expect(r.bins).toBe(want.bins);
        expectClose(r.psi, want.psi, 1e-9, 1e-15, "psi");
        expectClose(r.threshold, want.threshold, 1e-12, 0, "threshold");
        expect(r.exceeds).toBe(want.exceeds);
      } else {
        // Approximate summaries: edges and shares are off by < 1/(K-1) in rank, which moves PSI a little.
        expect(r.bins).toBe(want.bins);
        expectClose(r.psi, want.psi, 0.02, 2e-4, "psi");
        expectClose(r.threshold, want.threshold, 1e-12, 0, "threshold");
        if (Math.abs(want.psi - want.threshold) > 0.01) expect(r.exceeds).toBe(want.exceeds);
      }
    });
  }

  it("uses threshold max(0.1, chi2_{B-1, 0.99} (1/n + 1/m)) and floors empty bins at 1e-4", () => {
    expect(PSI_EMPTY_BIN_SHARE).toBe(golden.psiEmptyBinShare);
    // Small samples: the chi-square term dominates 0.1.
    const small = golden.cases.find((c) => c.reference === "normal_100")!;
    expect(small.psi.threshold).toBeGreaterThan(0.1);
    // Large samples: the floor 0.1 applies.
    expect(golden.cases.some((c) => c.psi.threshold === 0.1)).toBe(true);
    // Ties merge decile edges: fewer than 10 bins.
    expect(golden.cases.some((c) => c.psi.bins < 10 && c.psi.bins > 1)).toBe(true);
    // A constant reference leaves its lower bin empty: the 1e-4 floor keeps the log term finite and large.
    const constant = golden.cases.find((c) => c.reference === "constant_1000" && c.current === "normal_1000")!;
    expect(constant.psi.bins).toBe(2);
    expect(constant.psi.psi).toBeGreaterThan(1);
    const r = populationStabilityIndex(summary("constant_1000"), summary("normal_1000"));
    expectClose(r.psi, constant.psi.psi, 1e-12, 0, "psi with an empty bin");
  });
});

describe("twoProportionTest against the pooled z and 2 norm.sf(|z|)", () => {
  it(`matches ${golden.twoProportion.length} cases (z to 1e-12, p-value to 1e-9 relative, tails included)`, () => {
    for (const c of golden.twoProportion) {
      const r = twoProportionTest(c.x1, c.n1, c.x2, c.n2);
      const what = `${c.x1}/${c.n1} vs ${c.x2}/${c.n2}`;
      expectClose(r.z, c.z, 1e-12, 1e-15, `${what} z`);
      expectClose(r.standardError, c.standardError, 1e-12, 0, `${what} se`);
      expectClose(r.pValue, c.pValue, 1e-9, 0, `${what} p`);
    }
  });

  it("reports tiny p-values instead of 0 for large |z|", () => {
    const big = golden.twoProportion.find((c) => c.pValue > 0 && c.pValue < 1e-20)!;
    expect(big).toBeDefined();
    expect(twoProportionTest(big.x1, big.n1, big.x2, big.n2).pValue).toBeGreaterThan(0);
  });

  it("rejects non-positive sizes", () => {
    expect(() => twoProportionTest(0, 0, 1, 10)).toThrow(RangeError);
    expect(() => twoProportionTest(1, 10, 0, -1)).toThrow(RangeError);
  });
});
