/**
 * What the calibration predicts of production's own mix of query sizes: the drop rate and empty-context rate it
 * expects, and their bands, averaged over the strata the production queries fell in. Pure; O(strata). For display
 * beside the tests, which weigh the strata themselves (drift-evidence.ts).
 */
import type { DriftBands } from "./drift-bands";
import type { Band } from "./mixture-test";
import type { ClusterSums } from "./per-query";

/**
 * The drop rate a guarded calibration expects of production's own mix of query sizes, and the band's ends: the drops
 * the cap makes whatever the threshold (known from each query's size) plus each stratum's rate (and band) times the
 * candidates production brought to it that a threshold decides, over all production candidates. The pooled values
 * without strata or without production candidates. For display; the test is dropRateLogEvidence.
 */
export function conditionedDropRate(sums: Readonly<ClusterSums>, bands: DriftBands, pooled: number): { expected: number; band: Band } {
  const strata = bands.dropStrata;
  const eligible = sums.stratumEligible;
  const eligibleDropped = sums.stratumEligibleDropped;
  if (strata === null || eligible === undefined || eligibleDropped === undefined || sums.candidates === 0) {
    return { expected: pooled, band: bands.dropRate };
  }
  // Drops outside the strata's eligible candidates: the cap's (and any from queries counted before strata were kept).
  let fixed = sums.dropped;
  let expected = 0;
  let lo = 0;
  let hi = 0;
  strata.forEach((st, b) => {
    const e = eligible[b] ?? 0;
    fixed -= eligibleDropped[b] ?? 0;
    expected += e * st.expected;
    lo += e * st.band.lo;
    hi += e * st.band.hi;
  });
  const c = sums.candidates;
  return { expected: (fixed + expected) / c, band: { lo: (fixed + lo) / c, hi: (fixed + hi) / c } };
}

/**
 * What production's own mix of candidate counts predicts: the expected empty-context rate and the band's upper end,
 * averaged over the strata of the queries in `sums` (the calibration's overall rate and band without strata or
 * without queries). For display; the test is emptyContextLogEvidence.
 */
export function conditionedEmptyContext(sums: Readonly<ClusterSums>, bands: DriftBands, overallRate: number): { expected: number; hi: number } {
  const overall = { expected: overallRate, hi: bands.emptyContext?.hi ?? 1 };
  const strata = bands.emptyStrata;
  if (strata === null || sums.stratumQueries === undefined || sums.queries === 0) return overall;
  let expected = 0;
  let hi = 0;
  let counted = 0;
  strata.forEach((st, b) => {
    const q = sums.stratumQueries![b] ?? 0;
    counted += q;
    expected += q * st.expected;
    hi += q * st.band.hi;
  });
  const rest = sums.queries - counted;
  expected += rest * overall.expected;
  hi += rest * overall.hi;
  return { expected: expected / sums.queries, hi: hi / sums.queries };
}
