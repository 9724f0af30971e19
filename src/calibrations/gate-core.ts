/**
 * Where a calibration's gate goes and what it drops in sample: the bare fit x_(k) (gate-fit.ts) or the guarded one
 * (guarded-gate.ts), with the 422s for targets the scores or the guards put out of reach. Used by fit.ts.
 */
import { AppError } from "../platform/errors";
import { countText, percentText } from "../platform/format";
import { fitGate } from "../stats/gate-fit";
import { type EligibleScores, eligibleScores, fitGuardedGate, type GuardedFit, type Guards, guardedFitAt } from "../stats/guarded-gate";
import { tieAwareDropRate } from "../stats/tie-aware";

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

/** Where the gate was placed and what it drops in sample: the bare fit (gate-fit.ts) or the guarded one (guarded-gate.ts). */
export interface GateCore {
  readonly threshold: number | null;
  readonly k: number;
  /** Calibration candidates the gate drops: strictly below t (bare), D(t) (guarded). */
  readonly below: number;
  readonly ties: number;
  readonly expectedDropRate: number;
  readonly conformalDropRate: number;
  readonly inSampleDropRate: number;
  /** Guarded only: the eligible scores, for the threshold's interval (ranks shift by the floor). */
  readonly eligible: EligibleScores | null;
}

/** The bare gate x_(k) with its tie-aware centre; 422s for too few scores and a target no threshold reaches. */
export function bareCore(sorted: Float64Array, target: number): GateCore {
  const fit = fitGate(sorted, target);
  if (fit.kind === "too_few_scores") throw tooFewScores(fit.k, fit.n, target, fit.minimumN);
  const n = fit.n;
  const tie = fit.threshold === null ? { below: 0, ties: 0, expectedDropRate: 0 } : tieAwareDropRate(sorted, fit.k);
  if (target > 0 && tie.ties >= 2 && tie.below === 0) {
    // Constant or saturated at the bottom: the gate would keep every candidate while claiming to drop `target`.
    throw new AppError(
      "target_unreachable",
      `no threshold drops anything: the ${tie.ties} lowest scores (${pct(tie.ties / n)}) all equal ${fit.threshold}, and a gate keeps scores equal to its threshold; target ${percentText(target)} cannot be reached on these scores (reachable targets are above ${(tie.ties / (n + 1)).toFixed(4)})`,
      { n, target, ties_at_minimum: tie.ties, minimum: fit.threshold, lowest_target: tie.ties / (n + 1) },
    );
  }
  return {
    threshold: fit.threshold,
    k: fit.k,
    below: tie.below,
    ties: tie.ties,
    expectedDropRate: tie.expectedDropRate,
    conformalDropRate: fit.expectedDropRate,
    inSampleDropRate: fit.inSampleDropRate,
    eligible: null,
  };
}

function tooFewScores(k: number, n: number, target: number, minimumN: number): AppError {
  return new AppError(
    "too_few_scores",
    `target drop rate ${percentText(target)} needs at least ${countText(minimumN)} scores (k = ceil((n+1)*d) = ${k} > n = ${n})`,
    {
      n,
      k,
      target,
      minimum_n: minimumN,
    },
  );
}

/**
 * Why guards put a target out of reach, and what is reachable. When no candidate is left for a threshold to decide
 * (ceiling = floor) the range of reachable targets is empty: every threshold drops the same share, which is 0 when
 * min_keep keeps every candidate (then only target 0 is reachable) and the ranks beyond max_keep when min_keep equals
 * it (then none is).
 */
