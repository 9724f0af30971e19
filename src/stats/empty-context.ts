/**
 * The empty-context rate conditioned on how many candidates a query brings. A production query with 3 candidates
 * loses all of them to the gate far more often than one with 20, without the gate having moved, so the monitor
 * compares each production query with the calibration's rate for its own candidate count, in strata.
 *
 * Model. A query of k candidates is treated as k candidates drawn without replacement from a calibration-like query
 * of m >= k candidates (the candidates of one query are exchangeable: they share the query's effect). For a
 * calibration query with m candidates of which d fall below the threshold, the chance that all k drawn are dropped is
 * the hypergeometric probability C(d, k) / C(m, k) = prod_{j<k} (d - j) / (m - j). The estimate of the empty rate of
 * k-candidate queries is the mean of that probability over the calibration queries with m >= k. It is nonincreasing
 * in k for each query, so a stratum [k_lo, k_hi] uses its lower end, the largest rate inside it. If production brings
 * the top k of a retriever's list rather than a random k, those score higher than a random k and are empty less often:
 * the estimate then errs towards fewer false alarms, not more.
 *
 * Uncertainty. The estimate is a mean over Q independent queries of values in [0, 1]. Its variance is at most that
 * of a binomial share of Q (the bound used for a mean of Bernoulli values), and for small k it is far less: a
 * 1-candidate stratum averages d/m, which carries the information of all the candidates. So the band's exact binomial
 * bound is taken at the effective size of Korn & Graubard (1998), Q_eff = e (1 - e) / v with v = s^2 / Q the variance
 * of the mean (s^2 the sample variance of the per-query values), kept between Q (never less information than Q
 * Bernoulli queries, which is the worst case) and sum floor(m / k) (the disjoint k-candidate draws the calibration
 * holds). With fewer than KG_MIN_NONZERO queries whose value is not 0, s^2 is unreliable and Q_eff = Q.
 *
 * Strata with no calibration query large enough reuse the rate of the largest stratum that has one (a larger k has a
 * rate at most that large) and are marked extrapolated.
 *
 * Preconditions: `offsets` has Q + 1 >= 2 entries as in per-query.ts. Cost O(total candidates + Q * strata * 50).
 * Reference: docs/drift.md, "Empty context".
 */

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

export interface EmptyStratum {
  readonly minCandidates: number;
  /** null for the last, open stratum. */
  readonly maxCandidates: number | null;
  /** Estimated share of queries with minCandidates candidates that lose every one. */
  readonly rate: number;
  /** Calibration queries the estimate averages over (those with at least minCandidates candidates). */
  readonly queries: number;
  /** The effective size of the estimate (Korn & Graubard), between `queries` and the disjoint draws the queries hold. */
  readonly effectiveQueries: number;
  /** True when no calibration query had minCandidates candidates: rate and queries are the nearest stratum's. */
  readonly extrapolated: boolean;
}

/** Fewest queries with a nonzero value for the sample variance to set the effective size (otherwise Q_eff = Q). */
export const KG_MIN_NONZERO = 10;

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

/** The calibration's empty rate per stratum at `threshold` (null keeps everything: every rate 0). */
export function emptyRateByCandidates(scores: Float64Array, offsets: Uint32Array, threshold: number | null): EmptyStratum[] {
  const q = offsets.length - 1;
  if (q < 1) throw new RangeError("emptyRateByCandidates: no queries");
  const sizes: number[] = [];
  const drops: number[] = [];
  for (let i = 0; i < q; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    if (end === start) continue;
    let dropped = 0;
    if (threshold !== null) for (let j = start; j < end; j++) if (scores[j]! < threshold) dropped++;
    sizes.push(end - start);
    drops.push(dropped);
  }
  const measured = EMPTY_CONTEXT_STRATA.map((k) => {
    const values: number[] = [];
    let draws = 0;
    for (let i = 0; i < sizes.length; i++) {
      if (sizes[i]! < k) continue;
      values.push(allDroppedProbability(sizes[i]!, drops[i]!, k));
      draws += Math.floor(sizes[i]! / k);
    }
    const count = values.length;
    const rate = count > 0 ? values.reduce((a, v) => a + v, 0) / count : 0;
    return { rate, queries: count, effectiveQueries: effectiveSize(values, rate, draws) };
  });
  let last = measured[0]!;
  return EMPTY_CONTEXT_STRATA.map((k, i) => {
    const m = measured[i]!;
    const extrapolated = m.queries === 0;
    if (!extrapolated) last = m;
    const next = EMPTY_CONTEXT_STRATA[i + 1];
    return {
      minCandidates: k,
      maxCandidates: next === undefined ? null : next - 1,
      rate: extrapolated ? last.rate : m.rate,
      queries: extrapolated ? last.queries : m.queries,
      effectiveQueries: extrapolated ? last.effectiveQueries : m.effectiveQueries,
      extrapolated,
    };
  });
}

/** Korn-Graubard effective size of the mean `rate` of `values`, clamped to [values.length, draws]. */
function effectiveSize(values: readonly number[], rate: number, draws: number): number {
  const q = values.length;
  if (q < 2 || values.filter((v) => v > 0).length < KG_MIN_NONZERO) return q;
  let ss = 0;
  for (const v of values) ss += (v - rate) * (v - rate);
  const varianceOfMean = ss / (q - 1) / q;
  if (!(varianceOfMean > 0)) return draws;
  return Math.min(draws, Math.max(q, (rate * (1 - rate)) / varianceOfMean));
}
