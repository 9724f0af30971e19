import { describe, expect, it } from "vitest";
import { coverageBand, coveragePrior, evaluateCoverage } from "../../src/stats/coverage-test";
import { logEvidence } from "../../src/stats/mixture-test";
import { createRng, deriveSeed } from "../support/prng";

const cal = { bound: 1 - 30 / 301, n: 300, missMass: 30 };

describe("coverage test", () => {
  it("tolerates the calibration's own noise: the band's edge is the bound less max(tolerance, z sd_cal)", () => {
    const band = coverageBand(cal, 0.02, 0.001);
    const sd = Math.sqrt((271 * 30) / (301 ** 2 * 302));
    expect(band.hi).toBeCloseTo(30 / 301 + 3.2905267314919 * sd, 9);
    expect(coverageBand({ bound: 1 - 10_000 / 100_001, n: 100_000, missMass: 10_000 }, 0.02, 0.001).hi).toBeCloseTo(10_000 / 100_001 + 0.02, 12);
  });

  it("has confidence-sequence edges where the point e-value reaches ln(1/0.05)", () => {
    const ev = evaluateCoverage(850, 1000, cal, 0.02, 0.001);
    const prior = coveragePrior(coverageBand(cal, 0.02, 0.001));
    const [lo, hi] = ev.confidenceSequence;
    expect(lo).toBeLessThan(0.85);
    expect(hi).toBeGreaterThan(0.85);
    for (const c of [lo, hi]) expect(logEvidence(150, 850, { lo: 1 - c, hi: 1 - c }, prior)).toBeCloseTo(Math.log(20), 6);
    expect(evaluateCoverage(0, 0, cal, 0.02, 0.001)).toMatchObject({ observed: null, logEvidence: 0, alarm: false, confidenceSequence: [0, 1] });
  });

  it("stays within alpha at the guaranteed coverage (peeking after every query) and detects 0.9 -> 0.7 within 300 queries", () => {
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
    expect(at!).toBeLessThanOrEqual(300);
  });

  it("accepts fractional covered shares (candidate recall)", () => {
    expect(evaluateCoverage(812.5, 1000, cal, 0.02, 0.001).observed).toBe(0.8125);
    expect(() => evaluateCoverage(11, 10, cal, 0.02, 0.001)).toThrow(RangeError);
  });
});
