/**
 * Certified abstention: a query-level threshold `abstainBelow` on a query's top score. A query abstains (keeps
 * nothing: "no good answer in the corpus") iff its top score is strictly below it; queries are the exchangeable unit.
 * docs/methods.md, "Guards and abstention".
 *
 * With labels (a query is answerable iff it has a relevant candidate, or by an explicit flag): the false-abstention
 * rate on answerable queries is P(top < a | answerable). Split conformal on the n answerable queries' top scores
 * (Angelopoulos & Bates 2021): a = the k-th smallest, k = floor((n+1) alpha), so a fresh answerable query abstains with
 * probability k/(n+1) <= alpha for continuous scores (fitRankRule in recall-gate.ts: the same rank rule as a recall
 * gate's, tie-aware the same way: tied top scores are not below a, so ties only lower the false abstention). k = 0
 * (n < 1/alpha - 1) is refused with the number needed. The catch rate, the share of unanswerable queries that abstain,
 * is estimated on the unanswerable calibration queries, which take no part in fitting a: given a their count is
 * binomial, so its Clopper-Pearson interval is exact. The guarantee is marginal over answerable queries exchangeable
 * with the calibration's; the catch rate depends on which unanswerable queries production sends.
 *
 * Without labels: a target abstention rate p over all queries is the drop-rate gate on the Q top scores (gate-fit.ts):
 * a = the k-th smallest, k = ceil((Q+1) p), expected rate k/(Q+1) in [p, p + 1/(Q+1)), and its exact law Beta(k,
 * Q+1-k) (tie-aware with ties at a: calibration-margin.ts). Carrying it across an upgrade: p = the reference's share
 * of queries below its own abstainBelow, then the same fit on the new top scores (sd sqrt(p(1-p)(1/Q_ref + 1/Q))).
 *
 * Preconditions: finite scores, queries flat as in per-query.ts with at least one candidate each. Cost O(Q log Q)
 * after one pass over the candidates. Pure.
 */
import { clopperPearsonInterval } from "./binomial-bound";
import { dropRateLaw, marginOf } from "./calibration-margin";
import { fitGate } from "./gate-fit";
import { countBelow } from "./order-statistics";
import { fitRankRule, missLaw } from "./recall-gate";
import { tieAwareDropRate } from "./tie-aware";

/** The top score of each query in query order (RangeError for a query without candidates). O(total candidates). */
export function topScores(scores: Float64Array, offsets: Uint32Array): Float64Array {
  const q = offsets.length - 1;
  const out = new Float64Array(q);
  for (let i = 0; i < q; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    if (end <= start) throw new RangeError(`topScores: query ${i} has no candidate`);
    let top = scores[start]!;
    for (let j = start + 1; j < end; j++) if (scores[j]! > top) top = scores[j]!;
    out[i] = top;
  }
  return out;
}

/** The top scores split by answerability (ascending), `answerable[i]` 1 or 0 per query. */
export function splitTops(tops: Float64Array, answerable: Uint8Array): { answerable: Float64Array; unanswerable: Float64Array } {
  if (answerable.length !== tops.length) throw new RangeError("splitTops: one answerability flag per query");
  const a: number[] = [];
  const u: number[] = [];
  for (const [i, t] of tops.entries()) (answerable[i] === 1 ? a : u).push(t);
  return { answerable: Float64Array.from(a).sort(), unanswerable: Float64Array.from(u).sort() };
}

export type FalseAbstentionFit =
  | {
      readonly kind: "fitted";
      readonly abstainBelow: number;
      readonly k: number;
      /** Answerable queries the rule used. */
      readonly n: number;
      /** The guarantee: a fresh answerable query abstains with probability at most k/(n+1) <= alpha. */
      readonly falseAbstentionBound: number;
      /** Where it is centred: the bound without ties at a, below/n with them. */
      readonly expectedFalseAbstention: number;
      /** Answerable top scores strictly below a, and those equal to it. */
      readonly below: number;
      readonly ties: number;
      /** 95 % interval of the false-abstention rate this fitted threshold achieves (exact law, tie-aware). */
      readonly interval95: [number, number];
    }
  | { readonly kind: "too_few_answerable"; readonly n: number; readonly minimumQueries: number };

/** Fits abstainBelow for false abstention at most alpha in (0, 1) on ascending answerable top scores. */
export function fitFalseAbstention(answerableTops: Float64Array, alpha: number): FalseAbstentionFit {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`fitFalseAbstention: alpha=${alpha}`);
  const fit = fitRankRule(answerableTops, alpha);
  if (fit.kind === "too_few_queries") return { kind: "too_few_answerable", n: fit.n, minimumQueries: fit.minimumQueries };
  const [lo, hi] = marginOf(missLaw(fit), 0.025);
  return {
    kind: "fitted",
    abstainBelow: fit.threshold,
    k: fit.k,
    n: fit.n,
    falseAbstentionBound: 1 - fit.coverageBound,
    expectedFalseAbstention: 1 - fit.expectedCoverage,
    below: fit.below,
    ties: fit.ties,
    interval95: [lo, hi],
  };
}