function unreachableText(fit: Extract<GuardedFit, { kind: "unreachable" }>, guards: Guards): string {
  if (fit.ceiling === fit.floor) {
    if (fit.floor === 0) {
      return `min_keep ${guards.minKeep} keeps every candidate of these queries (none has more than ${guards.minKeep}), so no threshold drops anything: the only reachable target is 0 (no gate)`;
    }
    return `min_keep and max_keep ${guards.maxKeep} keep the top ${guards.maxKeep} of every query at every threshold, which drops ${pct(fit.floor / fit.n)} of these candidates whatever the threshold: no drop-rate target is reachable (set max_keep above min_keep to leave the threshold ranks to decide)`;
  }
  if (fit.lowestTarget >= fit.highestTarget) {
    // every candidate the guards leave to the threshold has the same score: no threshold drops part of them
    const only = fit.floor === 0 ? "the only reachable target is 0 (no gate)" : "no drop-rate target is reachable";
    return `the ${fit.ceiling - fit.floor} candidates the guards leave to the threshold all have the same score, and a gate keeps scores equal to its threshold: every threshold drops ${pct(fit.floor / fit.n)} of these candidates, so ${only}`;
  }
  const guard = fit.bound === "floor" ? `max_keep ${guards.maxKeep}` : `min_keep ${guards.minKeep}`;
  const what =
    fit.bound === "floor"
      ? `drops ${pct(fit.floor / fit.n)} of these candidates at every threshold (queries longer than the cap)`
      : `keeps ${pct(1 - fit.ceiling / fit.n)} of these candidates at every threshold (the top ranks of every query)`;
  return `${guard} ${what}; reachable targets on these queries are above ${fit.lowestTarget.toFixed(4)} and up to ${fit.highestTarget.toFixed(4)}${fit.floor === 0 ? " (or 0)" : ""}`;
}

/**
 * The guarded gate (guarded-gate.ts): the largest threshold at which it drops at most k - 1 calibration candidates,
 * or the gate at `at`. 422 target_unreachable with the reachable targets when max_keep drops more than the target at
 * every threshold or min_keep keeps too much for it.
 */
export function guardedCore(
  byQuery: { scores: Float64Array; offsets: Uint32Array },
  guards: Guards,
  target: number,
  at?: { readonly threshold: number | null },
): GateCore {
  const e = eligibleScores(byQuery.scores, byQuery.offsets, guards);
  const fit = at === undefined ? fitGuardedGate(e, target) : guardedFitAt(e, at.threshold);
  if (fit.kind === "too_few_scores") throw tooFewScores(fit.k, fit.n, target, fit.minimumN);
  if (fit.kind === "unreachable") {
    throw new AppError("target_unreachable", `guards put target drop rate ${percentText(target)} out of reach: ${unreachableText(fit, guards)}`, {
      n: fit.n,
      target,
      bound: fit.bound === "floor" ? "max_keep" : "min_keep",
      min_keep: guards.minKeep,
      max_keep: guards.maxKeep,
      lowest_target: fit.lowestTarget,
      highest_target: fit.highestTarget,
    });
  }
  if (at === undefined && target > 0 && fit.ties >= 2 && fit.below === 0) {
    // Saturated at the bottom: the threshold would drop none of the candidates it decides while the gate claims to
    // drop `target` (with max_keep, only what the cap drops at every threshold).
    const lowest = (fit.floor + fit.ties) / (fit.n + 1);
    const capped = fit.floor > 0 ? `; max_keep ${guards.maxKeep} drops ${pct(fit.floor / fit.n)} of these candidates at every threshold` : "";
    throw new AppError(
      "target_unreachable",
      `no threshold drops any candidate it decides: the ${fit.ties} lowest of them all equal ${fit.threshold}, and a gate keeps scores equal to its threshold${capped}; target ${percentText(target)} cannot be reached on these scores (reachable targets are above ${lowest.toFixed(4)})`,
      { n: fit.n, target, ties_at_minimum: fit.ties, minimum: fit.threshold, lowest_target: lowest },
    );
  }
  return {
    threshold: fit.threshold,
    k: fit.k,
    below: fit.dropped,
    ties: fit.ties,
    expectedDropRate: fit.expectedDropRate,
    conformalDropRate: fit.conformalDropRate,
    inSampleDropRate: fit.inSampleDropRate,
    eligible: e,
  };
}
