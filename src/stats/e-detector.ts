/**
 * A Shiryaev-Roberts e-detector over the band e-values of mixture-test.ts (Shin, Ramdas & Rinaldo 2023,
 * "E-detectors: a nonparametric framework for sequential change detection"), with bounded state.
 *
 * Definition. A new candidate change point ("start") opens at a batch boundary once at least `blockQueries` queries
 * have arrived since the previous one. Start j accumulates the per-query sums of every batch from its opening on, and
 * has the e-process Lambda_j = the band e-value of those sums (an e-process under every drop rate in the band: it is
 * bounded by a nonnegative martingale with initial value 1). The statistic is R = sum_j Lambda_j, and the detector
 * alarms when R >= A.
 *
 * Guarantee. Under the null, R_t + (H - starts opened by t) is a nonnegative supermartingale for t up to the H-th
 * start, so by Ville's inequality P(an alarm before the H-th start opens) <= H / A; equivalently the average run
 * length to a false alarm is at least A starts. Starts open at most once per `blockQueries` queries, so with
 * A = (H + 1) / a the probability of any false alarm during the first H * blockQueries queries after a reset is at
 * most a, however often R is evaluated. Dropping starts only lowers R, so the pruning below keeps the guarantee. It
 * needs each Lambda_j to be an e-process under the null; the drift tests' (drift-detector.ts) are so only approximately,
 * their counts being deflated by a design effect estimated from the same data.
 *
 * State. At most `maxStarts` starts: when one more opens, the start with the least evidence (never the newest) is
 * dropped. Before a change every Lambda drifts below 1 and old starts go first; after a change the starts that
 * opened just after it carry the most evidence and stay. Memory O(maxStarts), cost O(maxStarts) per batch.
 * Reference: docs/drift.md, "The change detector".
 */
import { type Guards, NO_GUARDS } from "./guarded-gate";
import { addObservation, type ClusterSums, cloneSums, emptyClusterSums, type QueryObservation } from "./per-query";
import { addToStratumSpread, cloneStratumSpread, emptyStratumSpread, type StratumSpread, usableStratumSpread } from "./stratum-spread";

export interface DetectorStart {
  /** Caller's tag for when the start opened (the monitor passes epoch milliseconds). */
  readonly openedAt: number;
  /** Queries the detector had seen when this start opened. */
  readonly queriesBefore: number;
  readonly sums: ClusterSums;
}

export interface DetectorState {
  /** Sums since the detector was (re)set: the design effect is estimated from them. */
  readonly total: ClusterSums;
  /** Queries since the newest start opened. */
  readonly sinceNewest: number;
  /** Starts opened since the reset (the H of the guarantee). */
  readonly opened: number;
  readonly starts: readonly DetectorStart[];
  /**
   * Since the reset, the spread of the eligible-dropped share within each drop-rate stratum (stratum-spread.ts), from
   * which each stratum's counts get their own design effect (drift-bands.ts productionStratumDesignEffects). Kept on
   * the total only, not on each start. Absent in states stored before it was kept: counted from the next batch on (so
   * is one stored over another strata layout, stratum-spread.ts usableStratumSpread).
   */
  readonly stratumSpread?: StratumSpread;
}

export interface DetectorLimits {
  readonly blockQueries: number;
  readonly maxStarts: number;
}

export function newDetector(): DetectorState {
  return { total: emptyClusterSums(), sinceNewest: 0, opened: 0, starts: [] };
}

/**
 * Adds a batch of observed queries ([candidates, dropped] or [candidates, dropped, below, abstained], with or without
 * the unscored count, which is not read), opening a start first when a block has passed; a batch whose queries have no
 * (scored) candidates leaves the state as it was. `score` gives a start's log evidence for pruning; `guards` are the gate's (per-query.ts
 * addObservation: where min_keep binds, and the candidates a threshold decides). Returns a new state (the input is not mutated).
 */
export function detectorAdd(
  state: DetectorState,
  queries: readonly QueryObservation[],
  openedAt: number,
  limits: DetectorLimits,
  score: (sums: Readonly<ClusterSums>, total: Readonly<ClusterSums>, stratumSpread: Readonly<StratumSpread>) => number,
  guards: Guards = NO_GUARDS,
): DetectorState {
  if (!(Number.isInteger(limits.blockQueries) && limits.blockQueries >= 1 && Number.isInteger(limits.maxStarts) && limits.maxStarts >= 2)) {
    throw new RangeError(`detectorAdd: limits ${JSON.stringify(limits)}`);
  }
  // A batch with no query the tests read (every query without a scored candidate: a reranker that failed for all of
  // them) is no time for a change to start: it opens no start, so it cannot move the statistic.
  if (!queries.some((q) => q[0] > 0)) return state;
  let starts = state.starts.map((s) => ({ ...s, sums: cloneSums(s.sums) }));
  let sinceNewest = state.sinceNewest;
  let opened = state.opened;
  if (starts.length === 0 || sinceNewest >= limits.blockQueries) {
    starts.push({ openedAt, queriesBefore: state.total.queries, sums: emptyClusterSums() });
    sinceNewest = 0;
    opened++;
  }
  const total = cloneSums(state.total);
  const kept = usableStratumSpread(state.stratumSpread);
  const stratumSpread = kept ? cloneStratumSpread(kept) : emptyStratumSpread();
  for (const q of queries) {
    addObservation(total, q, guards);
    addToStratumSpread(stratumSpread, q, guards);
    for (const s of starts) addObservation(s.sums, q, guards);
    if (q[0] > 0) sinceNewest++;
  }
  if (starts.length > limits.maxStarts) {
    let weakest = 0;
    let weakestScore = Infinity;
    for (let i = 0; i < starts.length - 1; i++) {
      const v = score(starts[i]!.sums, total, stratumSpread);
      if (v < weakestScore) {
        weakestScore = v;
        weakest = i;
      }
    }
    starts = starts.filter((_, i) => i !== weakest);
  }
  return { total, sinceNewest, opened, starts, stratumSpread };
}

export interface DetectorReading {
  /** ln R = ln sum_j Lambda_j (-Infinity with no start). */
  readonly logStatistic: number;
  /** The start with the most evidence, or null with no start. */
  readonly strongest: DetectorStart | null;
}

/** ln of the Shiryaev-Roberts statistic from each start's log evidence (log-sum-exp, no overflow). O(starts). */
export function readDetector(state: DetectorState, logEvidenceOf: (sums: Readonly<ClusterSums>) => number): DetectorReading {
  let max = -Infinity;
  let strongest: DetectorStart | null = null;
  const values = state.starts.map((s) => {
    const v = logEvidenceOf(s.sums);
    if (v > max || strongest === null) {
      max = Math.max(max, v);
      strongest = s;
    }
    return v;
  });
  if (values.length === 0) return { logStatistic: -Infinity, strongest: null };
  if (max === Infinity) return { logStatistic: Infinity, strongest };
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return { logStatistic: max + Math.log(sum), strongest };
}

/**
 * ln A for a false-alarm probability `a` over the first `horizonStarts` starts: A = (horizonStarts + 1) / a.
 */
export function detectorLogThreshold(a: number, horizonStarts: number): number {
  if (!(a > 0 && a < 1) || !(horizonStarts >= 1)) throw new RangeError(`detectorLogThreshold: a=${a}, H=${horizonStarts}`);
  return Math.log(horizonStarts + 1) - Math.log(a);
}
