/**
 * A window's own expectation (RateTest.expected_window): a stratified test's `expected` is for the query sizes of the
 * detector's data since its reset, which after an alarm is not the window's; `expected_window` weighs the same
 * per-size rates by the window's own units, so it is what the window's `observed` compares with.
 */
import { describe, expect, it } from "vitest";
import type { Expectation } from "../../src/calibrations/expectation";
import { calibrationExpectation } from "../../src/calibrations/expectation";
import { WindowStatus } from "../../src/contract";
import { driftSummary } from "../../src/monitoring/alarm-sentences";
import { addBatch, evaluateWindow, newWindow, restartDetector, type WindowState, windowStatus } from "../../src/monitoring/window";
import { driftBands } from "../../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { DROP_RATE_STRATA, dropStratumOf, type QueryObservation } from "../../src/stats/per-query";

const START = Date.UTC(2026, 11, 4, 0, 0, 0);
const config = DEFAULT_DRIFT_CONFIG;
const FIVE = dropStratumOf(5);
const TWENTY = dropStratumOf(20);

/**
 * A gate with min_keep 2 and max_keep 10, calibrated on 200 queries of 5 candidates and 200 of 20. A query of 5 has
 * 3 candidates the threshold decides (ranks 3 to 5), of which the calibration dropped 20 %; a query of 20 has 8 (ranks
 * 3 to 10), of which it dropped 50 %, and the cap drops its other 10 whatever the threshold. It abstains on 10 % of
 * the queries of 5 and 1 % of those of 20.
 */
const GUARDED: Expectation = {
  n: 5000,
  // (200 * 0.2 * 3 + 200 * (10 + 0.5 * 8)) / 5000 = (120 + 2800) / 5000
  expected_drop_rate: 2920 / 5000,
  empty_context_rate: null,
  n_queries: 400,
  guards: { min_keep: 2, max_keep: 10 },
  drop_rate_strata: DROP_RATE_STRATA.map((_, b) =>
    b === FIVE
      ? { queries: 200, eligible: 600, dropped: 120 }
      : b === TWENTY
        ? { queries: 200, eligible: 1600, dropped: 800 }
        : { queries: 0, eligible: 0, dropped: 0 },
  ),
  abstention: {
    expected_rate: 22 / 400,
    queries: 400,
    strata: DROP_RATE_STRATA.map((_, b) =>
      b === FIVE ? { queries: 200, abstained: 20 } : b === TWENTY ? { queries: 200, abstained: 2 } : { queries: 0, abstained: 0 },
    ),
  },
};

const batch = (n: number, q: QueryObservation): QueryObservation[] => Array.from({ length: 100 }, () => q).slice(0, n);

/**
 * What the monitor does with each batch (gate-monitor/monitor.ts): add it, evaluate, and restart the detector on an
 * alarm. Production first sends long queries whose threshold drops 7 of their 8 decided candidates (a shift the
 * drop-rate test alarms on), then, after the alarm, short queries only.
 */
function afterAnAlarm(): { w: WindowState; longQueries: number; alarmStatus: WindowStatus } {
  let w = newWindow("cal_guarded", "v1", GUARDED, START);
  let longQueries = 0;
  let alarmStatus: WindowStatus | null = null;
  for (let b = 0; b < 10 && alarmStatus === null; b++) {
    // 20 candidates: the cap drops 10, the threshold 7 of ranks 3 to 10; none abstains.
    w = addBatch(w, batch(100, [20, 17, 17, 0]), null, () => 0.5, START + b * 1000, config);
    longQueries += 100;
    const ev = evaluateWindow(w, config);
    if (ev.dropRate.alarm) {
      alarmStatus = windowStatus(w, ev);
      w = restartDetector(w, alarmStatus, ev, START + b * 1000);
    }
  }
  if (alarmStatus === null) throw new Error("the long queries' shift should have alarmed");
  // 5 candidates: the threshold drops 1 of ranks 3 to 5; none abstains.
  for (const at of [60_000, 120_000]) w = addBatch(w, batch(100, [5, 1, 1, 0]), null, () => 0.5, START + at, config);
  return { w, longQueries, alarmStatus };
}

