/**
 * The empty-context rate conditioned on how many candidates a query brings. A production query with 3 candidates
 * loses all of them to the gate far more often than one with 20, without the gate having moved, so the monitor
 * compares each production query with the calibration's rate for its own candidate count, in strata.
 *
 * Two estimates per stratum [k_lo, k_hi]:
 *
 * - Observed (`source: "observed"`), used wherever the calibration holds at least STRATUM_OWN_QUERIES queries whose
 *   own candidate count falls in the stratum: the share x/Q of them that lost every candidate. Queries are
 *   independent, so the count x is binomial and the monitor bounds it exactly (Clopper-Pearson, binomial-bound.ts).
 *   It assumes nothing about how a query's size relates to its scores, only that production's queries of this size
 *   are like the calibration's (within the stratum, in the same mix of sizes).
 * - Hypergeometric (`source: "hypergeometric"`), for sizes the calibration lacks: a query of k candidates is treated
 *   as k candidates drawn without replacement from a calibration query of m >= k candidates, so it is empty with
 *   probability C(d, k) / C(m, k) = prod_{j<k} (d - j) / (m - j) (d of the m dropped), averaged over the calibration
 *   queries with m >= k. It is nonincreasing in k, so a stratum uses its lower end. This is right only if a short
 *   query is like a random subset of a longer one. It is wrong when low-scoring queries bring fewer candidates (a
 *   first-stage similarity cutoff, a metadata filter, a sparse index with few hits for obscure queries): then short
 *   queries are empty far more often than the extrapolation says (measured: 0.44 against 0.09 for 3 candidates).
 *
 * The check. The extrapolation is tested on the calibration's own queries: every own query of m <= 50 candidates
 * gets the extrapolation's probability from the calibration queries strictly longer than m, and the empty count is
 * compared with the sum of those probabilities by the exact one-sided binomial tail at their mean, per stratum and
 * pooled over all strata (a Poisson-binomial count has lighter upper tails than the binomial of the same mean,
 * Hoeffding 1956, so the test is conservative under the model). Verdicts, for the calibration:
 *  - "failed": the pooled p-value is at most EXTRAPOLATION_CHECK_LEVEL / 2, or some stratum's at most
 *    EXTRAPOLATION_CHECK_LEVEL / (2 S) for S strata checked (Bonferroni);
 *  - "inconclusive": not failed, but the extrapolation expects fewer than CHECK_MIN_PREDICTED_EMPTY empty queries
 *    among those checked, too few to see even a several-fold excess (sizes coupled to scores made short queries
 *    empty 4 to 10 times as often as extrapolated in simulation);
 *  - "passed" otherwise; "untested" when no own query of m <= 50 candidates has a longer one (every calibration
 *    query the same size, or every one longer than 50).
 * The verdict is reported per calibration; the monitor tests a hypergeometric stratum only when it is "untested"
 * (drift-bands.ts): a check that passes on a few dozen short queries is not evidence that coupling is absent, and a
 * passed check armed strata 2 to 4 times below production's rate in 2 of 20,000 coupled calibrations
 * (docs/benchmarks.md section 17). Not arming costs power, never a false alarm. "untested" is the assumption stated
 * plainly: nothing in the calibration can show how short production queries relate to its long ones (docs/drift.md
 * says what fails then).
 *
 * Uncertainty of the hypergeometric estimate: a mean over Q independent queries of values in [0, 1], whose variance is
 * at most that of a binomial share of Q and for small k far less (a 1-candidate stratum averages d/m, which carries
 * every candidate's information). The monitor takes its bound at the Korn & Graubard (1998) effective size
 * Q_eff = e (1 - e) / v, v = s^2 / Q the variance of the mean, kept between Q and sum floor(m / k) (the disjoint
 * k-candidate draws the calibration holds); Q_eff = Q with fewer than KG_MIN_NONZERO nonzero values.
 *
 * Strata with no calibration query large enough reuse the nearest smaller stratum that has one (`extrapolated`: a
 * larger k is empty at most as often under both models) and inherit its source and check.
 *
 * Guards. With min_keep = L >= 1 a guarded gate is never empty; what the monitor watches instead is how often the
 * guard binds: the threshold leaves fewer than min(L, m) candidates of a query of m. Every estimate above carries over
 * with that event in place of "all dropped" (`level` = L; level 1 is the empty-context event itself): own queries
 * count it, and the extrapolation takes P(X < min(L, k)) for X ~ Hypergeometric(m, c, k), the candidates at or above
 * the threshold among k drawn from a calibration query with c of its m there (C(d, k)/C(m, k) for L = 1).
 *
 * Preconditions: `offsets` has Q + 1 >= 2 entries as in per-query.ts. Cost O(total candidates + G * 50) for G distinct
 * (candidates, dropped) pairs (at most Q). Reference: docs/drift.md, "Empty context".
 */
