/**
 * Label-aware gates: a threshold with a split-conformal recall (coverage) guarantee, from labelled calibration queries
 * (Angelopoulos & Bates, arXiv:2107.07511; conformal risk control: Angelopoulos, Bates, Fisch, Lei & Schuster,
 * ICLR 2024; CONFLARE, arXiv:2404.04287; conformal context filtering, arXiv:2511.17908). docs/methods.md,
 * "Label-aware gates (recall)".
 *
 * Queries are the exchangeable unit. Keep iff score >= t, as for every gate. For target coverage r and alpha = 1 - r:
 *  - "any_relevant": per query the maximum relevant score s_i; t = s_(k), k = floor((n+1) alpha). A fresh query keeps
 *    at least one relevant candidate iff s_{n+1} >= t, and P(s_{n+1} < s_(k)) = k/(n+1) <= alpha for continuous
 *    scores: coverage 1 - k/(n+1) lies in [r, r + 1/(n+1)). Note the FLOOR: the drop-rate gate's ceil bounds the
 *    dropped share from below, this one bounds the missed share from above.
 *  - "all_relevant": the same rule on the minimum relevant score per query (all relevant kept iff min >= t).
 *  - "candidates": the loss of query i at t is L_i(t) = share of its relevant candidates below t (monotone, in [0, 1]);
 *    t is the largest pooled relevant score with (sum_i L_i(t) + 1)/(n+1) <= alpha (conformal risk control, B = 1),
 *    so E[L_{n+1}(t)] <= alpha: the expected share of a fresh query's relevant candidates kept is >= r. With one
 *    relevant candidate per query it is exactly the rank rule above. Its lower companion of the loss is
 *    alpha - 2/(n+1) (same reference, Theorem 2), so coverage is below r + 2/(n+1).
 * Queries without a relevant candidate carry no information about coverage and are left out (the caller reports
 * them). n < 1/alpha - 1 gives k = 0 (the only valid gate keeps everything): refused as too few queries.
 *
 * Preconditions: `relevant` parallel to `scores`, finite scores, offsets Q+1 ascending. Cost O(C log C) for C
 * candidates. No state, no clock, no randomness.
 */
import { dropRateLaw, marginOf, type RateLaw } from "./calibration-margin";
import { countAtOrBelow, countBelow } from "./order-statistics";

export type CoverageNotion = "any_relevant" | "all_relevant" | "candidates";
export const COVERAGE_NOTIONS: readonly CoverageNotion[] = ["any_relevant", "all_relevant", "candidates"];

/** Queries flat: query q spans [offsets[q], offsets[q+1]) of `scores` and `relevant` (1 relevant, 0 not). */
export interface LabelledQueries {
  readonly scores: Float64Array;
  readonly offsets: Uint32Array;
  readonly relevant: Uint8Array;
}

