/**
 * The labels report of a labelled upload: coverage at the threshold, and for a calibration that abstains the same
 * coverage with the queries that abstain counted as covering nothing (they hand the LLM no candidate).
 */
import { describe, expect, it } from "vitest";
import { labelsReport } from "../../src/calibrations/recall";
import type { Warning } from "../../src/contract";
import type { LabelledQueries } from "../../src/stats/recall-gate";

/** Four queries of two candidates, the first relevant and above the threshold 0.5; their top scores 0.9, 0.8, 0.6, 0.55. */
const Q: LabelledQueries = {
  scores: Float64Array.from([0.9, 0.1, 0.8, 0.2, 0.6, 0.3, 0.55, 0.4]),
  relevant: Uint8Array.from([1, 0, 1, 0, 1, 0, 1, 0]),
  offsets: Uint32Array.from([0, 2, 4, 6, 8]),
};

describe("labelsReport", () => {
  it("without abstention: coverage at the threshold, and coverage_with_abstention null", () => {
    const l = labelsReport(Q, 0.5, undefined, [] as Warning[]);
    expect(l.coverage_at_threshold).toEqual({ any_relevant: 1, all_relevant: 1, candidates: 1 });
    expect(l.coverage_with_abstention).toBeNull();
  });

  it("with abstain_below 0.7 the two queries whose top score is below it cover nothing", () => {
    const l = labelsReport(Q, 0.5, undefined, [] as Warning[], undefined, 0.7);
    expect(l.coverage_at_threshold.any_relevant).toBe(1);
    expect(l.coverage_with_abstention).toEqual({ any_relevant: 0.5, all_relevant: 0.5, candidates: 0.5 });
    // a top score equal to abstain_below does not abstain (the guard rule's `<`)
    expect(labelsReport(Q, 0.5, undefined, [], undefined, 0.6).coverage_with_abstention!.any_relevant).toBe(0.75);
  });
});
