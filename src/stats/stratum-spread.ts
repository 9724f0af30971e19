/**
 * The spread of production's eligible-dropped share within each drop-rate stratum (DROP_RATE_STRATA): per stratum, the
 * sums over its queries with a decided candidate (ranks in (min_keep, max_keep]) that Kish's design effect of that share
 * needs. Pure.
 *
 * Why per stratum: the pooled design effect (per-query.ts designEffect) is taken over all of a query's drops, and under
 * a cap the drops the cap makes whatever the threshold (the tail past max_keep) add no variance to it, while a capped
 * query's decided candidates, its top ranks, are dropped together or not at all: in a seeded null run (queries of 40,
 * max_keep 10, intra-query correlation 0.3) the pooled value was 1.35 and the stratum's share 3.7
 * (test/stats/stratum-production-design-effect.test.ts). The calibration keeps the same per stratum
 * (calibrations/fit.ts dropRateByCandidates).
 */
import { type Guards, NO_GUARDS } from "./guarded-gate";
import { type ClusterSums, DROP_RATE_STRATA, designEffect, dropStratumOf, eligibleSplit, type QueryObservation } from "./per-query";

/** Per drop-rate stratum, over its queries with a decided candidate: Q, sum E_q, sum D_q, sum E_q^2, sum D_q^2, sum D_q E_q. */
export interface StratumSpread {
  queries: number[];
  eligible: number[];
  dropped: number[];
  eligibleSq: number[];
  droppedSq: number[];
  droppedTimesEligible: number[];
}

export function emptyStratumSpread(): StratumSpread {
  const zeros = () => DROP_RATE_STRATA.map(() => 0);
  return { queries: zeros(), eligible: zeros(), dropped: zeros(), eligibleSq: zeros(), droppedSq: zeros(), droppedTimesEligible: zeros() };
}

/**
 * `s` when it is laid out over today's DROP_RATE_STRATA (each of its arrays holds one number per stratum), else
 * undefined. A detector state is stored as JSON and read back without a schema (monitoring/gate-monitor/state-table.ts);
 * its arrays are positional, so a spread stored under another strata layout would give each stratum another's sums
 * (and NaN past its length). Such a spread is dropped: the strata take the pooled design effect and the spread is
 * counted again from the next batch on, as for a state stored before the spread was kept. O(strata).
 */
export function usableStratumSpread(s: Readonly<StratumSpread> | undefined): Readonly<StratumSpread> | undefined {
  if (s === undefined) return undefined;
  const arrays = [s.queries, s.eligible, s.dropped, s.eligibleSq, s.droppedSq, s.droppedTimesEligible];
  return arrays.every((a) => Array.isArray(a) && a.length === DROP_RATE_STRATA.length) ? s : undefined;
}

/** A copy that shares no array with `s`. */
export function cloneStratumSpread(s: Readonly<StratumSpread>): StratumSpread {
  return {
    queries: [...s.queries],
    eligible: [...s.eligible],
    dropped: [...s.dropped],
    eligibleSq: [...s.eligibleSq],
    droppedSq: [...s.droppedSq],
    droppedTimesEligible: [...s.droppedTimesEligible],
  };
}

/**
 * Adds one observed query of a gate with `guards` (mutates `s`, an accumulator): its decided candidates E_q and those
 * of them dropped D_q (per-query.ts eligibleSplit, as the stratum counts of ClusterSums). A query with no decided
 * candidate is no unit of the share and is skipped, as the calibration skips it. Validation is addObservation's.
 */
export function addToStratumSpread(s: StratumSpread, q: QueryObservation, guards: Guards = NO_GUARDS): void {
  const [m, d] = q;
  if (m === 0) return;
  const e = eligibleSplit(m, d, guards);
  if (e.eligible === 0) return;
  const b = dropStratumOf(m);
  s.queries[b]! += 1;
  s.eligible[b]! += e.eligible;
  s.dropped[b]! += e.dropped;
  s.eligibleSq[b]! += e.eligible * e.eligible;
  s.droppedSq[b]! += e.dropped * e.dropped;
  s.droppedTimesEligible[b]! += e.dropped * e.eligible;
}

/**
 * Kish design effect of stratum b's eligible-dropped share (per-query.ts designEffect on its decided candidates: floored
 * at 1, and 1 where it is undefined: fewer than 2 queries, or none or all of them dropped). O(1).
 */
export function stratumSpreadDesignEffect(s: Readonly<StratumSpread>, b: number): number {
  const sums: ClusterSums = {
    queries: s.queries[b] ?? 0,
    candidates: s.eligible[b] ?? 0,
    dropped: s.dropped[b] ?? 0,
    droppedSq: s.droppedSq[b] ?? 0,
    droppedTimesSize: s.droppedTimesEligible[b] ?? 0,
    sizeSq: s.eligibleSq[b] ?? 0,
    empty: 0,
  };
  return designEffect(sums);
}
