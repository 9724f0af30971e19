import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/drift.json" with { type: "json" };
import { type Band, DEFAULT_PRIOR_STRENGTH, logEvidence, priorFor, toleranceBand } from "../../src/stats/mixture-test";

/** |actual - expected| within `rel` of the expected magnitude (absolute near 0). */
function expectClose(actual: number, expected: number, rel = 1e-10): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected)));
}

const CAL_BAND: Band = { lo: 0.28, hi: 0.32 };

describe("logEvidence", () => {
  it.each(golden.logEvidence)("matches scipy betaln + mpmath quadrature: $note", (c) => {
    expectClose(logEvidence(c.S, c.F, { lo: c.lo, hi: c.hi }, { a: c.a, b: c.b }), c.logEvidence);
  });

  it("is 0 with no data", () => {
    expect(logEvidence(0, 0, CAL_BAND, priorFor(CAL_BAND))).toBe(0);
  });

  it("is never positive while the observed rate lies in the band (the mixture never beats the band's best point)", () => {
    const prior = priorFor(CAL_BAND);
    for (const n of [1, 2, 3, 10, 100, 1_000, 10_000, 1_000_000])
      for (const phat of [0.28, 0.29, 0.3, 0.31, 0.32]) expect(logEvidence(phat * n, (1 - phat) * n, CAL_BAND, prior)).toBeLessThanOrEqual(1e-9);
  });

  it("grows with the sample size at a fixed rate outside the band, in both directions", () => {
    const prior = priorFor(CAL_BAND);
    for (const phat of [0.2, 0.4]) {
      let previous = -Infinity;
      for (const n of [100, 300, 1_000, 3_000, 10_000, 100_000]) {
        const le = logEvidence(phat * n, (1 - phat) * n, CAL_BAND, prior);
        expect(le).toBeGreaterThan(previous);
        previous = le;
      }
      expect(previous).toBeGreaterThan(Math.log(1000));
    }
  });

  it("is symmetric under swapping drops and keeps with the band and prior reflected", () => {
    const band: Band = { lo: 0.25, hi: 0.31 };
    const mirrored: Band = { lo: 1 - band.hi, hi: 1 - band.lo };
    const prior = { a: 3.1, b: 7.7 };
    for (const [s, f] of [
      [1, 0],
      [7, 3],
      [123.4, 456.7],
      [4000, 6000],
      [0, 50],
    ] as const)
      expectClose(logEvidence(s, f, band, prior), logEvidence(f, s, mirrored, { a: prior.b, b: prior.a }), 1e-12);
  });

  it("is +Infinity when the data are impossible under every point of the band", () => {
    const zero: Band = { lo: 0, hi: 0 };
    expect(logEvidence(1, 9, zero, priorFor(zero))).toBe(Infinity);
    const one: Band = { lo: 1, hi: 1 };
    expect(logEvidence(9, 1, one, priorFor(one))).toBe(Infinity);
  });

  it("is finite at the band's edges 0 and 1 when the data agree with them", () => {
    const zero: Band = { lo: 0, hi: 0 };
    expect(Number.isFinite(logEvidence(0, 10, zero, priorFor(zero)))).toBe(true);
    const upper: Band = { lo: 0.2, hi: 1 };
    expect(Number.isFinite(logEvidence(50, 0, upper, priorFor(upper)))).toBe(true);
  });

  it("rejects negative and NaN counts and malformed bands", () => {
    const prior = priorFor(CAL_BAND);
    expect(() => logEvidence(-1, 10, CAL_BAND, prior)).toThrow(RangeError);
    expect(() => logEvidence(10, -0.5, CAL_BAND, prior)).toThrow(RangeError);
    expect(() => logEvidence(Number.NaN, 10, CAL_BAND, prior)).toThrow(RangeError);
    expect(() => logEvidence(1, 1, { lo: 0.4, hi: 0.3 }, prior)).toThrow(RangeError);
    expect(() => logEvidence(1, 1, { lo: -0.1, hi: 0.3 }, prior)).toThrow(RangeError);
    expect(() => logEvidence(1, 1, { lo: 0.1, hi: 1.1 }, prior)).toThrow(RangeError);
    expect(() => logEvidence(1, 1, { lo: Number.NaN, hi: 0.3 }, prior)).toThrow(RangeError);
  });
});

describe("priorFor", () => {
  it("centres the Beta prior on the band with `strength` pseudo-observations", () => {
    const prior = priorFor(CAL_BAND, 50);
    expectClose(prior.a / (prior.a + prior.b), 0.3, 1e-14);
    expectClose(prior.a + prior.b, 50, 1e-14);
    expect(priorFor(CAL_BAND)).toEqual(priorFor(CAL_BAND, DEFAULT_PRIOR_STRENGTH));
    expect(DEFAULT_PRIOR_STRENGTH).toBe(golden.priorStrength);
  });

  it("keeps both parameters positive at degenerate bands", () => {
    for (const band of [
      { lo: 0, hi: 0 },
      { lo: 1, hi: 1 },
    ]) {
      const { a, b } = priorFor(band);
      expect(a).toBeGreaterThan(0);
      expect(b).toBeGreaterThan(0);
    }
  });
});

describe("toleranceBand", () => {
  it.each(golden.toleranceBand)("matches the definition in docs/drift.md: p0 $p0, nCal $nCal, tolerance $tolerance, $side", (c) => {
    const band = toleranceBand(c.p0, c.nCal, c.tolerance, c.side as "both" | "upper");
    expectClose(band.lo, c.lo, 1e-14);
    expectClose(band.hi, c.hi, 1e-14);
    const prior = priorFor(band);
    expectClose(prior.a, c.priorA, 1e-13);
    expectClose(prior.b, c.priorB, 1e-13);
  });

  it("uses the business tolerance when it exceeds 2.5 sd of the calibration, else 2.5 sd", () => {
    // sd_cal at p0 0.3, nCal 10k is 0.00458: 2.5 sd = 0.0115 < 0.02.
    const wide = toleranceBand(0.3, 10_000, 0.02);
    expectClose(wide.lo, 0.28, 1e-14);
    expectClose(wide.hi, 0.32, 1e-14);
    // nCal 1000: 2.5 sd = 0.0362 > 0.02.
    const noisy = toleranceBand(0.3, 1_000, 0.02);
    expectClose(noisy.hi - 0.3, 2.5 * Math.sqrt(0.21 / 1_000), 1e-12);
  });

  it("tests only for rises on the upper side, and clips to [0, 1]", () => {
    expect(toleranceBand(0.05, 2_000, 0.02, "upper").lo).toBe(0);
    expect(toleranceBand(0.01, 100, 0.05).lo).toBe(0);
    expect(toleranceBand(0.99, 100, 0.05).hi).toBe(1);
  });

  it("defaults to both sides", () => {
    expect(toleranceBand(0.3, 10_000, 0.02)).toEqual(toleranceBand(0.3, 10_000, 0.02, "both"));
  });

  it("rejects an expected rate outside [0, 1] or NaN", () => {
    expect(() => toleranceBand(-0.01, 100, 0.02)).toThrow(RangeError);
    expect(() => toleranceBand(1.01, 100, 0.02)).toThrow(RangeError);
    expect(() => toleranceBand(Number.NaN, 100, 0.02)).toThrow(RangeError);
  });
});
