import { describe, expect, it } from "vitest";
import { rebuildShift } from "../../src/calibrations/rebuild-shift";
import { MAX_MORE_DATA_FACTOR_SHOWN } from "../../src/contract/limits";
import { moreDataText, numberText, percentText } from "../../src/platform/format";
import { createRng, deriveSeed } from "../support/prng";
import { calibrationOf, clusteredSample } from "../support/rebuild-scenarios";

describe("numbers in sentences people read", () => {
  it("a threshold reads with 6 significant digits; short ones as written; non-finite ones as such", () => {
    expect(numberText(0.24995673243211058)).toBe("0.249957");
    expect(numberText(0.4)).toBe("0.4");
    expect(numberText(-3.25)).toBe("-3.25");
    expect(numberText(123456789)).toBe("123457000");
    expect(numberText(Number.NaN)).toBe("NaN");
  });

  it("a rate reads as a percent with 4 significant digits, never rounded onto 0 % or 100 %", () => {
    expect(percentText(0.3225806451612903)).toBe("32.26 %");
    expect(percentText(0.999999)).toBe("99.9999 %");
    expect(percentText(1e-7)).toBe("0.00001 %");
  });

  it("more data: a factor a rebuild could reach is given, a huge one (estimate on the tolerance) is said to be impractical", () => {
    expect(moreDataText(296.2)).toBe("about 297 times as many queries on each side would settle it");
    expect(moreDataText(MAX_MORE_DATA_FACTOR_SHOWN)).toContain("about 1000 times");
    const huge = moreDataText(1.130308715219457e32);
    expect(huge).not.toMatch(/e\+|\d{5}/u);
    expect(huge).toContain("more than 1,000 times as many queries");
  });
});

describe("the rebuild decision's sentence", () => {
  it("names the previous threshold as people read it, not the float's 17 digits (the exact value stays in the fields)", () => {
    const rng = createRng(deriveSeed(9601, 0));
    const prev = calibrationOf(clusteredSample(rng, 200, 20, 0.3), 0.3);
    const nextQ = clusteredSample(rng, 200, 20, 0.3);
    const next = calibrationOf(nextQ, 0.3);
    const t = prev.record.threshold as number;
    expect(String(t).length).toBeGreaterThan(10);
    const r = rebuildShift({
      previous: prev.record,
      previousDistribution: prev.fitted.distribution,
      sorted: next.sorted,
      distribution: next.fitted.distribution,
      byQuery: nextQ,
      tolerance: 0.02,
      comparedWith: "gate_current",
    });
    expect(r.reason).toContain(`the previous threshold ${numberText(t)} drops`);
    expect(r.reason).not.toContain(String(t));
    expect(r.reason).not.toMatch(/\d\.\d{7}/u);
  });
});
