import { describe, expect, it } from "vitest";
import type { Expectation } from "../../src/calibrations/expectation";
import { WindowStatus } from "../../src/contract";
import { abstentionCalibrationRate, abstentionSummary, driftSummary, emptyContextSummary } from "../../src/monitoring/alarm-sentences";
import {
  addBatch,
  DRIFT_WINDOW_MS,
  evaluateWindow,
  newWindow,
  SCORE_RESERVOIR_SIZE,
  type WindowState,
  windowExpired,
  windowStatus,
} from "../../src/monitoring/window";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { createRng } from "../support/prng";

const START = Date.UTC(2026, 10, 24, 0, 0, 0);
const FLAT: Expectation = { n: 5000, expected_drop_rate: 0.1, empty_context_rate: null, n_queries: null };
const BY_QUERY: Expectation = { n: 5000, expected_drop_rate: 0.1, empty_context_rate: 0.05, n_queries: 500, design_effect: 1.5 };

const noRandom = (): number => {
  throw new Error("random() must not be called while the reservoir has room");
};

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Offers `scores` in batches of `batch`, one addBatch call each. */
function offer(w: WindowState, scores: readonly number[], batch: number, random: () => number): WindowState {
  let out = w;
  for (let i = 0; i < scores.length; i += batch) out = addBatch(out, [], scores.slice(i, i + batch), random);
  return out;
}

describe("addBatch", () => {
  it("returns a new state and leaves its input (and the batch) untouched", () => {
    const first = addBatch(newWindow("cal_a", "v1", FLAT, START), [[10, 2]], [0.5, 0.6], noRandom);
    const before = structuredClone(first);
    const queries: [number, number][] = [
      [10, 1],
      [4, 4],
    ];
    const scores = [0.1, 0.2, 0.3];
    deepFreeze(first);
    deepFreeze(queries);
    deepFreeze(scores);

    const next = addBatch(first, queries, scores, noRandom);
    expect(first).toEqual(before);
    expect(next).not.toBe(first);
    expect(next.sums).not.toBe(first.sums);
    expect(next.reservoir).not.toBe(first.reservoir);
    expect(next).toMatchObject({ batches: 2, seen: 5, reservoir: [0.5, 0.6, 0.1, 0.2, 0.3] });
    expect(next.sums).toMatchObject({ queries: 3, candidates: 24, dropped: 7, empty: 1 });
  });

  it("skips queries without candidates and accepts a batch without scores", () => {
    const w = addBatch(
      newWindow("cal_a", "v1", FLAT, START),
      [
        [0, 0],
        [5, 1],
      ],
      null,
      noRandom,
    );
    expect(w.sums).toMatchObject({ queries: 1, candidates: 5, dropped: 1 });
    expect(w).toMatchObject({ batches: 1, seen: 0, reservoir: [] });
  });

  it("keeps every score, in order, while the reservoir has room", () => {
    const scores = Array.from({ length: SCORE_RESERVOIR_SIZE }, (_, i) => i);
    const w = offer(newWindow("cal_a", "v1", FLAT, START), scores, 300, noRandom);
    expect(w.reservoir).toEqual(scores);
    expect(w.seen).toBe(SCORE_RESERVOIR_SIZE);
  });
});

describe("score reservoir", () => {
  const N = 20_000;
  const population = Array.from({ length: N }, (_, i) => i);

  it("never holds more than SCORE_RESERVOIR_SIZE scores and counts every score seen", () => {
    const rng = createRng(20261124);
    let w = newWindow("cal_a", "v1", FLAT, START);
    for (let i = 0; i < N; i += 777) {
      w = addBatch(w, [], population.slice(i, i + 777), rng.next);
      expect(w.reservoir.length).toBe(Math.min(SCORE_RESERVOIR_SIZE, Math.min(N, i + 777)));
      expect(w.seen).toBe(Math.min(N, i + 777));
    }
    expect(w.reservoir).toHaveLength(SCORE_RESERVOIR_SIZE);
  });

  it("is a uniform sample without replacement of everything offered in order", () => {
    const w = offer(newWindow("cal_a", "v1", FLAT, START), population, 1000, createRng(7).next);
    const sample = w.reservoir;
    expect(new Set(sample).size).toBe(SCORE_RESERVOIR_SIZE); // each score was offered once
    expect(sample.every((x) => Number.isInteger(x) && x >= 0 && x < N)).toBe(true);

    // Mean of 2,000 of 0..19999 drawn without replacement: 9999.5 with sd 5773.5 / sqrt(2000) * sqrt(1 - 0.1) = 122.5.
    // 600 is about 4.9 sd. Keeping the first 2,000 (mean 999.5) or only recent ones (about 18,000) is far outside.
    const mean = sample.reduce((a, b) => a + b, 0) / sample.length;
    expect(Math.abs(mean - 9999.5)).toBeLessThan(600);

    // Each tenth of the stream should hold about 200 of the sample: chi-square with 9 df, 27.88 is its 0.999 quantile.
    const counts = new Array<number>(10).fill(0);
    for (const x of sample) counts[Math.floor(x / (N / 10))]! += 1;
    const expected = SCORE_RESERVOIR_SIZE / 10;
    const chi2 = counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(27.88);
  });

  it("does not depend on how the stream is split into batches (the count of scores seen carries over)", () => {
    const whole = offer(newWindow("cal_a", "v1", FLAT, START), population, N, createRng(99).next);
    const pieces = offer(newWindow("cal_a", "v1", FLAT, START), population, 333, createRng(99).next);
    expect(pieces.reservoir).toEqual(whole.reservoir);
    expect(pieces.seen).toBe(whole.seen);
  });
});

