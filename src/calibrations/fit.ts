/**
 * Builds a calibration record from scores and a resolved target: the gate fit, its uncertainty, per-query statistics,
 * the kept distribution and the warnings. No storage and no clock: the orchestration lives in calibrate.ts.
 */

import type { StoredCalibration, Warning } from "../contract";
import { AppError } from "../platform/errors";
import { countText, percentText } from "../platform/format";
import { SUMMARY_QUANTILE_STEPS } from "../platform/limits";
import type { DropStratum } from "../stats/calibration-expectation";
import { buildDistribution, type Distribution } from "../stats/distribution";
import { effectiveSize, rateInterval, widenedRanks } from "../stats/effective-size";
import { emptyRateByCandidates } from "../stats/empty-context";
import { float32Spacing } from "../stats/float32-spacing";
import { type EligibleScores, type Guards, guardedKept, hasGuards, NO_GUARDS } from "../stats/guarded-gate";
import { scoresNeededFor } from "../stats/intervals";
import { countBelow, kthSmallest, quantileInvertedCdf, quantileSummary } from "../stats/order-statistics";
import {
  addCluster,
  type ClusterSums,
  DROP_RATE_STRATA,
  designEffect,
  dropStratumOf,
  eligibleSplit,
  emptyClusterSums,
  MIN_CLUSTER_QUERIES,
  perQueryStats,
} from "../stats/per-query";
import { smallSampleFactor } from "../stats/satterthwaite";
import { bareCore, guardedCore } from "./gate-core";
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
    | "guards"
  >;
  readonly distribution: Distribution;
  readonly warnings: Warning[];
}

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

/**
 * Fits target d on `sorted` (ascending). `byQuery` holds the same scores in query order with Q+1 offsets when the
 * upload gave queries; `precision` says whether the scores came as float32. With `guards` (which need `byQuery`) the
 * guarded gate drops the target share (guarded-gate.ts); `at` places it at a threshold chosen elsewhere instead (a
 * guarded recall rule's). Throws AppError("too_few_scores") when k = ceil((n+1) d) > n, "target_unreachable" when the
 * gate would drop nothing at a target above 0 (constant or saturated scores) or the guards put the target out of
 * reach, "float32_precision" when float32 rounding near the threshold is as coarse as the scores' spread.
 */
