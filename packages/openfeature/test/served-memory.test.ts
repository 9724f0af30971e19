// The provider's bounded memory of the calibration each flag × gate last answered with (src/served-memory.ts).
import { describe, expect, it } from "vitest";
import { MAX_REMEMBERED_FLAG_GATES } from "../src";
import { ServedMemory } from "../src/served-memory";

describe("ServedMemory", () => {
  it("stays at MAX_REMEMBERED_FLAG_GATES entries, the least recently evaluated out", () => {
    const m = new ServedMemory();
    m.evaluated("cold", "cal_1");
    m.evaluated("hot", "cal_1");
    for (let i = 0; i < 2 * MAX_REMEMBERED_FLAG_GATES; i++) {
      m.evaluated(`flag-${i}`, "cal_1");
      if (i % 100 === 0) m.evaluated("hot", "cal_1");
      expect(m.size).toBeLessThanOrEqual(MAX_REMEMBERED_FLAG_GATES);
    }
    expect(m.size).toBe(MAX_REMEMBERED_FLAG_GATES);
    expect(m.get("hot")).toBe("cal_1");
    expect(m.get("cold")).toBeUndefined();
    expect(m.get("flag-0")).toBeUndefined();
    expect(m.get(`flag-${2 * MAX_REMEMBERED_FLAG_GATES - 1}`)).toBe("cal_1");
  });

  it("a change learnt without an evaluation keeps the entry's place; an evaluation moves it last", () => {
    const m = new ServedMemory(2);
    m.evaluated("a", "cal_1");
    m.evaluated("b", "cal_1");
    m.changed("a", "cal_2");
    m.evaluated("c", "cal_1");
    expect([...m.keys()]).toEqual(["b", "c"]);
    m.evaluated("b", "cal_3");
    m.changed("d", "cal_1");
    expect([...m.keys()]).toEqual(["b", "d"]);
    expect(m.get("b")).toBe("cal_3");
  });

  it("refuses a bound that is not a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new ServedMemory(bad)).toThrow(RangeError);
  });
});