import { binomCdf, logBeta } from "./special";

/**
 * Lower ends of the candidate-count strata: [1], [2], [3], [4, 5], [6, 9], [10, 19], [20, 49], [50, ...). Fixed:
 * production sums are kept per stratum before any calibration is known, so changing this invalidates stored monitor
 * state.
 */
export const EMPTY_CONTEXT_STRATA: readonly number[] = [1, 2, 3, 4, 6, 10, 20, 50];

/** Index of the stratum of a query with m >= 1 candidates. */
export function stratumOf(m: number): number {
  let i = 0;
  while (i + 1 < EMPTY_CONTEXT_STRATA.length && EMPTY_CONTEXT_STRATA[i + 1]! <= m) i++;
  return i;
}

/**
 * A stratum is estimated from its own queries when the calibration holds at least this many. At 50 queries a rate
 * of 0 has a Clopper-Pearson bound near 0.15 at the monitor's level (too wide to be tested); the bound, not this
 * number, decides whether the stratum is tested, so below it the extrapolation (checked) is the better estimate.
 */
export const STRATUM_OWN_QUERIES = 50;

/** Family-wise level of the extrapolation's check against the calibration's own short queries. */
export const EXTRAPOLATION_CHECK_LEVEL = 0.05;

/**
 * The check counts as powerful from this many expected empty queries among those checked: at 5 expected, a doubling
 * (10 observed) has a binomial tail near 0.03; below it a real excess can pass unseen, so the check is inconclusive.
 */
export const CHECK_MIN_PREDICTED_EMPTY = 5;

/** Fewest queries with a nonzero value for the sample variance to set the effective size (otherwise Q_eff = Q). */
export const KG_MIN_NONZERO = 10;

export type StratumSource = "observed" | "hypergeometric";
export type ExtrapolationCheck = "passed" | "failed" | "inconclusive" | "untested";

export interface EmptyStratum {
  readonly minCandidates: number;
  /** null for the last, open stratum. */
  readonly maxCandidates: number | null;
  /** Estimated share of queries of this size that lose every candidate. */
  readonly rate: number;
  /** Queries the estimate rests on: the own queries (observed), or those with at least minCandidates (hypergeometric). */
  readonly queries: number;
  /** The estimate's effective size: `queries` (observed), Korn-Graubard (hypergeometric). */
  readonly effectiveQueries: number;
  /** Empty queries among `queries` (observed: counted; hypergeometric: rate x queries rounded up), for the exact bound. */
  readonly empty: number;
  readonly source: StratumSource;
  /** True when no calibration query was this large: the estimate is the nearest smaller stratum's. */
  readonly extrapolated: boolean;
  /** Calibration queries whose own candidate count falls in this stratum, and how many of them lost every candidate. */
  readonly ownQueries: number;
  readonly ownEmpty: number;
  /** The extrapolation tested on the own queries that have longer ones to be predicted from; null when none has. */
  readonly check: StratumCheck | null;
  /** The calibration's verdict on the extrapolation, for a hypergeometric stratum; null for an observed one. */
  readonly extrapolationCheck: ExtrapolationCheck | null;
}

