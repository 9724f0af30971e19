/**
 * Per-query statistics of a gate. Queries, not candidates, are the sampling unit: the candidates of one query are
 * scored against the same question and move together (docs/drift.md, "What is tested").
 *
 * Queries are given flat: `sortedByQuery` holds each query's scores contiguously, `offsets` has Q+1 entries and query
 * q spans [offsets[q], offsets[q+1]).
 */
import { EMPTY_CONTEXT_STRATA, stratumOf } from "./empty-context";
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
}

/** Counts per query at `threshold` (null keeps everything). O(total candidates). */
export function perQueryStats(scores: Float64Array, offsets: Uint32Array, threshold: number | null): PerQueryStats {
  const q = offsets.length - 1;
  if (q < 1) throw new RangeError("perQueryStats: no queries");
  const sums = emptyClusterSums();
  let kept = 0;
  let empty = 0;
  const sizes: number[] = [];
  const drops: number[] = [];
  for (let i = 0; i < q; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    let dropped = 0;
    if (threshold !== null) for (let j = start; j < end; j++) if (scores[j]! < threshold) dropped++;
    const m = end - start;
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
  /** queries with m_q > 0 and D_q = m_q */
  empty: number;
  /**
   * Queries and empty queries per candidate-count stratum (empty-context.ts EMPTY_CONTEXT_STRATA). Absent in sums
   * stored before strata were kept; they start when the next query is added, and the queries counted before them are
   * the difference between `queries` and the strata's total.
   */
  stratumQueries?: number[];
  stratumEmpty?: number[];
}

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
  };
}

/** A copy that shares no array with `s` (addCluster mutates its argument). */
export function cloneSums(s: Readonly<ClusterSums>): ClusterSums {
  return {
    ...s,
    ...(s.stratumQueries ? { stratumQueries: [...s.stratumQueries] } : {}),
    ...(s.stratumEmpty ? { stratumEmpty: [...s.stratumEmpty] } : {}),
  };
}

/**
 * Adds one query with m candidates of which d were dropped (mutates `sums`: it is an accumulator). A query with no
 * candidates says nothing about the gate and is skipped. Throws RangeError unless 0 <= d <= m are whole numbers.
 */
export function addCluster(sums: ClusterSums, m: number, d: number): void {
  if (!(Number.isInteger(m) && Number.isInteger(d) && d >= 0 && d <= m)) throw new RangeError(`addCluster: m=${m}, d=${d}`);
  if (m === 0) return;
  sums.queries += 1;
  sums.candidates += m;
  sums.dropped += d;
  sums.droppedSq += d * d;
  sums.droppedTimesSize += d * m;
  sums.sizeSq += m * m;
  const empty = d === m;
  if (empty) sums.empty += 1;
  if (sums.stratumQueries === undefined || sums.stratumEmpty === undefined) {
    sums.stratumQueries = EMPTY_CONTEXT_STRATA.map(() => 0);
    sums.stratumEmpty = EMPTY_CONTEXT_STRATA.map(() => 0);
  }
  const b = stratumOf(m);
  sums.stratumQueries[b]! += 1;
  if (empty) sums.stratumEmpty[b]! += 1;
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
