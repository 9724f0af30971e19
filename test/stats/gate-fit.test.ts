import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/gate-fit.json";
import { conformalRank, fitGate, type GateFit, minimumScoresFor } from "../../src/stats/gate-fit";
import { kthSmallest, quantileInvertedCdf, sortedCopy } from "../../src/stats/order-statistics";
import { scores } from "../support/golden";
import { createRng } from "../support/prng";

/** The gate rule `score >= t` does not tell -0 from +0, and numpy's sort does not order them: compare as +0. */
function withPlusZero(fit: GateFit): GateFit {
  return fit.kind === "fitted" && fit.threshold !== null ? { ...fit, threshold: fit.threshold + 0 } : fit;
}

/** ceil((n+1) j / den) in integer arithmetic: the exact conformal rank for the decimal target j/den. */
const exactRank = (n: number, j: number, den: number): number => Math.floor(((n + 1) * j + den - 1) / den);

describe("fitGate against numpy (split-conformal rank, inverted_cdf threshold)", () => {
  for (const c of golden.cases) {
    it(`${c.dataset} (n=${c.n}) at ${golden.d.length} targets`, () => {
      const s = sortedCopy(scores(c.dataset));
      golden.d.forEach((d, i) => {
        const row = c.fits[i]!;
        const fit = fitGate(s, d);
        expect(withPlusZero(fit), `d=${d}`).toEqual(withPlusZero(row.expected as GateFit));
        if (fit.kind === "fitted" && fit.k > 0) {
          // The identity docs/methods.md states: x_(k) = np.quantile(x, k/n, method="inverted_cdf") in exact arithmetic.
          expect(fit.threshold).toBe(kthSmallest(s, fit.k));
          expect(fit.threshold).toBe(quantileInvertedCdf(s, fit.k / fit.n));
          expect(fit.inSampleDropRate).toBeLessThanOrEqual((fit.k - 1) / fit.n);
        }
      });
    });
  }

  it("covers too-few-scores, no-gate and tie cases (the matrix is not vacuous)", () => {
    const rows = golden.cases.flatMap((c) => c.fits.map((r) => r.expected as GateFit));
    expect(rows.some((r) => r.kind === "too_few_scores")).toBe(true);
    expect(rows.some((r) => r.kind === "fitted" && r.threshold === null)).toBe(true);
    // With ties the in-sample drop rate F_n(t-) falls below (k-1)/n.
    expect(rows.some((r) => r.kind === "fitted" && r.k > 1 && r.inSampleDropRate < (r.k - 1) / r.n)).toBe(true);
  });

  it("documents where plain np.quantile(x, k/n) hits a float edge and the fit does not follow it", () => {
    const edges = golden.cases.flatMap((c) =>
      c.fits.flatMap((r, i) => ("numpyAtKOverN" in r ? [{ dataset: c.dataset, d: golden.d[i]!, row: r }] : [])),
    );
    expect(edges.map((e) => [e.dataset, e.d])).toContainEqual(["normal_99", 0.57]);
    for (const { dataset, d, row } of edges) {
      const fit = fitGate(sortedCopy(scores(dataset)), d);
      expect(fit).toEqual(row.expected);
      expect(fit.kind === "fitted" && fit.threshold).not.toBe(row.numpyAtKOverN);
    }
  });
});

