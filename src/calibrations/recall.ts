/**
 * Label-aware calibrations: resolves a recall policy to a threshold (src/stats/recall-gate.ts), and builds what a
 * labelled upload reports whatever its policy (coverage at the fitted threshold, queries without a relevant
 * candidate) and what a recall calibration guarantees (bound, interval, implied drop rate, tradeoff table).
 * docs/methods.md, "Label-aware gates (recall)".
 */
import type { CoverageNotion, Labels, RecallReport, ShiftReport, StoredCalibration, Warning } from "../contract";
import { AppError, invalid } from "../platform/errors";
import { percentText } from "../platform/format";
import { topScores } from "../stats/abstention";
import { eligibleScores, type Guards, guardedFitAt, hasGuards, NO_GUARDS } from "../stats/guarded-gate";
import { effectiveScores, fitGuardedRecall, lostToCap } from "../stats/guarded-recall";
import { countBelow } from "../stats/order-statistics";
import { perQueryStats } from "../stats/per-query";
import {
  coverageAt,
  coverageInterval,
  fitRecallGate,
  type LabelledQueries,
  labelCounts,
  pooledRelevantKept,
  type RecallFit,
} from "../stats/recall-gate";

/** Targets of the recall-against-drop-rate table (the policy's own target is added). */
export const TRADEOFF_TARGETS = [0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99];

/** The labelled queries of an upload, or null when it has no labels. */
export function labelledOf(input: { scores: Float64Array; offsets: Uint32Array | null; relevant?: Uint8Array | null }): LabelledQueries | null {
  if (!input.relevant || !input.offsets) return null;
  return { scores: input.scores, offsets: input.offsets, relevant: input.relevant };
}

/** A fitted recall rule (bare or guarded: a guarded one may leave the threshold null when no candidate is eligible). */
export type FittedRecall = Omit<Extract<RecallFit, { kind: "fitted" }>, "threshold"> & { readonly threshold: number | null };

export interface RecallTarget {
  /** The threshold of the recall rule; null keeps everything (it would be the lowest score anyway). */
  readonly threshold: number | null;
  /** A drop-rate target that the drop-rate fit turns into exactly this threshold: (below + 1)/(n + 1); guarded: its expected rate. */
  readonly dropRateTarget: number;
  readonly fit: FittedRecall;
  /** The guards the rule was fitted with (recall with guards keeps its guarantee on the effective scores: guarded-recall.ts). */
  readonly guards: Guards;
}

/** The labelled queries as a guarded gate sees them: effective scores (guarded-recall.ts), or the queries themselves. */
const seenBy = (labelled: LabelledQueries, guards: Guards): LabelledQueries => (hasGuards(guards) ? effectiveScores(labelled, guards) : labelled);

/**
 * A threshold for coverage on effective scores: null keeps every candidate a threshold decides, not those the cap
 * drops (effective score -Infinity), so it reads as the lowest finite number there.
 */
const effectiveThreshold = (t: number | null, guards: Guards): number | null => (t === null && hasGuards(guards) ? -Number.MAX_VALUE : t);

/** The recall rule, bare or with guards: the largest threshold that keeps the target coverage. */
function fitRecall(labelled: LabelledQueries, target: number, coverage: CoverageNotion, guards: Guards) {
  if (!hasGuards(guards)) return fitRecallGate(labelled, target, coverage);
  const e = eligibleScores(labelled.scores, labelled.offsets, guards);
  return fitGuardedRecall(labelled, target, coverage, guards, e.eligible.length > 0 ? e.eligible[e.eligible.length - 1]! : null);
}

/** Decimals of a highest reachable target in messages: rounded down, so the number shown is itself reachable. */
const TARGET_DECIMALS = 4;

/**
 * A highest reachable target as a policy value ("0.9476"), rounded down to TARGET_DECIMALS. The nudge keeps a value
 * that is a TARGET_DECIMALS decimal up to float error (1 - 4/5 = 0.19999999999999996) from losing a digit.
 */
const targetText = (x: number): string => String(Math.floor(x * 10 ** TARGET_DECIMALS + 1e-6) / 10 ** TARGET_DECIMALS);

/**
 * What max_keep loses at every threshold (lostToCap, guarded-recall.ts), in the notion's unit: whole labelled queries
 * for the rank rules; for `candidates` a pooled loss (each query's share of relevant candidates ranked past the cap,
 * summed), which is not a count of queries. As `recall_near_cap` says it.
 */
