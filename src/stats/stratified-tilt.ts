/**
 * Anytime-valid test of yes/no outcomes whose rate under the null depends on a stratum known before each outcome (a
 * query's candidate count, known before it abstains or not): one e-value for all strata together.
 *
 * Null: every outcome of stratum b is 1 with probability p_b in [lo_b, hi_b], independently given the past. For a
 * log-odds tilt theta > 0,
 *   M_theta = exp(theta X - sum_b n_b ln(1 - hi_b + hi_b e^theta))
 * (n_b outcomes of stratum b, X ones in all) is a nonnegative supermartingale under every null rate, since
 * E[e^(theta x)] = 1 - p + p e^theta <= 1 - hi + hi e^theta for p <= hi; for theta < 0 the same with lo_b. A mixture
 * of them over a fixed prior is one too, so by Ville's inequality P(ever E >= 1/alpha) <= alpha (Howard, Ramdas,
 * McAuliffe & Sekhon, Ann. Statist. 2021: exponential supermartingales and their mixtures).
 *
 * Why not the product of one mixture test per stratum (what drift-evidence.ts does for the drop rate and empty
 * context): each stratum pays the price of its own mixture, about 1.5 nats where nothing moved. In simulation (2,000
 * calibration queries of 1 to 30 candidates, abstention 10 %, 4,000 production queries) the product over 11 tested
 * strata had ln E = -17 with nothing changed and +0.6 when the abstention rate went from 10 % to 24 % with every score
 * lower (the pooled test: +202). One tilt shared by all strata pays the price once: the shift that moves the scores of
 * every query moves every stratum's rate the same way in log-odds terms, roughly.
 *
 * Where it does not pay (so the drop rate and empty context keep the product; docs/benchmarks.md section 33): outcomes
 * that are not single yes/no answers of independent units (a guarded query's dropped share bounded as one trial keeps
 * about deff / E of its evidence), and shifts that move only some strata past their bands' edges (empty context: long
 * queries stay near 0, and the shared tilt is charged on each of them).
 *
 * Prior: equal weights on theta = +-TILT_MIN * sqrt(2)^k, k = 0..TILT_STEPS-1 (log-odds shifts 0.05 to 3.2 either
 * way; the price of the mixture is at most ln(2 * TILT_STEPS) = 3.3 nats). Pure; O(strata * TILT_STEPS).
 */
import type { Band } from "./mixture-test";

/** One stratum's outcomes and its null band. */
export interface TiltStratum {
  readonly n: number;
  readonly ones: number;
  readonly band: Band;
}

/** The smallest log-odds tilt of the prior, and the number of tilts a side (each sqrt(2) times the last). */
export const TILT_MIN = 0.05;
export const TILT_STEPS = 13;

const TILTS: readonly number[] = Array.from({ length: TILT_STEPS }, (_, k) => TILT_MIN * Math.SQRT2 ** k).flatMap((t) => [t, -t]);

/** ln of the mixture e-value against the strata's bands; 0 without outcomes. RangeError on counts or bands out of range. */
export function tiltLogEvidence(strata: readonly TiltStratum[]): number {
  let n = 0;
  for (const s of strata) {
    if (!(Number.isInteger(s.n) && Number.isInteger(s.ones) && s.ones >= 0 && s.ones <= s.n)) {
      throw new RangeError(`tiltLogEvidence: n=${s.n}, ones=${s.ones}`);
    }
    if (!(s.band.lo >= 0 && s.band.lo <= s.band.hi && s.band.hi <= 1)) throw new RangeError(`tiltLogEvidence: band ${s.band.lo}..${s.band.hi}`);
    n += s.n;
  }
  if (n === 0) return 0;
  const logs = TILTS.map((theta) => {
    let v = 0;
    for (const s of strata) {
      if (s.n === 0) continue;
      const p = theta > 0 ? s.band.hi : s.band.lo;
      // ln(1 - p + p e^theta), written to stay exact for p near 0 and 1.
      v += theta * s.ones - s.n * (p === 1 ? theta : Math.log1p(p * Math.expm1(theta)));
    }
    return v;
  });
  const top = Math.max(...logs);
  let sum = 0;
  for (const l of logs) sum += Math.exp(l - top);
  return top + Math.log(sum / TILTS.length);
}
