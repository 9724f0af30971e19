/**
 * Recall gates with per-query guards keep their exact split-conformal guarantee (recall-gate.ts; Angelopoulos &
 * Bates, "A gentle introduction to conformal prediction", 2021; conformal risk control, Angelopoulos et al., ICLR 2024).
 * docs/methods.md, "Guards and abstention".
 *
 * A guarded gate keeps a candidate of rank r (by score, highest first; equal scores in input order, guard-rule.ts)
 * iff r <= M and (r <= m0 or score >= t). So a candidate is kept at t iff its effective score is >= t, where the
 * effective score is +Infinity for r <= m0 (kept at every t), -Infinity for r > M (never kept) and the score
 * otherwise. Coverage events stay monotone in t, and the per-query statistic of each notion (maximum or minimum
 * relevant effective score; pooled relevant effective scores for candidates) is exchangeable across queries like the
 * bare one, because the ranks are computed within each query. The rank rule (k = floor((n+1) alpha)) and risk control
 * therefore apply unchanged to the effective scores and keep their finite-sample guarantee, with two edges:
 *
 * - a threshold of -Infinity: the cap loses the relevant candidates of too many queries for any threshold to certify
 *   the target (`unreachable`, with the highest target the guards allow). A lost query is missed even at -Infinity, so
 *   the guarantee is joint: P(fitted and a fresh query missed) <= k/(n+1). Conditioned on fitting it falls short of
 *   the target near this edge (docs/methods.md, "Recall with guards"; test/stats/guarded-recall.test.ts measures it);
 * - a threshold of +Infinity: min_keep alone gives the guarantee. Any finite threshold keeps at least as much, so the
 *   gate takes the highest eligible calibration score (it then keeps the top m0 of each query and little more); its
 *   coverage is at least the bound and its in-sample centre is the plug-in 1 - below/n.
 *
 * With min_keep the per-query statistics can only rise, so the threshold for the same guarantee is at least the bare
 * one (the gate drops more); with max_keep they can only fall. Cost O(C log C) for C candidates. Pure.
 */
import { checkGuards, type Guards } from "./guarded-gate";
import { countAtOrBelow, countBelow } from "./order-statistics";
import { type CoverageNotion, fitRecallGate, type LabelledQueries, minimumQueriesFor, perQueryRelevantScores, type RecallFit } from "./recall-gate";

/** The queries with each candidate's score replaced by its effective score under the guards (a new object). */
export function effectiveScores(q: LabelledQueries, g: Guards): LabelledQueries {
  checkGuards(g);
  const scores = Float64Array.from(q.scores);
  const nq = q.offsets.length - 1;
  const cap = g.maxKeep ?? Number.POSITIVE_INFINITY;
  for (let i = 0; i < nq; i++) {
    const start = q.offsets[i]!;
    const end = q.offsets[i + 1]!;
    const order: number[] = [];
    for (let j = start; j < end; j++) order.push(j);
    // Stable: equal scores keep their upload order, as the clients rank them.
    order.sort((a, b) => (q.scores[a]! > q.scores[b]! ? -1 : q.scores[a]! < q.scores[b]! ? 1 : 0));
    order.forEach((j, r) => {
      if (r < g.minKeep) scores[j] = Number.POSITIVE_INFINITY;
      else if (r >= cap) scores[j] = Number.NEGATIVE_INFINITY;
    });
  }
  return { scores, offsets: q.offsets, relevant: q.relevant };
}

export type GuardedRecallFit =
  | (Omit<Extract<RecallFit, { kind: "fitted" }>, "threshold"> & {
      /** null when no calibration candidate is eligible (every candidate is kept or dropped by its rank alone). */
      readonly threshold: number | null;
      /** True when min_keep alone gives the guarantee (the rule's threshold was +Infinity; see the module comment). */
      readonly guardOnly: boolean;
    })
  | Extract<RecallFit, { kind: "too_few_queries" }>
  | {
      readonly kind: "unreachable";
      readonly n: number;
      /** Labelled queries whose relevant candidates the cap loses at every threshold (for the notion). */
      readonly lost: number;
      /** The highest target coverage the guards allow with this many queries (null: none). */
      readonly highestTarget: number | null;
    };