/** k = floor((n+1) alpha), with (n+1) alpha within a few ulps of an integer taken as that integer (0.1 * 10 is 1). */
export function recallRank(n: number, alpha: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`recallRank: n=${n}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`recallRank: alpha=${alpha} outside (0, 1)`);
  const x = (n + 1) * alpha;
  const r = Math.round(x);
  // alpha = 1 - r is itself rounded (1 - 0.9 = 0.09999999999999998): allow its representation error scaled by n+1.
  if (Math.abs(x - r) <= 4 * Number.EPSILON * Math.max(1, x) + (n + 1) * Number.EPSILON) return r;
  return Math.floor(x);
}

/** Fewest labelled queries (with a relevant candidate) for which target coverage r = 1 - alpha gives a gate (k >= 1). */
export function minimumQueriesFor(alpha: number): number {
  let n = Math.max(0, Math.floor(1 / alpha) - 2);
  while (recallRank(n, alpha) < 1) n++;
  return n;
}

/** Per query with at least one relevant candidate: its max ("any_relevant") or min ("all_relevant") relevant score, ascending. */
export function perQueryRelevantScores(q: LabelledQueries, which: "max" | "min"): Float64Array {
  const out: number[] = [];
  const nq = q.offsets.length - 1;
  for (let i = 0; i < nq; i++) {
    let v = which === "max" ? -Infinity : Infinity;
    let any = false;
    for (let j = q.offsets[i]!; j < q.offsets[i + 1]!; j++) {
      if (q.relevant[j] !== 1) continue;
      any = true;
      const s = q.scores[j]!;
      v = which === "max" ? Math.max(v, s) : Math.min(v, s);
    }
    if (any) out.push(v);
  }
  return Float64Array.from(out).sort();
}

/** Counts of a labelled sample. */
export interface LabelCounts {
  readonly queries: number;
  /** Queries with at least one relevant candidate: the calibration's n. */
  readonly labelled: number;
  readonly withoutRelevant: number;
  readonly relevantCandidates: number;
}

export function labelCounts(q: LabelledQueries): LabelCounts {
  const nq = q.offsets.length - 1;
  let labelled = 0;
  let rel = 0;
  for (let i = 0; i < nq; i++) {
    let r = 0;
    for (let j = q.offsets[i]!; j < q.offsets[i + 1]!; j++) if (q.relevant[j] === 1) r++;
    rel += r;
    if (r > 0) labelled++;
  }
  return { queries: nq, labelled, withoutRelevant: nq - labelled, relevantCandidates: rel };
}

export type RecallFit =
  | {
      readonly kind: "fitted";
      /** "rank": the conformal rank rule (any/all relevant); "risk": conformal risk control (candidates). */
      readonly rule: "rank" | "risk";
      readonly threshold: number;
      /** The rank (any/all), or the budget index (candidates: the number of pooled relevant scores below t, plus 1). */
      readonly k: number;
      /** Labelled queries used (with a relevant candidate). */
      readonly n: number;
      /** The guaranteed coverage: 1 - k/(n+1) for any/all (>= r), r for candidates. */
      readonly coverageBound: number;
      /**
       * Its upper companion: bound + 1/(n+1) (any/all, continuous scores), r + 2/(n+1) (candidates); for a rank rule
       * with ties at t, the upper end of the tie-aware 95 % interval when that is higher. At most 1.
       */
      readonly coverageUpper: number;
      /** (n+1) times the miss level the rule used: k (any/all), sum L_i(t) + 1 (candidates); for the Beta interval. */
      readonly missMass: number;
      /**
       * What the threshold really misses in the calibration: #{s_i < t} (any/all), sum L_i(t) (candidates). Without
       * ties at t it is missMass - 1; with ties it is smaller, and the gate covers more than its bound.
       */
      readonly below: number;
      /** Calibration values equal to t: per-query statistics (any/all) or pooled relevant scores (candidates). */
      readonly ties: number;
      /**
       * Tie-aware centre of the coverage the gate achieves: coverageBound without ties (k/(n+1) missed, exact for
       * continuous scores), 1 - below/n with them for the rank rules (the miss is G(t-), estimated by its share below
       * t); r for candidates.
       */
      readonly expectedCoverage: number;
    }
  | { readonly kind: "too_few_queries"; readonly n: number; readonly minimumQueries: number };

/** Fits the recall gate for target coverage r in (0, 1). */
export function fitRecallGate(q: LabelledQueries, r: number, notion: CoverageNotion): RecallFit {
  if (!(r > 0 && r < 1)) throw new RangeError(`fitRecallGate: target ${r} outside (0, 1)`);
  const alpha = 1 - r;
  if (notion !== "candidates") return fitRankRule(perQueryRelevantScores(q, notion === "any_relevant" ? "max" : "min"), alpha);
  // Pooled relevant scores, each weighted 1/m_i (m_i relevant candidates in its query): S(t) = sum of weights below t.
  const pooled: { s: number; w: number }[] = [];
  const nq = q.offsets.length - 1;
  let n = 0;
  for (let i = 0; i < nq; i++) {
    let m = 0;
    for (let j = q.offsets[i]!; j < q.offsets[i + 1]!; j++) if (q.relevant[j] === 1) m++;
    if (m === 0) continue;
    n++;
    for (let j = q.offsets[i]!; j < q.offsets[i + 1]!; j++) if (q.relevant[j] === 1) pooled.push({ s: q.scores[j]!, w: 1 / m });
  }
  const budget = (n + 1) * alpha - 1;
  // Same snap as recallRank: (n+1) alpha a hair below an integer is that integer.
  const slack = 4 * Number.EPSILON * Math.max(1, n + 1) + (n + 1) * Number.EPSILON + 1e-12 * pooled.length;
  if (budget < -slack || recallRank(n, alpha) < 1) return { kind: "too_few_queries", n, minimumQueries: minimumQueriesFor(alpha) };
  pooled.sort((a, b) => a.s - b.s);
  let cum = 0;
  let threshold = pooled[0]!.s;
  let below = 0;
  let at = 0;
  for (let i = 0; i < pooled.length; ) {
    const v = pooled[i]!.s;
    if (cum > budget + slack) break;
    threshold = v;
    below = cum;
    at = i;
    while (i < pooled.length && pooled[i]!.s === v) cum += pooled[i++]!.w;
  }
  let ties = 0;
  for (let i = at; i < pooled.length && pooled[i]!.s === threshold; i++) ties++;
  return {
    kind: "fitted",
    rule: "risk",
    threshold,
    k: at + 1,
    n,
    coverageBound: r,
    expectedCoverage: r,
    coverageUpper: Math.min(1, r + 2 / (n + 1)),
    missMass: below + 1,
    below,
    ties,
  };
}

/**
 * The conformal rank rule on ascending per-query statistics `s` (one per exchangeable query) at miss level alpha:
 * t = s_(k), k = floor((n+1) alpha); a fresh statistic falls below t with probability k/(n+1) <= alpha (continuous),
 * tie-aware as below. Shared by the recall notions any/all relevant and by abstention (abstention.ts).
 */
export function fitRankRule(s: Float64Array, alpha: number): RecallFit {
  const n = s.length;
  const k = recallRank(n, alpha);
  if (k < 1) return { kind: "too_few_queries", n, minimumQueries: minimumQueriesFor(alpha) };
  const bound = 1 - k / (n + 1);
  const t = s[k - 1]!;
  const below = countBelow(s, t);
  const ties = countAtOrBelow(s, t) - below;
  return { kind: "fitted", rule: "rank", threshold: t, k, n, coverageBound: bound, ...tieAware(n, k, below, ties), missMass: k, below, ties };
}

/**
 * Centre and upper companion of a rank rule's achieved coverage. Without ties (ties <= 1): the bound 1 - k/(n+1) and
 * bound + 1/(n+1). With ties at t the gate misses G(t-) (tied relevant scores are kept), centred at below/n; the rank
 * gives no exact companion then, so the upper one is the 97.5 % upper end of the tie-aware interval (coverageInterval).
 */
function tieAware(n: number, k: number, below: number, ties: number): { expectedCoverage: number; coverageUpper: number } {
  const bound = 1 - k / (n + 1);
  if (ties <= 1) return { expectedCoverage: bound, coverageUpper: Math.min(1, bound + 1 / (n + 1)) };
  const missLo = marginOf(dropRateLaw(n, k, below, ties), 0.025)[0];
  return { expectedCoverage: 1 - below / n, coverageUpper: Math.max(Math.min(1, bound + 1 / (n + 1)), 1 - missLo) };
}

/**
 * The covered share of one query at threshold t: 1 or 0 ("any_relevant": a relevant score >= t; "all_relevant":
 * every relevant score >= t), or the share of its relevant candidates kept ("candidates"). null without a relevant
 * candidate. `threshold` null keeps everything.
 */
export function queryCoverage(
  scores: ArrayLike<number>,
  relevant: ArrayLike<number>,
  from: number,
  to: number,
  threshold: number | null,
  notion: CoverageNotion,
): number | null {
  let m = 0;
  let kept = 0;
  for (let j = from; j < to; j++) {
    if (relevant[j] !== 1) continue;
    m++;
    if (threshold === null || scores[j]! >= threshold) kept++;
  }
  if (m === 0) return null;
  if (notion === "any_relevant") return kept > 0 ? 1 : 0;
  if (notion === "all_relevant") return kept === m ? 1 : 0;
  return kept / m;
}

/**
 * Mean coverage over the queries with a relevant candidate at threshold t (in sample); null when there are none.
 * `keepsNothing[i]` marks queries that hand over no candidate whatever the threshold (they abstain): they count as
 * covering nothing.
 */
export function coverageAt(
  q: LabelledQueries,
  threshold: number | null,
  notion: CoverageNotion,
  keepsNothing: ArrayLike<boolean> | null = null,
): number | null {
  let sum = 0;
  let n = 0;
  const nq = q.offsets.length - 1;
  for (let i = 0; i < nq; i++) {
    const c = queryCoverage(q.scores, q.relevant, q.offsets[i]!, q.offsets[i + 1]!, threshold, notion);
    if (c === null) continue;
    if (keepsNothing?.[i] !== true) sum += c;
    n++;
  }
  return n === 0 ? null : sum / n;
}

/**
 * The law of the miss rate a fitted gate achieves on fresh queries (conditional on the calibration), in the form of
 * calibration-margin.ts. Rank rules: the miss of x_(k) is the drop rate of a gate at rank k on the per-query statistics,
 * Beta(k, n + 1 - k) without ties (Vovk 2012) and tie-aware with them (dropRateLaw: tied relevant scores are kept, so
 * the gate misses G(t-)). "candidates": Beta(M, n + 1 - M) with the rule's miss mass M, an approximation with queries
 * as units (ties are not modelled there).
 */
export function missLaw(
  fit: Pick<Extract<RecallFit, { kind: "fitted" }>, "n" | "k" | "missMass" | "below" | "ties"> & {
    readonly rule: "rank" | "risk";
    /** A guarded fit whose min_keep alone gave the guarantee (guarded-recall.ts): its threshold is not the rule's. */
    readonly guardOnly?: boolean;
  },
): RateLaw {
  // A threshold with `below` of the n statistics strictly under it and none of the others: its miss rate lies between
  // the law of the below-th order statistic and that of the next one, whatever rank the rule itself would have taken
  // (for a guard-only fit the rule's k is the +Infinity fit's, and Beta(k, n + 1 - k) would centre the interval on a
  // miss rate the gate does not have).
  if (fit.guardOnly === true) return { lower: [fit.below, fit.n + 1 - fit.below], upper: [fit.below + 1, fit.n - fit.below] };
  if (fit.rule === "rank") return dropRateLaw(fit.n, fit.k, fit.below, fit.ties);
  return { lower: [fit.missMass, fit.n + 1 - fit.missMass], upper: [fit.missMass, fit.n + 1 - fit.missMass] };
}

/**
 * Equal-tailed interval of the coverage a fitted gate achieves on fresh queries: one minus the miss law's margin
 * (calibration-margin.ts marginOf), tie-aware for the rank rules.
 */
export function coverageInterval(fit: Parameters<typeof missLaw>[0], level = 0.95): [number, number] {
  const [lo, hi] = marginOf(missLaw(fit), (1 - level) / 2);
  return [1 - hi, 1 - lo];
}

/**
 * Share of all relevant calibration candidates kept at t (pooled over queries): what "candidates" coverage, a
 * per-query average, does not say when broad queries have many lower-scoring relevant candidates. null without a
 * relevant candidate; `threshold` null keeps everything.
 */
export function pooledRelevantKept(q: LabelledQueries, threshold: number | null): number | null {
  let relevant = 0;
  let kept = 0;
  for (let j = 0; j < q.scores.length; j++) {
    if (q.relevant[j] !== 1) continue;
    relevant++;
    if (threshold === null || q.scores[j]! >= threshold) kept++;
  }
  return relevant === 0 ? null : kept / relevant;
}
