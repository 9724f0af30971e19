/**
 * ln of the drift tests' e-values on one set of per-query sums against their bands (drift-bands.ts): the beta-binomial
 * mixture test (mixture-test.ts) of the drop rate, the empty-context rate and the abstention rate, per stratum where
 * the calibration has strata (abstention: one tilt mixture over its strata, stratified-tilt.ts; the drop rate and
 * empty context keep the product of one test per stratum: docs/benchmarks.md section 33). Pure; each is
 * O(strata). The change detector (drift-detector.ts) sums them over its candidate change points; evaluateDrift
 * (drift.ts) reads them from a fixed start.
 */
import type { DriftBands } from "./drift-bands";
import { logEvidence, priorFor } from "./mixture-test";
import type { ClusterSums } from "./per-query";
import { type TiltStratum, tiltLogEvidence } from "./stratified-tilt";

/**
 * ln of the drop-rate e-value of a set of sums, counts deflated by the design effect: against the pooled band, or for a
 * guarded calibration the product over its tested strata of each stratum's band e-value (a query's size is known
 * before the gate acts on it, as for empty context), stratum b's counts deflated by stratumDeffs[b] where given
 * (drift-bands.ts productionStratumDesignEffects), else by `deff`. O(strata).
 *
 * Why a product and not one tilt shared by the strata, as abstentionLogEvidence: a shared tilt needs outcomes whose
 * null law it bounds, and a query's candidates move together, so the valid outcome is a query's dropped share, bounded
 * as one Bernoulli trial; it keeps about deff / E of a query's evidence (E candidates decided) and lost to the product
 * in every measured case (the seed incident 75 queries against 25; a 22 % -> 30 % move of the bare drops never
 * detected in 4,000 queries, where the product took a median 1,288): docs/benchmarks.md section 33,
 * docs/methods.md "Watching a guarded, abstaining gate".
 */
export function dropRateLogEvidence(
  sums: Readonly<ClusterSums>,
  deff: number,
  bands: DriftBands,
  priorStrength: number,
  stratumDeffs: readonly number[] | null = null,
): number {
  const strata = bands.dropStrata;
  if (strata === null) {
    return logEvidence(sums.dropped / deff, (sums.candidates - sums.dropped) / deff, bands.dropRate, priorFor(bands.dropRate, priorStrength));
  }
  let total = 0;
  strata.forEach((st, b) => {
    const c = sums.stratumEligible?.[b] ?? 0;
    const d = sums.stratumEligibleDropped?.[b] ?? 0;
    const f = stratumDeffs?.[b] ?? deff;
    if (st.armable && c > 0) total += logEvidence(d / f, (c - d) / f, st.band, priorFor(st.band, priorStrength));
  });
  return total;
}

/**
 * ln of the abstention e-value: abstained against answered queries. With the calibration's strata, one log-odds tilt
 * mixture over the tested strata, each against its own band (stratified-tilt.ts; a query's size is known before it
 * abstains or not), the queries counted before the sums kept strata against the pooled band; queries of untested
 * strata are not tested. Without strata, the mixture test of all queries against the pooled band. -Infinity when not
 * tested. O(strata).
 */
export function abstentionLogEvidence(sums: Readonly<ClusterSums>, bands: DriftBands, priorStrength: number): number {
  if (bands.abstention === null) return -Infinity;
  const n = sums.abstentionQueries ?? 0;
  const x = sums.abstained ?? 0;
  const strata = bands.abstentionStrata;
  if (strata === null) return logEvidence(x, n - x, bands.abstention, priorFor(bands.abstention, priorStrength));
  const tested: TiltStratum[] = [];
  let rest = { n, ones: x };
  strata.forEach((st, b) => {
    const q = sums.stratumAbstentionQueries?.[b] ?? 0;
    const a = sums.stratumAbstained?.[b] ?? 0;
    rest = { n: rest.n - q, ones: rest.ones - a };
    if (st.armable && q > 0) tested.push({ n: q, ones: a, band: st.band });
  });
  if (rest.n > 0) tested.push({ ...rest, band: bands.abstention });
  return tiltLogEvidence(tested);
}

/**
 * ln of the empty-context e-value of a set of sums: the product over strata of each armable stratum's mixture
 * e-value (queries are independent and a query's candidate count is known before the gate acts on it, so the product
 * of the strata's test supermartingales is one), times the e-value of queries counted without a stratum against the
 * overall band. -Infinity when the calibration has no per-query statistics. O(strata).
 *
 * Not one shared tilt (stratified-tilt.ts): a shift pushes short queries' rates past their bands while long queries
 * stay near 0, under their bands' upper ends, and a shared upward tilt is charged on every one of those unmoved queries
 * where the product charges their stratum only its mixture's price (the seed incident with sizes coupled to scores:
 * 38 of 50 runs caught by the product, 1 of 50 by the tilt; docs/benchmarks.md section 33).
 */
export function emptyContextLogEvidence(sums: Readonly<ClusterSums>, bands: DriftBands, priorStrength: number): number {
  if (bands.emptyContext === null) return -Infinity;
  const strata = bands.emptyStrata;
  if (strata === null || sums.stratumQueries === undefined || sums.stratumEmpty === undefined) {
    return logEvidence(sums.empty, sums.queries - sums.empty, bands.emptyContext, priorFor(bands.emptyContext, priorStrength));
  }
  let total = 0;
  let stratifiedQueries = 0;
  let stratifiedEmpty = 0;
  strata.forEach((st, b) => {
    const q = sums.stratumQueries![b] ?? 0;
    const e = sums.stratumEmpty![b] ?? 0;
    stratifiedQueries += q;
    stratifiedEmpty += e;
    if (st.armable && q > 0) total += logEvidence(e, q - e, st.band, priorFor(st.band, priorStrength));
  });
  const restQueries = sums.queries - stratifiedQueries;
  const restEmpty = sums.empty - stratifiedEmpty;
  if (restQueries > 0) total += logEvidence(restEmpty, restQueries - restEmpty, bands.emptyContext, priorFor(bands.emptyContext, priorStrength));
  return total;
}
