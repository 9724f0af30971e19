/**
 * Per-query statistics of a gate. Queries, not candidates, are the sampling unit: the candidates of one query are
 * scored against the same question and move together (docs/drift.md, "What is tested").
 *
 * Queries are given flat: `sortedByQuery` holds each query's scores contiguously, `offsets` has Q+1 entries and query
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
   * Candidates and dropped candidates per candidate-count stratum, for a drop-rate expectation conditioned on the
   * queries' sizes (guarded gates). Absent in sums stored before they were kept: they count from the next query on.
   */
  stratumCandidates?: number[];
  stratumDropped?: number[];
}

/**
 * One production query as an observation reports it: candidates, dropped by the (guarded) gate, and from a client that
 * applies guards or abstention the scored candidates below the threshold and 1 when the query abstained (0 if not).
 */
export type QueryObservation = readonly [candidates: number, dropped: number, below?: number, abstained?: number];

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
    stratumCandidates: zeros(),
    stratumDropped: zeros(),
  };
}

/** A copy that shares no array with `s` (addCluster mutates its argument). */
export function cloneSums(s: Readonly<ClusterSums>): ClusterSums {
  return {
    ...s,
    ...(s.stratumQueries ? { stratumQueries: [...s.stratumQueries] } : {}),
    ...(s.stratumEmpty ? { stratumEmpty: [...s.stratumEmpty] } : {}),
    ...(s.stratumCandidates ? { stratumCandidates: [...s.stratumCandidates] } : {}),
    ...(s.stratumDropped ? { stratumDropped: [...s.stratumDropped] } : {}),
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
  if (sums.stratumCandidates === undefined || sums.stratumDropped === undefined) {
    // Sums stored before these were kept: start counting now (their drop-rate strata see only later queries).
    sums.stratumCandidates = EMPTY_CONTEXT_STRATA.map(() => 0);
    sums.stratumDropped = EMPTY_CONTEXT_STRATA.map(() => 0);
  }
  sums.stratumCandidates[b]! += m;
  sums.stratumDropped[b]! += d;
}

/** Adds an observed query ([m, d] or [m, d, below, abstained]) for a gate whose empty-context level is `level`. */
export function addObservation(sums: ClusterSums, q: QueryObservation, level = 1): void {
  const [m, d, below, abstained] = q;
  addCluster(sums, m, d, { level, ...(below !== undefined ? { below } : {}), abstained: abstained === undefined ? null : abstained === 1 });
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