describe("windowExpired", () => {
  it("is false until DRIFT_WINDOW_MS after the start and true from then on", () => {
    const w = newWindow("cal_a", "v1", FLAT, START);
    expect(DRIFT_WINDOW_MS).toBe(24 * 3600 * 1000);
    expect(windowExpired(w, START)).toBe(false);
    expect(windowExpired(w, START + DRIFT_WINDOW_MS - 1)).toBe(false);
    expect(windowExpired(w, START + DRIFT_WINDOW_MS)).toBe(true);
    expect(windowExpired(w, START + 3 * DRIFT_WINDOW_MS)).toBe(true);
  });
});

describe("windowStatus", () => {
  it("reports the window's identity, bounds, counts and tests in the API shape", () => {
    let w = newWindow("cal_flat", "blue", FLAT, START, 2);
    w = addBatch(
      w,
      [
        [10, 1],
        [10, 2],
        [0, 0],
      ],
      [0.4, 0.5],
      noRandom,
    );
    w = addBatch(w, [[5, 5]], null, noRandom);
    const ev = evaluateWindow(w, DEFAULT_DRIFT_CONFIG);
    const status = windowStatus(w, ev);

    expect(WindowStatus.parse(status)).toEqual(status);
    expect(status).toMatchObject({
      calibration_id: "cal_flat",
      index_version: "blue",
      started_at: "2026-11-24T00:00:00.000Z",
      ends_at: "2026-11-25T00:00:00.000Z",
      batches: 2,
      queries: 3,
      candidates: 25,
      dropped: 8,
      empty_queries: 1,
      alarms: 2,
      score_sample: { size: 2, seen: 2 },
      design_effect: ev.designEffect,
      empty_context: null, // a flat calibration has no empty-context rate to compare with
    });
    // ln A = ln((H + 1) / (alpha / 2)), H = 1,000,000 / 50 candidate change points (src/stats/drift-detector.ts)
    expect(status.log_threshold).toBeCloseTo(Math.log(20_001 / (DEFAULT_DRIFT_CONFIG.alpha / 2)), 12);
    expect(status).toMatchObject({
      empty_context: null, // a flat calibration has no empty-context rate to compare with
    });
    expect(status.drop_rate).toMatchObject({ observed: 8 / 25, expected: 0.1, alarm: false }); // not armed before 100 queries
    expect(status.drop_rate.band.lo).toBeLessThan(0.1);
    expect(status.drop_rate.band.hi).toBeGreaterThan(0.1);
  });

  it("has an empty-context test when the calibration was uploaded as queries, and null rates before any query", () => {
    const empty = windowStatus(
      newWindow("cal_q", "v1", BY_QUERY, START),
      evaluateWindow(newWindow("cal_q", "v1", BY_QUERY, START), DEFAULT_DRIFT_CONFIG),
    );
    expect(empty.drop_rate.observed).toBeNull();
    expect(empty.empty_context).toMatchObject({ observed: null, expected: 0.05, alarm: false });

    const w = addBatch(
      newWindow("cal_q", "v1", BY_QUERY, START),
      [
        [4, 4],
        [4, 0],
        [4, 1],
        [4, 0],
      ],
      null,
      noRandom,
    );
    const status = windowStatus(w, evaluateWindow(w, DEFAULT_DRIFT_CONFIG));
    expect(status.empty_context).toMatchObject({ observed: 1 / 4, expected: 0.05 });
  });
});