function lostText(lost: number, n: number, coverage: CoverageNotion): string {
  return coverage === "candidates"
    ? `loses ${Number(lost.toPrecision(4))} queries' worth of relevant candidates of the ${n} labelled queries (each query counts the share of its relevant candidates ranked beyond max_keep)`
    : `loses the relevant candidates of ${lost} of ${n} labelled queries`;
}

/**
 * Fits the recall rule; 422 without labels, too_few_labelled_queries (with the number needed) when n is too small,
 * target_unreachable when max_keep loses the relevant candidates of too many queries at every threshold.
 */
export function resolveRecall(
  policy: { target: number; coverage: CoverageNotion },
  labelled: LabelledQueries | null,
  sorted: Float64Array,
  guards: Guards = NO_GUARDS,
): RecallTarget {
  if (labelled === null) {
    throw invalid('policy kind "recall" needs relevance labels: upload "queries" with a parallel "relevance" (JSON or NDJSON)', [
      { path: "relevance", message: "is required for a recall policy" },
    ]);
  }
  const fit = fitRecall(labelled, policy.target, policy.coverage, guards);
  if (fit.kind === "too_few_queries") {
    const counts = labelCounts(labelled);
    throw new AppError(
      "too_few_labelled_queries",
      `target coverage ${percentText(policy.target)} (${policy.coverage}) needs at least ${fit.minimumQueries} labelled queries with a relevant candidate; the upload has ${fit.n} (${counts.withoutRelevant} more have none)`,
      {
        labelled_queries: fit.n,
        queries_without_relevant: counts.withoutRelevant,
        minimum_queries: fit.minimumQueries,
        target: policy.target,
        coverage: policy.coverage,
      },
    );
  }
  if (fit.kind === "unreachable") {
    throw new AppError(
      "target_unreachable",
      `max_keep ${guards.maxKeep} ${lostText(fit.lost, fit.n, policy.coverage)} at every threshold, so coverage ${percentText(policy.target)} (${policy.coverage}) cannot be certified${fit.highestTarget === null ? "" : `; the highest target these guards allow is ${targetText(fit.highestTarget)}`}`,
      {
        target: policy.target,
        coverage: policy.coverage,
        labelled_queries: fit.n,
        lost: fit.lost,
        max_keep: guards.maxKeep,
        highest_target: fit.highestTarget,
      },
    );
  }
  if (hasGuards(guards)) {
    const at = guardedFitAt(eligibleScores(labelled.scores, labelled.offsets, guards), fit.threshold);
    return { threshold: fit.threshold, dropRateTarget: at.expectedDropRate, fit, guards };
  }
  const t = fit.threshold as number;
  const below = countBelow(sorted, t);
  if (below === 0) return { threshold: null, dropRateTarget: 0, fit, guards };
  return { threshold: t, dropRateTarget: (below + 1) / (sorted.length + 1), fit, guards };
}

function rates(labelled: LabelledQueries, sorted: Float64Array, threshold: number | null, guards: Guards): { drop: number; empty: number } {
  const stats = perQueryStats(labelled.scores, labelled.offsets, threshold, guards);
  return {
    drop: hasGuards(guards)
      ? 1 - (stats.meanKept * stats.queries) / sorted.length
      : threshold === null
        ? 0
        : countBelow(sorted, threshold) / sorted.length,
    empty: stats.emptyContextRate,
  };
}

/**
 * Above this share of the miss budget taken by max_keep alone, a fitted recall gate gets the warning `recall_near_cap`.
 * The budget is what the rule lets the calibration miss: k - 1 queries for the rank rules (k = floor((n+1)(1-r))),
 * (n+1)(1-r) - 1 of pooled loss for `candidates`; the fit is refused once the cap's loss reaches it. Near that edge a
 * refit on fresh queries is refused about half the time and the gates that do fit cover less than the target
 * (docs/methods.md, "Recall with guards"; benchmarks section 23: 89.46 % at 0.9 with 428 of 1,000 refused): at half
 * the budget the cap is named while there is still room to lower the target or raise max_keep.
 */
export const NEAR_CAP_BUDGET_SHARE = 0.5;

