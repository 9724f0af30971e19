// The gate page's coverage section rendered from a monitor report: while a recall_drift alarm stands the monitor
// reports the test that alarmed (`alarmed`) beside the restarted one, and the section shows both, each named.
import { describe, expect, it } from "vitest";
import type { AlarmedCoverage, Calibration, MonitorCoverage } from "../../src/contract";
import type { GateView } from "../../src/dashboard/data/gate";
import { CoverageSection } from "../../src/dashboard/pages/gate-coverage";

const CAL = {
  id: "cal_recall1",
  index_version: "v1",
  threshold: 0.42,
  expected_drop_rate: 0.735,
  policy: { kind: "recall", target: 0.9, coverage: "any_relevant" },
  recall: { coverage_bound: 0.904, n: 500, coverage_interval_95: [0.9, 0.93], expected_coverage: 0.91 },
} as unknown as Calibration;

const RESTARTED: MonitorCoverage = {
  calibration_id: CAL.id,
  index_version: "v1",
  coverage: "any_relevant",
  target: 0.9,
  expected: 0.904,
  tolerated: 0.854,
  armed: true,
  not_armed_reason: null,
  queries: 20,
  covered: 18,
  queries_without_relevant: 2,
  batches: 1,
  observed: 0.9,
  confidence_sequence_95: [0.5, 1],
  log_evidence: 0,
  log_threshold: 3,
  alarm: false,
  alarms: 1,
  since: "2026-12-04T21:40:00.000Z",
  role: "active",
};

const ALARMED: AlarmedCoverage = {
  at: "2026-12-04T21:40:00.000Z",
  since: "2026-12-04T20:00:00.000Z",
  queries: 275,
  covered: 192.5,
  observed: 0.7,
  confidence_sequence_95: [0.6, 0.8],
  log_evidence: 3.2,
  log_threshold: 3,
};

async function render(recall: MonitorCoverage[]): Promise<string> {
  const view = { current: CAL, monitor: { points: [], recall, state: null, error: null } } as unknown as GateView;
  return (await CoverageSection({ view })!.toString()) as string;
}

const text = (html: string): string =>
  html
    .replace(/<[^>]+>/gu, " ")
    .replace(/\s+/gu, " ")
    .trim();

describe("coverage section", () => {
  it("shows the test that alarmed, named as the alert's numbers, beside the restarted one", async () => {
    const html = await render([{ ...RESTARTED, alarmed: ALARMED } as MonitorCoverage]);
    const at = html.indexOf('data-field="coverage-alarmed"');
    expect(at).toBeGreaterThanOrEqual(0);
    const alarmed = text(html.slice(at, html.indexOf("</section>", at)));
    expect(alarmed).toContain("The test that alarmed, at 2026-12-04 21:40:00 UTC (the numbers of the recall_drift alert");
    expect(alarmed).toContain("275 since 2026-12-04 20:00:00 UTC");
    expect(alarmed).toContain("Observed coverage 70.0 %");
    expect(alarmed).toContain("60.0 % to 80.0 %");
    expect(alarmed).toContain("ln E 3.2 of 3");
    // The restarted test's own figures stay those of the entry.
    expect(text(html)).toContain("20 with a relevant candidate (2 without one, counted, not tested; 1 batch)");
    expect(text(html)).toContain("since 2026-12-04 21:40:00 UTC (the test restarts at each alarm; 1 so far)");
    expect(text(html)).toContain("watching (alarmed at 2026-12-04 21:40:00 UTC on 70.0 % over 275 queries)");
  });

  it("shows no alarmed block when the monitor reports none", async () => {
    for (const entry of [RESTARTED, { ...RESTARTED, alarmed: null } as MonitorCoverage]) {
      const html = await render([entry]);
      expect(html).not.toContain("coverage-alarmed");
      expect(html).toContain('data-field="coverage-observed"');
    }
  });

  it("says a recall gate has no judged queries yet, and shows nothing for a gate without recall", async () => {
    expect(text(await render([]))).toContain("No judged queries yet");
    const plain = { ...CAL, policy: { kind: "drop_rate", target: 0.2 }, recall: null } as unknown as Calibration;
    const view = { current: plain, monitor: { points: [], recall: [], state: null, error: null } } as unknown as GateView;
    expect(CoverageSection({ view })).toBeNull();
  });
});