export interface StratumCheck {
  /** Own queries checked, and the empty ones among them. */
  readonly queries: number;
  readonly empty: number;
  /** The extrapolation's expected number of empty queries among them. */
  readonly predictedEmpty: number;
  /** P(Binomial(queries, predictedEmpty / queries) >= empty). */
  readonly pValue: number;
}

/** P(all k of k drawn without replacement are dropped) for a query of m candidates, d dropped: C(d,k)/C(m,k). */
export function allDroppedProbability(m: number, d: number, k: number): number {
  if (!(Number.isInteger(m) && Number.isInteger(d) && Number.isInteger(k) && k >= 1 && k <= m && d >= 0 && d <= m)) {
    throw new RangeError(`allDroppedProbability: m=${m}, d=${d}, k=${k}`);
  }
  if (d < k) return 0;
  let p = 1;
  // The product form never forms a binomial coefficient, so it neither overflows nor cancels.
  for (let j = 0; j < k; j++) p *= (d - j) / (m - j);
  return p;
}

/** Largest draw size the strata and the check need: the last stratum's lower end. */
const K_MAX = EMPTY_CONTEXT_STRATA[EMPTY_CONTEXT_STRATA.length - 1]!;

interface Group {
  readonly m: number;
  readonly d: number;
  count: number;
}

/** Per-query (candidates, dropped) at `threshold`, grouped by equal pairs; queries without candidates are skipped. */
function groupQueries(scores: Float64Array, offsets: Uint32Array, threshold: number | null): Group[] {
  const q = offsets.length - 1;
  if (q < 1) throw new RangeError("emptyRateByCandidates: no queries");
  const groups = new Map<number, Group>();
  for (let i = 0; i < q; i++) {
    const start = offsets[i]!;
    const m = offsets[i + 1]! - start;
    if (m === 0) continue;
    let d = 0;
    if (threshold !== null) for (let j = start; j < start + m; j++) if (scores[j]! < threshold) d++;
    const key = m * 65_536 + d; // d <= m <= MAX_CANDIDATES_PER_QUERY < 65,536
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { m, d, count: 1 });
  }
  return [...groups.values()];
}

/** ln C(n, k) for whole 0 <= k <= n. */
const logChoose = (n: number, k: number): number => -Math.log(n + 1) - logBeta(n - k + 1, k + 1);

/**
 * P(fewer than min(level, k) of k drawn survive the threshold) for k = 1..min(m, K_MAX): for level 1, C(d, k)/C(m, k)
 * by the running product (h_k = h_{k-1} (d - k + 1)/(m - k + 1)); above it the lower tail of the hypergeometric
 * law of the survivors. One pass per distinct (m, d) serves every stratum and every size the check needs. Index 0 is
 * unused.
 */
function lowByDraw(g: Group, level: number): Float64Array {
  const top = Math.min(g.m, K_MAX);
  const h = new Float64Array(top + 1);
  if (level === 1) {
    let p = 1;
    for (let k = 1; k <= top; k++) {
      p *= Math.max(0, g.d - k + 1) / (g.m - k + 1);
      h[k] = p;
    }
    return h;
  }
  const c = g.m - g.d;
  for (let k = 1; k <= top; k++) {
    const total = logChoose(g.m, k);
    let p = 0;
    // x survivors among the k drawn: C(c, x) C(d, k - x) / C(m, k), for x below min(level, k) and within the support.
    for (let x = Math.max(0, k - g.d); x < Math.min(level, k, c + 1); x++) p += Math.exp(logChoose(c, x) + logChoose(g.d, k - x) - total);
    h[k] = Math.min(1, p);
  }
  return h;
}

