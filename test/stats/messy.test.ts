import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/messy.json" with { type: "json" };
import { jeffreysUpperBound } from "../../src/stats/binomial-bound";
import type { CalibrationExpectation } from "../../src/stats/calibration-expectation";
import { atEffectiveSize, dropRateLaw, floorSignificant, lawAtMean, marginOf } from "../../src/stats/calibration-margin";
import { decideChange, SHIFT_LEVEL_SHARE, welchDf } from "../../src/stats/change-decision";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { evaluateDetector, observeDetector } from "../../src/stats/drift-detector";
import { newDetector } from "../../src/stats/e-detector";
import { effectiveSize, rateInterval, widenedRanks } from "../../src/stats/effective-size";
import { float32Spacing } from "../../src/stats/float32-spacing";
import { minimumScoresFor } from "../../src/stats/gate-fit";
import { orderStatisticRanks } from "../../src/stats/intervals";
import { sortedCopy } from "../../src/stats/order-statistics";
import { satterthwaiteDf, smallSampleFactor } from "../../src/stats/satterthwaite";
import { binomCdf, tInv, zInv } from "../../src/stats/special";
import { tieAwareDropRate } from "../../src/stats/tie-aware";
import { exactShiftedProbability, waldOnT } from "../support/rebuild-level-exact";

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(1e-300, Math.abs(b));
/** The golden JSON writes an infinite df as null (JSON has no Infinity). */
const df = (x: number | null): number => (x === null ? Number.POSITIVE_INFINITY : x);

describe("tieAwareDropRate against numpy (quantized, graded, saturated, continuous and constant scores)", () => {
  for (const c of golden.tieAware) {
    it(c.name, () => {
      const s = sortedCopy(c.values);
      for (const r of c.rows) {
        expect(tieAwareDropRate(s, r.k), `d=${r.d}`).toEqual({ below: r.below, ties: r.ties, expectedDropRate: r.expectedDropRate });
      }
    });
  }

  it("a gate on 0.01-grid scores at target 0.3 drops what F(t-) says, and 1,000 constant scores drop nothing", () => {
    const graded = golden.tieAware.find((c) => c.name.startsWith("graded"))!;
    expect(graded.rows.find((r) => r.d === 0.3)!.expectedDropRate).toBeCloseTo(0.206, 12);
    const constant = sortedCopy(new Float64Array(1000).fill(0.42));
    expect(tieAwareDropRate(constant, 981)).toEqual({ below: 0, ties: 1000, expectedDropRate: 0 });
  });

  it("rejects a rank outside 1..n", () => {
    expect(() => tieAwareDropRate(Float64Array.of(1, 2), 3)).toThrow(RangeError);
    expect(() => tieAwareDropRate(Float64Array.of(1, 2), 0)).toThrow(RangeError);
  });
});

describe("effective-size intervals against scipy", () => {
  it.each(golden.rateInterval)("rateInterval($mean, $nEff) is the Beta quantile pair", (c) => {
    const [lo, hi] = rateInterval(c.mean, c.nEff);
    expect(rel(lo, c.lo)).toBeLessThan(1e-9);
    expect(rel(hi, c.hi)).toBeLessThan(1e-9);
  });

  it.each(golden.widenedRanks)("widenedRanks(n=$n, p=$p, deff=$deff)", (c) => {
    expect(widenedRanks(c.n, c.p, c.deff)).toEqual({ lower: c.lower, upper: c.upper });
  });

  it("deff 1 leaves the i.i.d. ranks unchanged and effectiveSize floors deff at 1", () => {
    expect(widenedRanks(10_000, 0.3, 1)).toEqual(orderStatisticRanks(10_000, 0.3));
    expect(effectiveSize(8000, 0.7)).toBe(8000);
    expect(effectiveSize(8000, 2)).toBe(4000);
    expect(rateInterval(0, 10)).toEqual([0, 0]);
    expect(() => rateInterval(0.3, 0)).toThrow(RangeError);
    expect(() => widenedRanks(100, 0.3, 0.5)).toThrow(RangeError);
  });
});