/** `recall_near_cap` when max_keep alone takes more than NEAR_CAP_BUDGET_SHARE of a fitted recall gate's miss budget. */
export function nearCapWarnings(policy: { target: number; coverage: CoverageNotion }, resolved: RecallTarget, labelled: LabelledQueries): Warning[] {
  const { fit, guards } = resolved;
  if (guards.maxKeep === null || fit.kind !== "fitted") return [];
  const lost = lostToCap(effectiveScores(labelled, guards), policy.coverage);
  const budget = policy.coverage === "candidates" ? (fit.n + 1) * (1 - policy.target) - 1 : fit.k - 1;
  if (lost === 0 || lost <= NEAR_CAP_BUDGET_SHARE * budget) return [];
  const unit = policy.coverage === "candidates" ? "of pooled loss" : "labelled queries";
  return [
    {
      code: "recall_near_cap",
      message: `max_keep ${guards.maxKeep} alone loses the relevant candidates of ${Number(lost.toPrecision(4))} of the ${Number(budget.toPrecision(4))} ${unit} coverage ${percentText(policy.target)} (${policy.coverage}) may miss in this calibration of ${fit.n}: the guarantee holds jointly with the fit succeeding, and this close to the edge a refit on fresh queries is often refused and the gates that do fit cover less than the target; lower the target or raise max_keep (docs/methods.md, "Recall with guards")`,
    },
  ];
}

/** The guarantee and its cost for a recall calibration. */
export function recallReport(
  policy: { target: number; coverage: CoverageNotion },
  resolved: RecallTarget,
  labelled: LabelledQueries,
  sorted: Float64Array,
): RecallReport {
  const { fit, guards } = resolved;
  const at = rates(labelled, sorted, resolved.threshold, guards);
  const seen = seenBy(labelled, guards);
  const t = effectiveThreshold(resolved.threshold, guards);
  const targets = [...new Set([...TRADEOFF_TARGETS, policy.target])].sort((a, b) => a - b);
  const tradeoff = targets.map((target) => {
    const f = fitRecall(labelled, target, policy.coverage, guards);
    const unfit = { target, threshold: null, coverage_bound: null, drop_rate: null, empty_context_rate: null };
    // the same reasons, and numbers, as the 422 a fit at this target gets (resolveRecall)
    if (f.kind === "too_few_queries")
      return { ...unfit, unfit_reason: "too_few_labelled_queries" as const, minimum_queries: f.minimumQueries, highest_target: null };
    if (f.kind === "unreachable")
      return { ...unfit, unfit_reason: "target_unreachable" as const, minimum_queries: null, highest_target: f.highestTarget };
    const r = rates(labelled, sorted, f.threshold, guards);
    return {
      target,
      threshold: f.threshold,
      coverage_bound: f.coverageBound,
      drop_rate: r.drop,
      empty_context_rate: r.empty,
      unfit_reason: null,
      minimum_queries: null,
      highest_target: null,
    };
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
    in_sample_coverage: coverageAt(seen, t, policy.coverage) ?? 1,
    pooled_relevant_kept: pooledRelevantKept(seen, t) ?? 1,
    implied_drop_rate: at.drop,
    empty_context_rate: at.empty,
    tradeoff,
  };
}

/** What the labels say at the fitted threshold, and a warning for queries without a relevant candidate. */
export function labelsReport(
  labelled: LabelledQueries,
  threshold: number | null,
  relevantAt: number | undefined,
  warnings: Warning[],
  guards: Guards = NO_GUARDS,
  abstainBelow: number | null = null,
): Labels {
  const counts = labelCounts(labelled);
  if (counts.withoutRelevant > 0) {
    warnings.push({
      code: "queries_without_relevant",
      message: `${counts.withoutRelevant} of ${counts.queries} labelled queries have no relevant candidate: they are left out of every coverage figure (a gate cannot keep what is not there), but they still count for the drop and empty-context rates`,
    });
  }
  const seen = seenBy(labelled, guards);
  const t = effectiveThreshold(threshold, guards);
  const cov = (notion: CoverageNotion): number => coverageAt(seen, t, notion) ?? 1;
  // With abstention: a query whose top score is below abstain_below keeps nothing, so it covers nothing (the top score
  // of the uploaded scores, as clients read it, not of the guards' effective ones).
  const abstains = abstainBelow === null ? null : Array.from(topScores(labelled.scores, labelled.offsets), (top) => top < abstainBelow);
  const withAbstention = (notion: CoverageNotion): number => coverageAt(seen, t, notion, abstains) ?? 1;
  return {
    queries: counts.queries,
    labelled_queries: counts.labelled,
    queries_without_relevant: counts.withoutRelevant,
    relevant_candidates: counts.relevantCandidates,
    relevant_at: relevantAt ?? null,
    coverage_at_threshold: { any_relevant: cov("any_relevant"), all_relevant: cov("all_relevant"), candidates: cov("candidates") },
    pooled_relevant_kept: pooledRelevantKept(seen, t) ?? 1,
    coverage_with_abstention:
      abstains === null
        ? null
        : { any_relevant: withAbstention("any_relevant"), all_relevant: withAbstention("all_relevant"), candidates: withAbstention("candidates") },
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
