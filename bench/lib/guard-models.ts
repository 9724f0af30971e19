/**
 * Seeded populations for the guard and abstention benchmarks (bench/guarded-*.ts, bench/abstention-sim.ts,
 * bench/cutoff-compare.ts).
 *
 * A query has a standardized effect z ~ N(0, 1); its candidates score sqrt(rho) z + N(0, 1 - rho), so every score is
 * N(0, 1) marginally and the candidates of one query move together (intra-query correlation rho). Its candidate count
 * comes from a size mix through a uniform u: u = Phi((c z + e) / sqrt(1 + c^2)), e ~ N(0, 1), so the mix is the same
 * whatever the coupling c, and with c > 0 well-scoring queries bring more candidates (a first-stage similarity cutoff,
 * a metadata filter), the coupling of section 17.
 *
 * Labelled queries (recall, abstention, the side-by-side): a candidate is relevant with probability pRel; the score
 * is sigmoid(mu + z + gap * relevant + e), e ~ N(0, 1), as in bench/recall-sim.ts. A query is answerable iff it has a
 * relevant candidate.
 */
import { calibrationExpectation, expectationOf } from "../../src/calibrations/expectation";
import { fitCalibration } from "../../src/calibrations/fit";
import type { StoredCalibration } from "../../src/contract";
import type { CalibrationExpectation } from "../../src/stats/calibration-expectation";
import { type Guards, guardedKept } from "../../src/stats/guarded-gate";
import { sortedCopy } from "../../src/stats/order-statistics";
import type { QueryObservation } from "../../src/stats/per-query";
import type { LabelledQueries } from "../../src/stats/recall-gate";
import { zCdf } from "../../src/stats/special";
import type { Rng } from "../../test/support/prng";

/** A candidate-count mix as its quantile function on (0, 1). */
export interface SizeMix {
  readonly name: string;
  readonly size: (u: number) => number;
}

const clampSize = (m: number, hi: number): number => Math.max(1, Math.min(hi, Math.round(m)));

export const SIZE_MIXES = {
  fixed20: { name: "20 each", size: () => 20 },
  short: { name: "1-10 uniform", size: (u: number) => Math.min(10, 1 + Math.floor(10 * u)) },
  uniform200: { name: "1-200 uniform", size: (u: number) => Math.min(200, 1 + Math.floor(200 * u)) },
  // Log-normal, median 20, geometric sd e^1.2, cut to 1..200 (most queries 3 to 130 candidates).
  logNormal200: { name: "1-200 log-normal", size: (u: number) => clampSize(Math.exp(Math.log(20) + 1.2 * normalQuantile(u)), 200) },
} satisfies Record<string, SizeMix>;

/** Phi^-1 by bisection on zCdf: the benchmarks call it once per query, so speed does not matter and accuracy is exact. */
function normalQuantile(p: number): number {
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (zCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface Population {
  readonly mix: SizeMix;
  /** Intra-query correlation of the scores. */
  readonly rho: number;
  /** Coupling of a query's candidate count with its effect (0: independent). */
  readonly coupling: number;
}

/** The size of a query with standardized effect z. */
export function sizeFor(rng: Rng, pop: Population, z: number): number {
  const c = pop.coupling;
  const u = c === 0 ? rng.next() : zCdf((c * z + rng.normal()) / Math.sqrt(1 + c * c));
  return pop.mix.size(Math.min(1 - 1e-12, Math.max(1e-12, u)));
}

/** Q unlabelled queries, flat as in src/stats/per-query.ts. */
export function drawQueries(rng: Rng, q: number, pop: Population): { scores: Float64Array; offsets: Uint32Array } {
  const offsets = new Uint32Array(q + 1);
  const chunks: number[] = [];
  const a = Math.sqrt(pop.rho);
  const b = Math.sqrt(1 - pop.rho);
  for (let i = 0; i < q; i++) {
    const z = rng.normal();
    const m = sizeFor(rng, pop, z);
    for (let j = 0; j < m; j++) chunks.push(a * z + b * rng.normal());
    offsets[i + 1] = chunks.length;
  }
  return { scores: Float64Array.from(chunks), offsets };
}

export interface LabelModel {
  /** Probability that a candidate is relevant. */
  readonly pRel: number;
  /** Shift of every score on the logit scale, and the extra of a relevant candidate. */
  readonly mu: number;
  readonly gap: number;
  /** Force at least one relevant candidate per query (as bench/recall-sim.ts does): every query answerable. */
  readonly forceRelevant: boolean;
}

/** Q labelled queries; sizes from the population's mix and coupling (its rho is not used: z is the query effect). */
export function drawLabelled(rng: Rng, q: number, pop: Population, lm: LabelModel): LabelledQueries {
  const offsets = new Uint32Array(q + 1);
  const s: number[] = [];
  const r: number[] = [];
  for (let i = 0; i < q; i++) {
    const z = rng.normal();
    const m = sizeFor(rng, pop, z);
    const start = s.length;
    let any = false;
    for (let j = 0; j < m; j++) {
      const rel = rng.next() < lm.pRel ? 1 : 0;
      if (rel) any = true;
      r.push(rel);
    }
    if (lm.forceRelevant && !any) r[start + Math.floor(rng.next() * m)] = 1;
    for (let j = 0; j < m; j++) s.push(1 / (1 + Math.exp(-(lm.mu + z + lm.gap * r[start + j]! + rng.normal()))));
    offsets[i + 1] = s.length;
  }
  return { scores: Float64Array.from(s), offsets, relevant: Uint8Array.from(r) };
}

/** Mean and standard error of a list of numbers. */
export function meanSe(xs: readonly number[]): { mean: number; se: number; sd: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const v = n > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, se: Math.sqrt(v / n), sd: Math.sqrt(v) };
}

export const pct = (x: number, digits = 2): string => (100 * x).toFixed(digits);

/**
 * A guarded calibration fitted on `q` queries drawn from `pop` as an upload of queries is (fitCalibration), and what
 * the server stores and serves the monitor of it (expectationOf, calibrationExpectation): its threshold and expectation.
 */
export function fittedGate(
  rng: Rng,
  q: number,
  pop: Population,
  target: number,
  guards: Guards,
): { threshold: number; expectation: CalibrationExpectation } {
  const drawn = drawQueries(rng, q, pop);
  const fitted = fitCalibration(sortedCopy(drawn.scores), target, drawn, "float64", guards);
  const record = { ...fitted.fields, drift_tolerance: null, empty_context_tolerance: null } as unknown as StoredCalibration;
  return { threshold: fitted.fields.threshold!, expectation: calibrationExpectation(expectationOf(record)) };
}

/**
 * One production query's observation at threshold `t`: candidates, guarded drops, below the threshold. Its size and
 * effect come from the calibration's population reweighted by `accept(m)` (rejection sampling: only the mix of sizes
 * moves), its scores are moved by `shift`.
 */
export function productionQuery(
  rng: Rng,
  pop: Population,
  accept: (m: number) => number,
  t: number,
  guards: Guards,
  shift: number,
): QueryObservation {
  let z: number;
  let m: number;
  do {
    z = rng.normal();
    m = sizeFor(rng, pop, z);
  } while (!(rng.next() < accept(m)));
  const a = Math.sqrt(pop.rho);
  const b = Math.sqrt(1 - pop.rho);
  let c = 0;
  for (let j = 0; j < m; j++) if (a * z + b * rng.normal() + shift >= t) c++;
  return [m, m - guardedKept(m, c, guards), m - c];
}
