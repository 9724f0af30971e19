/**
 * Builds a calibration record from scores and a resolved target: the gate fit, its uncertainty, per-query statistics,
 * the kept distribution and the warnings. No storage and no clock: the orchestration lives in calibrate.ts.
 */
import { AppError } from "../platform/errors";
import { DISTRIBUTION_KNOTS, DROP_RATE_PRECISION_TARGET, SUMMARY_QUANTILE_STEPS, TIES_AT_THRESHOLD_WARNING_SHARE } from "../platform/limits";
import type { StoredCalibration, Warning } from "../contract";
import { buildDistribution, type Distribution } from "../stats/distribution";
import { fitGate } from "../stats/gate-fit";
import { dropRateInterval, orderStatisticRanks, scoresNeededFor } from "../stats/intervals";
import { countAtOrBelow, countBelow, kthSmallest, quantileSummary } from "../stats/order-statistics";
import { perQueryStats } from "../stats/per-query";

export interface FittedCalibration {
  /** Everything but identity, policy, shift and provenance, which the caller adds. */
  readonly fields: Pick<
    StoredCalibration,
    | "threshold"
    | "target_drop_rate"
    | "expected_drop_rate"
    | "in_sample_drop_rate"
    | "drop_rate_interval_95"
    | "threshold_interval_95"
    | "k"
    | "n"
    | "n_queries"
    | "per_query"
    | "summary"
    | "min"
    | "max"
  >;
  readonly distribution: Distribution;
  readonly warnings: Warning[];
}

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

/**
 * Fits target d on `sorted` (ascending). `byQuery` holds the same scores in query order with Q+1 offsets when the
 * upload gave queries. Throws AppError("too_few_scores") when k = ceil((n+1) d) > n.
 */
export function fitCalibration(
  sorted: Float64Array,
  target: number,
  byQuery: { scores: Float64Array; offsets: Uint32Array } | null,
): FittedCalibration {
  const fit = fitGate(sorted, target);
  if (fit.kind === "too_few_scores") {
    throw new AppError(
      "too_few_scores",
      `target drop rate ${target} needs at least ${fit.minimumN} scores (k = ceil((n+1)*d) = ${fit.k} > n = ${fit.n})`,
      { n: fit.n, k: fit.k, target, minimum_n: fit.minimumN },
    );
  }
  const n = fit.n;
  const warnings: Warning[] = [];
  const needed = target > 0 ? scoresNeededFor(target, DROP_RATE_PRECISION_TARGET) : 0;
  if (n < needed) {
    warnings.push({
      code: "small_sample",
      message: `${n} scores give the drop rate a 95 % interval wider than +-1 point at target ${target}; about ${needed} are needed`,
    });
  }
  if (fit.threshold !== null) {
    // Scores equal to the threshold, itself included: a real tie needs at least two.
    const ties = countAtOrBelow(sorted, fit.threshold) - countBelow(sorted, fit.threshold);
    if (ties >= 2 && ties / n > TIES_AT_THRESHOLD_WARNING_SHARE) {
      warnings.push({
        code: "ties_at_threshold",
        message: `${ties} scores (${pct(ties / n)}) equal the threshold ${fit.threshold}; all are kept, so the in-sample drop rate is ${pct(fit.inSampleDropRate)} against an expected ${pct(fit.expectedDropRate)}`,
      });
    }
  }
  let thresholdInterval: [number | null, number | null] = [null, null];
  if (target > 0) {
    const ranks = orderStatisticRanks(n, target);
    thresholdInterval = [
      ranks.lower === null ? null : kthSmallest(sorted, ranks.lower),
      ranks.upper === null ? null : kthSmallest(sorted, ranks.upper),
    ];
  }
  const perQuery = byQuery ? perQueryStats(byQuery.scores, byQuery.offsets, fit.threshold) : null;
  return {
    fields: {
      threshold: fit.threshold,
      target_drop_rate: target,
      expected_drop_rate: fit.expectedDropRate,
      in_sample_drop_rate: fit.inSampleDropRate,
      drop_rate_interval_95: dropRateInterval(fit.k, n),
      threshold_interval_95: thresholdInterval,
      k: fit.k,
      n,
      n_queries: perQuery ? perQuery.queries : null,
      per_query: perQuery
        ? {
            mean_kept: perQuery.meanKept,
            mean_candidates: perQuery.meanCandidates,
            empty_context_rate: perQuery.emptyContextRate,
            design_effect: perQuery.designEffect,
          }
        : null,
      summary: { step: 1 / SUMMARY_QUANTILE_STEPS, quantiles: quantileSummary(sorted, SUMMARY_QUANTILE_STEPS) },
      min: sorted[0]!,
      max: sorted[n - 1]!,
    },
    distribution: buildDistribution(sorted, DISTRIBUTION_KNOTS),
    warnings,
  };
}