/** Fewer than min(level, m) of the query's m candidates survive the threshold (level 1: all dropped). */
const isLow = (g: { readonly m: number; readonly d: number }, level: number): boolean => g.m - g.d < Math.min(level, g.m);

/** The calibration's strata and the verdict of the extrapolation's check, pooled over its strata. */
export interface EmptyContextByCandidates {
  readonly strata: EmptyStratum[];
  /** Pooled over every stratum's check (null when no stratum was checked), with the verdict. */
  readonly check: StratumCheck | null;
  readonly verdict: ExtrapolationCheck;
}

/**
 * The calibration's empty rate per stratum at `threshold` (null keeps everything: every rate 0); with `level` L > 1 the
 * rate of queries the threshold leaves with fewer than min(L, m) candidates (where a min_keep = L guard binds).
 */
export function emptyRateByCandidates(scores: Float64Array, offsets: Uint32Array, threshold: number | null, level = 1): EmptyContextByCandidates {
  if (!(Number.isInteger(level) && level >= 1)) throw new RangeError(`emptyRateByCandidates: level=${level}`);
  const groups = groupQueries(scores, offsets, threshold);
  const draws = groups.map((g) => lowByDraw(g, level));
  const hyper = EMPTY_CONTEXT_STRATA.map((k) => hypergeometricEstimate(groups, draws, k));
  const own = EMPTY_CONTEXT_STRATA.map((lo, b) => ownCounts(groups, lo, EMPTY_CONTEXT_STRATA[b + 1], level));
  const checks = EMPTY_CONTEXT_STRATA.map((lo, b) => checkStratum(groups, draws, lo, EMPTY_CONTEXT_STRATA[b + 1], own[b]!, level));
  const pooled = pooledCheck(checks);
  const verdict = verdictOf(checks, pooled);

  type Estimate = Pick<EmptyStratum, "rate" | "queries" | "effectiveQueries" | "empty" | "source" | "extrapolationCheck">;
  let nearest: Estimate | null = null;
  const strata = EMPTY_CONTEXT_STRATA.map((k, b): EmptyStratum => {
    const next = EMPTY_CONTEXT_STRATA[b + 1];
    const o = own[b]!;
    const h = hyper[b]!;
    let measured: Estimate | null = null;
    if (o.queries >= STRATUM_OWN_QUERIES) {
      measured = {
        rate: o.empty / o.queries,
        queries: o.queries,
        effectiveQueries: o.queries,
        empty: o.empty,
        source: "observed",
        extrapolationCheck: null,
      };
    } else if (h.queries > 0) {
      const empty = Math.min(h.queries, Math.ceil(h.rate * h.queries - 1e-9));
      measured = { ...h, empty, source: "hypergeometric", extrapolationCheck: verdict };
    }
    // The first stratum always has its queries unless every query is empty-handed (then rate 0 of 0 queries).
    const estimate: Estimate = measured ?? nearest ?? { ...h, empty: 0, source: "hypergeometric", extrapolationCheck: verdict };
    if (measured !== null) nearest = measured;
    return {
      minCandidates: k,
      maxCandidates: next === undefined ? null : next - 1,
      ...estimate,
      extrapolated: measured === null,
      ownQueries: o.queries,
      ownEmpty: o.empty,
      check: checks[b] ?? null,
    };
  });
  return { strata, check: pooled, verdict };
}

/** Binomial upper tail P(X >= x), X ~ Binomial(n, p). */
const upperTail = (x: number, n: number, p: number): number => (x === 0 ? 1 : Math.max(0, 1 - binomCdf(x - 1, n, Math.min(1, p))));

function pooledCheck(checks: readonly (StratumCheck | null)[]): StratumCheck | null {
  let queries = 0;
  let empty = 0;
  let predictedEmpty = 0;
  for (const c of checks) {
    if (c === null) continue;
    queries += c.queries;
    empty += c.empty;
    predictedEmpty += c.predictedEmpty;
  }
  return queries === 0 ? null : { queries, empty, predictedEmpty, pValue: upperTail(empty, queries, predictedEmpty / queries) };
}