describe("jeffreysUpperBound against scipy", () => {
  it.each(golden.jeffreys)("x=$x of n=$n at $level", (c) => {
    expect(rel(jeffreysUpperBound(c.x, c.n, c.level), c.upper)).toBeLessThan(1e-9);
  });

  it("is far above 0 for a calibration of 50 queries without an empty one (the Wald sd would be 0)", () => {
    expect(jeffreysUpperBound(0, 50, 1 - 0.00025)).toBeGreaterThan(0.1);
    expect(() => jeffreysUpperBound(3, 2, 0.9)).toThrow(RangeError);
  });
});

describe("decideChange against the python reference", () => {
  it.each(golden.decideChange)("p1=$p1 p2=$p2 tol=$tolerance: $decision", (c) => {
    const d = decideChange(c.p1, c.n1, c.p2, c.n2, c.tolerance, 0.001, 0.05);
    expect(d.decision).toBe(c.decision);
    expect(rel(d.standardError, c.standardError)).toBeLessThan(1e-12);
    expect(Math.abs(d.interval95[0] - c.interval95[0]!)).toBeLessThan(1e-12);
    expect(Math.abs(d.interval95[1] - c.interval95[1]!)).toBeLessThan(1e-12);
    if (c.moreDataFactor === null) expect(d.moreDataFactor).toBeNull();
    else expect(rel(d.moreDataFactor!, c.moreDataFactor)).toBeLessThan(1e-9);
  });

  it.each(golden.decideChangeT)("with each side's df (Student t on the Welch-Satterthwaite df): $name", (c) => {
    const d = decideChange(c.p1, c.n1, c.p2, c.n2, c.tolerance, 0.001, 0.05, df(c.df1), df(c.df2));
    expect(d.decision).toBe(c.decision);
    expect(rel(d.degreesOfFreedom, c.degreesOfFreedom)).toBeLessThan(1e-12);
    expect(rel(d.standardError, c.standardError)).toBeLessThan(1e-12);
    expect(Math.abs(d.interval95[0] - c.interval95[0]!)).toBeLessThan(1e-12);
    expect(Math.abs(d.interval95[1] - c.interval95[1]!)).toBeLessThan(1e-12);
    if (c.moreDataFactor === null) expect(d.moreDataFactor).toBeNull();
    else expect(rel(d.moreDataFactor!, c.moreDataFactor)).toBeLessThan(1e-9);
  });

  it.each(golden.welchDf)("welchDf(v=$v1, $v2; df=$df1, $df2) = $df", (c) => {
    expect(welchDf(c.v1, df(c.df1), c.v2, df(c.df2))).toBeCloseTo(df(c.df), 12);
    if (c.df !== null) expect(rel(welchDf(c.v1, df(c.df1), c.v2, df(c.df2)), c.df)).toBeLessThan(1e-13);
  });

  it("welchDf refuses negative variances and df below 1; normal quantiles when both df are infinite", () => {
    expect(() => welchDf(-1e-4, 5, 1e-4, 5)).toThrow(RangeError);
    expect(() => welchDf(1e-4, 0.5, 1e-4, 5)).toThrow(RangeError);
    expect(() => welchDf(1e-4, Number.NaN, 1e-4, 5)).toThrow(RangeError);
    const normal = decideChange(0.3, 476, 0.42, 19_048, 0.02, 0.001, 0.05);
    expect(normal.degreesOfFreedom).toBe(Number.POSITIVE_INFINITY);
    expect(normal.decision).toBe("shifted");
  });

  it("a side with an infinite df against a tiny-variance finite one: huge Welch df reads as the normal quantile, not shifted on a zero-width interval", () => {
    // 2M previous scores in 99,999 + 1 queries at 0.1 % against one new query of 50 at 5 % (Satterthwaite df Infinity).
    for (const [p1, p2] of [
      [0.001, 0.05],
      [1e-6, 0.1],
    ] as const) {
      const finite = decideChange(p1, 2e6, p2, 50, 0.02, 0.001, 0.05, 99_999, Number.POSITIVE_INFINITY);
      const normal = decideChange(p1, 2e6, p2, 50, 0.02, 0.001, 0.05, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
      expect(finite.degreesOfFreedom).toBeGreaterThan(1e17);
      expect(finite.decision).toBe("inconclusive");
      expect(finite.decision).toBe(normal.decision);
      expect(finite.interval95[1] - finite.interval95[0]).toBeGreaterThan(0.1);
      for (const i of [0, 1]) {
        expect(finite.interval95[i]).toBeCloseTo(normal.interval95[i]!, 12);
        expect(finite.equivalenceInterval[i]).toBeCloseTo(normal.equivalenceInterval[i]!, 12);
      }
    }
  });

  it("keeps the shifted level (0.1 %) at the tolerance's edge for 50 previous queries against 2,000 new (exact)", () => {
    // Independent scores, 20 a query: 1,000 previous scores against 40,000 new, the true rate moved by exactly +-2
    // points. The df are the largest Satterthwaite can give 50 and 2,000 queries (Q - 1): a larger df means a smaller t
    // quantile, so this bounds the level over every df the server computes for them. Normal quantiles too.
    const at = (move: number, df1: number, df2: number): number =>
      exactShiftedProbability({ n1: 1000, n2: 40_000, target: 0.3, tolerance: 0.02, move, df1, df2, alphaShift: 0.001 });
    const up = at(0.02, 49, 1999);
    const down = at(-0.02, 49, 1999);
    expect(up).toBeLessThanOrEqual(0.001);
    expect(down).toBeLessThanOrEqual(0.001);
    expect(at(0.02, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBeLessThanOrEqual(0.001);
    // Inside the tolerance it is smaller still.
    expect(at(0.01, 49, 1999)).toBeLessThan(up);
  });

  it("keeps it at unbalanced sizes either way round and at extreme targets, where the plain Wald test on t broke it (exact)", () => {
    // [previous queries, new queries, target, move]: the worst cells of a 6 x 6 grid of 50 to 10,000 queries a side
    // (20 scores a query, df Q - 1) for each target (docs/benchmarks.md, section 16).
    const cases: [number, number, number, number][] = [
      [200, 2000, 0.3, 0.02], // a small previous calibration: its fitted threshold's Beta law is skewed
      [2000, 200, 0.3, -0.02], // a small new sample: its plug-in variance shrinks where its rate is low
      [50, 10_000, 0.01, 0.02], // an extreme target: both
      [10_000, 50, 0.1, -0.02],
    ];
    for (const [q1, q2, target, move] of cases) {
      const input = { n1: 20 * q1, n2: 20 * q2, target, tolerance: 0.02, move, df1: q1 - 1, df2: q2 - 1, alphaShift: 0.001 };
      const before = exactShiftedProbability({ ...input, shifted: waldOnT(0.02, 0.001, q1 - 1, q2 - 1) });
      const now = exactShiftedProbability(input);
      expect(before, `${q1} vs ${q2} at ${target}`).toBeGreaterThan(0.001);
      expect(now, `${q1} vs ${q2} at ${target}`).toBeLessThanOrEqual(0.001);
    }
  });

  it("keeps it where the two first-order corrections alone left 0.101 %: the critical value at 0.95 of the level (exact)", () => {
    // The worst cells of the grid at targets 0.1 and 0.5 before SHIFT_LEVEL_SHARE (docs/benchmarks.md, section 16).
    const cases: [number, number, number, number][] = [
      [500, 10_000, 0.1, -0.02],
      [500, 500, 0.5, 0.02],
    ];
    for (const [q1, q2, target, move] of cases) {
      const input = { n1: 20 * q1, n2: 20 * q2, target, tolerance: 0.02, move, df1: q1 - 1, df2: q2 - 1, alphaShift: 0.001 };
      expect(exactShiftedProbability(input), `${q1} vs ${q2} at ${target}`).toBeLessThanOrEqual(0.001);
      // The same rule at the full level (what the share undoes) is above it.
      const full = exactShiftedProbability({ ...input, alphaShift: 0.001 / SHIFT_LEVEL_SHARE });
      expect(full, `${q1} vs ${q2} at ${target}, full level`).toBeGreaterThan(0.001);
    }
  });

  it("never calls a sample with zero variance equivalent: the Agresti-Caffo se is positive", () => {
    const d = decideChange(0, 10, 0, 10, 0.02, 0.001, 0.05);
    expect(d.standardError).toBeGreaterThan(0);
    expect(d.decision).toBe("inconclusive");
  });
});

describe("float32Spacing against np.spacing(np.float32(|x|))", () => {
  it.each(golden.float32Spacing)("x=$x", (c) => {
    expect(float32Spacing(c.x)).toBe(c.spacing);
  });

  it("is 0.5 near 5e6, Infinity at the largest float32, and refuses values outside float32", () => {
    expect(float32Spacing(5e6)).toBe(0.5);
    expect(float32Spacing(3.4028234663852886e38)).toBe(Infinity);
    expect(() => float32Spacing(1e39)).toThrow(RangeError);
    expect(() => float32Spacing(Number.NaN)).toThrow(RangeError);
  });
});

describe("floorSignificant: the monitor's effective size rounded down to 3 significant digits", () => {
  it("widens the drop-rate margin by at most 0.8 % from an effective size of 100 up, 2.4 % from 30, never narrows it", () => {
    const law = lawAtMean(0.001, 2e6);
    const width = (n: number): number => {
      const [lo, hi] = marginOf(atEffectiveSize(law, 2e6, n), 0.00025);
      return hi - lo;
    };
    const worst = (from: number, to: number): number => {
      let w = 0;
      for (let i = 0; i < 40; i++) {
        // Just below a rounding step: the most the floor can take off.
        const base = from * (to / from) ** (i / 40);
        const unit = 10 ** Math.max(0, Math.floor(Math.log10(base)) - 2);
        const n = (Math.floor(base / unit) + 1) * unit * (1 - 1e-9);
        const r = width(floorSignificant(n)) / width(n) - 1;
        expect(r, `n=${n}`).toBeGreaterThanOrEqual(0);
        w = Math.max(w, r);
      }
      return w;
    };
    expect(worst(100, 1e6)).toBeLessThanOrEqual(0.008);
    expect(worst(100, 1e6)).toBeGreaterThan(0.005); // so 0.1 % would not be a bound
    expect(worst(30, 100)).toBeLessThanOrEqual(0.024);
  });
});

describe("minimumScoresFor near d -> 1", () => {
  it.each(golden.minimumN)("d=$d needs $minimumN scores", (c) => {
    expect(minimumScoresFor(c.d)).toBe(c.minimumN);
  });
});

describe("the Shiryaev-Roberts statistic against the python reference (clustered queries, shift half-way)", () => {
  it("ln sum_j Lambda_j, its threshold, the design effect and the strongest start", () => {
    const g = golden.detector;
    const cal: CalibrationExpectation = { expectedDropRate: 0.3, n: 10_000, emptyContextRate: null, nQueries: null };
    let state = newDetector();
    g.batches.forEach((b, i) => {
      state = observeDetector(state, b as [number, number][], i, cal, DEFAULT_DRIFT_CONFIG);
    });
    expect(state.starts).toHaveLength(g.starts);
    const ev = evaluateDetector(state, cal, DEFAULT_DRIFT_CONFIG);
    expect(rel(ev.designEffect, g.designEffect)).toBeLessThan(1e-12);
    expect(Math.abs(ev.dropRate.band.lo - g.lo)).toBeLessThan(1e-14);
    expect(Math.abs(ev.dropRate.band.hi - g.hi)).toBeLessThan(1e-14);
    expect(rel(ev.dropRate.logEvidence, g.logStatistic)).toBeLessThan(1e-9);
    expect(rel(ev.logThreshold, g.logThreshold)).toBeLessThan(1e-14);
    expect(ev.dropRate.since).toBe(state.starts[g.strongestStart]!.openedAt);
  });
});

describe("calibration margin: the exact law of a fitted gate's true drop rate (scipy.stats.beta)", () => {
  it.each(golden.calibrationMargin)("n=$n k=$k below=$below ties=$ties at n_eff=$nEff, tail $tail", (c) => {
    const law = atEffectiveSize(dropRateLaw(c.n, c.k, c.below, c.ties), c.n, c.nEff);
    for (const [i, v] of law.lower.entries()) expect(v).toBeCloseTo(c.lower[i]!, 9);
    for (const [i, v] of law.upper.entries()) expect(v).toBeCloseTo(c.upper[i]!, 9);
    const [lo, hi] = marginOf(law, c.tail);
    expect(Math.abs(lo - c.lo)).toBeLessThanOrEqual(1e-12 * Math.max(1e-3, c.lo));
    expect(Math.abs(hi - c.hi)).toBeLessThanOrEqual(1e-12 * Math.max(1e-3, c.hi));
  });

  it("rejects ranks outside 0..n and tails outside (0, 0.5)", () => {
    expect(() => dropRateLaw(10, 11, 10, 1)).toThrow(RangeError);
    expect(() => dropRateLaw(0, 0, 0, 0)).toThrow(RangeError);
    expect(() => marginOf(dropRateLaw(10, 3, 2, 1), 0.5)).toThrow(RangeError);
    expect(() => marginOf(dropRateLaw(10, 3, 2, 1), 0)).toThrow(RangeError);
    expect(() => lawAtMean(1.2, 10)).toThrow(RangeError);
  });

  it("misses the true rate of small calibrations at extreme targets no more often than its tail (exact, 2 sides)", () => {
    // P(Beta(k, n+1-k) outside [L, U]) for the drop-rate band's margin: the normal band missed it 5.9 % of the time at
    // n = 100, d = 0.01 against a budget of 0.05 %.
    for (const [n, d] of [
      [100, 0.01],
      [200, 0.01],
      [300, 0.01],
      [200, 0.99],
    ] as const) {
      const k = Math.ceil((n + 1) * d - 1e-9);
      const [lo, hi] = marginOf(dropRateLaw(n, k, k - 1, 1), 0.001 / 4);
      // P(Beta(k, n+1-k) <= x) = P(Binomial(n, x) >= k).
      const betaCdf = (x: number): number => 1 - binomCdf(k - 1, n, x);
      const miss = (lo > 0 ? betaCdf(lo) : 0) + (1 - betaCdf(hi));
      expect(miss, `n=${n} d=${d}`).toBeLessThanOrEqual(0.0005 * (1 + 1e-9));
    }
  });
});

describe("few, unequal queries: Student's t on the Satterthwaite df (scipy.stats.t)", () => {
  it.each(golden.tInv)("tInv(q=$q, df=$df)", (c) => {
    // From T_EXPANSION_DF up (and at an infinite df, null in the JSON) the expansion is within 9e-16 of scipy.
    expect(rel(tInv(c.q, df(c.df)), c.t)).toBeLessThan(df(c.df) >= 1e5 ? 2e-15 : 1e-11);
  });

  it("tInv never collapses at huge df: t on 1e17 or more df is the normal quantile, not 0", () => {
    for (const q of [0.975, 1 - 0.00095, 0.025]) {
      for (const d of [1e17, 5.84e17, 6.85e20, 1e300, Number.POSITIVE_INFINITY]) expect(rel(tInv(q, d), zInv(q))).toBeLessThan(1e-15);
    }
  });

  it.each(golden.satterthwaite)("satterthwaiteDf and the interval's shrink factor: $name", (c) => {
    const df = satterthwaiteDf(c.sizes, c.drops);
    expect(rel(df, c.df)).toBeLessThan(1e-12);
    expect(rel(smallSampleFactor(df), c.factor)).toBeLessThan(1e-11);
  });

  it("is Infinity below two queries (no variance to estimate) and refuses mismatched inputs", () => {
    expect(satterthwaiteDf([20], [5])).toBe(Number.POSITIVE_INFINITY);
    expect(smallSampleFactor(Number.POSITIVE_INFINITY)).toBe(1);
    expect(() => satterthwaiteDf([1, 2], [1])).toThrow(RangeError);
    expect(() => smallSampleFactor(0.5)).toThrow(RangeError);
    expect(() => tInv(1, 3)).toThrow(RangeError);
  });
});
