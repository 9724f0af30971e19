/**
 * The calibration margin of a production band: where the fitted gate's true rate lies, from the exact law of a
 * conformal order statistic, so that a calibration that landed away from the truth by its own luck does not alarm.
 *
 * Law. For a gate x_(k) fitted on n exchangeable continuous scores, the true drop rate F(x_(k)) ~ Beta(k, n + 1 - k)
 * exactly (Vovk 2012; Marques 2023); its mean k/(n+1) is where the rate is centred. With ties at t the gate drops
 * F(t-), j = #{x < t} of the scores lie below it, and the plug-in centre is j/n. Under the coupling X = F^{-1}(U)
 * (F(F^{-1}(u)-) <= u <= F(F^{-1}(u))), U_(j) <= F(t-) <= U_(j+1) <= U_(k) on every sample, U_(i) ~ Beta(i, n+1-i).
 * But j is chosen by the data (the tie at t straddles rank k), so a Beta quantile at the realized j alone is not a
 * valid bound (in simulation it held the true rate 68 % of the time at 95 %). Valid ones: the upper end is the smaller
 * of U_(k)'s quantile at tail/2 and U_(j+1)'s at tail/(2k), the lower end U_(j)'s quantile at tail/k (Bonferroni over
 * the k ranks j can take). The same law bounds the miss rate of a recall gate (recall-gate.ts missLaw).
 *
 * Skew. At extreme targets the law is far from normal: for n = 200, d = 0.01 (k = 3) the 0.025 % upper quantile of
 * Beta(3, 198) is 0.063, where the normal band (centre plus 3.48 sd) ended at 0.035: it missed the true rate 3.0 % of
 * the time against a budget of 0.05 % (5.9 % at n = 100). The Beta quantiles miss it at most their tail by construction.
 *
 * Clustering. Candidates of one query move together: the law is taken at the effective size n_eff = n / deff by
 * scaling both parameters by (n_eff + 1)/(n + 1), which keeps the mean and inflates the variance by about deff (the
 * form of effective-size.ts rateInterval). Exact for deff = 1; with clustering, asymptotic in queries.
 *
 * Pure, O(1) (two Beta quantiles). Reference: docs/drift.md, "What is tested".
 */
import { betaInv } from "./special";

/**
 * Beta parameters of the stochastic lower and upper bounds of a true rate (equal without ties). With ties, `family`
 * is the number of ranks the realized one could be (k) and `rank` the law that bounds the rate from above whatever
 * the ties (Beta(k, n+1-k)); marginOf spends its tail over them.
 */
export interface RateLaw {
  readonly lower: readonly [number, number];
  readonly upper: readonly [number, number];
  readonly family?: { readonly size: number; readonly rank: readonly [number, number] };
}

/**
 * The law of the true drop rate of the gate x_(k) on n scores, j = below of them strictly under it and `ties` equal to
 * it (tie-aware.ts): Beta(k, n + 1 - k) without ties (ties <= 1), between Beta(j, n+1-j) and Beta(j+1, n-j) with them.
 * k = 0 (no gate) drops nothing: the degenerate law at 0.
 */
export function dropRateLaw(n: number, k: number, below: number, ties: number): RateLaw {
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(k) && k >= 0 && k <= n && below >= 0 && below < n + 1)) {
    throw new RangeError(`dropRateLaw: n=${n}, k=${k}, below=${below}`);
  }
  if (ties <= 1 || below >= k) return { lower: [k, n + 1 - k], upper: [k, n + 1 - k] };
  return { lower: [below, n + 1 - below], upper: [below + 1, n - below], family: { size: k, rank: [k, n + 1 - k] } };
}

/** A law of mean m at n: Beta(m (n + 1), (1 - m)(n + 1)); for expectations stored without their ranks. */
export function lawAtMean(m: number, n: number): RateLaw {
  if (!(m >= 0 && m <= 1 && n > 0)) throw new RangeError(`lawAtMean: m=${m}, n=${n}`);
  const p: readonly [number, number] = [m * (n + 1), (1 - m) * (n + 1)];
  return { lower: p, upper: p };
}

/** The law at effective size nEff <= n: both parameters of both bounds scaled by (nEff + 1)/(n + 1). */
export function atEffectiveSize(law: RateLaw, n: number, nEff: number): RateLaw {
  if (!(nEff > 0 && n > 0)) throw new RangeError(`atEffectiveSize: n=${n}, nEff=${nEff}`);
  const s = (Math.min(nEff, n) + 1) / (n + 1);
  const scale = (p: readonly [number, number]): readonly [number, number] => [p[0] * s, p[1] * s];
  return {
    lower: scale(law.lower),
    upper: scale(law.upper),
    ...(law.family ? { family: { size: law.family.size, rank: scale(law.family.rank) } } : {}),
  };
}

/**
 * [lo, hi] with P(true rate < lo) <= tail and P(true rate > hi) <= tail: without ties the `tail` and 1 - tail quantiles
 * of the law; with ties (a family of size f) lo at tail/f of the lower law and hi the smaller of the rank law's
 * 1 - tail/2 and the upper law's 1 - tail/(2f) quantiles. A first parameter of 0 (nothing below) is the point mass at 0.
 */
export function marginOf(law: RateLaw, tail: number): [number, number] {
  if (!(tail > 0 && tail < 0.5)) throw new RangeError(`marginOf: tail=${tail}`);
  const f = law.family;
  const key = `${law.lower[0]},${law.lower[1]},${law.upper[0]},${law.upper[1]},${f ? `${f.size},${f.rank[0]},${f.rank[1]}` : ""},${tail}`;
  const hit = memo.get(key);
  if (hit !== undefined) return [hit[0], hit[1]];
  const q = (p: readonly [number, number], at: number): number => (p[0] <= 0 ? 0 : p[1] <= 0 ? 1 : betaInv(at, p[0], p[1]));
  const out: [number, number] = f
    ? [q(law.lower, tail / f.size), Math.min(q(f.rank, 1 - tail / 2), q(law.upper, 1 - tail / (2 * f.size)))]
    : [q(law.lower, tail), q(law.upper, 1 - tail)];
  if (memo.size >= MEMO_ENTRIES) memo.clear();
  memo.set(key, out);
  return [out[0], out[1]];
}

/**
 * The monitor asks for the same margin on every batch (a Beta quantile costs 30-50 us): results are remembered by their
 * exact arguments. A pure function's memo: it changes no answer, only how often it is computed.
 */
const MEMO_ENTRIES = 1024;
const memo = new Map<string, readonly [number, number]>();

/**
 * n rounded down to 3 significant digits: a calibration's effective size moves with production's design effect on
 * every batch; rounding it down lets the memo of marginOf serve it. The margin is never narrower, and wider by at most
 * 0.8 % from an effective size of 100 up (0.5 % from 100,000), 2.4 % from 30 and 6.1 % from 10: n loses up to 1 %
 * of itself above 100, and below 100 it is floored to an integer (measured just below every rounding step, expected
 * drop rates 0.001 to 0.999, tails a'/4 to a'/12: test/stats/messy.test.ts).
 */
export function floorSignificant(n: number): number {
  if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`floorSignificant: ${n}`);
  const unit = 10 ** Math.max(0, Math.floor(Math.log10(n)) - 2);
  return Math.max(Math.min(n, 1), Math.floor(n / unit) * unit);
}