describe("conformalRank", () => {
  it("gives 29 for d = 0.29, n = 99 although (n+1) d = 28.999999999999996 in floats", () => {
    expect((99 + 1) * 0.29).toBe(28.999999999999996);
    expect(conformalRank(99, 0.29)).toBe(29);
  });

  it("is not pushed up by float error: d = 0.25, n = 3 gives 1; d = 0.07, n = 99 gives 7", () => {
    expect(conformalRank(3, 0.25)).toBe(1);
    expect((99 + 1) * 0.07).toBe(7.000000000000001);
    expect(conformalRank(99, 0.07)).toBe(7);
    expect(conformalRank(99, 0.57)).toBe(57);
  });

  it("equals ceil((n+1) d) in exact arithmetic for every d = j/100 and j/1000, n = 0..1000", () => {
    for (const den of [100, 1000]) {
      for (let j = 0; j < den; j++) {
        const d = j / den;
        for (let n = 0; n <= 1000; n++) {
          const got = conformalRank(n, d);
          if (got !== exactRank(n, j, den)) expect.fail(`n=${n} d=${d}: ${got} != ${exactRank(n, j, den)}`);
        }
      }
    }
  });

  it("equals ceil((n+1) D) in exact integers for decimals D of 1 to 9 places, n up to 1e12 on and beside exact multiples", () => {
    // The float snap took d's representation error as EPSILON/2 per unit of n+1 (EPSILON/4 is the most it can be in
    // [0.5, 1)): 0.99999999 at n = 99,999,998 gave 99,999,998, ceil is 99,999,999.
    expect(conformalRank(99_999_998, 0.99999999)).toBe(99_999_999);
    expect(conformalRank(999_999_998, 0.999999999)).toBe(999_999_999);
    const rng = createRng(20261205);
    const int = (below: number): number => Math.floor(rng.next() * below);
    let checked = 0;
    for (let c = 0; c < 4000; c++) {
      const p = 1 + int(9);
      const den = 10 ** p;
      // Half the targets near 1 (1 - j / den, j small), where the product loses digits, half anywhere.
      const j = c % 2 === 0 ? den - 1 - int(Math.min(1000, den - 1)) : 1 + int(den - 1);
      const d = Number(`0.${String(j).padStart(p, "0")}`);
      for (const scale of [1, 7, 1000, 123_457]) {
        // n + 1 near t den / gcd-free multiples: the exact product (n+1) j / den within a few 1/den of an integer.
        const base = Math.round((scale * den) / j);
        for (const step of [-2, -1, 0, 1, 2]) {
          const n = base + step - 1;
          if (n < 0 || n > 1e12) continue;
          const exact = Number((BigInt(n + 1) * BigInt(j) + BigInt(den) - 1n) / BigInt(den));
          const got = conformalRank(n, d);
          checked++;
          if (got !== exact) expect.fail(`n=${n} d=${d}: ${got} != ${exact}`);
        }
      }
      const least = Number((BigInt(j) + BigInt(den - j) - 1n) / BigInt(den - j));
      if (minimumScoresFor(d) !== Math.max(1, least)) expect.fail(`minimumScoresFor(${d}) = ${minimumScoresFor(d)} != ${least}`);
    }
    expect(checked).toBeGreaterThan(70_000);
  });

  it("rejects d outside [0, 1) and n that is not a non-negative integer", () => {
    for (const d of [1, -0.01, NaN, 1.5]) expect(() => conformalRank(10, d)).toThrow(RangeError);
    for (const n of [-1, 2.5, NaN]) expect(() => conformalRank(n, 0.3)).toThrow(RangeError);
  });
});

describe("minimumScoresFor and too_few_scores", () => {
  it("matches the generator's brute force", () => {
    for (const { d, minimumN } of golden.minimumN) expect(minimumScoresFor(d), `d=${d}`).toBe(minimumN);
  });

  it("is the least n with ceil((n+1) d) <= n, brute-forced for every d = j/1000", () => {
    for (let j = 0; j < 1000; j++) {
      let m = 1;
      while (exactRank(m, j, 1000) > m) m++;
      expect(minimumScoresFor(j / 1000), `d=${j / 1000}`).toBe(m);
    }
  });

  it("fits exactly at the minimum and refuses one below it", () => {
    for (const d of [0.6, 0.75, 0.9, 0.95, 0.99, 0.999]) {
      const m = minimumScoresFor(d);
      const at = fitGate(
        Float64Array.from({ length: m }, (_, i) => i),
        d,
      );
      expect(at.kind, `d=${d}`).toBe("fitted");
      const below = fitGate(
        Float64Array.from({ length: m - 1 }, (_, i) => i),
        d,
      );
      expect(below).toEqual({ kind: "too_few_scores", k: conformalRank(m - 1, d), n: m - 1, minimumN: m });
    }
  });
});

describe("fitGate preconditions", () => {
  it("throws RangeError on an empty sample and on d outside [0, 1)", () => {
    expect(() => fitGate(new Float64Array(0), 0.3)).toThrow(RangeError);
    for (const d of [1, -0.1, NaN]) expect(() => fitGate(Float64Array.of(1, 2, 3), d)).toThrow(RangeError);
  });

  it("does not mutate its input", () => {
    const s = Float64Array.of(0.1, 0.2, 0.2, 0.9);
    fitGate(s, 0.5);
    expect(s).toEqual(Float64Array.of(0.1, 0.2, 0.2, 0.9));
  });
});
