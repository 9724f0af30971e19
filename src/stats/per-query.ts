/**
 * Per-query statistics of a gate. Queries, not candidates, are the sampling unit: the candidates of one query are
 * scored against the same question and move together (docs/drift.md, "What is tested").
 *
 * Queries are given flat: `scores` holds each query's scores contiguously, `offsets` has Q+1 entries and query
 * q spans [offsets[q], offsets[q+1]).
 */
import { EMPTY_CONTEXT_STRATA, stratumOf } from "./empty-context";
import { bindingGuard, type Guards, guardedKept, NO_GUARDS } from "./guarded-gate";
import { satterthwaiteDf } from "./satterthwaite";

/** Lays queries out flat: their scores one after the other, and the Q+1 offsets where each starts. O(total scores). */
export function flattenQueries(queries: readonly ArrayLike<number>[]): { scores: Float64Array; offsets: Uint32Array } {
  let total = 0;
  for (const q of queries) total += q.length;
  const scores = new Float64Array(total);
  const offsets = new Uint32Array(queries.length + 1);
  let o = 0;
  queries.forEach((q, i) => {
    scores.set(q, o);
    o += q.length;
    offsets[i + 1] = o;
  });
  return { scores, offsets };
}

/**
 * The fewest queries whose clustering can be measured: a design effect compares the queries' drop rates with each
 * other, so one query gives 1 by construction, as if its candidates were independent. An upload of fewer is read as a
 * flat one (its intervals, its warning and the rebuild decision's borrowed or assumed design effect).
 */
export const MIN_CLUSTER_QUERIES = 2;

export interface PerQueryStats {
  readonly queries: number;
  /** Mean number of candidates kept per query (score >= threshold). */
  readonly meanKept: number;
  /** Mean number of candidates per query. */
  readonly meanCandidates: number;
  /** Share of queries left with no candidate at all: the empty-context rate. */
  readonly emptyContextRate: number;
  /** Kish design effect of the drop indicator at this threshold (see `designEffect`). */
  readonly designEffect: number;
  /** Satterthwaite degrees of freedom of that estimate (satterthwaite.ts); Infinity with fewer than 2 queries. */
  readonly degreesOfFreedom: number;
  /** Share of queries where min_keep keeps candidates below the threshold, and where max_keep drops some above it. */
  readonly minKeepBindingRate: number;
  readonly maxKeepBindingRate: number;
}

/**
 * Counts per query at `threshold` (null keeps everything) for the gate with `guards` (guarded-gate.ts; none by
 * default): the design effect is that of the guarded drops, queries as units. O(total candidates).
 */
export function perQueryStats(scores: Float64Array, offsets: Uint32Array, threshold: number | null, guards: Guards = NO_GUARDS): PerQueryStats {
  const q = offsets.length - 1;
  if (q < 1) throw new RangeError("perQueryStats: no queries");
  const sums = emptyClusterSums();
  let kept = 0;
  let empty = 0;
  const sizes: number[] = [];
  const drops: number[] = [];
  let minBinding = 0;
  let maxBinding = 0;
  for (let i = 0; i < q; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    let below = 0;
    if (threshold !== null) for (let j = start; j < end; j++) if (scores[j]! < threshold) below++;
    const m = end - start;
    const binding = bindingGuard(m, m - below, guards);
    if (binding === "min_keep") minBinding++;
    else if (binding === "max_keep") maxBinding++;
    const dropped = m - guardedKept(m, m - below, guards);
    kept += m - dropped;
    if (m > 0 && dropped === m) empty++;
    addCluster(sums, m, dropped);
    if (m > 0) {
      sizes.push(m);
      drops.push(dropped);
    }
  }
  return {
    queries: q,
    meanKept: kept / q,
    meanCandidates: sums.candidates / q,
    emptyContextRate: empty / q,
    designEffect: designEffect(sums),
    degreesOfFreedom: satterthwaiteDf(sizes, drops),
    minKeepBindingRate: minBinding / q,
    maxKeepBindingRate: maxBinding / q,
  };
}

