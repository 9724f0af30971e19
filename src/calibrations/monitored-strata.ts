/**
 * Calibration warning `few_monitored_strata`: the production monitor's stratified tests (a guarded gate's drop rate,
 * abstention) test a stratum of candidate counts only where the calibration holds enough queries of that size to bound
 * its rate (stats/drift-bands.ts); production queries of other sizes are not watched. Said at upload, at the monitor's
 * default settings (stats/drift-config.ts) and the calibration's own design effect, so a team learns it before on-call
 * does. docs/drift.md, "How much of production is watched".
 */
import type { AbstentionReport, Warning } from "../contract";
import type { CalibrationExpectation } from "../stats/calibration-expectation";
import { type StrataCoverage, strataCoverage } from "../stats/conditioned-rates";
import { driftBands } from "../stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../stats/drift-config";
import type { FittedCalibration } from "./fit";

/** Below this share of the calibration's queries in tested strata, an upload gets `few_monitored_strata`. */
export const MONITORED_QUERY_SHARE_WARNING = 0.8;

/** The warnings for the drop-rate and abstention tests whose tested strata hold too few of the calibration's queries. */
export function monitoredStrataWarnings(fields: FittedCalibration["fields"], abstention: AbstentionReport | null): Warning[] {
  const dropStrata = fields.per_query?.drop_rate_by_candidates;
  const abstentionStrata = abstention?.by_candidates;
  if (!dropStrata && !abstentionStrata) return [];
  const cal: CalibrationExpectation = {
    expectedDropRate: fields.expected_drop_rate,
    n: fields.n,
    designEffect: fields.per_query?.design_effect ?? 1,
    emptyContextRate: fields.per_query?.empty_context_rate ?? null,
    nQueries: fields.n_queries,
    dropRateStrata:
      dropStrata?.map(({ queries, eligible, eligible_dropped, design_effect, design_effect_queries }) => ({
        queries,
        eligible,
        dropped: eligible_dropped,
        ...(design_effect !== undefined ? { designEffect: design_effect } : {}),
        ...(design_effect_queries !== undefined ? { designEffectQueries: design_effect_queries } : {}),
      })) ?? null,
    abstention:
      abstention && abstentionStrata && abstention.abstain_below !== null
        ? { expectedRate: abstention.expected_rate, queries: abstention.queries, strata: abstentionStrata }
        : null,
  };
  const bands = driftBands(cal, DEFAULT_DRIFT_CONFIG, 1);
  const out: Warning[] = [];
  const check = (test: string, coverage: StrataCoverage) => {
    if (coverage.testedShare === null || coverage.testedShare >= MONITORED_QUERY_SHARE_WARNING) return;
    out.push({
      code: "few_monitored_strata",
      message: `the production monitor's ${test} test is conditioned on candidates per query and tests a size stratum only where the calibration bounds its rate (at least 30 queries of that size and a margin within 25 points): ${coverage.tested} of the ${coverage.total} strata this calibration holds are tested, with ${(100 * coverage.testedShare).toFixed(0)} % of its queries (below ${100 * MONITORED_QUERY_SHARE_WARNING} %); production queries of the other sizes are not watched by it. More calibration queries of those sizes widen what is watched`,
    });
  };
  if (dropStrata && bands.dropStrata) {
    // Queries the guards decide alone (no candidate a threshold decides) have nothing to test.
    const held = dropStrata.map((st) => (st.eligible > 0 ? st.queries : 0));
    check("drop-rate", strataCoverage(bands.dropStrata, held, held));
  }
  if (abstentionStrata && bands.abstentionStrata) {
    const held = abstentionStrata.map((st) => st.queries);
    check("abstention", strataCoverage(bands.abstentionStrata, held, held));
  }
  return out;
}