function verdictOf(checks: readonly (StratumCheck | null)[], pooled: StratumCheck | null): ExtrapolationCheck {
  if (pooled === null) return "untested";
  const s = checks.filter((c) => c !== null).length;
  const half = EXTRAPOLATION_CHECK_LEVEL / 2;
  if (pooled.pValue <= half || checks.some((c) => c !== null && c.pValue <= half / s)) return "failed";
  return pooled.predictedEmpty < CHECK_MIN_PREDICTED_EMPTY ? "inconclusive" : "passed";
}

/** Own queries of the stratum [lo, next) and the empty (low) ones among them. */
function ownCounts(groups: readonly Group[], lo: number, next: number | undefined, level: number): { queries: number; empty: number } {
  let queries = 0;
  let empty = 0;
  for (const g of groups) {
    if (g.m < lo || (next !== undefined && g.m >= next)) continue;
    queries += g.count;
    if (isLow(g, level)) empty += g.count;
  }
  return { queries, empty };
}

/** Mean of C(d, k)/C(m, k) over the queries with m >= k, and its Korn-Graubard effective size. */
function hypergeometricEstimate(groups: readonly Group[], draws: readonly Float64Array[], k: number) {
  let queries = 0;
  let sum = 0;
  let nonzero = 0;
  let disjoint = 0;
  groups.forEach((g, i) => {
    if (g.m < k) return;
    const v = draws[i]![k]!;
    queries += g.count;
    sum += g.count * v;
    if (v > 0) nonzero += g.count;
    disjoint += g.count * Math.floor(g.m / k);
  });
  const rate = queries > 0 ? sum / queries : 0;
  let effectiveQueries = queries;
  if (queries >= 2 && nonzero >= KG_MIN_NONZERO) {
    let ss = 0;
    groups.forEach((g, i) => {
      if (g.m >= k) ss += g.count * (draws[i]![k]! - rate) ** 2;
    });
    const varianceOfMean = ss / (queries - 1) / queries;
    effectiveQueries = varianceOfMean > 0 ? Math.min(disjoint, Math.max(queries, (rate * (1 - rate)) / varianceOfMean)) : disjoint;
  }
  return { rate, queries, effectiveQueries };
}

/**
 * The extrapolation's check on the stratum [lo, next): each own query of m candidates is predicted from the queries
 * with more than m candidates; null when no own query has a longer one to be predicted from (sizes beyond K_MAX are
 * not checked: the draw table stops there).
 */
function checkStratum(
  groups: readonly Group[],
  draws: readonly Float64Array[],
  lo: number,
  next: number | undefined,
  own: { queries: number; empty: number },
  level: number,
): StratumCheck | null {
  if (own.queries === 0) return null;
  const hi = Math.min(next === undefined ? K_MAX : next - 1, K_MAX);
  let predicted = 0;
  let counted = 0;
  let empty = 0;
  for (let m = lo; m <= hi; m++) {
    let ownOfSize = 0;
    let ownEmpty = 0;
    for (const g of groups) {
      if (g.m !== m) continue;
      ownOfSize += g.count;
      if (isLow(g, level)) ownEmpty += g.count;
    }
    if (ownOfSize === 0) continue;
    let longer = 0;
    let sum = 0;
    groups.forEach((g, i) => {
      if (g.m <= m) return;
      longer += g.count;
      sum += g.count * draws[i]![m]!;
    });
    if (longer === 0) continue;
    predicted += (ownOfSize * sum) / longer;
    counted += ownOfSize;
    empty += ownEmpty;
  }
  if (counted === 0) return null;
  return { queries: counted, empty, predictedEmpty: predicted, pValue: upperTail(empty, counted, predicted / counted) };
}