/**
 * Fits the recall gate for target coverage r with guards. When min_keep alone gives the guarantee (the rule's threshold
 * is +Infinity) the gate takes `eligibleMax`, the highest score of a candidate the threshold decides (rank in
 * (m0, M]) over the calibration, or, with none eligible (null: every query at most min_keep long), the calibration's
 * highest score: any finite threshold keeps at least what min_keep alone keeps, so the guarantee holds, and a
 * production candidate past min_keep is kept only when it outscores what the calibration saw. Never null, which
 * clients read as "keep every candidate".
 */
export function fitGuardedRecall(q: LabelledQueries, r: number, notion: CoverageNotion, g: Guards, eligibleMax: number | null): GuardedRecallFit {
  const eff = effectiveScores(q, g);
  const fit = fitRecallGate(eff, r, notion);
  if (fit.kind === "too_few_queries") return fit;
  if (fit.threshold === Number.NEGATIVE_INFINITY) return unreachable(eff, notion, fit.n);
  if (fit.threshold !== Number.POSITIVE_INFINITY) return { ...fit, guardOnly: false };
  const t = eligibleMax ?? highestScore(q.scores);
  return { ...fit, threshold: t, guardOnly: true, ...clampedCounts(eff, notion, t) };
}

/** What a threshold below the rule's own (+Infinity) misses in the calibration: the plug-in centre; the upper companion is 1. */
function clampedCounts(eff: LabelledQueries, notion: CoverageNotion, t: number) {
  if (notion !== "candidates") {
    const s = perQueryRelevantScores(eff, notion === "any_relevant" ? "max" : "min");
    const below = countBelow(s, t);
    return { below, ties: countAtOrBelow(s, t) - below, expectedCoverage: 1 - below / s.length, coverageUpper: 1 };
  }
  let below = 0;
  let ties = 0;
  let n = 0;
  for (let i = 0; i + 1 < eff.offsets.length; i++) {
    let m = 0;
    for (let j = eff.offsets[i]!; j < eff.offsets[i + 1]!; j++) if (eff.relevant[j] === 1) m++;
    if (m === 0) continue;
    n++;
    for (let j = eff.offsets[i]!; j < eff.offsets[i + 1]!; j++) {
      if (eff.relevant[j] !== 1) continue;
      if (eff.scores[j]! < t) below += 1 / m;
      else if (eff.scores[j] === t) ties++;
    }
  }
  return { below, ties, missMass: below + 1, expectedCoverage: 1 - below / n, coverageUpper: 1 };
}

/**
 * Queries the cap loses at every threshold (their statistic is -Infinity), on effective scores: a count of queries for
 * the rank rules, the pooled loss (each query's share of lost relevant candidates) for `candidates`.
 */
export function lostToCap(eff: LabelledQueries, notion: CoverageNotion): number {
  if (notion !== "candidates") {
    const s = perQueryRelevantScores(eff, notion === "any_relevant" ? "max" : "min");
    return countAtOrBelow(s, Number.NEGATIVE_INFINITY);
  }
  let lost = 0;
  for (let i = 0; i + 1 < eff.offsets.length; i++) {
    let m = 0;
    let gone = 0;
    for (let j = eff.offsets[i]!; j < eff.offsets[i + 1]!; j++) {
      if (eff.relevant[j] !== 1) continue;
      m++;
      if (eff.scores[j] === Number.NEGATIVE_INFINITY) gone++;
    }
    if (m > 0) lost += gone / m;
  }
  return lost;
}

function unreachable(eff: LabelledQueries, notion: CoverageNotion, n: number): GuardedRecallFit {
  // Queries whose statistic is -Infinity are missed at every threshold. For the rank rules the target is certifiable
  // iff lost <= k - 1, i.e. floor((n+1)(1 - r)) >= lost + 1; for candidates the pooled loss at -Infinity plays the
  // part of `lost`.
  const lost = lostToCap(eff, notion);
  const highest = 1 - (lost + 1) / (n + 1);
  return { kind: "unreachable", n, lost, highestTarget: highest > 0 && minimumQueriesFor(1 - highest) <= n ? highest : null };
}

/** The largest of the scores (a labelled upload has at least one). */
function highestScore(scores: Float64Array): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const s of scores) if (s > m) m = s;
  return m;
}
