/**
 * Anytime-valid test of a recall gate's coverage in production, on judged queries as units, and its confidence
 * sequence. docs/methods.md, "Watching recall in production".
 *
 * Each judged query with a relevant candidate gives y in [0, 1]: covered (1/0 for any_relevant and all_relevant) or
 * the share of its relevant candidates kept (candidates). Queries are independent units, so no design effect. The
 * miss rate 1 - y is tested with the beta-binomial mixture of mixture-test.ts (Robbins 1970; Howard et al., Ann.
 * Statist. 2021) against the one-sided null "miss rate <= hi" with
 *   hi = max(c + tolerance, U),
 * c the centre of the miss rate the fitted gate achieves (1 - bound without ties; below/n with ties at the threshold,
 * since tied relevant scores are kept: recall-gate.ts) and U the 1 - alpha/2 quantile of the exact law of that miss
 * rate (recall-gate.ts missLaw: Beta(k, n + 1 - k), tie-aware): a gate whose coverage is below its centre by the luck
 * of its calibration sample does not alarm, at every n and target (a normal margin false-alarmed 0.45 % at n = 50,
 * r = 0.95 within 10,000 judged queries, against 0.1 %). The budget alpha is split as in drift-bands.ts: alpha/2 on the
 * calibration's error (one-sided), alpha/2 on the sequential test (alarm at ln E >= ln(2/alpha)). The test is armed
 * only when U - c <= maxMargin (a calibration so small that its own coverage is known only within more than 25
 * points has no honest band short of a broken gate).
 * For y in [0, 1] (fractional, candidates) the mixture is still a nonnegative supermartingale under the null, since
 * q^y (1-q)^(1-y) / (p^y (1-p)^(1-y)) is at most its linear interpolation, whose mean is 1 at E[y] = p.
 *
 * The confidence sequence is { c : ln E(1 - c) < ln(1/level') } with the same fixed prior, point nulls; every
 * point's e-process is valid, so it covers the true coverage at all times with probability >= 1 - level'.
 * Pure: no clock, no storage. Cost O(1) per update, O(60) log-Beta evaluations for the sequence.
 */
import { marginOf } from "./calibration-margin";
import { type Band, DEFAULT_PRIOR_STRENGTH, logEvidence, type MixturePrior } from "./mixture-test";
import { missLaw } from "./recall-gate";

export interface CoverageCalibration {
  /** The guaranteed coverage of the calibration (recall.coverage_bound). */
  readonly bound: number;
  /** Labelled calibration queries n and the rule's miss mass M (recall-gate.ts). */
  readonly n: number;
  readonly missMass: number;
  /** What the threshold misses in the calibration and the values tied at it (recall-gate.ts); absent: no ties. */
  readonly below?: number;
  readonly ties?: number;
  /** "rank" (any/all relevant: missMass is the rank k) or "risk" (candidates); absent: "rank". */
  readonly rule?: "rank" | "risk";
}

/** Default of `maxMargin`: the drift monitor's maxCalibrationMargin. */
export const DEFAULT_MAX_COVERAGE_MARGIN = 0.25;

/** The null band of the miss rate, [0, hi], its centre, and whether the calibration bounds it closely enough to test. */
export function coverageMargin(
  cal: CoverageCalibration,
  tolerance: number,
  alpha: number,
  maxMargin = DEFAULT_MAX_COVERAGE_MARGIN,
): { band: Band; centre: number; armable: boolean } {
  if (!(cal.bound > 0 && cal.bound <= 1 && cal.n >= 1 && cal.missMass > 0 && cal.missMass < cal.n + 1)) {
    throw new RangeError("coverageBand: bad calibration");
  }
  const rule = cal.rule ?? "rank";
  const ties = rule === "rank" ? (cal.ties ?? 1) : 1;
  const below = cal.below ?? cal.missMass - 1;
  const centre = ties >= 2 ? below / cal.n : 1 - cal.bound;
  const law = missLaw({ rule, n: cal.n, k: cal.missMass, missMass: cal.missMass, below, ties });
  const upper = marginOf(law, alpha / 2)[1];
  return { band: { lo: 0, hi: Math.min(1, Math.max(centre + tolerance, upper)) }, centre, armable: upper - centre <= maxMargin };
}

/** The null band of the miss rate, [0, hi] (coverageMargin). */
export function coverageBand(cal: CoverageCalibration, tolerance: number, alpha: number): Band {
  return coverageMargin(cal, tolerance, alpha).band;
}

/** The mixing prior: mean at the band's edge (half its mass on misses beyond the tolerated rate). */
export function coveragePrior(band: Band, strength = DEFAULT_PRIOR_STRENGTH): MixturePrior {
  const centre = Math.min(1 - 1e-6, Math.max(1e-6, band.hi));
  return { a: centre * strength, b: (1 - centre) * strength };
}

export interface CoverageEvaluation {
  readonly observed: number | null;
  /** Where the gate's coverage is centred (tie-aware): 1 - the miss band's centre. */
  readonly expected: number;
  /** Lowest coverage the null tolerates: 1 - band.hi. */
  readonly tolerated: number;
  /** False when the calibration cannot bound its own coverage within maxMargin: the test never alarms. */
  readonly armed: boolean;
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
  maxMargin = DEFAULT_MAX_COVERAGE_MARGIN,
): CoverageEvaluation {
  if (!(queries >= 0 && covered >= 0 && covered <= queries)) throw new RangeError(`evaluateCoverage: ${covered} of ${queries}`);
  const { band, centre, armable } = coverageMargin(cal, tolerance, alpha, maxMargin);
  const prior = coveragePrior(band);
  const misses = queries - covered;
  const le = logEvidence(misses, covered, band, prior);
  const logThreshold = Math.log(2 / alpha);
  return {
    observed: queries > 0 ? covered / queries : null,
    expected: 1 - centre,
    tolerated: 1 - band.hi,
    armed: armable,
    logEvidence: le,
    logThreshold,
    alarm: armable && le >= logThreshold,
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