/** Running sums over queries that the design effect needs; they merge by addition. */
export interface ClusterSums {
  queries: number;
  /** C = sum m_q */
  candidates: number;
  /** sum D_q */
  dropped: number;
  /** sum D_q^2 */
  droppedSq: number;
  /** sum D_q m_q */
  droppedTimesSize: number;
  /** sum m_q^2 */
  sizeSq: number;
  /**
   * queries with m_q > 0 and D_q = m_q: left empty by the threshold. With a level L (addCluster), queries the threshold
   * leaves with fewer than min(L, m_q) candidates: for a gate with min_keep >= 1, those where the guard binds.
   */
  empty: number;
  /**
   * Queries and empty queries per candidate-count stratum (empty-context.ts EMPTY_CONTEXT_STRATA). Absent in sums
   * stored before strata were kept; they start when the next query is added, and the queries counted before them are
   * the difference between `queries` and the strata's total.
   */
  stratumQueries?: number[];
  stratumEmpty?: number[];
  /**
   * Queries that said whether they abstained (clients that apply abstention), and those that did. Absent in sums
   * stored before abstention was watched: read as 0.
   */
  abstentionQueries?: number;
  abstained?: number;
  /**
   * The same per drop-rate stratum (DROP_RATE_STRATA), for the abstention test conditioned on query sizes (a query's
   * top score rises with its candidate count). Absent in sums stored before they were kept and in sums no query
   * reported abstention to: they start with the next query that does, and the queries counted before them are the
   * difference between `abstentionQueries` and their total.
   */
  stratumAbstentionQueries?: number[];
  stratumAbstained?: number[];
  /**
   * Per drop-rate stratum (DROP_RATE_STRATA): the candidates a threshold decides (ranks in (min_keep, max_keep]) and
   * those of them dropped, for a guarded gate's drop-rate test conditioned on query sizes. The rest of a query's drops,
   * max(0, m - max_keep), follow from its size. Absent in sums stored before they were kept: counted from the next
   * query on.
   */
  stratumEligible?: number[];
  stratumEligibleDropped?: number[];
  /**
   * Counted with a max_keep guard only: the candidates the cap drops whatever the threshold, sum max(0, m - max_keep),
   * from each query's size (what a client that applies the guard must drop). Absent without a cap, and in sums stored
   * before it was kept.
   */
  capped?: number;
}

/**
 * One production query as an observation reports it: candidates, dropped by the (guarded) gate, and from a client that
 * applies guards or abstention the scored candidates below the threshold and 1 when the query abstained (0 if not).
 * A fifth element counts the candidates passed without a score; the others then count scored candidates only, and the
 * sums here never read it (a query of unscored candidates only has 0 candidates and is skipped: addCluster).
 */
export type QueryObservation = readonly [candidates: number, dropped: number, below?: number, abstained?: number, unscored?: number];

export function emptyClusterSums(): ClusterSums {
  const zeros = () => EMPTY_CONTEXT_STRATA.map(() => 0);
  return {
    queries: 0,
    candidates: 0,
    dropped: 0,
    droppedSq: 0,
    droppedTimesSize: 0,
    sizeSq: 0,
    empty: 0,
    stratumQueries: zeros(),
    stratumEmpty: zeros(),
    stratumEligible: DROP_RATE_STRATA.map(() => 0),
    stratumEligibleDropped: DROP_RATE_STRATA.map(() => 0),
  };
}

/** A copy that shares no array with `s` (addCluster mutates its argument). */
export function cloneSums(s: Readonly<ClusterSums>): ClusterSums {
  return {
    ...s,
    ...(s.stratumQueries ? { stratumQueries: [...s.stratumQueries] } : {}),
    ...(s.stratumEmpty ? { stratumEmpty: [...s.stratumEmpty] } : {}),
    ...(s.stratumEligible ? { stratumEligible: [...s.stratumEligible] } : {}),
    ...(s.stratumEligibleDropped ? { stratumEligibleDropped: [...s.stratumEligibleDropped] } : {}),
    ...(s.stratumAbstentionQueries ? { stratumAbstentionQueries: [...s.stratumAbstentionQueries] } : {}),
    ...(s.stratumAbstained ? { stratumAbstained: [...s.stratumAbstained] } : {}),
  };
}

