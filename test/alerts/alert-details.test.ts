// Every alert kind has a details schema in the contract (ALERT_DETAILS), and what a producer builds is that schema's,
// no field more: here the unscored_candidates alert's (src/monitoring/unscored.ts); a rebuild_shift's through the
// API: alert-details.workerd.test.ts; a promotion stop's: test/contract/promotion-numbers.test.ts.
import { describe, expect, it } from "vitest";
import { ALERT_DETAILS, AlertKind, UnscoredAlertDetails, WindowStatus } from "../../src/contract";
import { unscoredDetails } from "../../src/monitoring/unscored";

const rate = {
  observed: 0.2,
  expected: 0.2,
  band: { lo: 0.18, hi: 0.22 },
  log_evidence: 0.1,
  alarm: false,
  armed: true,
  not_armed_reason: null,
  evidence_since: null,
  evidence_queries: null,
};

describe("alert details", () => {
  it("have a schema for every alert kind", () => {
    expect(Object.keys(ALERT_DETAILS).sort()).toEqual([...AlertKind.options].sort());
  });

  it("of unscored_candidates are the contract's fields, no more", () => {
    const window = WindowStatus.parse({
      calibration_id: "cal_unscored",
      index_version: "v1",
      started_at: "2026-12-04T00:00:00.000Z",
      ends_at: "2026-12-05T00:00:00.000Z",
      batches: 3,
      queries: 100,
      candidates: 1900,
      dropped: 380,
      empty_queries: 0,
      unscored_candidates: 100,
      design_effect: 1,
      log_threshold: 4.6,
      drop_rate: rate,
      empty_context: null,
      mean_candidates: 19,
      expected_mean_candidates: 20,
      candidates_per_query: { change: null, strata: [] },
      alarms: 0,
      score_sample: { size: 0, seen: 0, drop_rate_at_threshold: null, ks: null },
    });
    const details = unscoredDetails(window);
    expect(UnscoredAlertDetails.parse(details)).toEqual(details);
    expect(details).toMatchObject({ unscored_candidates: 100, scored_candidates: 1900, reported_candidates: 2000, unscored_share: 0.05 });
  });
});
