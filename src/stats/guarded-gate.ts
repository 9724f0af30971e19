/**
 * The drop-rate gate with per-query guards: keep at least the top `minKeep` candidates of every query and at most
 * `maxKeep` (guard-rule.ts states the rule). docs/methods.md, "Guards and abstention".
 *
 * Counting. In a query of m candidates, c of them at or above t, the gate keeps min(m, M, max(min(m0, m), c)): always
 * the top ranks. So the number it drops is
 *   D_q(t) = max(0, m - M) + #{eligible candidates of q below t},
 * where a candidate is eligible when its rank (by score, highest first) lies in (m0, M]: the ranks above m0 are kept
 * at every t and those beyond M dropped at every t. Over the calibration, D(t) = F + #{e in E : e < t} with the floor
 * F = sum_q max(0, m_q - M) and E the pooled eligible scores; D is nondecreasing in t (the monotone search the guards
 * need collapses to an order statistic of E). The most it can drop is the ceiling G = F + |E|.
 *
 * Fit. With n calibration candidates and target d the conformal rank is k = ceil((n+1) d) (gate-fit.ts), and the bare
 * gate is the largest threshold that drops at most k - 1 calibration candidates, x_(k). The guarded gate is the same
 * rule on D: the largest t with D(t) <= k - 1, i.e. t = e_(k - F), the (k - F)-th smallest eligible score. Without
 * guards E is every score and F = 0, so this is x_(k) exactly. It exists iff F < k <= G (d = 0 with F = 0 keeps
 * everything): max_keep sets a floor on the drop rate, min_keep a ceiling. Reachable targets are (F/(n+1), G/(n+1)],
 * from (F + T)/(n+1) when T >= 2 eligible scores tie at their minimum (no threshold drops part of that tie).
 *
 * Centre. For continuous scores D(t) = k - 1 in sample and the threshold candidate is eligible, so one more drop would
 * follow just above t: the centre is k/(n+1), as for the bare gate. With several eligible scores tied at t (tied
 * scores are kept) it is the plug-in D(t)/n (tie-aware.ts). The guarded drop rate is a ratio over queries of unequal
 * sizes; its uncertainty comes from the per-query drops (per-query.ts: design effect and Satterthwaite df with queries
 * as units), not from the Beta law of a single order statistic.
 *
 * Preconditions: finite scores, queries flat as in per-query.ts. Cost O(n log n). Pure.
 */
import { conformalRank, minimumScoresFor } from "./gate-fit";
import { countAtOrBelow, countBelow, kthSmallest } from "./order-statistics";

export interface Guards {
  /** Keep at least the top minKeep candidates of every query (all of a shorter one); 0: no floor. */
  readonly minKeep: number;
  /** Keep at most maxKeep candidates of any query; null: no cap. */
  readonly maxKeep: number | null;
}

export const NO_GUARDS: Guards = { minKeep: 0, maxKeep: null };

/** True when a guard is set. */
export const hasGuards = (g: Guards): boolean => g.minKeep > 0 || g.maxKeep !== null;

/** Throws RangeError unless 0 <= minKeep <= maxKeep (whole numbers, maxKeep >= 1). */
export function checkGuards(g: Guards): void {
  if (!Number.isInteger(g.minKeep) || g.minKeep < 0) throw new RangeError(`guards: minKeep=${g.minKeep}`);
  if (g.maxKeep !== null && (!Number.isInteger(g.maxKeep) || g.maxKeep < 1 || g.maxKeep < g.minKeep)) {
    throw new RangeError(`guards: maxKeep=${g.maxKeep} with minKeep=${g.minKeep}`);
  }
}

/** Candidates a query of m keeps when c of them are at or above the threshold. */
export function guardedKept(m: number, c: number, g: Guards): number {
  return Math.min(m, g.maxKeep ?? m, Math.max(Math.min(g.minKeep, m), c));
}

/** Which guard decides a query of m candidates with c at or above the threshold: "min_keep", "max_keep" or null. */
export function bindingGuard(m: number, c: number, g: Guards): "min_keep" | "max_keep" | null {
  if (c < Math.min(g.minKeep, m)) return "min_keep";
  if (g.maxKeep !== null && c > g.maxKeep) return "max_keep";
  return null;
}

/** The pooled eligible scores (ascending), the floor F and the ceiling G = F + |E| of a calibration. */
export interface EligibleScores {
  readonly eligible: Float64Array;
  readonly floor: number;
  readonly ceiling: number;
  readonly n: number;
}

export function eligibleScores(scores: Float64Array, offsets: Uint32Array, g: Guards): EligibleScores {
  checkGuards(g);
  const q = offsets.length - 1;
  const out: number[] = [];
  let floor = 0;
  for (let i = 0; i < q; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    const m = end - start;
    const hi = Math.min(m, g.maxKeep ?? m);
    floor += m - hi;
    if (g.minKeep === 0 && hi === m) {
      for (let j = start; j < end; j++) out.push(scores[j]!);
      continue;
    }
    // Ranks m0 + 1 .. hi of the query, highest score first (which of two equal scores takes a rank does not change
    // the multiset of eligible scores).
    const desc = Float64Array.from(scores.subarray(start, end)).sort().reverse();
    for (let r = g.minKeep; r < hi; r++) out.push(desc[r]!);
  }
  const eligible = Float64Array.from(out).sort();
  return { eligible, floor, ceiling: floor + eligible.length, n: scores.length };
}

