/**
 * The shared-tilt forms of the guarded drop-rate and empty-context tests that were measured and not adopted, kept only
 * as bench/guarded-strata.ts's alternatives (docs/benchmarks.md section 33 says what they cost). The monitor keeps the
 * product of one mixture test per stratum for these (src/stats/drift-evidence.ts).
 *
 * Each is a mixture over the grid of src/stats/stratified-tilt.ts of M_theta = exp(theta X - sum_b n_b ln(1 - p_b +
 * p_b e^theta)), p_b the band's upper end for theta > 0 and its lower end for theta < 0. Hand-written here rather than
 * calling tiltLogEvidence because two of the forms need counts that are not whole numbers (shares, deflated counts)
 * and the empty-context form a one-sided grid, which the monitor's function has no reason to offer.
 */

import type { DriftBands, StratumBand } from "../../src/stats/drift-bands";
import type { Band } from "../../src/stats/mixture-test";
import type { ClusterSums } from "../../src/stats/per-query";
import { TILT_MIN, TILT_STEPS } from "../../src/stats/stratified-tilt";

interface Outcomes {
  readonly n: number;
  readonly ones: number;
  readonly band: Band;
}

const UP = Array.from({ length: TILT_STEPS }, (_, k) => TILT_MIN * Math.SQRT2 ** k);

function tilt(strata: readonly Outcomes[], side: "both" | "upper"): number {
  if (strata.every((s) => s.n === 0)) return 0;
  const grid = side === "both" ? UP.flatMap((t) => [t, -t]) : UP;
  const logs = grid.map((theta) => {
    let v = 0;
    for (const s of strata) {
      const p = theta > 0 ? s.band.hi : s.band.lo;
      v += theta * s.ones - s.n * (p === 1 ? theta : Math.log1p(p * Math.expm1(theta)));
    }
    return v;
  });
  const top = Math.max(...logs);
  return top + Math.log(logs.reduce((a, l) => a + Math.exp(l - top), 0) / logs.length);
}

/** Per drop-rate stratum: queries with a candidate a threshold decides, and the sum of their dropped shares of them. */
export interface ShareSums {
  readonly queries: number[];
  readonly shares: number[];
}

/**
 * Valid per-query form: each query's dropped share of its decided candidates, in [0, 1], against its stratum's band
 * (E[e^(theta x)] <= 1 - p + p e^theta for x in [0, 1] of mean p, by convexity; the query is the unit).
 */
export function shareTilt(acc: ShareSums, strata: readonly StratumBand[]): number {
  return tilt(
    strata.flatMap((st, b) => (st.armable && acc.queries[b]! > 0 ? [{ n: acc.queries[b]!, ones: acc.shares[b]!, band: st.band }] : [])),
    "both",
  );
}

/**
 * Candidate counts deflated by the design effect (E_b / deff Bernoulli outcomes a stratum): only as valid as the
 * deflation makes correlated candidates behave like independent ones, the approximation the product rests on too.
 */
export function deflatedTilt(sums: Readonly<ClusterSums>, deff: number, strata: readonly StratumBand[]): number {
  return tilt(
    strata.flatMap((st, b) => {
      const c = sums.stratumEligible?.[b] ?? 0;
      return st.armable && c > 0 ? [{ n: c / deff, ones: (sums.stratumEligibleDropped?.[b] ?? 0) / deff, band: st.band }] : [];
    }),
    "both",
  );
}

/** Empty context: one upward tilt over the armable candidate-count strata, the queries without a stratum against the overall band. */
export function emptyTilt(sums: Readonly<ClusterSums>, bands: DriftBands): number {
  if (bands.emptyContext === null || bands.emptyStrata === null || !sums.stratumQueries || !sums.stratumEmpty) return Number.NaN;
  const out: Outcomes[] = [];
  let rest = { n: sums.queries, ones: sums.empty };
  bands.emptyStrata.forEach((st, b) => {
    const q = sums.stratumQueries![b] ?? 0;
    const e = sums.stratumEmpty![b] ?? 0;
    rest = { n: rest.n - q, ones: rest.ones - e };
    if (st.armable && q > 0) out.push({ n: q, ones: e, band: st.band });
  });
  if (rest.n > 0) out.push({ ...rest, band: bands.emptyContext });
  return tilt(out, "upper");
}
