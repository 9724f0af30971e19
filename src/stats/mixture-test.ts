/**
 * Anytime-valid test of a drop rate against a tolerance band: Robbins' beta-binomial mixture (Robbins 1970;
 * Howard, Ramdas, McAuliffe & Sekhon, Ann. Statist. 2021; Johari, Pekelis & Walsh, Oper. Res. 2022).
 *
 * Null: the drop rate p lies in [lo, hi]. With S drops and F keeps (possibly fractional, design-effect deflated):
 *   log E = ln B(S + a, F + b) - ln B(a, b) - [S ln p* + F ln(1 - p*)],
 * p* the point of the band closest to S/(S+F) (the band's maximum-likelihood point). For any p in the band,
 * E <= mixture / L(p), a nonnegative martingale under p, so by Ville's inequality P(sup_t E_t >= 1/alpha) <= alpha:
 * the false-alarm probability stays <= alpha however often the test is evaluated.
 */
import { logBeta } from "./special";

export interface Band {
  readonly lo: number;
  readonly hi: number;
}

export interface MixturePrior {
  readonly a: number;
  readonly b: number;
}

/**
 * The mixing prior: Beta with mean at the band centre and `strength` pseudo-observations. A weak prior (strength ~ 20)
 * spreads its mass over shifts of about +-0.1, which detects a 30 % -> 40 % shift in hundreds of
 * queries while keeping the price of the mixture (about ln sqrt(strength + n)) small.
 */
export function priorFor(band: Band, strength = DEFAULT_PRIOR_STRENGTH): MixturePrior {
  const centre = Math.min(1 - 1e-6, Math.max(1e-6, (band.lo + band.hi) / 2));
  return { a: centre * strength, b: (1 - centre) * strength };
}

export const DEFAULT_PRIOR_STRENGTH = 20;

/** ln of the e-value against the band. 0 when there is no data. Pure, O(1). */
export function logEvidence(successes: number, failures: number, band: Band, prior: MixturePrior): number {
  if (!(successes >= 0 && failures >= 0 && Number.isFinite(successes) && Number.isFinite(failures))) {
    throw new RangeError(`logEvidence: S=${successes}, F=${failures}`);
  }
  if (!(band.lo >= 0 && band.hi <= 1 && band.lo <= band.hi)) throw new RangeError(`logEvidence: band ${band.lo}..${band.hi}`);
  const total = successes + failures;
  if (total === 0) return 0;
  const phat = successes / total;
  const pStar = Math.min(band.hi, Math.max(band.lo, phat));
  let logLikNull = 0;
  if (successes > 0) logLikNull += pStar <= 0 ? -Infinity : successes * Math.log(pStar);
  if (failures > 0) logLikNull += pStar >= 1 ? -Infinity : failures * Math.log(1 - pStar);
  if (logLikNull === -Infinity) return Infinity; // data impossible under every null point
  return logBeta(successes + prior.a, failures + prior.b) - logBeta(prior.a, prior.b) - logLikNull;
}

/**
 * The tolerance band around a calibration's expected drop rate p0: half-width max(tolerance, z sd_cal) with
 * sd_cal = sqrt(p0 (1 - p0) / nCal), so the calibration's own sampling noise does not alarm (docs/drift.md, "What is tested").
 * The default z is 2.5; evaluateDrift passes the z that bounds the calibration's error by alpha/2
 * (3.48 at alpha 0.001). Pass the calibration's effective size (n / design effect) when it was clustered.
 * `side` "upper" tests only for rises (the empty-context rate), "both" for moves either way.
 */
export function toleranceBand(p0: number, nCal: number, tolerance: number, side: "both" | "upper" = "both", z = 2.5): Band {
  if (!(p0 >= 0 && p0 <= 1)) throw new RangeError(`toleranceBand: p0=${p0}`);
  const sdCal = nCal > 0 ? Math.sqrt((p0 * (1 - p0)) / nCal) : 0;
  const half = Math.max(tolerance, z * sdCal);
  return { lo: side === "upper" ? 0 : Math.max(0, p0 - half), hi: Math.min(1, p0 + half) };
}