describe("expected_window of a guarded gate after an alarm", () => {
  const { w, longQueries, alarmStatus } = afterAnAlarm();
  const ev = evaluateWindow(w, config);
  const status = windowStatus(w, ev);

  it("alarmed on the first armed batch of long queries", () => {
    expect(longQueries).toBe(100);
    expect(status.alarms).toBe(1);
    expect(status.queries).toBe(300);
  });

  it("is the per-size rates weighted by the window's own candidates, where expected is the restarted detector's", () => {
    // Window: 100 queries of 20 (17 dropped each) and 200 of 5 (1 dropped each).
    expect(status.candidates).toBe(3000);
    expect(status.drop_rate.observed).toBeCloseTo(1900 / 3000, 12);
    // The detector since the alarm holds the 200 short queries only: 600 decided candidates at 20 %, over 1,000.
    expect(status.drop_rate.expected).toBeCloseTo(120 / 1000, 12);
    // The window: the cap's 100 * 10 drops, plus 100 * 8 decided candidates at 50 % and 200 * 3 at 20 %, over 3,000.
    expect(status.drop_rate.expected_window).toBeCloseTo((1000 + 400 + 120) / 3000, 12);
    expect(status.drop_rate.expected_window).toBeCloseTo(0.506666666666667, 12);
    // Neither the detector's 12 % nor the calibration's own 58.4 % (its mix of sizes was 1:1, the window's 1:2).
    expect(status.drop_rate.expected_window).not.toBeCloseTo(GUARDED.expected_drop_rate, 3);
  });

  it("has the window's band: the same per-size bands weighted by the window's decided candidates", () => {
    const bands = driftBands(calibrationExpectation(GUARDED), config, ev.designEffect);
    const five = bands.dropStrata![FIVE]!.band;
    const twenty = bands.dropStrata![TWENTY]!.band;
    expect(status.drop_rate.band_window!.lo).toBeCloseTo((1000 + 800 * twenty.lo + 600 * five.lo) / 3000, 12);
    expect(status.drop_rate.band_window!.hi).toBeCloseTo((1000 + 800 * twenty.hi + 600 * five.hi) / 3000, 12);
    expect(status.drop_rate.band_window!.lo).toBeLessThan(status.drop_rate.expected_window!);
    expect(status.drop_rate.band_window!.hi).toBeGreaterThan(status.drop_rate.expected_window!);
    // The shift the alarm was about shows against the window's band, not only against the detector's.
    expect(status.drop_rate.observed!).toBeGreaterThan(status.drop_rate.band_window!.hi);
  });

  it("weighs abstention by the window's own queries that reported it", () => {
    expect(status.abstention_queries).toBe(300);
    // Window: 100 at 1 % and 200 at 10 %. The drop-rate alarm did not restart the abstention test (only the test that
    // fired restarts), so its detector holds the same 300 queries and expects the same.
    expect(status.abstention!.expected_window).toBeCloseTo((100 * 0.01 + 200 * 0.1) / 300, 12);
    expect(status.abstention!.expected).toBeCloseTo((100 * 0.01 + 200 * 0.1) / 300, 12);
  });

  it("is kept with the alarmed numbers, where the window and the detector still held the same queries", () => {
    const alarmed = status.drop_rate.alarmed!;
    expect(alarmed.observed).toBeCloseTo(0.85, 12);
    expect(alarmed.expected_window).toBeCloseTo(alarmed.expected, 12);
    // 10 capped drops plus 8 decided candidates at 50 %, over 20 candidates.
    expect(alarmed.expected_window).toBeCloseTo(14 / 20, 12);
    expect(alarmed.band_window).toEqual(alarmStatus.drop_rate.band_window);
  });

  it("is what an alert sentence compares the window's rate with, after the recent rate that raised the alarm", () => {
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    const t = status.drop_rate;
    const text = driftSummary(status, GUARDED.expected_drop_rate);
    // First the rate since the detector's change point, against the detector's expectation (production's query sizes
    // since its reset: the 200 short queries, 20 % where 12 % is expected) and band.
    expect(t.evidence_queries).toBe(200);
    expect(t.evidence_observed).toBeCloseTo(0.2, 12);
    expect(text).toMatch(
      new RegExp(
        `^production drop rate 20\\.0 % over the last 200 queries against 12\\.0 % expected for production's query sizes \\(calibration at its own query sizes: 58\\.4 %; tolerated ${pct(t.band.lo)}\\.\\.${pct(t.band.hi)}; change-detector evidence ln R = ${t.log_evidence.toFixed(1)} >= 18\\.2\\); `,
        "u",
      ),
    );
    // Then the window's, against the window's own expectation and band: not the detector's 12 %.
    const windowPart = text.slice(text.indexOf("; 63.3 %") + 2);
    expect(windowPart).toBe(
      `63.3 % over the window's 300 queries against 50.7 % expected for their query sizes (tolerated ${pct(t.band_window!.lo)}..${pct(t.band_window!.hi)})`,
    );
    // A status recorded before the recent rate was reported leads with the window's, as it did then.
    const { evidence_observed: _o, ...older } = t;
    expect(driftSummary({ ...status, drop_rate: older }, GUARDED.expected_drop_rate)).toMatch(
      /^production drop rate 63\.3 % over 300 queries against 50\.7 % expected for their query sizes \(calibration at its own query sizes: 58\.4 %; tolerated /u,
    );
    // One recorded before the window's figure too keeps the detector's, said to be production's.
    const { expected_window: _x, band_window: _b, ...oldest } = older;
    expect(driftSummary({ ...status, drop_rate: oldest }, GUARDED.expected_drop_rate)).toContain(
      "production drop rate 63.3 % over 300 queries against 12.0 % expected for production's query sizes (calibration at its own query sizes: 58.4 %; tolerated ",
    );
  });

  it("leads the alarm's own sentence with the rate that raised it", () => {
    const t = alarmStatus.drop_rate;
    expect(t.alarm).toBe(true);
    const text = driftSummary(alarmStatus, GUARDED.expected_drop_rate);
    expect(
      text.startsWith(`production drop rate ${(100 * t.evidence_observed!).toFixed(1)} % over the last ${t.evidence_queries} queries against`),
    ).toBe(true);
    expect(text).toContain(`; ${(100 * t.observed!).toFixed(1)} % over the window's ${alarmStatus.queries} queries`);
  });

  it("is part of the API shape", () => {
    const parsed = WindowStatus.parse(JSON.parse(JSON.stringify(status)));
    expect(parsed.drop_rate.expected_window).toBe(status.drop_rate.expected_window);
    expect(parsed.drop_rate.alarmed?.expected_window).toBe(status.drop_rate.alarmed?.expected_window);
  });
});

describe("expected_window elsewhere", () => {
  it("is absent for a pooled test: an unguarded gate, and a guarded calibration fitted before its strata were kept", () => {
    for (const e of [
      { n: 5000, expected_drop_rate: 0.3, empty_context_rate: null, n_queries: null },
      { ...GUARDED, drop_rate_strata: null, abstention: null },
    ] satisfies Expectation[]) {
      const w = addBatch(newWindow("cal_pooled", "v1", e, START), batch(100, [10, 3]), null, () => 0.5, START, config);
      const s = windowStatus(w, evaluateWindow(w, config));
      expect(s.drop_rate.observed).toBeCloseTo(0.3, 12);
      expect(s.drop_rate).not.toHaveProperty("expected_window");
      expect(s.drop_rate).not.toHaveProperty("band_window");
    }
  });

  it("equals expected while the window and the detector hold the same queries", () => {
    const w = addBatch(newWindow("cal_guarded", "v1", GUARDED, START), batch(100, [5, 1, 1, 0]), null, () => 0.5, START, config);
    const s = windowStatus(w, evaluateWindow(w, config));
    expect(s.drop_rate.expected_window).toBeCloseTo(s.drop_rate.expected, 15);
    expect(s.drop_rate.band_window).toEqual(s.drop_rate.band);
  });

  it("is null before the window holds a query, and for a window stored before it kept per-stratum counts", () => {
    const empty = newWindow("cal_guarded", "v1", GUARDED, START);
    const s = windowStatus(empty, evaluateWindow(empty, config));
    expect(s.drop_rate.observed).toBeNull();
    expect(s.drop_rate.expected_window).toBeNull();
    expect(s.drop_rate.band_window).toBeNull();
    // A window's counts as stored before the drop-rate strata: the detector (a fresh one) keeps them, the window not.
    const { stratumEligible: _e, stratumEligibleDropped: _d, ...oldSums } = empty.sums;
    const old = addBatch({ ...empty, sums: { ...oldSums, queries: 10, candidates: 200, dropped: 170 } }, [], null, () => 0.5);
    expect(windowStatus(old, evaluateWindow(old, config)).drop_rate.expected_window).toBeNull();
  });

  it("windows recorded before it still parse", () => {
    const w = addBatch(newWindow("cal_guarded", "v1", GUARDED, START), batch(100, [5, 1, 1, 0]), null, () => 0.5, START, config);
    const recorded = JSON.parse(JSON.stringify(windowStatus(w, evaluateWindow(w, config))));
    for (const t of [recorded.drop_rate, recorded.abstention]) {
      delete t.expected_window;
      delete t.band_window;
    }
    const parsed = WindowStatus.parse(recorded);
    expect(parsed.drop_rate).not.toHaveProperty("expected_window");
    expect(parsed.drop_rate.expected).toBeCloseTo(0.12, 12);
  });
});
