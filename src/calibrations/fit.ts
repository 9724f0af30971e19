/**
 * Builds a calibration record from scores and a resolved target: the gate fit, its uncertainty, per-query statistics,
 * the kept distribution and the warnings. No storage and no clock: the orchestration lives in calibrate.ts.
 */

import type { StoredCalibration, Warning } from "../contract";
import { AppError } from "../platform/errors";
import { SUMMARY_QUANTILE_STEPS } from "../platform/limits";
import { buildDistribution, type Distribution } from "../stats/distribution";
import { effectiveSize, rateInterval, widenedRanks } from "../stats/effective-size";
import { emptyRateByCandidates } from "../stats/empty-context";
import { float32Spacing } from "../stats/float32-spacing";
import { fitGate } from "../stats/gate-fit";
import { scoresNeededFor } from "../stats/intervals";
import { kthSmallest, quantileInvertedCdf, quantileSummary } from "../stats/order-statistics";
import { perQueryStats } from "../stats/per-query";
import { smallSampleFactor } from "../stats/satterthwaite";
import { tieAwareDropRate } from "../stats/tie-aware";
import { FLAT_REBUILD_DESIGN_EFFECT } from "./rebuild-shift";

/**
 * Knots kept per calibration to answer "share of scores below x" later. With K knots at equally spaced ranks the
 * rank error is at most 1/K = 0.05 percentage point (well under the 0.1 point of sampling error that matters: docs/methods.md).
 */
export const DISTRIBUTION_KNOTS = 2000;

/** Target half-width of the 95 % drop-rate interval below which a calibration is warned about (1 point). */
export const DROP_RATE_PRECISION_TARGET = 0.01;

/**
 * float32 spacing near the threshold above this share of the scores' interquartile range earns a `float32_precision`
 * warning: for a normal-shaped distribution a rounding of 0.1 % of the IQR moves the drop rate by about 0.05 point,
 * half the 0.1-point rank error the kept summaries allow (docs/methods.md, "float32 uploads").
 */
export const FLOAT32_SPACING_WARNING_SHARE = 0.001;

/** At this share (a tenth of the IQR: several points of drop rate per rounding step) the fit is refused (422). */
export const FLOAT32_SPACING_REFUSE_SHARE = 0.1;

/** Share of calibration scores tied at the threshold above which a calibration is warned about (1 %). */
export const TIES_AT_THRESHOLD_WARNING_SHARE = 0.01;

