/**
 * Candidates without a score (a query's fifth count) in the contract, the window and the alert rule (plain Node):
 * the tests read the scored candidates only, the unscored ones are counted apart, and the alert's rule and words.
 */
import { describe, expect, it } from "vitest";
import type { Expectation } from "../../src/calibrations/expectation";
import { MAX_CANDIDATES_PER_QUERY, QueryCounts } from "../../src/contract";
import { decodeObservationMessage, observationMessage } from "../../src/monitoring/observation-message";
import { UNSCORED_ALERT_MIN_CANDIDATES, UNSCORED_ALERT_SHARE, unscoredAlarm, unscoredSummary } from "../../src/monitoring/unscored";
import { addBatch, evaluateWindow, newWindow, type WindowState, windowStatus } from "../../src/monitoring/window";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";

const START = Date.UTC(2026, 11, 5, 0, 0, 0);
const FLAT: Expectation = { n: 5000, expected_drop_rate: 0.3, empty_context_rate: 0.05, n_queries: 500 };
const noRandom = (): number => {
  throw new Error("no scores were offered");
};
const status = (w: WindowState) => windowStatus(w, evaluateWindow(w, DEFAULT_DRIFT_CONFIG));

describe("QueryCounts: the fifth count", () => {
  it("accepts [candidates, dropped, below, abstained, unscored], an all-unscored query among them, and the older forms", () => {
    for (const q of [
      [14, 4, 4, 0, 6],
      [0, 0, 0, 0, 20],
      [0, 0, 0, 1, 3],
      [20, 6, 6, 0, 0],
      [20, 6, 6, 0],
      [20, 6],
    ]) {
      expect(QueryCounts.safeParse(q).success, JSON.stringify(q)).toBe(true);
    }
  });

  it("refuses a fifth count that is negative, fractional, a string, too many counts or more candidates than a query holds", () => {
    const bad: [unknown, RegExp][] = [
      [[14, 4, 4, 0, -1], /0/u], // worded by the route's validation: "queries[0][4] must be at least 0" (unscored.workerd.test.ts)
      [[14, 4, 4, 0, 1.5], /whole numbers/u],
      [[14, 4, 4, 0, "6"], /whole numbers/u],
      [[14, 4, 4, 0, 6, 1], /must be \[candidates, dropped\]/u],
      [[14, 4, 6], /must be/u],
      [[MAX_CANDIDATES_PER_QUERY - 5, 0, 0, 0, 6], /candidates and unscored together must not exceed 10000/u],
      [[4, 5, 4, 0, 6], /dropped and below must not exceed candidates/u],
    ];
    for (const [q, message] of bad) {
      const r = QueryCounts.safeParse(q);
      expect(r.success, JSON.stringify(q)).toBe(false);
      expect(r.error!.issues.map((i) => i.message).join("; "), JSON.stringify(q)).toMatch(message);
    }
  });
});

describe("a window with unscored candidates", () => {
  it("counts them apart: the drop rate, empty context and abstention read the scored candidates only", () => {
    const w = addBatch(
      newWindow("cal_a", "v1", FLAT, START),
      [
        [14, 4, 4, 0, 6],
        [0, 0, 0, 0, 20], // nothing scored: not a query the tests read, not an empty context
        [0, 0, 0, 1, 5], // nothing scored though it abstained: not in the abstention test either
        [20, 6, 6, 0],
        [20, 6],
      ],
      null,
      noRandom,
    );
    const s = status(w);
    expect(s).toMatchObject({ queries: 3, candidates: 54, unscored_candidates: 31, dropped: 16, empty_queries: 0, abstention_queries: 2 });
    expect(s.drop_rate.observed).toBeCloseTo(16 / 54, 12);
    expect(s.mean_candidates).toBe(18);
  });

  it("reads 0 unscored in a state stored before they were counted, and keeps old counts exactly as they were", () => {
    const old = addBatch(newWindow("cal_a", "v1", FLAT, START), [[20, 6, 6, 0]], null, noRandom);
    expect(old.unscored).toBeUndefined();
    const withZero = addBatch(newWindow("cal_a", "v1", FLAT, START), [[20, 6, 6, 0, 0]], null, noRandom);
    expect(withZero).toEqual(old);
    expect(status(old).unscored_candidates).toBe(0);
  });
});

describe("the unscored_candidates rule", () => {
  const windowOf = (scored: number, unscored: number): WindowState =>
    addBatch(newWindow("cal_a", "v1", FLAT, START), [[scored, 0, 0, 0, unscored]], null, noRandom);

  it(`raises over ${100 * UNSCORED_ALERT_SHARE} % of at least ${UNSCORED_ALERT_MIN_CANDIDATES} reported candidates, once a window`, () => {
    expect(unscoredAlarm(windowOf(950, 50))).toBe(false); // exactly the share: tolerated
    expect(unscoredAlarm(windowOf(949, 51))).toBe(true);
    expect(unscoredAlarm(windowOf(0, UNSCORED_ALERT_MIN_CANDIDATES - 1))).toBe(false); // too few to say
    expect(unscoredAlarm(windowOf(0, UNSCORED_ALERT_MIN_CANDIDATES))).toBe(true);
    expect(unscoredAlarm({ ...windowOf(700, 300), unscored_alerted_at: START })).toBe(false);
  });

  it("says what the share means in on-call's words", () => {
    expect(unscoredSummary(status(windowOf(700, 300)))).toBe(
      "30.0 % of the 1,000 candidates services reported in this window had no score (300 unscored, over the 5.0 % tolerated): a reranker failing or timing out, a wrong score key, scores sent as strings; the drop-rate test reads the 700 scored ones",
    );
  });
});

describe("the queue message", () => {
  it("carries the fifth count to the consumer", () => {
    const message = observationMessage(
      {
        gate: { gate_id: "g", index: "docs", embedding: "e5", reranker: "bge" },
        calibration: { id: "cal_g", index_version: "v1", expectation: FLAT },
        batch_id: "b",
        batch_hash: "h",
        queries: [
          [14, 4, 4, 0, 6],
          [20, 6],
        ],
        scores: null,
      },
      START,
    );
    expect(decodeObservationMessage(JSON.parse(JSON.stringify(message)))?.queries).toEqual([
      [14, 4, 4, 0, 6],
      [20, 6],
    ]);
  });
});