export interface CatchRate {
  /** Unanswerable queries, and those whose top score is below abstainBelow. */
  readonly queries: number;
  readonly caught: number;
  /** caught / queries, with its exact 95 % interval; null without unanswerable queries. */
  readonly rate: number | null;
  readonly interval95: [number, number] | null;
}

/** The share of unanswerable queries (ascending top scores) that abstain at `abstainBelow`. */
export function catchRate(unanswerableTops: Float64Array, abstainBelow: number | null): CatchRate {
  const queries = unanswerableTops.length;
  const caught = abstainBelow === null ? 0 : countBelow(unanswerableTops, abstainBelow);
  if (queries === 0) return { queries, caught, rate: null, interval95: null };
  return { queries, caught, rate: caught / queries, interval95: clopperPearsonInterval(caught, queries) };
}

/** Alphas of the false-abstention table (the policy's own is added): what a stricter promise costs in catches. */
export const ABSTENTION_TRADEOFF_ALPHAS: readonly number[] = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3];

export interface AbstentionTradeoffRow {
  readonly alpha: number;
  /** null: too few answerable queries for this alpha. */
  readonly abstainBelow: number | null;
  readonly falseAbstentionBound: number | null;
  readonly catchRate: number | null;
  readonly catchInterval95: [number, number] | null;
  /** Share of all calibration queries (answerable or not) that abstain. */
  readonly abstentionRate: number | null;
}

/** One row per alpha (ascending, the extra ones merged in): threshold, bound, catch rate and overall rate. */
export function abstentionTradeoff(
  tops: { readonly answerable: Float64Array; readonly unanswerable: Float64Array },
  extraAlphas: readonly number[] = [],
): AbstentionTradeoffRow[] {
  const alphas = [...new Set([...ABSTENTION_TRADEOFF_ALPHAS, ...extraAlphas])].sort((a, b) => a - b);
  const total = tops.answerable.length + tops.unanswerable.length;
  return alphas.map((alpha) => {
    const fit = fitFalseAbstention(tops.answerable, alpha);
    if (fit.kind !== "fitted") {
      return { alpha, abstainBelow: null, falseAbstentionBound: null, catchRate: null, catchInterval95: null, abstentionRate: null };
    }
    const c = catchRate(tops.unanswerable, fit.abstainBelow);
    return {
      alpha,
      abstainBelow: fit.abstainBelow,
      falseAbstentionBound: fit.falseAbstentionBound,
      catchRate: c.rate,
      catchInterval95: c.interval95,
      abstentionRate: (fit.below + c.caught) / total,
    };
  });
}

export type AbstentionRateFit =
  | {
      readonly kind: "fitted";
      /** null when p = 0 (k = 0): never abstain. */
      readonly abstainBelow: number | null;
      readonly k: number;
      /** Queries (top scores) the rate is fitted on. */
      readonly n: number;
      /** k/(n+1) without a tie at abstainBelow, the share strictly below it with one. */
      readonly expectedRate: number;
      readonly below: number;
      readonly ties: number;
      /** 95 % interval of the abstention rate this threshold achieves on fresh queries (exact, tie-aware). */
      readonly interval95: [number, number];
    }
  | { readonly kind: "too_few_queries"; readonly n: number; readonly minimumQueries: number }
  | { readonly kind: "unreachable"; readonly n: number; readonly tiesAtMinimum: number };

/**
 * Fits abstainBelow for abstention rate p in [0, 1) on ascending top scores: the drop-rate gate over queries.
 * "unreachable" when the lowest top scores tie at a target above 0 (nothing would abstain).
 */
export function fitAbstentionRate(tops: Float64Array, p: number): AbstentionRateFit {
  const fit = fitGate(tops, p);
  if (fit.kind === "too_few_scores") return { kind: "too_few_queries", n: fit.n, minimumQueries: fit.minimumN };
  const n = fit.n;
  if (fit.threshold === null) return { kind: "fitted", abstainBelow: null, k: 0, n, expectedRate: 0, below: 0, ties: 0, interval95: [0, 0] };
  const tie = tieAwareDropRate(tops, fit.k);
  if (tie.ties >= 2 && tie.below === 0) return { kind: "unreachable", n, tiesAtMinimum: tie.ties };
  return {
    kind: "fitted",
    abstainBelow: fit.threshold,
    k: fit.k,
    n,
    expectedRate: tie.expectedDropRate,
    below: tie.below,
    ties: tie.ties,
    interval95: marginOf(dropRateLaw(n, fit.k, tie.below, tie.ties), 0.025),
  };
}

/** sd of a carried abstention rate p from the reference's and the new calibration's query counts. */
export function carriedRateSd(p: number, referenceQueries: number, queries: number): number {
  if (!(p >= 0 && p <= 1) || !(referenceQueries >= 1) || !(queries >= 1)) {
    throw new RangeError(`carriedRateSd: p=${p}, Q_ref=${referenceQueries}, Q=${queries}`);
  }
  return Math.sqrt(p * (1 - p) * (1 / referenceQueries + 1 / queries));
}
