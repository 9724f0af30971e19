/** The CLI's number formatting: one rule per kind of number, used by every command's summary. */
import { describe, expect, it } from "vitest";
import { MAX_NDJSON_BODY_BYTES } from "../../../src/contract";
import { count, num, percent, pointInterval, points, pointWidth, prose, pValue, size } from "../src/format";

describe("format", () => {
  it.each([
    [0.22, "22.0 %"],
    [0.2199999, "22.0 %"],
    [0, "0.0 %"],
    [1, "100.0 %"],
    [0.00012, "0.012 %"],
    [0.99996, "99.996 %"],
    [null, "n/a"],
  ])("percent(%j) = %s", (x, s) => {
    expect(percent(x)).toBe(s);
  });

  it.each([
    [0.5312, "p = 0.53"],
    [0.0012, "p = 0.0012"],
    [0.001, "p = 0.0010"],
    [0.00099, "p < 0.001"],
    [3.4e-9, "p < 0.001"],
    [0, "p < 0.001"],
    [1, "p = 1.0"],
  ])("pValue(%j) = %s: a p-value that underflowed to 0 is no p = 0.0", (p, s) => {
    expect(pValue(p)).toBe(s);
  });

  it("points are signed with one decimal; an interval of rates is printed in points", () => {
    expect(points(37)).toBe("+37.0");
    expect(points(-0.8375000000000021)).toBe("-0.8");
    expect(points(0.04)).toBe("0.0");
    expect(points(-0.04)).toBe("0.0");
    expect(pointInterval([0.3439592267788997, 0.3960407732211003])).toBe("+34.4 to +39.6");
    expect(pointInterval([-0.0344422571647747, 0.017692257164774655])).toBe("-3.4 to +1.8");
    expect(pointWidth(0.02)).toBe("2.0");
  });

  it.each([
    [0.3413920512587824, "0.3414"],
    [0.4, "0.4"],
    [-1.23456, "-1.235"],
    [12.3456, "12.35"],
    [12345.678, "12346"],
    [0.000012346, "0.00001235"],
    [0, "0"],
    [null, "none"],
  ])("num(%j) = %s", (x, s) => {
    expect(num(x)).toBe(s);
  });

  it("counts get thousands separators; sizes a unit that shows them", () => {
    expect(count(1_000_000)).toBe("1,000,000");
    expect(size(312)).toBe("312 bytes");
    expect(size(4300)).toBe("4.2 KiB");
    expect(size(18.4 * 1024 * 1024)).toBe("18.4 MiB");
    // the NDJSON limit reads as the README states it
    expect(size(MAX_NDJSON_BODY_BYTES)).toBe("24 MiB");
    expect(size(1024 * 1024 + 1)).toBe("1.0 MiB");
  });

  it("prose shortens raw floats only, and leaves versions, ids, dates and written numbers alone", () => {
    expect(prose("at target 0.3225806451612903; about 6592 effective scores")).toBe("at target 0.3226; about 6592 effective scores");
    expect(prose("the previous threshold -0.14912345678 drops")).toBe("the previous threshold -0.1491 drops");
    expect(prose("level 0.001, sd 9.19 points, 95 % interval 34.4..39.6 points")).toBe(
      "level 0.001, sd 9.19 points, 95 % interval 34.4..39.6 points",
    );
    expect(prose("v1.2.3456789 cal_01a23885e3f25e9ea9 at 2026-12-02T20:50:28.466Z")).toBe(
      "v1.2.3456789 cal_01a23885e3f25e9ea9 at 2026-12-02T20:50:28.466Z",
    );
    expect(prose("1.234567e-8 is small")).toBe("1.235e-8 is small");
  });
});
