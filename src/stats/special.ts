/**
 * Accurate special functions and distribution quantiles, re-exported from stdlib (ports of Boost/Cephes, tested to
 * near machine precision). We do not write these by hand: simple-statistics' `probit` and normal table are only
 * good to 3-4 digits, and interval endpoints and evidence values need more.
 */

import betaln from "@stdlib/math-base-special-betaln";
import betaQuantile from "@stdlib/stats-base-dists-beta-quantile";
import binomialCdf from "@stdlib/stats-base-dists-binomial-cdf";
import chisquareQuantile from "@stdlib/stats-base-dists-chisquare-quantile";
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";
import normalQuantile from "@stdlib/stats-base-dists-normal-quantile";

/** Quantile of Beta(a, b) at probability q. */
export const betaInv = (q: number, a: number, b: number): number => betaQuantile(q, a, b);
/** P(X <= x) for X ~ Binomial(n, p). */
export const binomCdf = (x: number, n: number, p: number): number => binomialCdf(x, n, p);
/** ln B(a, b). */
export const logBeta = (a: number, b: number): number => betaln(a, b);
/** Quantile of chi-square with k degrees of freedom. */
export const chi2Inv = (q: number, k: number): number => chisquareQuantile(q, k);
/** Standard normal CDF (erfc-based, so accurate in the lower tail). */
export const zCdf = (x: number): number => normalCdf(x, 0, 1);

/**
 * Standard normal quantile. stdlib computes sqrt(2) erfinv(2q - 1); below q = 0.25 the subtraction 2q - 1 is inexact
 * and its rounding error (up to 1.1e-16) swamps small q: relative error 4e-7 at q = 1e-12, -Infinity below about
 * 5e-17 (scipy's ndtri gives -8.49 at 1e-17). There we polish the root of ln Phi(z) = ln q by Newton's method with
 * the erfc-based CDF; ln Phi is concave, so the iterates converge monotonically, in a few steps. Golden-tested
 * against scipy.stats.norm.ppf down to q = 1e-300 (fixtures/golden/special.json).
 */
export function zInv(q: number): number {
  const z0 = normalQuantile(q, 0, 1);
  if (!(q > 0 && q < 0.25)) return z0;
  const lnQ = Math.log(q);
  const t = -2 * lnQ;
  // Start from stdlib, or from the tail asymptote Phi(z) ~ phi(z)/|z| when stdlib has lost q entirely.
  let z = Number.isFinite(z0) ? z0 : -Math.sqrt(t - Math.log(2 * Math.PI * t));
  for (let i = 0; i < 50; i++) {
    const cdf = zCdf(z);
    if (!(cdf > 0)) break; // q in the subnormal range: z is as good as the arithmetic allows
    const pdf = Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
    const step = ((Math.log(cdf) - lnQ) * cdf) / pdf;
    z -= step;
    if (!(Math.abs(step) > 1e-15 * Math.abs(z))) break;
  }
  return z;
}

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

/**
 * df at and above which tInv takes the Cornish-Fisher expansion of t in powers of 1/df instead of the Beta quantile.
 * Measured against scipy.stats.t.ppf at q from 1e-300 to 1 - 1e-10: from 1e5 up the expansion's five terms are within
 * 9e-16 relative in the tails the decisions use (q <= 0.25 or >= 0.75) and 6e-15 near q = 0.5 (where scipy is the less
 * exact of the two), where the Beta route has already lost digits (2e-11 at df 1e5, 1e-7 at 1e8, 0.08 at 1e16 and t = 0
 * from about 1e17 on: x = betaInv(., df/2, 1/2) rounds to 1 and 1/x - 1 to 0).
 */
export const T_EXPANSION_DF = 1e5;

/**
 * Quantile of Student's t with df > 0 degrees of freedom (df may be fractional, as a Satterthwaite df is, or Infinity:
 * the normal quantile).
 * - df < T_EXPANSION_DF: from the Beta quantile: for T ~ t_df, df / (df + T^2) ~ Beta(df/2, 1/2), so for q > 1/2,
 *   t_q = sqrt(df (1/x - 1)) with x = betaInv(2 (1 - q), df/2, 1/2); symmetric below 1/2 (x from 2 q there).
 * - df >= T_EXPANSION_DF: the Cornish-Fisher expansion about the normal quantile z = zInv(q), t = z + g1(z)/df +
 *   g2(z)/df^2 + ... + g5(z)/df^5 (Fisher 1925; Abramowitz & Stegun 26.7.5 for g1-g4, Johnson, Kotz & Balakrishnan,
 *   Continuous Univariate Distributions vol. 2, ch. 28, for g5). The first omitted term is below 1e-15 relative there.
 * Golden-tested against scipy.stats.t.ppf, df 1 to 1e20 and Infinity (fixtures/golden/messy.json).
 */
export function tInv(q: number, df: number): number {
  if (!(q > 0 && q < 1) || !(df > 0)) throw new RangeError(`tInv: q=${q}, df=${df}`);
  if (q === 0.5) return 0;
  if (df >= T_EXPANSION_DF) {
    const z = zInv(q);
    const z2 = z * z;
    const g = [
      ((z2 + 1) * z) / 4,
      (((5 * z2 + 16) * z2 + 3) * z) / 96,
      ((((3 * z2 + 19) * z2 + 17) * z2 - 15) * z) / 384,
      (((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z) / 92160,
      ((((((27 * z2 + 339) * z2 + 930) * z2 - 1782) * z2 - 765) * z2 + 17955) * z) / 368640,
    ];
    // Horner in 1/df, smallest term first.
    let sum = 0;
    for (let i = g.length - 1; i >= 0; i--) sum = (sum + g[i]!) / df;
    return z + sum;
  }
  // The smaller tail probability, exact either way (1 - q is exact for q in [0.5, 1), Sterbenz): forming 1 - (1 - q)
  // for q < 1/2 lost q below about 1e-16 (t = -Infinity) and 4e-7 of it at 1e-12.
  const tail = q > 0.5 ? 1 - q : q;
  const x = betaInv(2 * tail, df / 2, 0.5);
  const t = Math.sqrt(df * (1 / x - 1));
  return q > 0.5 ? t : -t;
}
