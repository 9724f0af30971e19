/**
 * The sink's refusals: a file past the server's score limit is over a size limit (not a bad row), and the bad-row
 * message agrees with its count. The limit is the sink's parameter here (by default the server's MAX_SCORES).
 */
import { describe, expect, it } from "vitest";
import { InputError } from "../src/input-error";
import { ScoreSink } from "../src/score-sink";

/** The InputError `refuseBadRows` throws, or null when it does not. */
function refusal(sink: ScoreSink, name: string): InputError | null {
  try {
    sink.refuseBadRows(name);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  return null;
}

describe("ScoreSink", () => {
  it("a file one score over the limit is refused as over the size limit, naming the limit, not as a bad row", () => {
    const sink = new ScoreSink(false, false, 3);
    // line 1 is the header
    for (let line = 2; line <= 5; line++) sink.addScore(line / 10, line);
    const e = refusal(sink, "huge1.csv");
    expect(e?.message).toBe(
      "huge1.csv is over the size limit: 4 scores, and one calibration takes at most 3 (line 5 is the first past it): calibrate on a random sample of it (of whole queries, when it has them)",
    );
    expect(e?.problems).toEqual([]);
    expect(sink.length).toBe(3);
  });

  it("counts every score past the limit, and names the bad rows beside it", () => {
    const sink = new ScoreSink(false, false, 3);
    for (let line = 1; line <= 1003; line++) sink.addScore(0.5, line);
    sink.bad(7, '"x" is not a finite number');
    const e = refusal(sink, "big.csv");
    expect(e?.message).toMatch(/^big\.csv is over the size limit: 1,003 scores, and one calibration takes at most 3 \(line 4 is /u);
    expect(e?.message).toMatch(/; it also has 1 bad row$/u);
    expect(e?.problems).toEqual(['line 7: "x" is not a finite number']);
  });

  it("one bad row is 'it', several are 'them'", () => {
    const one = new ScoreSink(false, false);
    one.bad(3, "has 3 fields, the header has 2");
    expect(refusal(one, "ragged.csv")?.message).toBe("1 bad row in ragged.csv: fix or remove it");
    one.bad(4, "has 1 field, the header has 2");
    expect(refusal(one, "ragged.csv")?.message).toBe("2 bad rows in ragged.csv: fix or remove them");
  });
});
