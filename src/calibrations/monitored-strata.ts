/**
 * Calibration warning `few_monitored_strata`: the production monitor's stratified tests (a guarded gate's drop rate,
 * abstention) test a stratum of candidate counts only where the calibration holds enough queries of that size to bound
 * its rate (stats/drift-bands.ts); production queries of other sizes are not watched. Said at upload, at the monitor's
 * default settings (stats/drift-config.ts) and the calibration's own design effect, so a team learns it before on-call
 * does. docs/drift.md, "How much of production is watched".
 */
import { MONITORED_QUERY_SHARE_WARNING, type Warning } from "../contract";
import type { CalibrationExpectation } from "../stats/calibration-expectation";
import { type StrataCoverage, strataCoverage } from "../stats/conditioned-rates";
import { type DriftBands, driftBands } from "../stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../stats/drift-config";
import { calibrationExpectation, type ExpectationSource, expectationOf } from "./expectation";

/**
 * What the production monitor will compare a calibration about to be stored with: its expectation as the monitor
 * builds it from the stored calibration (calibrationExpectation), and the bands at the monitor's default settings with
 * no production clustering beyond the calibration's own. Built once per upload for this module's warnings and
 * unarmed-tests.ts's.
 */
export interface MonitorOutlook {
  readonly cal: CalibrationExpectation;
  readonly bands: DriftBands;
}

export function monitorOutlook(c: ExpectationSource): MonitorOutlook {
  const cal = calibrationExpectation(expectationOf(c));
  return { cal, bands: driftBands(cal, DEFAULT_DRIFT_CONFIG, 1) };
}

/** The warnings for the drop-rate and abstention tests whose tested strata hold too few of the calibration's queries. */
export function monitoredStrataWarnings(c: ExpectationSource, { bands }: MonitorOutlook): Warning[] {
  const dropStrata = c.per_query?.drop_rate_by_candidates;
  const abstentionStrata = c.abstention?.abstain_below == null ? undefined : c.abstention.by_candidates;
  if (!dropStrata && !abstentionStrata) return [];
  const out: Warning[] = [];
  const check = (test: MonitoredTest, coverage: StrataCoverage) => {
    if (coverage.testedShare === null || coverage.testedShare >= MONITORED_QUERY_SHARE_WARNING) return;
    out.push({ code: "few_monitored_strata", message: fewMonitoredStrataMessage(test, { ...coverage, testedShare: coverage.testedShare }) });
  };
  if (dropStrata && bands.dropStrata) {
    // Queries the guards decide alone (no candidate a threshold decides) have nothing to test.
    const held = dropStrata.map((st) => (st.eligible > 0 ? st.queries : 0));
    check("drop_rate", strataCoverage(bands.dropStrata, held, held));
  }
  if (abstentionStrata && bands.abstentionStrata) {
    const held = abstentionStrata.map((st) => st.queries);
    check("abstention", strataCoverage(bands.abstentionStrata, held, held));
  }
  return out;
}

/** The two stratified tests the warning is about. */
type MonitoredTest = "drop_rate" | "abstention";

/** What each test watches, in the warning's words: the two warnings of one upload must say which is which. */
const WATCHES: Record<MonitoredTest, { readonly what: string; readonly unwatched: string }> = {
  drop_rate: { what: "the gate's drop rate", unwatched: "production's drop rate" },
  abstention: {
    what: "the abstention rate (the share of queries whose top score is below abstain_below)",
    unwatched: "production's abstention rate",
  },
};

/**
 * The `few_monitored_strata` message for one test: what it watches, how it is conditioned on query size, and how much
 * of the calibration's queries its tested strata hold; with no stratum tested, that the test watches nothing yet.
 */
function fewMonitoredStrataMessage(test: MonitoredTest, coverage: StrataCoverage & { readonly testedShare: number }): string {
  const { what, unwatched } = WATCHES[test];
  const strata = (n: number) => `${n} size ${n === 1 ? "stratum" : "strata"}`;
  const rule = `the production monitor tests ${what} separately for each size stratum of candidates per query, and a stratum only where the calibration bounds its rate (at least 30 queries of that size and a margin within 25 points)`;
  const remedy = "More calibration queries of those sizes widen what is watched";
  if (coverage.tested === 0) {
    const none =
      coverage.total === 1
        ? "the one size stratum this calibration holds does not qualify"
        : `none of the ${strata(coverage.total)} this calibration holds qualifies`;
    return `${rule}: no query size is tested yet (${none}), so ${unwatched} is not watched on any query. ${remedy}`;
  }
  return `${rule}: ${coverage.tested} of the ${strata(coverage.total)} this calibration holds ${coverage.tested === 1 ? "is" : "are"} tested, with ${(100 * coverage.testedShare).toFixed(0)} % of its queries (below ${100 * MONITORED_QUERY_SHARE_WARNING} %); ${unwatched} on queries of the other sizes is not watched. ${remedy}`;
}
