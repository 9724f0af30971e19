/**
 * The rebuild-time shift report: what the previous gate would drop on the new scores, against what it dropped, with
 * the sampling-noise test, KS and PSI. The number the seed incident lacked is `drop_rate_at_previous_threshold`.
 */
import type { ShiftReport, StoredCalibration } from "../contract";
import { decideChange } from "../stats/change-decision";
import { type Distribution, shareBelow } from "../stats/distribution";
import { countBelow } from "../stats/order-statistics";
import { perQueryStats } from "../stats/per-query";
import { ksDistance, populationStabilityIndex, twoProportionTest } from "../stats/shift";

/**
 * Level of the rebuild minimum-effect test (the `shifted` decision and its alert): a true move within the tolerance,
 * even at its edge, is called shifted at most 0.1 % of the time.
 */
export const REBUILD_SHIFT_ALPHA = 0.001;

/** One-sided level of the rebuild TOST equivalence test (the deploy gate): "equivalent" is wrong at most 5 % of the time. */
export const REBUILD_EQUIVALENCE_ALPHA = 0.05;

const pts = (x: number): string => `${(100 * x).toFixed(1)} %`;

export function rebuildShift(input: {
  previous: StoredCalibration;
  previousDistribution: Distribution;
  /** The new scores, ascending; null when only the kept distribution is left (activation of a stored calibration). */
  sorted: Float64Array | null;
  distribution: Distribution;
  byQuery: { scores: Float64Array; offsets: Uint32Array } | null;
  /** The new side's design effect when only its distribution is left (byQuery null). */
  newDesignEffect?: number;
  tolerance: number;
  comparedWith: ShiftReport["compared_with"];
}): ShiftReport {
  const { previous, sorted, tolerance } = input;
  const n = input.distribution.n;
  const t = previous.threshold;
  const pPrev = previous.in_sample_drop_rate;
  const pNew = t === null ? 0 : sorted ? countBelow(sorted, t) / n : shareBelow(input.distribution, t);
  // Queries, not candidates, are the sampling unit when either side gives them: deflate both n by the design effect.
  // Both sides estimate the same clustering; each estimate is low-biased with few queries (test/calibrations/
  // rebuild-shift.test.ts measured 0.4 % false alerts at 50 queries a side with per-side estimates), so use the larger.
  const deffPrev = previous.per_query?.design_effect ?? 1;
  const deffNew = input.byQuery ? perQueryStats(input.byQuery.scores, input.byQuery.offsets, t).designEffect : (input.newDesignEffect ?? 1);
  const deff = Math.max(deffPrev, deffNew);
  const nPrevEff = previous.n / deff;
  const nNewEff = n / deff;
  const test = twoProportionTest(pPrev * nPrevEff, nPrevEff, pNew * nNewEff, nNewEff);
  const decided = decideChange(pPrev, nPrevEff, pNew, nNewEff, tolerance, REBUILD_SHIFT_ALPHA, REBUILD_EQUIVALENCE_ALPHA);
  const change = decided.change;
  const decision = t === null ? "equivalent" : decided.decision;
  const alert = decision === "shifted";
  const psi = populationStabilityIndex(input.previousDistribution, input.distribution);

  const tol = `${(100 * tolerance).toFixed(1)}-point tolerance`;
  const ci = `95 % interval ${(100 * decided.interval95[0]).toFixed(1)}..${(100 * decided.interval95[1]).toFixed(1)} points`;
  let reason: string;
  if (t === null) reason = "the previous calibration kept every candidate (no gate), so no drop rate can move";
  else {
    const head = `the previous threshold ${t} drops ${pts(pNew)} of the new scores against ${pts(pPrev)} before (${change >= 0 ? "+" : ""}${(100 * change).toFixed(1)} points, ${ci})`;
    if (decision === "shifted") reason = `${head}: shifted, beyond the ${tol} (minimum-effect test, level ${REBUILD_SHIFT_ALPHA})`;
    else if (decision === "equivalent")
      reason = `${head}: equivalent, shown to be within the ${tol} (TOST, level ${REBUILD_EQUIVALENCE_ALPHA}): safe to promote`;
    else {
      const more =
        decided.moreDataFactor === null ? "" : `; about ${Math.ceil(decided.moreDataFactor)} times as many queries on each side would settle it`;
      reason = `${head}: inconclusive, too little data to tell a move beyond the ${tol} from one within it${more}`;
    }
  }

  return {
    compared_with: input.comparedWith,
    previous_gate_id: previous.gate_id,
    previous_calibration_id: previous.id,
    previous_index_version: previous.index_version,
    previous_threshold: t,
    previous_expected_drop_rate: previous.expected_drop_rate,
    previous_drop_rate_at_previous_threshold: pPrev,
    drop_rate_at_previous_threshold: pNew,
    change_points: 100 * change,
    change_relative: pPrev > 0 ? change / pPrev : null,
    z: test.z,
    p_value: test.pValue,
    ks: ksDistance(input.previousDistribution, input.distribution),
    psi: { value: psi.psi, bins: psi.bins, threshold: psi.threshold, exceeds: psi.exceeds },
    tolerance,
    decision,
    change_interval_95: t === null ? [0, 0] : decided.interval95,
    more_data_factor: t === null ? null : decided.moreDataFactor,
    alert,
    reason,
  };
}
