// Calibrations on the data real traffic produces: tied and saturated scores, float32 uploads, clustered queries
// uploaded flat, per-calibration drift tolerances.
import { describe, expect, it } from "vitest";
import { type CalibrationInput, calibrate } from "../../src/calibrations/calibrate";
import { expectationOf } from "../../src/calibrations/expectation";
import { fitCalibration } from "../../src/calibrations/fit";
import { CalibrationMeta } from "../../src/contract";
import { AppError } from "../../src/platform/errors";
import { effectiveSize, rateInterval } from "../../src/stats/effective-size";
import { fitGate } from "../../src/stats/gate-fit";
import { sortedCopy } from "../../src/stats/order-statistics";
import { perQueryStats } from "../../src/stats/per-query";
import { smallSampleFactor } from "../../src/stats/satterthwaite";
import { binomIsf, binomPpf, zCdf } from "../../src/stats/special";
import { tieAwareDropRate } from "../../src/stats/tie-aware";
import { memoryDeps } from "../support/memory-deps";
import { createRng, deriveSeed, type Rng } from "../support/prng";

const NOW = Date.UTC(2026, 10, 24, 9, 30, 0);
const GATE = { index: "docs", embedding: "e5", reranker: "bge" };
const meta = (fields: Record<string, unknown>) =>
  CalibrationMeta.parse({ ...GATE, index_version: "v1", policy: { kind: "drop_rate", target: 0.3 }, ...fields });

