/**
 * Accurate special functions and distribution quantiles, re-exported from stdlib (ports of Boost/Cephes, tested to
 * near machine precision). We do not write these by hand: simple-statistics' `probit` and normal table are only
 * good to 3-4 digits (statistics.md), and interval endpoints and evidence values need more.
 */
import betaQuantile from "@stdlib/stats-base-dists-beta-quantile";
import binomialCdf from "@stdlib/stats-base-dists-binomial-cdf";
import betaln from "@stdlib/math-base-special-betaln";
import chisquareQuantile from "@stdlib/stats-base-dists-chisquare-quantile";
import normalQuantile from "@stdlib/stats-base-dists-normal-quantile";
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";

/** Quantile of Beta(a, b) at probability q. */
export const betaInv = (q: number, a: number, b: number): number => betaQuantile(q, a, b);
/** P(X <= x) for X ~ Binomial(n, p). */
export const binomCdf = (x: number, n: number, p: number): number => binomialCdf(x, n, p);
/** ln B(a, b). */
export const logBeta = (a: number, b: number): number => betaln(a, b);
/** Quantile of chi-square with k degrees of freedom. */
export const chi2Inv = (q: number, k: number): number => chisquareQuantile(q, k);
/** Standard normal quantile. */
export const zInv = (q: number): number => normalQuantile(q, 0, 1);
/** Standard normal CDF. */
export const zCdf = (x: number): number => normalCdf(x, 0, 1);

/**
 * Binomial(n, p) quantile as scipy defines `binom.ppf(q)`: the smallest k in 0..n with P(X <= k) >= q.
 * Binary search over k: O(log n) CDF evaluations.
 */
export function binomPpf(q: number, n: number, p: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`binomPpf: q=${q}`);
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (binomCdf(mid, n, p) >= q) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** scipy `binom.isf(q)`: the smallest k in 0..n with P(X > k) <= q. */
export function binomIsf(q: number, n: number, p: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (1 - binomCdf(mid, n, p) <= q) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