export function fitCalibration(
  sorted: Float64Array,
  target: number,
  byQuery: { scores: Float64Array; offsets: Uint32Array } | null,
  precision: "float64" | "float32" = "float64",
  guards: Guards = NO_GUARDS,
  at?: { readonly threshold: number | null },
): FittedCalibration {
  const guarded = hasGuards(guards);
  if (guarded && byQuery === null) throw new RangeError("fitCalibration: guards need queries");
  const core = guarded ? guardedCore(byQuery!, guards, target, at) : bareCore(sorted, target);
  const n = sorted.length;
  const warnings: Warning[] = [];
  if (precision === "float32") checkFloat32Precision(sorted, core.threshold, warnings);
  const tie = { below: core.below, ties: core.ties, expectedDropRate: core.expectedDropRate };
  const perQuery = byQuery ? perQueryStats(byQuery.scores, byQuery.offsets, core.threshold, guards) : null;
  // A min_keep >= 1 gate is never empty: its strata count the queries where the guard binds instead (empty-context.ts).
  const level = Math.max(1, guards.minKeep);
  const empty = byQuery ? emptyRateByCandidates(byQuery.scores, byQuery.offsets, core.threshold, level) : null;
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
          ? `${countText(n)} scores in ${countText(perQuery!.queries)} queries are worth ${countText(Math.floor(nEff))} independent ones (design effect ${deff.toFixed(2)}): the drop rate's 95 % interval is wider than +-1 point around ${percentText(target)}; about ${countText(needed)} effective scores are needed`
          : `${countText(n)} ${n === 1 ? "score gives" : "scores give"} the drop rate a 95 % interval wider than +-1 point around ${percentText(target)}; about ${countText(needed)} are needed`,
    });
  }
  if (byQuery !== null && perQuery !== null && perQuery.queries < MIN_CLUSTER_QUERIES) {
    // One query: its design effect is 1 by construction, not measured (per-query.ts MIN_CLUSTER_QUERIES)
    warnings.push({
      code: "flat_scores",
      message: `all ${countText(n)} scores came in one query, so how strongly the candidates of one query move together cannot be estimated (that takes at least ${MIN_CLUSTER_QUERIES} queries): as for a flat upload, the intervals assume independent candidates and are too narrow if they are clustered, and the rebuild decision against another calibration borrows that one's design effect if it was uploaded as queries, and otherwise assumes a design effect of ${FLAT_REBUILD_DESIGN_EFFECT}. Upload each query's candidates as its own list`,
    });
  }
  if (byQuery === null) {
    warnings.push({
      code: "flat_scores",
      message: `scores were uploaded flat, so how strongly the candidates of one query move together cannot be estimated: the intervals assume independent candidates and are too narrow if they are clustered. The rebuild decision against another calibration borrows that one's design effect if it was uploaded as queries, and otherwise assumes a design effect of ${FLAT_REBUILD_DESIGN_EFFECT}, so small moves stay inconclusive. Upload \`queries\` (or float32 with candidates_per_query) for intervals and decisions that count queries; the production monitor uses the clustering it measures`,
    });
  }
  if (core.threshold !== null && tie.ties >= 2 && tie.ties / n > TIES_AT_THRESHOLD_WARNING_SHARE) {
    const gap = tie.expectedDropRate - target;
    warnings.push({
      code: "ties_at_threshold",
      message: `${tie.ties} ${core.eligible === null ? `scores (${pct(tie.ties / n)})` : `of the candidates the guards leave to the threshold (${pct(tie.ties / n)} of all candidates)`} equal the threshold ${core.threshold}; all are kept, so the gate drops ${pct(tie.expectedDropRate)} against the target ${pct(target)} (${(100 * gap).toFixed(2)} points): no threshold between two tied values exists`,
    });
  }
  let thresholdInterval: [number | null, number | null] = [null, null];
  if (target > 0) {
    const ranks = widenedRanks(n, target, deff / shrink);
    // Guarded: the gate that drops r - 1 candidates sits at the (r - floor)-th eligible score (guarded-gate.ts).
    const at = (r: number | null): number | null => {
      if (r === null) return null;
      if (core.eligible === null) return kthSmallest(sorted, r);
      const j = r - core.eligible.floor;
      return j >= 1 && j <= core.eligible.eligible.length ? kthSmallest(core.eligible.eligible, j) : null;
    };
    thresholdInterval = [at(ranks.lower), at(ranks.upper)];
  }
  return {
    fields: {
      threshold: core.threshold,
      target_drop_rate: target,
      expected_drop_rate: tie.expectedDropRate,
      in_sample_drop_rate: core.inSampleDropRate,
      conformal_drop_rate: core.conformalDropRate,
      ties_at_threshold: tie.ties,
      effective_n: nEff,
      interval_degrees_of_freedom: Number.isFinite(df) ? df : null,
      drop_rate_interval_95: rateInterval(tie.expectedDropRate, nEff * shrink),
      threshold_interval_95: thresholdInterval,
      k: core.k,
      n,
      n_queries: perQuery ? perQuery.queries : null,
      per_query: perQuery
        ? {
            mean_kept: perQuery.meanKept,
            mean_candidates: perQuery.meanCandidates,
            empty_context_rate: guards.minKeep >= 1 ? perQuery.minKeepBindingRate : perQuery.emptyContextRate,
            design_effect: perQuery.designEffect,
            ...(guards.minKeep >= 1 ? { empty_context_level: level } : {}),
            ...(guarded ? { drop_rate_by_candidates: dropRateByCandidates(byQuery!.scores, byQuery!.offsets, core.threshold, guards) } : {}),
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
      guards:
        guarded && perQuery
          ? {
              min_keep: guards.minKeep,
              max_keep: guards.maxKeep,
              min_keep_binding_rate: perQuery.minKeepBindingRate,
              max_keep_binding_rate: perQuery.maxKeepBindingRate,
              bare_drop_rate: core.threshold === null ? 0 : countBelow(sorted, core.threshold) / n,
              reachable: { lowest: core.eligible!.floor / (n + 1), highest: core.eligible!.ceiling / (n + 1) },
            }
          : null,
    },
    distribution: summaryOf(sorted, core.eligible),
    warnings,
  };
}

/**
 * The kept summary: the pooled scores, and for a guarded gate its eligible scores and floor too, so that a later carry
 * at another threshold gets the guarded drop rate (carry.ts) and not the bare one.
 */
