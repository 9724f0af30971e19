/**
 * Label-aware calibrations: resolves a recall policy to a threshold (src/stats/recall-gate.ts), and builds what a
 * labelled upload reports whatever its policy (coverage at the fitted threshold, queries without a relevant
 * candidate) and what a recall calibration guarantees (bound, interval, implied drop rate, tradeoff table).
 * docs/methods.md, "Label-aware gates (recall)".
 */
import type { CoverageNotion, Labels, RecallReport, ShiftReport, StoredCalibration, Warning } from "../contract";
import { AppError, invalid } from "../platform/errors";
import { countBelow } from "../stats/order-statistics";
import { perQueryStats } from "../stats/per-query";
import { coverageAt, coverageInterval, fitRecallGate, type LabelledQueries, labelCounts, pooledRelevantKept } from "../stats/recall-gate";

/** Targets of the recall-against-drop-rate table (the policy's own target is added). */
export const TRADEOFF_TARGETS = [0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99];

/** The labelled queries of an upload, or null when it has no labels. */
export function labelledOf(input: { scores: Float64Array; offsets: Uint32Array | null; relevant?: Uint8Array | null }): LabelledQueries | null {
  if (!input.relevant || !input.offsets) return null;
  return { scores: input.scores, offsets: input.offsets, relevant: input.relevant };
}

export interface RecallTarget {
  /** The threshold of the recall rule; null keeps everything (it would be the lowest score anyway). */
  readonly threshold: number | null;
  /** A drop-rate target that the drop-rate fit turns into exactly this threshold: (below + 1)/(n + 1). */
  readonly dropRateTarget: number;
  readonly fit: Extract<ReturnType<typeof fitRecallGate>, { kind: "fitted" }>;
}

/** Fits the recall rule; 422 without labels, too_few_labelled_queries (with the number needed) when n is too small. */
export function resolveRecall(
  policy: { target: number; coverage: CoverageNotion },
  labelled: LabelledQueries | null,
  sorted: Float64Array,
): RecallTarget {
  if (labelled === null) {
    throw invalid('policy kind "recall" needs relevance labels: upload "queries" with a parallel "relevance" (JSON or NDJSON)', [
      { path: "relevance", message: "is required for a recall policy" },
    ]);
  }
  const fit = fitRecallGate(labelled, policy.target, policy.coverage);
  if (fit.kind === "too_few_queries") {
    const counts = labelCounts(labelled);
    throw new AppError(
      "too_few_labelled_queries",
      `target coverage ${policy.target} (${policy.coverage}) needs at least ${fit.minimumQueries} labelled queries with a relevant candidate; the upload has ${fit.n} (${counts.withoutRelevant} more have none)`,
      {
        labelled_queries: fit.n,
        queries_without_relevant: counts.withoutRelevant,
        minimum_queries: fit.minimumQueries,
        target: policy.target,
        coverage: policy.coverage,
      },
    );
  }
  const below = countBelow(sorted, fit.threshold);
  if (below === 0) return { threshold: null, dropRateTarget: 0, fit };
  return { threshold: fit.threshold, dropRateTarget: (below + 1) / (sorted.length + 1), fit };
}

function rates(labelled: LabelledQueries, sorted: Float64Array, threshold: number | null): { drop: number; empty: number } {
  return {
    drop: threshold === null ? 0 : countBelow(sorted, threshold) / sorted.length,
    empty: perQueryStats(labelled.scores, labelled.offsets, threshold).emptyContextRate,
  };
}

/** The guarantee and its cost for a recall calibration. */
export function recallReport(
  policy: { target: number; coverage: CoverageNotion },
  resolved: RecallTarget,
  labelled: LabelledQueries,
  sorted: Float64Array,
): RecallReport {
  const { fit } = resolved;
  const at = rates(labelled, sorted, resolved.threshold);
  const targets = [...new Set([...TRADEOFF_TARGETS, policy.target])].sort((a, b) => a - b);
  const tradeoff = targets.map((target) => {
    const f = fitRecallGate(labelled, target, policy.coverage);
    if (f.kind !== "fitted") return { target, threshold: null, coverage_bound: null, drop_rate: null, empty_context_rate: null };
    const r = rates(labelled, sorted, f.threshold);
    return { target, threshold: f.threshold, coverage_bound: f.coverageBound, drop_rate: r.drop, empty_context_rate: r.empty };
  });
  return {
    target: policy.target,
    coverage: policy.coverage,
    rule: policy.coverage === "candidates" ? "risk_control" : "rank_floor",
    n: fit.n,
    k: fit.k,
    miss_mass: fit.missMass,
    coverage_bound: fit.coverageBound,
    coverage_upper: fit.coverageUpper,
    expected_coverage: fit.expectedCoverage,
    miss_below: fit.below,
    ties_at_threshold: fit.ties,
    coverage_interval_95: coverageInterval(fit),
    in_sample_coverage: coverageAt(labelled, resolved.threshold, policy.coverage) ?? 1,
    pooled_relevant_kept: pooledRelevantKept(labelled, resolved.threshold) ?? 1,
    implied_drop_rate: at.drop,
    empty_context_rate: at.empty,
    tradeoff,
  };
}

/** What the labels say at the fitted threshold, and a warning for queries without a relevant candidate. */
export function labelsReport(labelled: LabelledQueries, threshold: number | null, relevantAt: number | undefined, warnings: Warning[]): Labels {
  const counts = labelCounts(labelled);
  if (counts.withoutRelevant > 0) {
    warnings.push({
      code: "queries_without_relevant",
      message: `${counts.withoutRelevant} of ${counts.queries} labelled queries have no relevant candidate: they are left out of every coverage figure (a gate cannot keep what is not there), but they still count for the drop and empty-context rates`,
    });
  }
  const cov = (notion: CoverageNotion): number => coverageAt(labelled, threshold, notion) ?? 1;
  return {
    queries: counts.queries,
    labelled_queries: counts.labelled,
    queries_without_relevant: counts.withoutRelevant,
    relevant_candidates: counts.relevantCandidates,
    relevant_at: relevantAt ?? null,
    coverage_at_threshold: { any_relevant: cov("any_relevant"), all_relevant: cov("all_relevant"), candidates: cov("candidates") },
    pooled_relevant_kept: pooledRelevantKept(labelled, threshold) ?? 1,
  };
}

/**
 * Coverage at the previous threshold on both sides' labels, in the previous recall policy's notion (any_relevant
 * otherwise); null unless both calibrations are labelled.
 */
export function coverageShift(
  previous: StoredCalibration,
  labelled: LabelledQueries | null,
): NonNullable<ShiftReport["coverage_at_previous_threshold"]> | null {
  if (labelled === null || !previous.labels) return null;
  const notion: CoverageNotion = previous.recall?.coverage ?? (previous.policy.kind === "recall" ? previous.policy.coverage : "any_relevant");
  const current = coverageAt(labelled, previous.threshold, notion);
  if (current === null) return null;
  const before = previous.labels.coverage_at_threshold[notion];
  return { coverage: notion, previous: before, current, change_points: 100 * (current - before), labelled_queries: labelCounts(labelled).labelled };
}
