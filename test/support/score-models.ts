/**
 * Seeded score models shared by the statistics tests and benchmarks. Query q has effect u_q = sqrt(rho) z_q,
 * z_q ~ N(0, 1); its candidates score u_q + e, e ~ N(0, 1 - rho), so every score is N(0, 1) marginally and the
 * population drop rate of a threshold t is Phi(t) (the oracle).
 */
import { zCdf } from "../../src/stats/special";
import type { Rng } from "./prng";

/** One query of m candidates. */
export function clusteredQuery(rng: Rng, m: number, rho: number, shift = 0): Float64Array {
  const u = Math.sqrt(rho) * rng.normal() + shift;
  const se = Math.sqrt(1 - rho);
  return Float64Array.from({ length: m }, () => u + se * rng.normal());
}

/**
 * One query whose candidate count depends on how well it scores, as behind a first-stage similarity cutoff: a list of
 * at most `maxM`, of which m = round(maxM Phi(coupling z + offset)) (at least 1) pass, z the query's standardized
 * effect. coupling 0 keeps every list at round(maxM Phi(offset)), independent of the scores.
 */
export function coupledQuery(rng: Rng, maxM: number, rho: number, coupling: number, offset = 0.8): Float64Array {
  const z = rng.normal();
  const m = Math.max(1, Math.min(maxM, Math.round(maxM * zCdf(coupling * z + offset))));
  const u = Math.sqrt(rho) * z;
  const se = Math.sqrt(1 - rho);
  return Float64Array.from({ length: m }, () => u + se * rng.normal());
}
