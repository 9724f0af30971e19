/**
 * The clustered live model of the anytime decision's level checks (test/stats/sequential-level.test.ts,
 * bench/small-reference.ts): a query of `sizes` candidates (3 to 40 uniform unless fixed) whose drops are beta-binomial
 * at mean p and intra-query correlation ICC (queries move together), accumulated into the cluster sums the Worker keeps.
 */
import { type ClusterSums, designEffect } from "../../src/stats/per-query";
import type { ChangeSide } from "../../src/stats/sequential-change";
import { betaForIcc, type Rng } from "./prng";

/** The intra-query correlation of the level checks. */
export const LEVEL_ICC = 0.3;

/** Adds one query of m candidates with d dropped to the sums (mutates them: they are the accumulator). */
export function addQuery(s: ClusterSums, m: number, d: number): void {
  s.queries += 1;
  s.candidates += m;
  s.dropped += d;
  s.droppedSq += d * d;
  s.droppedTimesSize += d * m;
  s.sizeSq += m * m;
}

/** One query: [candidates, dropped], 3 to 40 candidates (or exactly `size`), drops beta-binomial at p and `icc`. */
export function clusteredDropQuery(rng: Rng, p: number, size: number | null = null, icc = LEVEL_ICC): [number, number] {
  const m = size ?? 3 + Math.floor(rng.next() * 38);
  const { a, b } = betaForIcc(p, icc)!;
  return [m, rng.binomial(m, rng.beta(a, b))];
}

/** The decision's side from cluster sums, as the Worker builds it (monitoring/live-decision.ts liveSide). */
export const sideOf = (s: ClusterSums): ChangeSide => ({
  rate: s.dropped / s.candidates,
  effectiveSize: s.candidates / designEffect(s),
  queries: s.queries,
});

/**
 * The cumulative distribution of the beta-binomial drops of a query of m candidates (Beta(a, b) mixing):
 * pmf(0) = prod_i (b + i) / (a + b + i) over i < m, pmf(k + 1) = pmf(k) (m - k) (a + k) / ((k + 1) (b + m - k - 1)).
 */
export function betaBinomialCdf(m: number, a: number, b: number): Float64Array {
  const cdf = new Float64Array(m + 1);
  let pk = 1;
  for (let i = 0; i < m; i++) pk *= (b + i) / (a + b + i);
  let total = 0;
  for (let k = 0; k <= m; k++) {
    total += pk;
    cdf[k] = total;
    pk *= ((m - k) * (a + k)) / ((k + 1) * (b + m - k - 1));
  }
  cdf[m] = 1; // the sum's rounding never leaves a uniform above the last entry
  return cdf;
}

/**
 * The model of clusteredDropQuery, drawn faster: the drops' distribution for each query size (3 to 40, or `size`) is
 * tabulated once, and a query takes two uniforms (its size, then its drops by inverting the table) where the two-stage
 * draw takes two gamma variates and a binomial. The level checks draw millions of queries; the tables make a draw
 * about five times faster. Same distribution, another stream: not interchangeable with clusteredDropQuery's draws.
 */
export function tabulatedDropQueries(p: number, size: number | null = null, icc = LEVEL_ICC): (rng: Rng) => [number, number] {
  const { a, b } = betaForIcc(p, icc)!;
  const cdfs: Float64Array[] = [];
  for (let m = size ?? 3; m <= (size ?? 40); m++) cdfs.push(betaBinomialCdf(m, a, b));
  return (rng) => {
    const cdf = cdfs[size === null ? Math.floor(rng.next() * 38) : 0]!;
    const u = rng.next();
    let k = 0;
    while (u >= cdf[k]!) k++;
    return [cdf.length - 1, k];
  };
}