/** What an observed query says beyond its counts (addCluster). */
export interface QueryExtras {
  /**
   * The gate's min_keep (at least 1): the query counts as `empty` when the threshold leaves fewer than min(level, m)
   * of its candidates (level 1: none; above, where a min_keep guard binds).
   */
  readonly level?: number;
  /** Scored candidates below the threshold (what the threshold alone drops); absent: `d` (a gate without guards). */
  readonly below?: number;
  /** Whether the query abstained; absent or null: the query did not say. */
  readonly abstained?: boolean | null;
  /** The gate's guards, for the drop-rate strata's eligible candidates (none by default). */
  readonly guards?: Guards;
}

/**
 * Adds one query with m candidates of which d were dropped (mutates `sums`: it is an accumulator). The query counts as
 * `empty` when the threshold leaves fewer than min(level, m) candidates (`below` of them dropped by it; level 1: all).
 * `abstained` (true/false) counts it in the abstention sums. A query with no candidates says nothing about the gate
 * and is skipped. Throws RangeError unless 0 <= d, below <= m are whole numbers and level >= 1.
 */
export function addCluster(sums: ClusterSums, m: number, d: number, extras: QueryExtras = {}): void {
  const level = extras.level ?? 1;
  const below = extras.below ?? d;
  if (!(Number.isInteger(m) && Number.isInteger(d) && d >= 0 && d <= m)) throw new RangeError(`addCluster: m=${m}, d=${d}`);
  if (!(Number.isInteger(below) && below >= 0 && below <= m)) throw new RangeError(`addCluster: m=${m}, below=${below}`);
  if (!(Number.isInteger(level) && level >= 1)) throw new RangeError(`addCluster: level=${level}`);
  if (m === 0) return;
  const abstained = extras.abstained ?? null;
  if (abstained !== null) {
    sums.abstentionQueries = (sums.abstentionQueries ?? 0) + 1;
    if (abstained) sums.abstained = (sums.abstained ?? 0) + 1;
    if (sums.stratumAbstentionQueries === undefined || sums.stratumAbstained === undefined) {
      // Kept only once a query reports abstention: gates that do not abstain store no empty arrays.
      sums.stratumAbstentionQueries = DROP_RATE_STRATA.map(() => 0);
      sums.stratumAbstained = DROP_RATE_STRATA.map(() => 0);
    }
    const g = dropStratumOf(m);
    sums.stratumAbstentionQueries[g]! += 1;
    if (abstained) sums.stratumAbstained[g]! += 1;
  }
  sums.queries += 1;
  sums.candidates += m;
  sums.dropped += d;
  sums.droppedSq += d * d;
  sums.droppedTimesSize += d * m;
  sums.sizeSq += m * m;
  const empty = m - below < Math.min(level, m);
  if (empty) sums.empty += 1;
  if (sums.stratumQueries === undefined || sums.stratumEmpty === undefined) {
    sums.stratumQueries = EMPTY_CONTEXT_STRATA.map(() => 0);
    sums.stratumEmpty = EMPTY_CONTEXT_STRATA.map(() => 0);
  }
  const b = stratumOf(m);
  sums.stratumQueries[b]! += 1;
  if (empty) sums.stratumEmpty[b]! += 1;
  if (sums.stratumEligible === undefined || sums.stratumEligibleDropped === undefined) {
    // Sums stored before these were kept: start counting now (their drop-rate strata see only later queries).
    sums.stratumEligible = DROP_RATE_STRATA.map(() => 0);
    sums.stratumEligibleDropped = DROP_RATE_STRATA.map(() => 0);
  }
  const guards = extras.guards ?? NO_GUARDS;
  if (guards.maxKeep !== null) sums.capped = (sums.capped ?? 0) + Math.max(0, m - guards.maxKeep);
  const e = eligibleSplit(m, d, guards);
  const g = dropStratumOf(m);
  sums.stratumEligible[g]! += e.eligible;
  sums.stratumEligibleDropped[g]! += e.dropped;
}

