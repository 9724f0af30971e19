import { describe, expect, it } from "vitest";
import { addObservation, cloneSums, DROP_RATE_STRATA, emptyClusterSums } from "../../src/stats/per-query";
import { TILT_STEPS, tiltLogEvidence } from "../../src/stats/stratified-tilt";
import { createRng } from "../support/prng";

describe("tiltLogEvidence: one anytime-valid e-value over strata with their own bands", () => {
  it("is 0 without outcomes and refuses counts or bands out of range", () => {
    expect(tiltLogEvidence([])).toBe(0);
    expect(tiltLogEvidence([{ n: 0, ones: 0, band: { lo: 0.1, hi: 0.2 } }])).toBe(0);
    expect(() => tiltLogEvidence([{ n: 3, ones: 4, band: { lo: 0, hi: 1 } }])).toThrow(RangeError);
    expect(() => tiltLogEvidence([{ n: 3, ones: 1, band: { lo: 0.5, hi: 0.2 } }])).toThrow(RangeError);
  });

  it("costs at most the prior's price when every stratum sits at its band's edge, and grows with a shared shift", () => {
    const at = (shift: number) =>
      tiltLogEvidence([
        { n: 1000, ones: Math.round(1000 * (0.5 + shift)), band: { lo: 0.45, hi: 0.5 } },
        { n: 1000, ones: Math.round(1000 * (0.05 + shift)), band: { lo: 0.02, hi: 0.05 } },
      ]);
    expect(at(0)).toBeLessThanOrEqual(0);
    expect(at(0)).toBeGreaterThan(-Math.log(2 * TILT_STEPS) - 1);
    expect(at(0.05)).toBeGreaterThan(10);
    // Below the bands' lower ends: evidence the other way.
    expect(tiltLogEvidence([{ n: 2000, ones: 700, band: { lo: 0.45, hi: 0.5 } }])).toBeGreaterThan(20);
  });

  it("false-alarms at most alpha when every stratum's rate is the edge of its band (seeded, checked at every step)", () => {
    // Two strata at their upper ends, 2,000 outcomes each run, evaluated after every 20: Ville's bound is 1/20 at ln 20.
    const rng = createRng(41);
    const runs = 100;
    let alarms = 0;
    for (let r = 0; r < runs; r++) {
      const c = [
        { n: 0, ones: 0, p: 0.6, band: { lo: 0.5, hi: 0.6 } },
        { n: 0, ones: 0, p: 0.05, band: { lo: 0, hi: 0.05 } },
      ];
      for (let i = 0; i < 2000; i++) {
        const s = c[i % 2]!;
        s.n++;
        if (rng.next() < s.p) s.ones++;
        if (i % 20 === 19 && tiltLogEvidence(c) >= Math.log(20)) {
          alarms++;
          break;
        }
      }
    }
    expect(alarms / runs).toBeLessThan(0.05);
  });
});

describe("abstention sums per drop-rate stratum", () => {
  it("count only queries that reported abstention, by their size, and clone without sharing arrays", () => {
    const sums = emptyClusterSums();
    addObservation(sums, [10, 3]);
    expect(sums.stratumAbstentionQueries).toBeUndefined();
    addObservation(sums, [1, 0, 0, 1]);
    addObservation(sums, [12, 0, 0, 0]);
    expect(sums.stratumAbstentionQueries).toHaveLength(DROP_RATE_STRATA.length);
    expect(sums.stratumAbstentionQueries![0]).toBe(1);
    expect(sums.stratumAbstained![0]).toBe(1);
    expect(sums.stratumAbstentionQueries![7]).toBe(1); // 12..14 candidates
    expect(sums.stratumAbstained!.reduce((a, b) => a + b)).toBe(1);
    const copy = cloneSums(sums);
    addObservation(copy, [1, 0, 0, 1]);
    expect(sums.stratumAbstentionQueries![0]).toBe(1);
  });
});