async function run(fields: Record<string, unknown>, input: Omit<CalibrationInput, "meta">) {
  return calibrate({ meta: meta(fields), ...input }, "alice", memoryDeps({ startMs: NOW }).deps);
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => new Error("expected the call to fail"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

/** Q queries of M candidates with intra-query correlation rho: N(0, rho) query effect plus N(0, 1 - rho) noise. */
function clustered(seed: number, q: number, m: number, rho: number): { scores: Float64Array; offsets: Uint32Array } {
  return clusteredSized(seed, q, () => m, rho);
}

/** The same with each query's size drawn by `size` (before its scores, from the same generator). */
function clusteredSized(seed: number, q: number, size: (rng: Rng) => number, rho: number): { scores: Float64Array; offsets: Uint32Array } {
  const rng = createRng(seed);
  const all: number[] = [];
  const offsets = new Uint32Array(q + 1);
  for (let i = 0; i < q; i++) {
    const m = size(rng);
    const u = Math.sqrt(rho) * rng.normal();
    for (let j = 0; j < m; j++) all.push(u + Math.sqrt(1 - rho) * rng.normal());
    offsets[i + 1] = all.length;
  }
  return { scores: Float64Array.from(all), offsets };
}

describe("ties and saturation", () => {
  it("scores on a 0.01 grid: expected_drop_rate is what the gate drops (F(t-)), not the target, and the warning says why", async () => {
    const rng = createRng(7);
    // A reranker whose scores sit in a narrow range, rounded to two decimals: about 8 % of the scores share each value.
    const scores = Float64Array.from({ length: 5000 }, () => Math.round(100 * (0.5 + 0.05 * rng.normal())) / 100);
    const r = await run({}, { scores, offsets: null });
    const c = r.calibration;
    expect(c.ties_at_threshold).toBeGreaterThan(1);
    expect(c.expected_drop_rate).toBe(c.in_sample_drop_rate);
    expect(c.expected_drop_rate).toBeLessThan(0.28);
    expect(c.conformal_drop_rate).toBeCloseTo(0.3, 3);
    const w = r.warnings.find((x) => x.code === "ties_at_threshold");
    expect(w?.message).toContain("all are kept, so the gate drops");
    expect(c.drop_rate_interval_95[0]).toBeLessThan(c.expected_drop_rate);
    expect(c.drop_rate_interval_95[1]).toBeGreaterThan(c.expected_drop_rate);
  });

  it("1,000 constant scores at target 0.98: 422 target_unreachable, never a served 0.98 for a gate that drops nothing", async () => {
    const err = await rejection(run({ policy: { kind: "drop_rate", target: 0.98 } }, { scores: new Float64Array(1000).fill(0.5), offsets: null }));
    expect(err.code).toBe("target_unreachable");
    expect(err.details).toMatchObject({ ties_at_minimum: 1000, minimum: 0.5 });
  });

  it("scores saturated at 1.0: the gate drops only the unsaturated share and says so", async () => {
    const rng = createRng(8);
    const scores = Float64Array.from({ length: 2000 }, () => (rng.next() < 0.9 ? 1 : rng.next()));
    const r = await run({ score_scale: "probability", policy: { kind: "drop_rate", target: 0.98 } }, { scores, offsets: null });
    expect(r.calibration.threshold).toBe(1);
    expect(r.calibration.expected_drop_rate).toBeCloseTo(0.1, 1);
    expect(r.warnings.map((w) => w.code)).toContain("ties_at_threshold");
  });

  it("continuous scores keep the conformal k/(n+1) (three distinct scores at target 0.25 are fine)", async () => {
    const r = await run({ policy: { kind: "drop_rate", target: 0.25 } }, { scores: Float64Array.of(0.1, 0.2, 0.3), offsets: null });
    expect(r.calibration).toMatchObject({ threshold: 0.1, expected_drop_rate: 0.25, conformal_drop_rate: 0.25, ties_at_threshold: 1 });
  });
});

describe("float32 uploads", () => {
  it("scores near 5e6 with a spread of 0.1 are refused: float32 rounding is coarser than the scores", async () => {
    const rng = createRng(9);
    const scores = Float64Array.from({ length: 1000 }, () => Math.fround(5e6 + 0.1 * rng.normal()));
    const err = await rejection(run({}, { scores, offsets: null, precision: "float32" }));
    expect(err.code).toBe("float32_precision");
    expect(err.message).toContain("JSON or NDJSON");
  });

  it("a spacing of a few thousandths of the spread warns with the spacing and the advice", async () => {
    const rng = createRng(10);
    const scores = Float64Array.from({ length: 1000 }, () => Math.fround(3000 + 0.05 * rng.normal()));
    const r = await run({}, { scores, offsets: null, precision: "float32" });
    const w = r.warnings.find((x) => x.code === "float32_precision");
    expect(w?.message).toContain("float32 spacing");
    expect(w?.message).toContain("NDJSON");
  });

  it("ordinary reranker logits in float32 give no warning", async () => {
    const rng = createRng(11);
    const scores = Float64Array.from({ length: 1000 }, () => Math.fround(2 * rng.normal()));
    const r = await run({}, { scores, offsets: null, precision: "float32" });
    expect(r.warnings.map((w) => w.code)).not.toContain("float32_precision");
  });
});

describe("clustered queries: effective sample size", () => {
  it("queries whose candidates move together (rho 0.3, 500 x 20) get wider intervals, an effective n and small_sample", async () => {
    const data = clustered(12, 500, 20, 0.3);
    const asQueries = (await run({}, data)).calibration;
    const flat = await run({}, { scores: data.scores, offsets: null });
    expect(asQueries.per_query!.design_effect).toBeGreaterThan(3);
    expect(asQueries.effective_n).toBeCloseTo(10_000 / asQueries.per_query!.design_effect, 9);
    const width = (c: typeof asQueries) => c.drop_rate_interval_95[1] - c.drop_rate_interval_95[0];
    expect(width(asQueries) / width(flat.calibration)).toBeCloseTo(Math.sqrt(asQueries.per_query!.design_effect), 1);
    const thrWidth = (c: typeof asQueries) => c.threshold_interval_95[1]! - c.threshold_interval_95[0]!;
    expect(thrWidth(asQueries)).toBeGreaterThan(thrWidth(flat.calibration));
    // 10,000 candidates would be enough for +-1 point at 0.3 if independent; 500 clustered queries are not.
    expect(flat.warnings.map((w) => w.code)).toEqual(["flat_scores"]);
    expect((await run({}, data)).warnings.map((w) => w.code)).toEqual(["small_sample"]);
  });

  // Few queries at an extreme target: a few low-scoring queries hold every drop, so the design effect from 20 queries
  // is itself uncertain. The full comparison (jackknife, bootstrap, sizes) is bench/intervals-sim.ts.
  it("20 queries of 50 at d = 0.01 (rho 0.3): the interval holds the realized drop rate in at least 93 % of 400 runs", () => {
    let covered = 0;
    let above = 0;
    for (let run = 0; run < 400; run++) {
      const data = clustered(deriveSeed(9401, run), 20, 50, 0.3);
      const f = fitCalibration(sortedCopy(data.scores), 0.01, data).fields;
      const truth = zCdf(f.threshold!);
      if (f.drop_rate_interval_95[0] <= truth && truth <= f.drop_rate_interval_95[1]) covered++;
      else if (truth > f.drop_rate_interval_95[1]) above++;
    }
    // The Kish effective size alone: 89.5 %, with the realized rate above the interval 10 % of the time.
    expect(covered / 400).toBeGreaterThanOrEqual(0.93);
    // Still lopsided (bench/intervals-sim.ts: 4.7 % above, 0.3 % below), but half as often.
    expect(above / 400).toBeLessThanOrEqual(0.07);
  });

  // The headline case of few, unequal queries: 20 queries of log-normal sizes (exp(ln 50 + N(0, 1)) within 1..500), a
  // few large ones holding most candidates. The Kish size alone covered 86-88 % here, missing above 7 % of the time;
  // the full count (2,000 runs: 95.8 %, 2.7 % above) is bench/intervals-sim.ts, docs/benchmarks.md section 15. To stay
  // cheap (about 0.7 s) the runs build the interval from the same stats functions fitCalibration composes (checked
  // equal on the first run) rather than the whole fit. 1,000 runs tell 93 % from the Kish size's 88 %: the same runs
  // with the Kish size alone fall below the bound, so the test fails on it (these seeds: 966 covered, 24 above; the
  // Kish size alone 882, the bound 904).
  it("20 queries of log-normal sizes up to 500 (rho 0.1, d = 0.3): coverage and misses above within their bounds for 1,000 runs", () => {
    const runs = 1000;
    let kishCovered = 0;
    const logNormal = (rng: Rng): number => Math.max(1, Math.min(500, Math.round(Math.exp(Math.log(50) + rng.normal()))));
    let covered = 0;
    let above = 0;
    for (let run = 0; run < runs; run++) {
      const data = clusteredSized(deriveSeed(9402, run), 20, logNormal, 0.1);
      const sorted = sortedCopy(data.scores);
      const gate = fitGate(sorted, 0.3);
      if (gate.kind !== "fitted" || gate.threshold === null) throw new Error("unfitted");
      const expected = tieAwareDropRate(sorted, gate.k).expectedDropRate;
      const q = perQueryStats(data.scores, data.offsets, gate.threshold);
      const nEff = effectiveSize(sorted.length, q.designEffect);
      const [lo, hi] = rateInterval(expected, nEff * smallSampleFactor(q.degreesOfFreedom));
      if (run === 0) expect(fitCalibration(sorted, 0.3, data).fields.drop_rate_interval_95).toEqual([lo, hi]);
      const truth = zCdf(gate.threshold);
      const [kLo, kHi] = rateInterval(expected, nEff);
      if (kLo <= truth && truth <= kHi) kishCovered++;
      if (lo <= truth && truth <= hi) covered++;
      else if (truth > hi) above++;
    }
    // At a true coverage of 93 % the count falls below this with probability at most 0.1 %.
    const floor = binomPpf(0.001, runs, 0.93);
    expect(covered).toBeGreaterThanOrEqual(floor);
    expect(kishCovered).toBeLessThan(floor);
    // An equal-tailed 95 % interval misses above 2.5 % of the time: more than this in 1,000 runs has probability <= 0.1 %.
    expect(above).toBeLessThanOrEqual(binomIsf(0.001, runs, 0.025));
  });

  it("reports the Satterthwaite degrees of freedom behind the interval (few for few queries, null when flat)", async () => {
    const few = (await run({}, clustered(15, 20, 50, 0.3))).calibration;
    expect(few.interval_degrees_of_freedom).toBeGreaterThanOrEqual(1);
    expect(few.interval_degrees_of_freedom).toBeLessThanOrEqual(19);
    expect((await run({}, { scores: clustered(15, 20, 50, 0.3).scores, offsets: null })).calibration.interval_degrees_of_freedom).toBeNull();
  });

  it("a flat upload of clustered data warns that clustering cannot be estimated", async () => {
    const r = await run({}, { scores: clustered(13, 100, 20, 0.3).scores, offsets: null });
    expect(r.warnings.find((w) => w.code === "flat_scores")?.message).toContain("cannot be estimated");
  });
});

describe("per-calibration drift tolerances", () => {
  it("absolute and relative tolerances resolve to rate units and reach the monitor's expectation", async () => {
    const data = clustered(14, 500, 20, 0.05);
    const abs = await run({ policy: { kind: "drop_rate", target: 0.01 }, drift_tolerance: 0.004, empty_context_tolerance: 0.01 }, data);
    expect(abs.calibration).toMatchObject({ drift_tolerance: 0.004, empty_context_tolerance: 0.01 });
    const rel = await run({ policy: { kind: "drop_rate", target: 0.01 }, drift_tolerance: { relative: 0.5 } }, data);
    expect(rel.calibration.drift_tolerance).toBeCloseTo(0.5 * rel.calibration.expected_drop_rate, 15);
    expect(rel.calibration.empty_context_tolerance).toBeNull();
    expect(expectationOf(rel.calibration)).toMatchObject({ drift_tolerance: rel.calibration.drift_tolerance, empty_context_tolerance: null });
  });

  it.each([
    [{ drift_tolerance: -0.01 }],
    [{ drift_tolerance: 0.6 }],
    [{ drift_tolerance: { relative: 0 } }],
    [{ drift_tolerance: { relative: 1.5 } }],
    [{ empty_context_tolerance: { relative: 0.5, extra: 1 } }],
    [{ empty_context_tolerance: "2%" }],
  ])("refuses %j", (fields) => {
    expect(CalibrationMeta.safeParse({ ...GATE, index_version: "v1", policy: { kind: "drop_rate", target: 0.3 }, ...fields }).success).toBe(false);
  });
});
