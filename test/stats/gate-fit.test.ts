import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/gate-fit.json";
import { conformalRank, fitGate, type GateFit, minimumScoresFor } from "../../src/stats/gate-fit";
import { kthSmallest, quantileInvertedCdf, sortedCopy } from "../../src/stats/order-statistics";
import { scores } from "../support/golden";

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

  it("a computed target k/(n+1) (a recall gate's implied drop rate) lands on its own rank k, whichever way its double rounded", () => {
    for (let n = 1; n <= 400; n++) {
      for (let k = 1; k <= n; k++) if (conformalRank(n, k / (n + 1)) !== k) expect.fail(`n=${n} k=${k}: ${conformalRank(n, k / (n + 1))}`);
    }
    for (const n of [9_999, 123_456, 1_999_999]) {
      for (const k of [1, 2, 7, Math.floor(n / 3), Math.floor(n / 2), n - 1, n]) expect(conformalRank(n, k / (n + 1)), `n=${n} k=${k}`).toBe(k);
    }
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
