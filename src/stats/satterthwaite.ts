/**
 * Few, unequal queries: how much the design effect's own estimate can be trusted. The drop rate's variance under
 * clustering is estimated from Q query totals, v = Q/(Q-1) sum r_q^2 / C^2 with r_q = D_q - p m_q (per-query.ts
 * designEffect). With few queries, or a few large ones that hold most of the candidates, or at extreme targets where a
 * few queries hold every drop, that sum rests on a handful of terms: it is low most of the time and the interval built
 * on it undercovers (86-90 % at 20 log-normal queries or d = 0.01, misses lopsided above). Treating v as a scaled
 * chi-square, its Satterthwaite (1946) degrees of freedom are
 *   df = (sum r_q^2)^2 / sum r_q^4,
 * between 1 (one query carries the variance) and Q (all alike), capped at Q - 1; the interval then uses Student's t with
 * df in place of the normal, i.e. the effective size shrinks by (z / t_df)^2. This is the cluster-robust small-sample
 * correction of Bell & McCaffrey (2002) in its simplest, data-based form. Compared in bench/intervals-sim.ts with the
 * plain Kish size, a query-level jackknife and bootstrap and a size-model df: only this one kept >= 93 % coverage in
 * every scenario (docs/benchmarks.md, section 15). Pure, O(Q).
 */
import { tInv, zInv } from "./special";

/** Satterthwaite df of the cluster variance of p = sum D / sum m from per-query sizes and drops; Infinity for Q < 2. */
export function satterthwaiteDf(sizes: ArrayLike<number>, drops: ArrayLike<number>): number {
  const q = sizes.length;
  if (drops.length !== q) throw new RangeError("satterthwaiteDf: sizes and drops differ in length");
  if (q < 2) return Number.POSITIVE_INFINITY;
  let c = 0;
  let d = 0;
  for (let i = 0; i < q; i++) {
    c += sizes[i]!;
    d += drops[i]!;
  }
  if (c === 0) return q - 1;
  const p = d / c;
  let s2 = 0;
  let s4 = 0;
  for (let i = 0; i < q; i++) {
    const r = drops[i]! - p * sizes[i]!;
    s2 += r * r;
    s4 += r * r * r * r;
  }
  if (!(s4 > 0)) return q - 1;
  return Math.min(q - 1, Math.max(1, (s2 * s2) / s4));
}

/**
 * The factor (z_{1-a/2} / t_{1-a/2, df})^2 <= 1 by which an effective size shrinks for an interval at `level` built on
 * a variance with df degrees of freedom; 1 for df = Infinity.
 */
export function smallSampleFactor(df: number, level = 0.95): number {
  if (!(df >= 1)) throw new RangeError(`smallSampleFactor: df=${df}`);
  if (df === Number.POSITIVE_INFINITY) return 1;
  const q = 1 - (1 - level) / 2;
  return (zInv(q) / tInv(q, df)) ** 2;
}