function summaryOf(sorted: Float64Array, eligible: EligibleScores | null): Distribution {
  const pooled = buildDistribution(sorted, DISTRIBUTION_KNOTS);
  if (eligible === null) return pooled;
  const e = eligible.eligible.length === 0 ? null : buildDistribution(eligible.eligible, DISTRIBUTION_KNOTS);
  return { ...pooled, guarded: { floor: eligible.floor, eligible: e } };
}

/**
 * The guarded gate's drops on the calibration's own queries per drop-rate stratum (per-query.ts DROP_RATE_STRATA), and
 * those among the candidates a threshold decides: what the production monitor expects of queries of each size (guards
 * bind most on short queries and the cap on long ones, so a change of the query-size mix moves the pooled rate with
 * the gate unchanged). Each stratum keeps the design effect of its eligible candidates' drops measured on its own
 * queries (stratumDesignEffect), and how many of its queries it was measured on (those with an eligible candidate):
 * under a cap the pooled design effect understates it (docs/drift.md). O(candidates).
 */
export function dropRateByCandidates(scores: Float64Array, offsets: Uint32Array, threshold: number | null, guards: Guards) {
  const strata = DROP_RATE_STRATA.map((lo, b) => {
    const next = DROP_RATE_STRATA[b + 1];
    return {
      min_candidates: lo,
      max_candidates: next === undefined ? null : next - 1,
      queries: 0,
      candidates: 0,
      dropped: 0,
      eligible: 0,
      eligible_dropped: 0,
    };
  });
  // Per stratum, each query's eligible candidates as a cluster and those of them dropped as its count.
  const clusters = DROP_RATE_STRATA.map(() => emptyClusterSums());
  for (let i = 0; i + 1 < offsets.length; i++) {
    const start = offsets[i]!;
    const m = offsets[i + 1]! - start;
    if (m === 0) continue;
    let below = 0;
    if (threshold !== null) for (let j = start; j < start + m; j++) if (scores[j]! < threshold) below++;
    const b = dropStratumOf(m);
    const st = strata[b]!;
    const dropped = m - guardedKept(m, m - below, guards);
    const e = eligibleSplit(m, dropped, guards);
    st.queries++;
    st.candidates += m;
    st.dropped += dropped;
    st.eligible += e.eligible;
    st.eligible_dropped += e.dropped;
    addCluster(clusters[b]!, e.eligible, e.dropped); // a query with no eligible candidate is skipped: it says nothing
  }
  return strata.map((st, b) => ({ ...st, design_effect: stratumDesignEffect(clusters[b]!), design_effect_queries: clusters[b]!.queries }));
}

/**
 * A calibration's drop-rate strata (dropRateByCandidates's, or as stored in `per_query.drop_rate_by_candidates`) as
 * the monitor reads them (stats DropStratum); the design effect and its query count stay absent where they were not
 * kept (calibrations fitted before them).
 */
export function monitoredDropStrata(
  strata: readonly {
    readonly queries: number;
    readonly eligible: number;
    readonly eligible_dropped: number;
    readonly design_effect?: number | null | undefined;
    readonly design_effect_queries?: number | undefined;
  }[],
): DropStratum[] {
  return strata.map(({ queries, eligible, eligible_dropped, design_effect, design_effect_queries }) => ({
    queries,
    eligible,
    dropped: eligible_dropped,
    ...(design_effect !== undefined ? { designEffect: design_effect } : {}),
    ...(design_effect_queries !== undefined ? { designEffectQueries: design_effect_queries } : {}),
  }));
}

/**
 * Kish design effect of a stratum's eligible-dropped share from its queries' eligible counts e_q and eligible drops
 * d_q (per-query.ts designEffect: the ratio estimator's variance over queries, Q/(Q-1) sum (d_q - p e_q)^2 / E^2,
 * against the binomial p (1 - p) / E, floored at 1), the Q queries with an eligible candidate as units. null where it
 * cannot be measured: Q < 2 (one query has no spread to measure), or p = 0 or 1 (the binomial variance is 0 and every
 * query agrees, which says nothing of how they cluster); the monitor then takes the pooled value (drift-bands.ts).
 */
function stratumDesignEffect(s: Readonly<ClusterSums>): number | null {
  if (s.queries < 2 || s.dropped === 0 || s.dropped === s.candidates) return null;
  return designEffect(s);
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
  const text = `float32 spacing near ${at.toPrecision(6)} is ${spacing.toPrecision(3)}, ${(100 * share).toPrecision(2)} % of the scores' spread ${spread.toPrecision(4)}`;
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