/**
 * Lower ends of the drop-rate strata of a guarded gate: 1 to 5 one by one, then each the last times 1.25, rounded up, below
 * MAX_CANDIDATES_PER_QUERY (37 strata). Fine, because under guards a query's drop share among the candidates a
 * threshold decides depends on its size: min_keep takes its top ranks, and a max_keep cap leaves the threshold only
 * ranks (min_keep, max_keep], the upper part of a long query (in simulation, [100, 199] as one stratum alarmed on every
 * seed when production sent only queries of 150 to 200 candidates with a cap of 120). The abstention test uses the same
 * strata: a query's top score is the largest of its m scores and rises with every candidate it brings, so the coarser
 * empty-context strata (6-9 as one) would mix sizes whose abstention rates differ by a factor of about two.
 */
export const DROP_RATE_STRATA: readonly number[] = [
  1, 2, 3, 4, 5, 7, 9, 12, 15, 19, 24, 30, 38, 48, 60, 75, 94, 118, 148, 185, 232, 290, 363, 454, 568, 710, 888, 1110, 1388, 1735, 2169, 2712, 3390,
  4238, 5298, 6623, 8279,
];

/** The drop-rate stratum of a query with m >= 1 candidates. */
export function dropStratumOf(m: number): number {
  let b = 0;
  while (b + 1 < DROP_RATE_STRATA.length && m >= DROP_RATE_STRATA[b + 1]!) b++;
  return b;
}

/**
 * A guarded query's candidates a threshold decides (ranks in (m0, M]: min(m, M) - min(m0, m)) and those of them
 * dropped: d less the max(0, m - M) the cap drops whatever the threshold (clamped for a client that did not apply it).
 */
export function eligibleSplit(m: number, d: number, g: Guards): { eligible: number; dropped: number } {
  const eligible = Math.min(m, g.maxKeep ?? m) - Math.min(g.minKeep, m);
  return { eligible, dropped: Math.min(eligible, Math.max(0, d - Math.max(0, m - (g.maxKeep ?? m)))) };
}

/** Adds an observed query ([m, d] or [m, d, below, abstained]) of a gate with `guards` (its min_keep is the empty-context level). */
export function addObservation(sums: ClusterSums, q: QueryObservation, guards: Guards = NO_GUARDS): void {
  const [m, d, below, abstained] = q;
  addCluster(sums, m, d, {
    level: Math.max(1, guards.minKeep),
    guards,
    ...(below !== undefined ? { below } : {}),
    abstained: abstained === undefined ? null : abstained === 1,
  });
}

/**
 * Kish design effect of a ratio estimator of the drop rate from cluster (query) totals (Kish 1965):
 *   deff = [Q/(Q-1) * (sum D^2 - 2 p sum D m + p^2 sum m^2)] / [C p (1-p)],  p = sum D / C,
 * the variance of p under cluster sampling over its binomial variance. Floored at 1 (never inflate evidence), and 1
 * when it is undefined (Q < 2, p in {0, 1}).
 */
export function designEffect(s: Readonly<ClusterSums>): number {
  if (s.queries < 2 || s.candidates === 0) return 1;
  const p = s.dropped / s.candidates;
  if (p <= 0 || p >= 1) return 1;
  const between = (s.queries / (s.queries - 1)) * (s.droppedSq - 2 * p * s.droppedTimesSize + p * p * s.sizeSq);
  const deff = between / (s.candidates * p * (1 - p));
  return Number.isFinite(deff) ? Math.max(1, deff) : 1;
}
