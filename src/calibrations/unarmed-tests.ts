/**
 * Calibration warning `monitor_not_armed`: a calibration too small to bound its own drop rate (or, for a recall gate,
 * its own coverage) within the monitor's largest calibration margin gets a production test that is never armed
 * (stats/drift-bands.ts, stats/coverage-test.ts: `not_armed_reason: "calibration_too_small"`), so `drop_rate_drift` or
 * `recall_drift` can never fire while it is served. Said at upload, at the monitor's default settings
 * (stats/drift-config.ts) and with no clustering in production beyond the calibration's own (the most favourable
 * case: more clustering only widens the margin), so a team learns it before on-call does. A guarded gate's drop-rate
 * test is stratified by query size: `few_monitored_strata` (monitored-strata.ts) speaks for it.
 */
import type { RecallReport, Warning } from "../contract";
import { countText, percentText } from "../platform/format";
import type { CalibrationExpectation } from "../stats/calibration-expectation";
import { coverageMargin } from "../stats/coverage-test";
import { driftBands } from "../stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../stats/drift-config";
import type { ExpectationSource } from "./expectation";
import type { MonitorOutlook } from "./monitored-strata";

/** The largest calibration size the search for "scores needed" tries: beyond it the warning names no number. */
const MAX_SEARCHED_SCORES = 1e9;

/** The `monitor_not_armed` warnings of a calibration about to be stored: its drop-rate test, then its recall test. */
export function unarmedTestWarnings(c: ExpectationSource, { cal, bands }: MonitorOutlook, recall: RecallReport | null): Warning[] {
  const out: Warning[] = [];
  // A guarded gate's drop-rate test is tested per size stratum (few_monitored_strata says which are watched).
  if (cal.dropRateStrata === null && !bands.dropRateArmable) {
    const needed = scoresToArm(cal);
    out.push({
      code: "monitor_not_armed",
      message: `the production monitor's drop-rate test will not be armed on this calibration: ${countText(c.n)} ${c.n === 1 ? "score leaves" : "scores leave"} the gate's own drop rate (expected ${percentText(cal.expectedDropRate)}) uncertain by more than ${pointsText(DEFAULT_DRIFT_CONFIG.maxCalibrationMargin)} points at the monitor's level, so no drift band could see anything short of a broken gate and drop_rate_drift cannot fire while it is served (GET /v1/monitor: not_armed_reason "calibration_too_small"). ${needed === null ? "Upload more scores" : `About ${countText(needed)} scores${(cal.designEffect ?? 1) > 1 ? ` (at this upload's design effect ${(cal.designEffect ?? 1).toFixed(2)})` : ""} arm it`}`,
    });
  }
  if (recall !== null) {
    const coverage = {
      bound: recall.coverage_bound,
      n: recall.n,
      missMass: recall.miss_mass,
      rule: recall.coverage === "candidates" ? ("risk" as const) : ("rank" as const),
      ...(recall.miss_below !== undefined ? { below: recall.miss_below } : {}),
      ...(recall.ties_at_threshold !== undefined ? { ties: recall.ties_at_threshold } : {}),
    };
    // A fit the coverage test cannot take at all (no miss mass: the rule keeps everything) is not this warning's.
    const takes = coverage.bound > 0 && coverage.bound <= 1 && coverage.n >= 1 && coverage.missMass > 0 && coverage.missMass < coverage.n + 1;
    const { armable } = takes
      ? coverageMargin(coverage, DEFAULT_DRIFT_CONFIG.tolerance, DEFAULT_DRIFT_CONFIG.alpha, DEFAULT_DRIFT_CONFIG.maxCalibrationMargin)
      : { armable: true };
    if (!armable) {
      out.push({
        code: "monitor_not_armed",
        message: `the production monitor's recall test will not be armed on this calibration: ${countText(recall.n)} labelled ${recall.n === 1 ? "query leaves" : "queries leave"} the gate's own coverage (guaranteed at least ${percentText(recall.coverage_bound)}) uncertain by more than ${pointsText(DEFAULT_DRIFT_CONFIG.maxCalibrationMargin)} points at the monitor's level, so recall_drift cannot fire on judged queries while it is served (POST /v1/judgments and GET /v1/monitor: not_armed_reason "calibration_too_small"). More labelled queries arm it`,
      });
    }
  }
  return out;
}

/**
 * The fewest scores (at the same expected drop rate and design effect, untied) whose drop-rate test is armed at the
 * monitor's defaults; null when even MAX_SEARCHED_SCORES are not enough. The margin narrows as n grows, so the first n
 * that arms is found by doubling, then halving the gap.
 */
function scoresToArm(cal: CalibrationExpectation): number | null {
  const arms = (n: number) => {
    const { dropRateLaw: _exact, ...rest } = cal;
    return driftBands({ ...rest, n }, DEFAULT_DRIFT_CONFIG, 1).dropRateArmable;
  };
  let lo = cal.n;
  let hi = Math.max(2, 2 * cal.n);
  while (!arms(hi)) {
    if (hi >= MAX_SEARCHED_SCORES) return null;
    [lo, hi] = [hi, Math.min(MAX_SEARCHED_SCORES, 2 * hi)];
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (arms(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

const pointsText = (rate: number): string => `${Math.round(100 * rate)}`;
