/**
 * `monitor_not_armed`: an upload too small for the monitor to bound its own drop rate (or a recall gate's coverage)
 * says at upload that the production test will never be armed, as the monitor says later (not_armed_reason
 * "calibration_too_small"), and how many scores would arm it.
 */
import { describe, expect, it } from "vitest";
import { type CalibrationResult, calibrate } from "../../src/calibrations/calibrate";
import { calibrationExpectation, expectationOf } from "../../src/calibrations/expectation";
import { CalibrationMeta } from "../../src/contract";
import { coverageMargin } from "../../src/stats/coverage-test";
import { driftBands } from "../../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { flattenQueries } from "../../src/stats/per-query";
import { labelledQueries } from "../support/labelled";
import { memoryDeps } from "../support/memory-deps";
import { createRng } from "../support/prng";

const NOW = new Date(Date.UTC(2026, 11, 6, 9, 30, 0));
const GATE = { index: "docs", embedding: "e5@v1", reranker: "bge-reranker@v2" };

function upload(
  policy: Record<string, unknown>,
  data: { flat: number[] } | { queries: number[][]; relevance?: number[][] },
): Promise<CalibrationResult> {
  const s = memoryDeps({ startMs: NOW.getTime() });
  const meta = CalibrationMeta.parse({ ...GATE, index_version: "v1", policy });
  if ("flat" in data) return calibrate({ meta, scores: Float64Array.from(data.flat), offsets: null }, "alice", s.deps);
  const relevant = data.relevance ? Uint8Array.from(data.relevance.flat()) : null;
  return calibrate({ meta, ...flattenQueries(data.queries), relevant }, "alice", s.deps);
}

const normals = (seed: number, n: number) => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.normal());
};

/** What the monitor will do with the stored calibration: its drop-rate test armable or not (drift-bands.ts). */
const monitorArms = (r: CalibrationResult) =>
  driftBands(calibrationExpectation(expectationOf(r.calibration)), DEFAULT_DRIFT_CONFIG, 1).dropRateArmable;

const notArmed = (r: CalibrationResult) => r.warnings.filter((w) => w.code === "monitor_not_armed").map((w) => w.message);

describe("monitor_not_armed", () => {
  it("a 30-score flat upload at target 0.5 is told its drop-rate test will not be armed, and how many scores arm it", async () => {
    const r = await upload({ kind: "drop_rate", target: 0.5 }, { flat: normals(1, 30) });
    expect(monitorArms(r)).toBe(false);
    const [message] = notArmed(r);
    expect(message).toMatch(
      /^the production monitor's drop-rate test will not be armed on this calibration: 30 scores leave the gate's own drop rate \(expected 51\.61 %\) uncertain by more than 25 points/u,
    );
    expect(message).toContain('drop_rate_drift cannot fire while it is served (GET /v1/monitor: not_armed_reason "calibration_too_small")');
    // stored with the calibration, as every warning is
    expect(r.calibration.warnings.map((w) => w.code)).toContain("monitor_not_armed");
    // the count it names arms the test: an upload of that many scores at the same target gets no such warning
    const needed = Number(/About ([\d,]+) scores arm it$/u.exec(message!)?.[1]?.replace(/,/gu, ""));
    expect(needed).toBeGreaterThan(30);
    expect(needed).toBeLessThan(60); // docs/drift.md: 43 independent scores at d = 0.5
    const enough = await upload({ kind: "drop_rate", target: 0.5 }, { flat: normals(2, needed) });
    expect(monitorArms(enough)).toBe(true);
    expect(notArmed(enough)).toEqual([]);
  });

  it("is said exactly when the monitor will not arm the test, across sizes and extreme targets", async () => {
    for (const [n, d] of [
      [20, 0.3],
      [40, 0.5],
      [43, 0.5],
      [100, 0.01],
      [200, 0.01],
      [100, 0.99],
      [150, 0.99],
      [1000, 0.3],
    ] as const) {
      const r = await upload({ kind: "drop_rate", target: d }, { flat: normals(3 + n, n) });
      expect(notArmed(r).length, `n=${n} d=${d}`).toBe(monitorArms(r) ? 0 : 1);
    }
  });

  it("queries whose candidates move together need more scores: the message names the design effect", async () => {
    // 6 queries of 8 strongly clustered candidates: 48 scores worth far fewer
    const rng = createRng(7);
    const qs = Array.from({ length: 6 }, () => {
      const base = 3 * rng.normal();
      return Array.from({ length: 8 }, () => base + 0.3 * rng.normal());
    });
    const r = await upload({ kind: "drop_rate", target: 0.5 }, { queries: qs });
    expect(r.calibration.per_query!.design_effect).toBeGreaterThan(2);
    const [message] = notArmed(r);
    expect(message).toMatch(/About [\d,]+ scores \(at this upload's design effect \d+\.\d\d\) arm it$/u);
  });

  it("a recall gate of 20 labelled queries is told its recall test will not be armed; 400 queries arm it", async () => {
    const policy = { kind: "recall", target: 0.9, coverage: "any_relevant" };
    const few = labelledQueries(41, 20);
    const r = await upload(policy, { queries: few.map((q) => q.scores), relevance: few.map((q) => q.relevance) });
    const rec = r.calibration.recall!;
    const margin = coverageMargin(
      {
        bound: rec.coverage_bound,
        n: rec.n,
        missMass: rec.miss_mass,
        rule: "rank",
        ...(rec.miss_below !== undefined ? { below: rec.miss_below } : {}),
        ...(rec.ties_at_threshold !== undefined ? { ties: rec.ties_at_threshold } : {}),
      },
      DEFAULT_DRIFT_CONFIG.tolerance,
      DEFAULT_DRIFT_CONFIG.alpha,
      DEFAULT_DRIFT_CONFIG.maxCalibrationMargin,
    );
    expect(margin.armable).toBe(false);
    expect(
      notArmed(r).some((m) => m.startsWith("the production monitor's recall test will not be armed on this calibration: 20 labelled queries")),
    ).toBe(true);
    const many = labelledQueries(42, 400);
    const armed = await upload(policy, { queries: many.map((q) => q.scores), relevance: many.map((q) => q.relevance) });
    expect(notArmed(armed).filter((m) => m.includes("recall test"))).toEqual([]);
  });

  it("a guarded gate's stratified test is left to few_monitored_strata (one warning per cause)", async () => {
    const rng = createRng(9);
    const qs = Array.from({ length: 10 }, () => Array.from({ length: 5 }, () => rng.normal()));
    const r = await upload({ kind: "drop_rate", target: 0.3, min_keep: 1 }, { queries: qs });
    expect(notArmed(r)).toEqual([]);
    expect(r.warnings.map((w) => w.code)).toContain("few_monitored_strata");
  });
});
