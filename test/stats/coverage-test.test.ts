import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/recall.json";
import { coverageBand, coverageMargin, coveragePrior, evaluateCoverage } from "../../src/stats/coverage-test";
import { logEvidence } from "../../src/stats/mixture-test";
import { recallRank } from "../../src/stats/recall-gate";
import { binomCdf } from "../../src/stats/special";
import { createRng, deriveSeed } from "../support/prng";

const cal = { bound: 1 - 30 / 301, n: 300, missMass: 30 };

describe("coverage test", () => {
  it.each(golden.coverageBand)(
    "tolerates the calibration's own noise by the exact law of its miss rate (scipy): n $n, miss mass $missMass, ties $ties",
    (g) => {
      const c = { bound: g.bound, n: g.n, missMass: g.missMass, below: g.below, ties: g.ties, rule: g.rule as "rank" | "risk" };
      const m = coverageMargin(c, 0.02, 0.001);
      expect(m.centre).toBeCloseTo(g.centre, 12);
      expect(Math.abs(m.band.hi - g.hi)).toBeLessThanOrEqual(1e-12 * g.hi);
      expect(m.armable).toBe(g.armable);
    },
  );

  it("has confidence-sequence edges where the point e-value reaches ln(1/0.05)", () => {
    const ev = evaluateCoverage(850, 1000, cal, 0.02, 0.001);
    const prior = coveragePrior(coverageBand(cal, 0.02, 0.001));
    const [lo, hi] = ev.confidenceSequence;
    expect(lo).toBeLessThan(0.85);
    expect(hi).toBeGreaterThan(0.85);
    for (const c of [lo, hi]) expect(logEvidence(150, 850, { lo: 1 - c, hi: 1 - c }, prior)).toBeCloseTo(Math.log(20), 6);
    expect(evaluateCoverage(0, 0, cal, 0.02, 0.001)).toMatchObject({ observed: null, logEvidence: 0, alarm: false, confidenceSequence: [0, 1] });
  });

  it("stays within alpha at the guaranteed coverage (peeking after every query) and detects 0.9 -> 0.7 within 400 queries", () => {
    let falseAlarms = 0;
    const runs = 300;
    for (let run = 0; run < runs; run++) {
      const rng = createRng(deriveSeed(41, run));
      let covered = 0;
      for (let q = 1; q <= 2000; q++) {
        if (rng.next() < cal.bound) covered++;
        if (q % 10 === 0 && evaluateCoverage(covered, q, cal, 0.02, 0.001, null).alarm) {
          falseAlarms++;
          break;
        }
      }
    }
    expect(falseAlarms).toBeLessThanOrEqual(2); // alpha = 0.001: expected 0.3 of 300
    const rng = createRng(deriveSeed(42, 0));
    let covered = 0;
    let at: number | null = null;
    for (let q = 1; q <= 1000 && at === null; q++) {
      if (rng.next() < 0.7) covered++;
      if (evaluateCoverage(covered, q, cal, 0.02, 0.001, null).alarm) at = q;
    }
    expect(at).not.toBeNull();
    // The exact (right-skewed) margin tolerates down to 83.5 % at n = 300, where the normal one said 84.4 %.
    expect(at!).toBeLessThanOrEqual(400);
  });

  it("accepts fractional covered shares (candidate recall)", () => {
    expect(evaluateCoverage(812.5, 1000, cal, 0.02, 0.001).observed).toBe(0.8125);
    expect(() => evaluateCoverage(11, 10, cal, 0.02, 0.001)).toThrow(RangeError);
  });
});

describe("recall_drift's calibration margin at small n (exact Beta law of the achieved coverage)", () => {
  // P(Beta(k, n+1-k) > x) = P(Binomial(n, x) < k): the chance the fitted gate's true miss rate is beyond the band.
  const beyond = (x: number, k: number, n: number): number => binomCdf(k - 1, n, x);

  it.each([
    [50, 0.95],
    [100, 0.95],
    [30, 0.9],
    [300, 0.9],
    [1000, 0.99],
  ])("n = %i, r = %f: the true coverage falls below the tolerated edge with probability at most alpha/2", (n, r) => {
    const k = recallRank(n, 1 - r);
    const c = { bound: 1 - k / (n + 1), n, missMass: k };
    const band = coverageBand(c, 0.02, 0.001);
    // The normal margin: 0.88 % at n = 50, r = 0.95 (false alarms 0.45 % within 10,000 judged queries) against 0.05 %.
    expect(beyond(band.hi, k, n)).toBeLessThanOrEqual(0.0005 * (1 + 1e-9));
  });

  it("leaves a calibration that cannot bound its own coverage unarmed (n = 20, r = 0.9): it never alarms", () => {
    const c = { bound: 1 - 2 / 21, n: 20, missMass: 2 };
    const ev = evaluateCoverage(0, 10_000, c, 0.02, 0.001, null);
    expect(ev).toMatchObject({ armed: false, alarm: false });
    expect(ev.logEvidence).toBeGreaterThan(ev.logThreshold);
  });
});
