// The series' row cap across traffics (src/monitoring/gate-monitor/series.ts seriesEvictions): rows go one at a time
// from the traffic holding the most, ties to the one named later, so served hours are kept longest.
import { describe, expect, it } from "vitest";
import { type StoredTraffic, seriesEvictions } from "../../src/monitoring/gate-monitor/series";

const counts = (entries: [StoredTraffic, number][]) => new Map(entries);

describe("seriesEvictions", () => {
  it("takes nothing at or under the cap", () => {
    expect(
      seriesEvictions(
        counts([
          ["served", 10],
          ["shadow", 5],
        ]),
        15,
      ),
    ).toEqual(new Map());
    expect(seriesEvictions(counts([]), 0)).toEqual(new Map());
  });

  it("takes from the traffic holding the most until the rows fit, evening the largest out", () => {
    expect(
      seriesEvictions(
        counts([
          ["served", 720],
          ["shadow", 1441],
        ]),
        2160,
      ),
    ).toEqual(new Map([["shadow", 1]]));
    // 10 over: the shadow's 14 come down to 8 (6), then both at 8 lose 2 each, the tie going to the one listed later
    expect(
      seriesEvictions(
        counts([
          ["served", 8],
          ["shadow", 14],
          ["candidate", 3],
        ]),
        15,
      ),
    ).toEqual(
      new Map([
        ["shadow", 8],
        ["served", 2],
      ]),
    );
    // a tie takes the later-listed first: served, listed first, keeps its rows
    expect(
      seriesEvictions(
        counts([
          ["served", 5],
          ["unknown", 5],
        ]),
        9,
      ),
    ).toEqual(new Map([["unknown", 1]]));
  });

  it("never takes more rows than a traffic holds, and never leaves more than the cap", () => {
    const evicted = seriesEvictions(
      counts([
        ["served", 2],
        ["shadow", 1],
      ]),
      0,
    );
    expect(evicted).toEqual(
      new Map([
        ["served", 2],
        ["shadow", 1],
      ]),
    );
  });
});
