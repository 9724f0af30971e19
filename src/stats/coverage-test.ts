/**
 * Anytime-valid test of a recall gate's coverage in production, on judged queries as units, and its confidence
 * sequence. docs/methods.md, "Watching recall in production".
 *
 * Each judged query with a relevant candidate gives y in [0, 1]: covered (1/0 for any_relevant and all_relevant) or
 * the share of its relevant candidates kept (candidates). Queries are independent units, so no design effect. The
 * miss rate 1 - y is tested with the beta-binomial mixture of mixture-test.ts (Robbins 1970; Howard et al., Ann.
 * Statist. 2021) against the one-sided null "miss rate <= hi" with
 *   hi = (1 - bound) + max(tolerance, z sd_cal),
 * bound the calibration's guaranteed coverage and sd_cal the sd of the coverage the fitted gate achieves,
 * Beta(n + 1 - M, M) (recall-gate.ts coverageInterval): a gate whose coverage is a little below its bound by the
 * luck of its calibration sample does not alarm. The budget alpha is split as in drift.ts: alpha/2 on the
 * calibration's error (z = z_{1 - alpha/2}, one-sided), alpha/2 on the sequential test (alarm at ln E >= ln(2/alpha)).
 * For y in [0, 1] (fractional, candidates) the mixture is still a nonnegative supermartingale under the null, since
 * q^y (1-q)^(1-y) / (p^y (1-p)^(1-y)) is at most its linear interpolation, whose mean is 1 at E[y] = p.
 *
 * The confidence sequence is { c : ln E(1 - c) < ln(1/level') } with the same fixed prior, point nulls; every
 * point's e-process is valid, so it covers the true coverage at all times with probability >= 1 - level'.
 * Pure: no clock, no storage. Cost O(1) per update, O(60) log-Beta evaluations for the sequence.
 */
import { type Band, DEFAULT_PRIOR_STRENGTH, logEvidence, type MixturePrior } from "./mixture-test";
import { zInv } from "./special";

export interface CoverageCalibration {
  /** The guaranteed coverage of the calibration (recall.coverage_bound). */
  readonly bound: number;
  /** Labelled calibration queries n and the rule's miss mass M (recall-gate.ts). */
  readonly n: number;
  readonly missMass: number;
}

/** The null band of the miss rate, [0, hi]. */
export function coverageBand(cal: CoverageCalibration, tolerance: number, alpha: number): Band {
  if (!(cal.bound > 0 && cal.bound <= 1 && cal.n >= 1 && cal.missMass > 0)) throw new RangeError("coverageBand: bad calibration");
  const a = cal.n + 1 - cal.missMass;
  const b = cal.missMass;
  const sdCal = Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1)));
  const z = zInv(1 - alpha / 2);
  return { lo: 0, hi: Math.min(1, 1 - cal.bound + Math.max(tolerance, z * sdCal)) };
}

/** The mixing prior: mean at the band's edge (half its mass on misses beyond the tolerated rate). */
export function coveragePrior(band: Band, strength = DEFAULT_PRIOR_STRENGTH): MixturePrior {
  const centre = Math.min(1 - 1e-6, Math.max(1e-6, band.hi));
  return { a: centre * strength, b: (1 - centre) * strength };
}

export interface CoverageEvaluation {
  readonly observed: number | null;
  /** Lowest coverage the null tolerates: 1 - band.hi. */
  readonly tolerated: number;
  readonly logEvidence: number;
  readonly logThreshold: number;
  readonly alarm: boolean;
  /** The confidence sequence of the coverage at level 1 - csLevel, [lo, hi]; [0, 1] before any query (or unasked). */
  readonly confidenceSequence: [number, number];
}

/** Evaluates `queries` judged queries whose covered shares sum to `covered`. */
export function evaluateCoverage(
  covered: number,
  queries: number,
  cal: CoverageCalibration,
  tolerance: number,
  alpha: number,
  csLevel: number | null = 0.05,
): CoverageEvaluation {
  if (!(queries >= 0 && covered >= 0 && covered <= queries)) throw new RangeError(`evaluateCoverage: ${covered} of ${queries}`);
  const band = coverageBand(cal, tolerance, alpha);
  const prior = coveragePrior(band);
  const misses = queries - covered;
  const le = logEvidence(misses, covered, band, prior);
  const logThreshold = Math.log(2 / alpha);
  return {
    observed: queries > 0 ? covered / queries : null,
    tolerated: 1 - band.hi,
    logEvidence: le,
    logThreshold,
    alarm: le >= logThreshold,
    // csLevel null skips the sequence (about 120 log-Beta evaluations), for simulations that only need the alarm.
    confidenceSequence: queries > 0 && csLevel !== null ? missRateSequence(misses, covered, prior, csLevel) : [0, 1],
  };
}

/** { p : ln E_p < ln(1/level) } as a coverage interval [1 - p_hi, 1 - p_lo], by bisection on both sides of the estimate. */
function missRateSequence(misses: number, covered: number, prior: MixturePrior, level: number): [number, number] {
  const cut = Math.log(1 / level);
  const f = (p: number): number => logEvidence(misses, covered, { lo: p, hi: p }, prior) - cut;
  const phat = misses / (misses + covered);
  const edge = (inside: number, outside: number): number => {
    if (f(outside) < 0) return outside;
    let a = inside;
    let b = outside;
    for (let i = 0; i < 60; i++) {
      const mid = (a + b) / 2;
      if (f(mid) < 0) a = mid;
      else b = mid;
    }
    return a;
  };
  const pLo = edge(phat, 0);
  const pHi = edge(phat, 1);
  return [1 - pHi, 1 - pLo];
}