export type GuardedFit =
  | {
      readonly kind: "fitted";
      /** e_(k - F); null when d = 0 and F = 0 (no gate). */
      readonly threshold: number | null;
      /** The conformal rank over all n candidates, and the rank of the threshold among the eligible scores (k - F). */
      readonly k: number;
      readonly eligibleRank: number;
      readonly n: number;
      readonly floor: number;
      readonly ceiling: number;
      /** Eligible scores strictly below the threshold, and those equal to it. */
      readonly below: number;
      readonly ties: number;
      /** D(t) = floor + below: calibration candidates the guarded gate drops. */
      readonly dropped: number;
      /** k/(n+1) */
      readonly conformalDropRate: number;
      /** k/(n+1) without a tie at t among eligible scores, D(t)/n with one. */
      readonly expectedDropRate: number;
      /** D(t)/n */
      readonly inSampleDropRate: number;
    }
  | { readonly kind: "too_few_scores"; readonly k: number; readonly n: number; readonly minimumN: number }
  | {
      readonly kind: "unreachable";
      /** "floor": max_keep drops more than the target at every threshold; "ceiling": min_keep keeps too much. */
      readonly bound: "floor" | "ceiling";
      readonly k: number;
      readonly n: number;
      readonly floor: number;
      readonly ceiling: number;
      /** Targets in (lowest, highest] are reachable (and 0 when floor = 0); lowest counts a tie at the eligible minimum. */
      readonly lowestTarget: number;
      readonly highestTarget: number;
    };

/** Fits the guarded gate for target drop rate d in [0, 1) (RangeError otherwise). */
export function fitGuardedGate(e: EligibleScores, d: number): GuardedFit {
  const { n, floor, ceiling } = e;
  if (n === 0) throw new RangeError("fitGuardedGate: empty sample");
  const k = conformalRank(n, d);
  if (k > n) return { kind: "too_few_scores", k, n, minimumN: minimumScoresFor(d) };
  // A threshold at the lowest eligible score keeps it (a gate keeps its ties): when two or more eligible scores share
  // that minimum (saturated at 0), no threshold drops fewer than all of them beyond the floor, so the lowest reachable
  // target is (F + T)/(n+1), T the tie; a unique minimum is the conformal fit's usual rank-1 threshold.
  const tiedAtMinimum = e.eligible.length === 0 ? 0 : countAtOrBelow(e.eligible, e.eligible[0]!);
  const lowestTarget = (floor + (tiedAtMinimum >= 2 ? tiedAtMinimum : 0)) / (n + 1);
  const reach = { k, n, floor, ceiling, lowestTarget, highestTarget: ceiling / (n + 1) };
  if (k === 0 && floor === 0) {
    return {
      kind: "fitted",
      threshold: null,
      k: 0,
      eligibleRank: 0,
      n,
      floor,
      ceiling,
      below: 0,
      ties: 0,
      dropped: 0,
      conformalDropRate: 0,
      expectedDropRate: 0,
      inSampleDropRate: 0,
    };
  }
  if (k <= floor) return { kind: "unreachable", bound: "floor", ...reach };
  if (k > ceiling) return { kind: "unreachable", bound: "ceiling", ...reach };
  const eligibleRank = k - floor;
  const threshold = kthSmallest(e.eligible, eligibleRank);
  const below = countBelow(e.eligible, threshold);
  const ties = countAtOrBelow(e.eligible, threshold) - below;
  const dropped = floor + below;
  return {
    kind: "fitted",
    threshold,
    k,
    eligibleRank,
    n,
    floor,
    ceiling,
    below,
    ties,
    dropped,
    conformalDropRate: k / (n + 1),
    expectedDropRate: ties >= 2 ? dropped / n : k / (n + 1),
    inSampleDropRate: dropped / n,
  };
}

/** D(t): calibration candidates the guarded gate drops at threshold t (null keeps every eligible one). O(log n). */
export function guardedDropCount(e: EligibleScores, threshold: number | null): number {
  return e.floor + (threshold === null ? 0 : countBelow(e.eligible, threshold));
}

/**
 * The guarded gate at a threshold chosen elsewhere (a recall rule's, which must not move: guarded-recall.ts), counted
 * like fitGuardedGate: D(t) = floor + eligible scores below t, k = D(t) + 1 (the conformal rank whose fit is t when t
 * is an eligible score), centred at k/(n+1) when exactly one eligible score equals t and at the plug-in D(t)/n
 * otherwise (ties, or a threshold between scores). null keeps every eligible candidate. O(log n).
 */
export function guardedFitAt(e: EligibleScores, threshold: number | null): Extract<GuardedFit, { kind: "fitted" }> {
  const { n, floor, ceiling } = e;
  if (n === 0) throw new RangeError("guardedFitAt: empty sample");
  const below = threshold === null ? 0 : countBelow(e.eligible, threshold);
  const ties = threshold === null ? 0 : countAtOrBelow(e.eligible, threshold) - below;
  const dropped = floor + below;
  const k = threshold === null ? floor : dropped + 1;
  return {
    kind: "fitted",
    threshold,
    k,
    eligibleRank: threshold === null ? 0 : below + 1,
    n,
    floor,
    ceiling,
    below,
    ties,
    dropped,
    conformalDropRate: k / (n + 1),
    expectedDropRate: ties === 1 ? k / (n + 1) : dropped / n,
    inSampleDropRate: dropped / n,
  };
}
