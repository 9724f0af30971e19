// A promotion's step numbers are the contract's (DecisionNumbers, DriftAlarmNumbers): what decisionNumbers records in
// an audit row, its event and its alert has exactly the declared fields, for each test a drift alarm can name, and
// the OpenAPI document describes them (a field renamed in decisionNumbers fails the typecheck: it returns the type).
import { describe, expect, it } from "vitest";
import { type ArmDriftAlarm, DecisionNumbers, DriftAlarmNumbers, LiveDecision, type StepEvidence, WindowStatus } from "../../src/contract";
import { decisionNumbers } from "../../src/promotions/arm-evidence";
import { openApiDocument } from "../../src/reference/openapi";

const rate = (observed: number) => ({
  observed,
  expected: 0.3,
  band: { lo: 0.28, hi: 0.32 },
  log_evidence: 7.25,
  alarm: true,
  armed: true,
  not_armed_reason: null,
  evidence_since: "2026-12-04T20:10:00.000Z",
  evidence_queries: 100,
  evidence_observed: 0.41,
});

/** A candidate arm's drift window with every rate test, as the monitor answers it. */
const window = WindowStatus.parse({
  calibration_id: "cal_v3",
  index_version: "v3",
  started_at: "2026-12-04T00:00:00.000Z",
  ends_at: "2026-12-05T00:00:00.000Z",
  batches: 10,
  queries: 600,
  candidates: 12_000,
  dropped: 3972,
  empty_queries: 30,
  design_effect: 1.4,
  log_threshold: 6.9,
  drop_rate: rate(0.331),
  empty_context: rate(0.05),
  abstention: rate(0.2),
  abstention_queries: 400,
  abstained_queries: 80,
  mean_candidates: 20,
  expected_mean_candidates: 20,
  candidates_per_query: { change: null, strata: [] },
  alarms: 1,
  score_sample: { size: 0, seen: 0, drop_rate_at_threshold: null, ks: null },
});

const decision = (d: string, change: number) =>
  LiveDecision.parse({
    decision: d,
    change,
    interval95: [change - 0.03, change + 0.03],
    tolerance: 0.02,
    queries: 600,
    reference_queries: 610,
    effective_queries: 540,
    more_data_factor: null,
  });

const evidence = (alarm: ArmDriftAlarm | null): StepEvidence => ({
  step: 1,
  candidate_queries: 600,
  control_queries: 610,
  candidate_drop_rate: 0.331,
  control_drop_rate: 0.25,
  vs_control: decision("shifted", 0.081),
  vs_target: decision("inconclusive", 0.03),
  candidate_drift: { window, alarm },
});

describe("a promotion step's decision numbers", () => {
  it.each(["drop_rate_drift", "empty_context", "abstention_drift"] as const)("with a %s alarm are the contract's fields, no more", (kind) => {
    const n = decisionNumbers(evidence({ kind, at: "2026-12-04T21:00:00.000Z", summary: "..." }));
    expect(DecisionNumbers.strict().parse(n)).toEqual(n);
    expect(DriftAlarmNumbers.strict().parse(n.drift_alarm)).toEqual(n.drift_alarm);
    expect(n.drift_alarm).toMatchObject({ kind, log_threshold: 6.9, queries: kind === "abstention_drift" ? 400 : 600 });
  });

  it("without an alarm have a null drift_alarm", () => {
    const n = decisionNumbers(evidence(null));
    expect(DecisionNumbers.strict().parse(n)).toEqual(n);
    expect(n.drift_alarm).toBeNull();
    expect(n).toMatchObject({ candidate_drop_rate: 0.331, control_drop_rate: 0.25, candidate_queries: 600, control_queries: 610 });
  });

  it("are described in the OpenAPI document, in a promotion's steps", () => {
    type Schema = { properties?: Record<string, Schema>; required?: string[]; anyOf?: Schema[]; items?: Schema };
    const doc = openApiDocument() as {
      paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: Schema }> }> }>>;
    };
    const promotion = doc.paths["/v1/promotions/{id}"]!.get!.responses["200"]!.content["application/json"]!.schema;
    const numbers = promotion.properties!.steps!.items!.properties!.numbers!;
    const withEvidence = numbers.anyOf!.find((s) => s.properties?.control_drop_rate !== undefined)!;
    expect(withEvidence.required).toEqual(expect.arrayContaining(Object.keys(DecisionNumbers.shape)));
    expect(withEvidence.properties!.drift_alarm!.anyOf!.some((s) => s.properties?.log_threshold !== undefined)).toBe(true);
  });
});