export interface FittedCalibration {
  /** Everything but identity, policy, shift and provenance, which the caller adds. */
  readonly fields: Pick<
    StoredCalibration,
    | "threshold"
    | "target_drop_rate"
    | "expected_drop_rate"
    | "in_sample_drop_rate"
    | "conformal_drop_rate"
    | "ties_at_threshold"
    | "effective_n"
    | "interval_degrees_of_freedom"
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
 * upload gave queries; `precision` says whether the scores came as float32. Throws AppError("too_few_scores") when
 * k = ceil((n+1) d) > n, "target_unreachable" when the gate would drop nothing at a target above 0 (constant or
 * saturated scores), "float32_precision" when float32 rounding near the threshold is as coarse as the scores' spread.
 */
export function fitCalibration(
  sorted: Float64Array,
  target: number,
  byQuery: { scores: Float64Array; offsets: Uint32Array } | null,
  precision: "float64" | "float32" = "float64",
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
  if (precision === "float32") checkFloat32Precision(sorted, fit.threshold, warnings);
  const tie = fit.threshold === null ? { below: 0, ties: 0, expectedDropRate: 0 } : tieAwareDropRate(sorted, fit.k);
  if (target > 0 && tie.ties >= 2 && tie.below === 0) {
    // Constant or saturated at the bottom: the gate would keep every candidate while claiming to drop `target`.
    throw new AppError(
      "target_unreachable",
      `no threshold drops anything: the ${tie.ties} lowest scores (${pct(tie.ties / n)}) all equal ${fit.threshold}, and a gate keeps scores equal to its threshold; target ${target} cannot be reached on these scores`,
      { n, target, ties_at_minimum: tie.ties, minimum: fit.threshold },
    );
  }
  const perQuery = byQuery ? perQueryStats(byQuery.scores, byQuery.offsets, fit.threshold) : null;
  const empty = byQuery ? emptyRateByCandidates(byQuery.scores, byQuery.offsets, fit.threshold) : null;
  const deff = perQuery ? perQuery.designEffect : 1;
  const nEff = effectiveSize(n, deff);
  // Few or unequal queries: the design effect is itself uncertain, so the intervals use t with its Satterthwaite df.
  const df = perQuery ? perQuery.degreesOfFreedom : Number.POSITIVE_INFINITY;
  const shrink = smallSampleFactor(df);
  const needed = target > 0 ? scoresNeededFor(target, DROP_RATE_PRECISION_TARGET) : 0;
  if (nEff < needed) {
    warnings.push({
      code: "small_sample",
      message:
        deff > 1
          ? `${n} scores in ${perQuery!.queries} queries are worth ${Math.floor(nEff)} independent ones (design effect ${deff.toFixed(2)}): the drop rate's 95 % interval is wider than +-1 point at target ${target}; about ${needed} effective scores are needed`
          : `${n} scores give the drop rate a 95 % interval wider than +-1 point at target ${target}; about ${needed} are needed`,
    });
  }
  if (byQuery === null) {
    warnings.push({
      code: "flat_scores",
      message: `scores were uploaded flat, so how strongly the candidates of one query move together cannot be estimated: the intervals assume independent candidates and are too narrow if they are clustered. The rebuild decision against another calibration borrows that one's design effect if it was uploaded as queries, and otherwise assumes a design effect of ${FLAT_REBUILD_DESIGN_EFFECT}, so small moves stay inconclusive. Upload \`queries\` (or float32 with candidates_per_query) for intervals and decisions that count queries; the production monitor uses the clustering it measures`,
    });
  }
  if (fit.threshold !== null && tie.ties >= 2 && tie.ties / n > TIES_AT_THRESHOLD_WARNING_SHARE) {
    const gap = tie.expectedDropRate - target;
    warnings.push({
      code: "ties_at_threshold",
      message: `${tie.ties} scores (${pct(tie.ties / n)}) equal the threshold ${fit.threshold}; all are kept, so the gate drops ${pct(tie.expectedDropRate)} against the target ${pct(target)} (${(100 * gap).toFixed(2)} points): no threshold between two tied values exists`,
    });
  }
  let thresholdInterval: [number | null, number | null] = [null, null];
  if (target > 0) {
    const ranks = widenedRanks(n, target, deff / shrink);
    thresholdInterval = [
      ranks.lower === null ? null : kthSmallest(sorted, ranks.lower),
      ranks.upper === null ? null : kthSmallest(sorted, ranks.upper),
    ];
  }
  return {
    fields: {
      threshold: fit.threshold,
      target_drop_rate: target,
      expected_drop_rate: tie.expectedDropRate,
      in_sample_drop_rate: fit.inSampleDropRate,
      conformal_drop_rate: fit.expectedDropRate,
      ties_at_threshold: tie.ties,
      effective_n: nEff,
      interval_degrees_of_freedom: Number.isFinite(df) ? df : null,
      drop_rate_interval_95: rateInterval(tie.expectedDropRate, nEff * shrink),
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
            empty_context_check: {
              verdict: empty!.verdict,
              queries: empty!.check?.queries ?? 0,
              empty: empty!.check?.empty ?? 0,
              predicted_empty: empty!.check?.predictedEmpty ?? 0,
              p_value: empty!.check?.pValue ?? null,
            },
            empty_context_by_candidates: empty!.strata.map((st) => ({
              min_candidates: st.minCandidates,
              max_candidates: st.maxCandidates,
              rate: st.rate,
              queries: st.queries,
              effective_queries: st.effectiveQueries,
              extrapolated: st.extrapolated,
              source: st.source,
              empty: st.empty,
              own_queries: st.ownQueries,
              own_empty: st.ownEmpty,
              check:
                st.check === null
                  ? null
                  : { queries: st.check.queries, empty: st.check.empty, predicted_empty: st.check.predictedEmpty, p_value: st.check.pValue },
              extrapolation_check: st.extrapolationCheck,
            })),
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

/**
 * float32 has a 24-bit significand: the spacing near the threshold must be small against the spread of the scores
 * (their interquartile range, or their range when that is 0), else rounding decides which candidates are dropped.
 */
function checkFloat32Precision(sorted: Float64Array, threshold: number | null, warnings: Warning[]): void {
  const n = sorted.length;
  const iqr = quantileInvertedCdf(sorted, 0.75) - quantileInvertedCdf(sorted, 0.25);
  const spread = iqr > 0 ? iqr : sorted[n - 1]! - sorted[0]!;
  if (spread === 0) return; // constant scores: target_unreachable or ties_at_threshold explain it better
  const at = threshold ?? quantileInvertedCdf(sorted, 0.5);
  const spacing = float32Spacing(at);
  const share = spacing / spread;
  const text = `float32 spacing near ${at} is ${spacing}, ${(100 * share).toPrecision(2)} % of the scores' spread ${spread}`;
  if (share >= FLOAT32_SPACING_REFUSE_SHARE) {
    throw new AppError(
      "float32_precision",
      `${text}: the uploaded scores are rounded too coarsely to fit a gate; upload them as JSON or NDJSON (float64)`,
      {
        spacing,
        spread,
        at,
      },
    );
  }
  if (share > FLOAT32_SPACING_WARNING_SHARE) {
    warnings.push({
      code: "float32_precision",
      message: `${text}: rounding moves the drop rate; upload as NDJSON or JSON (float64) to keep full precision`,
    });
  }
}
