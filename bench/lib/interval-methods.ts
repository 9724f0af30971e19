/**
 * The interval methods bench/intervals-sim.ts compares with the one the server uses (src/calibrations/fit.ts: the
 * Kish effective size shrunk by the Satterthwaite t factor, src/stats/satterthwaite.ts). Each returns the 95 % interval
 * of the fitted gate's realized drop rate as the Beta law at the expected rate m and an effective size (the form of
 * src/stats/effective-size.ts rateInterval), so they differ only in how they measure the variance and its reliability.
 */
import { rateInterval } from "../../src/stats/effective-size";
import { tInv, zInv } from "../../src/stats/special";
import type { Rng } from "../../test/support/prng";

export interface QueryCounts {
  readonly sizes: readonly number[];
  readonly drops: readonly number[];
}

const Z = zInv(0.975);
const tFactor = (df: number): number => (Z / tInv(0.975, df)) ** 2;

/** Variance of the ratio sum D / sum m over a query-level resample or deletion pattern, relative to p (1 - p) / C. */
function deffOf(variance: number, p: number, c: number): number {
  return Math.max(1, variance / ((p * (1 - p)) / c));
}

function totals(x: QueryCounts): { c: number; d: number; p: number } {
  let c = 0;
  let d = 0;
  for (let i = 0; i < x.sizes.length; i++) {
    c += x.sizes[i]!;
    d += x.drops[i]!;
  }
  return { c, d, p: d / c };
}

/** Kish design effect with Student's t on Q - 1 degrees of freedom. */
export function kishT(m: number, n: number, deff: number, queries: number): [number, number] {
  return rateInterval(m, (n / deff) * tFactor(queries - 1));
}

/** Leave-one-query-out jackknife variance of the ratio (Quenouille-Tukey), as an effective size. */
export function jackknife(m: number, n: number, x: QueryCounts): [number, number] {
  const { c, d, p } = totals(x);
  const q = x.sizes.length;
  const loo = x.sizes.map((mq, i) => (d - x.drops[i]!) / (c - mq));
  const mean = loo.reduce((a, b) => a + b, 0) / q;
  const v = ((q - 1) / q) * loo.reduce((a, b) => a + (b - mean) ** 2, 0);
  return rateInterval(m, n / deffOf(v, p, c));
}

/** Query-level (cluster) bootstrap variance of the ratio at the fitted threshold, B resamples from a seeded stream. */
export function bootstrap(m: number, n: number, x: QueryCounts, rng: Rng, b = 400): [number, number] {
  const { c, p } = totals(x);
  const q = x.sizes.length;
  let s = 0;
  let s2 = 0;
  for (let r = 0; r < b; r++) {
    let cc = 0;
    let dd = 0;
    for (let i = 0; i < q; i++) {
      const j = Math.floor(rng.next() * q);
      cc += x.sizes[j]!;
      dd += x.drops[j]!;
    }
    const v = dd / cc;
    s += v;
    s2 += v * v;
  }
  const v = (s2 - (s * s) / b) / (b - 1);
  return rateInterval(m, n / deffOf(v, p, c));
}

/**
 * Student's t with a df from the query sizes alone: the Satterthwaite df of sum w_q chi2_1 with w_q = m_q (1 +
 * (m_q - 1) rho), rho read off the Kish design effect. It sees unequal sizes but not drops concentrated in few queries.
 */
export function sizeModelT(m: number, n: number, deff: number, x: QueryCounts): [number, number] {
  const { c } = totals(x);
  const mTilde = x.sizes.reduce((a, b) => a + b * b, 0) / c;
  const rho = mTilde > 1 ? Math.max(0, (deff - 1) / (mTilde - 1)) : 0;
  const w = x.sizes.map((mq) => mq * (1 + (mq - 1) * rho));
  const sw = w.reduce((a, b) => a + b, 0);
  const sw2 = w.reduce((a, b) => a + b * b, 0);
  const df = Math.min(x.sizes.length - 1, Math.max(1, (sw * sw) / sw2));
  return rateInterval(m, (n / deff) * tFactor(df));
}
