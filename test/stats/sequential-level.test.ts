import betaln from "@stdlib/math-base-special-betaln";
import { describe, expect, it } from "vitest";
import { emptyClusterSums } from "../../src/stats/per-query";
import { decideChangeAnytime } from "../../src/stats/sequential-change";
import { binomPpf } from "../../src/stats/special";
import { addQuery, betaBinomialCdf, LEVEL_ICC, sideOf, tabulatedDropQueries } from "../support/clustered-queries";
import { betaForIcc, createRng, deriveSeed } from "../support/prng";

// The anytime decision's levels where they are hardest to keep: the true change exactly on the tolerance's edge,
// clustered queries (beta-binomial drops, intra-query correlation 0.3, 3 to 40 candidates:
// test/support/clustered-queries.ts, drawn from its tables) and low drop rates, where a side's plug-in standard error is smallest exactly when
// its estimate has strayed toward the other side. Each run reads the decision after every batch of 25 live queries and
// counts once if it ever reads the wrong answer.

const TOL = 0.02;
const BATCH = 25;

/**
 * Runs that ever read `wrong` (or, for "missed", a 95 % interval without the true change TOL) with the reference at rate
 * p on `refQueries` queries and the live side at p + TOL.
 */
function everWrong(
  scenario: number,
  runs: number,
  p: number,
  refQueries: number,
  liveQueries: number,
  alphaShift: number,
  wrong: "shifted" | "equivalent" | "missed",
): number {
  const levels = { alphaShift, alphaEquivalence: 0.05, plannedQueries: 200, minQueries: 50 };
  const [refDraw, liveDraw] = [tabulatedDropQueries(p), tabulatedDropQueries(p + TOL)];
  let count = 0;
  for (let r = 0; r < runs; r++) {
    const rng = createRng(deriveSeed(scenario, r));
    const ref = emptyClusterSums();
    for (let q = 0; q < refQueries; q++) addQuery(ref, ...refDraw(rng));
    const reference = sideOf(ref);
    const live = emptyClusterSums();
    for (let q = 1; q <= liveQueries; q++) {
      addQuery(live, ...liveDraw(rng));
      if (q % BATCH !== 0) continue;
      const d = decideChangeAnytime(reference, sideOf(live), TOL, levels);
      const missed = d.interval95 !== null && (TOL < d.interval95[0] || TOL > d.interval95[1]);
      if (wrong === "missed" ? missed : d.decision === wrong) {
        count++;
        break;
      }
    }
  }
  return count;
}

describe("decideChangeAnytime's levels on the tolerance's edge (seeded, clustered, low rates)", () => {
  it("reads a false `equivalent` at most alpha_E of the time: 2 % -> 4 % against a large reference", () => {
    const runs = 600;
    const wrong = everWrong(4101, runs, 0.02, 4000, 1000, 0.001, "equivalent");
    // P(count > bound) <= 0.001 if the level holds
    expect(wrong).toBeLessThanOrEqual(binomPpf(0.999, runs, 0.05));
  });

  it("reads a false `shifted` at most alpha_S of the time: a 50-query reference at 5 %, live at 7 %", () => {
    const runs = 1500;
    const alphaShift = 0.025;
    const wrong = everWrong(4102, runs, 0.05, 50, 4000, alphaShift, "shifted");
    expect(wrong).toBeLessThanOrEqual(binomPpf(0.999, runs, alphaShift));
  });

  it("reads a false `shifted` at most alpha_S = 0.1 % of the time with a 50-query reference at 5 %, on the reference's design effect at its upper bound", () => {
    // The reference's design effect, estimated from 50 queries, is too small most of the time; the shifted test takes
    // its upper bound (DESIGN_EFFECT_BOUND_LEVEL). Live reads up to 750 queries. On the estimate itself the level does
    // not hold (0.5 % of 4,000 runs, 95 % CI 0.31-0.77 %, up to 6,000 live queries: bench/small-reference.ts,
    // docs/benchmarks.md section 37); at this horizon and these runs that excess is too small to show reliably.
    const runs = 6000;
    const levels = { alphaShift: 0.001, alphaEquivalence: 0.05, plannedQueries: 200, minQueries: 50 };
    const [refDraw, liveDraw] = [tabulatedDropQueries(0.05), tabulatedDropQueries(0.05 + TOL)];
    let wrong = 0;
    for (let r = 0; r < runs; r++) {
      const rng = createRng(deriveSeed(4104, r));
      const ref = emptyClusterSums();
      for (let q = 0; q < 50; q++) addQuery(ref, ...refDraw(rng));
      const reference = sideOf(ref);
      const live = emptyClusterSums();
      for (let q = 1; q <= 750; q++) {
        addQuery(live, ...liveDraw(rng));
        if (q % BATCH === 0 && decideChangeAnytime(reference, sideOf(live), TOL, levels).decision === "shifted") {
          wrong++;
          break;
        }
      }
    }
    // P(count > bound) <= 0.001 if the level holds
    expect(wrong).toBeLessThanOrEqual(binomPpf(0.999, runs, 0.001));
  });

  it("holds the true change in its 95 % sequence at every read in at least 95 % of runs", () => {
    const runs = 600;
    const missed = everWrong(4103, runs, 0.02, 4000, 1000, 0.001, "missed");
    expect(missed).toBeLessThanOrEqual(binomPpf(0.999, runs, 0.05));
  });
});

describe("the clustered model's tables (test/support/clustered-queries.ts)", () => {
  const { a, b } = betaForIcc(0.05, LEVEL_ICC)!;

  it("hold the beta-binomial distribution: C(m, k) B(k + a, m - k + b) / B(a, b)", () => {
    for (const m of [3, 17, 40]) {
      const cdf = betaBinomialCdf(m, a, b);
      let lchoose = 0; // log C(m, k)
      for (let k = 0; k <= m; k++) {
        if (k > 0) lchoose += Math.log((m - k + 1) / k);
        const pmf = Math.exp(lchoose + betaln(k + a, m - k + b) - betaln(a, b));
        expect(cdf[k]! - (k > 0 ? cdf[k - 1]! : 0)).toBeCloseTo(pmf, 12);
      }
      expect(cdf[m]).toBe(1);
    }
  });

  it("draw sizes 3 to 40 uniformly and drops at the table's frequencies", () => {
    const draw = tabulatedDropQueries(0.05);
    const rng = createRng(deriveSeed(4105, 0));
    const n = 200_000;
    const sizes = new Array<number>(41).fill(0);
    const dropsAt17 = new Array<number>(18).fill(0);
    for (let i = 0; i < n; i++) {
      const [m, d] = draw(rng);
      sizes[m]!++;
      if (m === 17) dropsAt17[d]!++;
    }
    expect(sizes.slice(0, 3).every((c) => c === 0)).toBe(true);
    for (let m = 3; m <= 40; m++) expect(Math.abs(sizes[m]! - n / 38)).toBeLessThan(5 * Math.sqrt(n / 38));
    const cdf = betaBinomialCdf(17, a, b);
    const at17 = sizes[17]!;
    for (let k = 0; k <= 3; k++) {
      const p = cdf[k]! - (k > 0 ? cdf[k - 1]! : 0);
      expect(Math.abs(dropsAt17[k]! - at17 * p)).toBeLessThan(5 * Math.sqrt(at17 * p * (1 - p)) + 1);
    }
  });
});