describe("alert sentences", () => {
  /** 200 queries of 10 candidates: `emptyQueries` drop all 10, the next `partialDrops` drop 3, the rest none. */
  function statusWith(expectation: Expectation, emptyQueries: number, partialDrops: number): WindowStatus {
    const queries: [number, number][] = [];
    for (let q = 0; q < 200; q++) queries.push(q < emptyQueries ? [10, 10] : [10, q < emptyQueries + partialDrops ? 3 : 0]);
    const w = addBatch(newWindow("cal_x", "v1", expectation, START), queries, null, noRandom);
    return windowStatus(w, evaluateWindow(w, DEFAULT_DRIFT_CONFIG));
  }

  it("driftSummary names the observed and expected drop rates, the band and the query count", () => {
    // 20 queries drop all 10 and 100 drop 3: (200 + 300) / 2000 = 25.0 % against 10.0 %.
    const s = statusWith(FLAT, 20, 100);
    expect(s.drop_rate.observed).toBe(0.25);
    const text = driftSummary(s, 0.1);
    expect(text).toContain("25.0 %");
    expect(text).toContain("against the calibration's 10.0 %");
    expect(text).toContain("200 queries");
    expect(text).toContain(`${(100 * s.drop_rate.band.lo).toFixed(1)} %..${(100 * s.drop_rate.band.hi).toFixed(1)} %`);
    expect(text).toContain(s.log_threshold.toFixed(1));
  });

  it("leads with the rate that raised the alarm, over the queries since the change point, then gives the window's", () => {
    // A shift 224 queries ago, after hours of normal traffic: the window's 22.7 % sits inside the band, the recent
    // 33.3 % does not. The sentence must not open with the number inside the band.
    const s = statusWith(FLAT, 20, 100);
    const drop_rate = {
      ...s.drop_rate,
      observed: 0.227,
      expected: 0.22,
      band: { lo: 0.179, hi: 0.252 },
      log_evidence: 21.4,
      evidence_queries: 224,
      evidence_observed: 0.333,
    };
    const status = { ...s, queries: 3405, log_threshold: 18.2, drop_rate };
    expect(driftSummary(status, 0.22)).toBe(
      "production drop rate 33.3 % over the last 224 queries against the calibration's 22.0 % (tolerated 17.9 %..25.2 %; change-detector evidence ln R = 21.4 >= 18.2); 22.7 % over the window's 3,405 queries",
    );
    const abstention = { ...drop_rate, observed: 0.05, evidence_queries: 150, evidence_observed: 0.2, expected: 0.06, band: { lo: 0.03, hi: 0.09 } };
    expect(abstentionSummary({ ...status, abstention, abstention_queries: 3000 }, 0.06)).toBe(
      "20.0 % of the last 150 production queries abstained (top score below abstain_below) against the calibration's 6.0 % (tolerated 3.0 %..9.0 %; change-detector evidence ln R = 21.4 >= 18.2); 5.0 % of the window's 3,000 production queries abstained",
    );
  });

  it("a stratified test's expectation reads as production's query sizes, with the calibration's own rate beside it", () => {
    // A guarded gate's test expects the per-size rates re-weighted to production's query sizes: 27.9 % here, while
    // the calibration's own expected drop rate is 30.0 %. The sentence must not call 27.9 % "the calibration's".
    const s = statusWith(FLAT, 20, 100);
    const stratified = { ...s.drop_rate, expected: 0.279, strata_tested: 5, strata_total: 6, tested_share: 0.9 };
    const text = driftSummary({ ...s, drop_rate: stratified }, 0.3);
    expect(text).toContain("against 27.9 % expected for production's query sizes (calibration at its own query sizes: 30.0 %; tolerated ");
    // One bracket: the calibration's rate, the band and the evidence together, never two brackets side by side.
    expect(text).not.toMatch(/\) \(/u);
    expect(text).not.toContain("calibration's");
    const abstention = { ...stratified, observed: 0.2, expected: 0.081 };
    const sentence = abstentionSummary({ ...s, abstention, abstention_queries: 200 }, 0.1);
    expect(sentence).toContain("against 8.1 % expected for production's query sizes (calibration at its own query sizes: 10.0 %; tolerated ");
    expect(sentence).not.toMatch(/\) \(/u);
    expect(sentence).not.toContain("calibration's");
    // The calibration's rate beside a stratified expectation is the strata's own share, as the test reads them (80 of
    // 800, not the fitted 10.1 % for a new query): the same sizes read the same rate twice.
    const a = {
      expected_rate: 0.10112,
      queries: 800,
      strata: [
        { queries: 300, abstained: 50 },
        { queries: 500, abstained: 30 },
      ],
    };
    expect(abstentionCalibrationRate(a)).toBe(0.1);
    expect(abstentionCalibrationRate({ expected_rate: 0.10112, queries: 800 })).toBe(0.10112);
    expect(abstentionCalibrationRate(undefined)).toBeNull();
    // A pooled abstention test's expectation is the calibration's.
    const { strata_tested: _t, strata_total: _n, tested_share: _s, ...pooled } = abstention;
    expect(abstentionSummary({ ...s, abstention: pooled, abstention_queries: 200 }, 0.081)).toContain("against the calibration's 8.1 %");
  });

  it("emptyContextSummary names the observed and expected empty-context rates", () => {
    // 30 of 200 queries lost every candidate: 15.0 % against 5.0 %.
    const text = emptyContextSummary(statusWith(BY_QUERY, 30, 0));
    expect(text).toContain("15.0 %");
    expect(text).toContain("5.0 %");
    expect(text).toContain("200 production queries");
  });
});
