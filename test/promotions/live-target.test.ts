/**
 * A promotion step's and a shadow's decision against the candidate's own target, for a guarded calibration served on
 * production whose query sizes differ from the calibration's: the calibration is fitted through calibrate(),
 * production queries are gated with decideQuery (the rule every client applies) and counted as the gate's monitor
 * counts an arm (addObservation with the calibration's guards), and the step's evidence is read after every batch, as
 * the state machine reads it.
 */
import { describe, expect, it } from "vitest";
import { calibrate } from "../../src/calibrations/calibrate";
import { expectationOf } from "../../src/calibrations/expectation";
import { CalibrationMeta, type PromotionPlan, type StoredCalibration } from "../../src/contract";
import { liveDecision, liveSide, targetSide } from "../../src/monitoring/live-decision";
import type { LiveSums } from "../../src/monitoring/monitor-contract";
import { stepEvidence } from "../../src/promotions/arm-evidence";
import { type PromotionPosition, transition } from "../../src/promotions/state-machine";
import { decideQuery } from "../../src/stats/guard-rule";
import type { Guards } from "../../src/stats/guarded-gate";
import { addObservation, DROP_RATE_STRATA, dropStratumOf, emptyClusterSums, flattenQueries } from "../../src/stats/per-query";
import { memoryDeps } from "../support/memory-deps";
import { createRng, type Rng } from "../support/prng";

const NOW = Date.UTC(2026, 11, 5, 10, 0, 0);
const GATE = { index: "docs", embedding: "e5@v1", reranker: "bge@v2" };
const plan: PromotionPlan = { steps: [10, 50, 100], min_queries: 2000, on_regression: "rollback", tolerance: 0.02, max_step_hours: 72 };
const running: PromotionPosition = { state: "running", step: 0, version: 1, plan };

/** One query of m candidates with a per-query effect; `shift` moves every score (a real change of the scores). */
function query(rng: Rng, m: number, shift = 0): number[] {
  const base = rng.normal() + shift;
  return Array.from({ length: m }, () => base + rng.normal());
}
const uniform = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1));

async function fitted(policy: Record<string, unknown>, seed: number): Promise<StoredCalibration> {
  const rng = createRng(seed);
  // Calibration queries of 3 to 40 candidates (21 on average).
  const qs = Array.from({ length: 4000 }, () => query(rng, uniform(rng, 3, 40)));
  const meta = CalibrationMeta.parse({ ...GATE, index_version: "v2", policy });
  return (await calibrate({ meta, ...flattenQueries(qs) }, "alice", memoryDeps({ startMs: NOW }).deps)).calibration;
}

/**
 * Serves `c` to `batches` batches of 100 production queries of `size` candidates and reads the step's evidence after
 * each (the arm counted with the calibration's guards, as the monitor counts it). Returns every vs_target decision,
 * the pooled target's decisions on the same counts (the decision before it was taken for the arm's sizes), the state
 * machine's first transition, and the arm's final sums.
 */
function serve(c: StoredCalibration, seed: number, batches: number, size: (rng: Rng) => number, shift = 0, client?: Guards) {
  const rng = createRng(seed);
  const guards = { minKeep: c.guards?.min_keep ?? 0, maxKeep: c.guards?.max_keep ?? null };
  // `client`: the guards the client applies, where it does not apply the calibration's.
  const policy = { threshold: c.threshold, ...(client ?? guards), abstainBelow: null };
  const sums = emptyClusterSums();
  const arm = (): LiveSums => ({ since: NOW, sums, guards: { min_keep: guards.minKeep, max_keep: guards.maxKeep } });
  const decisions: string[] = [];
  const pooled: string[] = [];
  let stop: string | null = null;
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < 100; i++) {
      const d = decideQuery(query(rng, size(rng), shift), policy);
      addObservation(sums, [d.kept.length, d.dropped, d.below], guards);
    }
    const { view, input } = stepEvidence({ step: 0, plan }, { candidate: arm(), control: null }, c);
    decisions.push(view.vs_target.decision);
    pooled.push(liveDecision(targetSide(expectationOf(c)), liveSide(sums), plan.tolerance, plan.min_queries).decision);
    const t = transition(running, input);
    if (stop === null && t.kind !== "none") stop = t.kind === "rolled_back" || t.kind === "paused" ? `${t.kind}:${t.cause}` : t.kind;
  }
  return { decisions, pooled, stop, sums, arm: arm() };
}

const short = (rng: Rng) => uniform(rng, 3, 6);

describe("a guarded candidate's decision against its target, on production query sizes unlike the calibration's", () => {
  it("does not read shifted with the scores unchanged (the pooled target rolled it back on every seed)", async () => {
    for (const seed of [1, 2, 3]) {
      const c = await fitted({ kind: "drop_rate", target: 0.4, min_keep: 3 }, seed);
      expect(expectationOf(c).drop_rate_strata).toHaveLength(37);
      const run = serve(c, 100 + seed, 40, short);
      // Production's own drop rate sits far below the calibration's pooled 40 %: min_keep keeps most of 3 to 6.
      expect(run.sums.dropped / run.sums.candidates).toBeLessThan(0.3);
      expect(c.in_sample_drop_rate).toBeGreaterThan(0.35);
      expect(run.decisions).not.toContain("shifted");
      expect(run.stop).toBeNull();
      // The same counts against the pooled in-sample rate: shifted, and the default plan rolls the promotion back.
      expect(run.pooled).toContain("shifted");
    }
  });

  it("takes the target for the arm's sizes: the candidate's own rate is inside its confidence sequence", async () => {
    const c = await fitted({ kind: "drop_rate", target: 0.4, min_keep: 3 }, 4);
    const run = serve(c, 104, 40, short);
    const { view } = stepEvidence({ step: 0, plan }, { candidate: run.arm, control: null }, c);
    const [lo, hi] = view.vs_target.interval95!;
    expect(lo).toBeLessThan(0);
    expect(hi).toBeGreaterThan(0);
    expect(Math.abs(view.vs_target.change!)).toBeLessThan(plan.tolerance);
  });

  it("still reads shifted on a real change of the drop rate at those sizes, and stops the step", async () => {
    for (const seed of [1, 2]) {
      const c = await fitted({ kind: "drop_rate", target: 0.4, min_keep: 3 }, seed);
      const run = serve(c, 200 + seed, 40, short, -1);
      expect(run.decisions).toContain("shifted");
      expect(run.stop).toBe("rolled_back:shifted_vs_target");
    }
  });

  it("reads shifted for a client that does not apply min_keep: its extra drops are not taken as expected", async () => {
    const c = await fitted({ kind: "drop_rate", target: 0.4, min_keep: 3 }, 1);
    const run = serve(c, 501, 40, short, 0, { minKeep: 0, maxKeep: null });
    expect(run.stop).toBe("rolled_back:shifted_vs_target");
  });

  it("falls back to the pooled target for an arm counted without the calibration's guards (rows kept before them)", async () => {
    const c = await fitted({ kind: "drop_rate", target: 0.4, min_keep: 3 }, 5);
    const run = serve(c, 105, 10, short);
    const { guards: _, ...old } = run.arm;
    const e = expectationOf(c);
    expect(targetSide(e, old)).toEqual(targetSide(e));
    expect(targetSide(e, { ...run.arm, guards: { min_keep: 2, max_keep: null } })).toEqual(targetSide(e));
    expect(targetSide(e, run.arm).rate).toBeLessThan(targetSide(e).rate - 0.1);
  });
});

describe("a capped candidate (max_keep) on production queries longer than most of its calibration's", () => {
  const long = (rng: Rng) => uniform(rng, 30, 40);

  it("expects the cap's drops of the arm's own queries: no shifted with the scores unchanged, shifted on a real change", async () => {
    for (const seed of [1, 2]) {
      const c = await fitted({ kind: "drop_rate", target: 0.45, max_keep: 25 }, seed);
      const e = expectationOf(c);
      const healthy = serve(c, 300 + seed, 40, long);
      // The cap drops 5 to 15 of each query whatever the threshold: production's rate sits well above the pooled one.
      expect(healthy.sums.dropped / healthy.sums.candidates - e.expected_drop_rate).toBeGreaterThan(plan.tolerance);
      expect(Math.abs(targetSide(e, healthy.arm).rate - healthy.sums.dropped / healthy.sums.candidates)).toBeLessThan(plan.tolerance);
      expect(healthy.decisions).not.toContain("shifted");
      expect(healthy.stop).toBeNull();
      const moved = serve(c, 400 + seed, 40, long, -0.5);
      expect(moved.stop).toBe("rolled_back:shifted_vs_target");
      // A client that does not apply the cap keeps the tail the cap drops: not taken as expected either. It takes up
      // to 41 batches (seed 1; 5 for seed 2): the target's variance is that of the calibration's long strata measured on
      // their own queries, 1.5 times the one derived from the pooled design effect (22 batches then).
      const uncapped = serve(c, 500 + seed, 60, long, 0, { minKeep: 0, maxKeep: null });
      expect(uncapped.stop).toBe("rolled_back:shifted_vs_target");
    }
  });
});

describe("production query sizes the calibration never saw (longer than any of its 3 to 40)", () => {
  const unseen = (rng: Rng) => uniform(rng, 50, 80);

  it("a capped candidate does not read shifted with the scores unchanged: the extrapolated share is an unknown in [0, 1]", async () => {
    // The calibration's pooled share of eligible candidates dropped is far above what a capped long query's top ranks
    // drop (75 % against 67 % in the review's runs): taken as exact, it rolled back every run.
    for (const seed of [1, 2, 3]) {
      const c = await fitted({ kind: "drop_rate", target: 0.45, max_keep: 25 }, seed);
      const run = serve(c, 600 + seed, 40, unseen);
      expect(run.decisions).not.toContain("shifted");
      expect(run.stop).toBeNull();
      const e = expectationOf(c);
      // the target is wide: its effective size is a handful of candidates, not tens of thousands
      expect(targetSide(e, run.arm).effectiveSize).toBeLessThan(100);
    }
  });

  it("min_keep 3 on queries of 50 to 80: no shifted over 12,000 queries with the scores unchanged", async () => {
    const c = await fitted({ kind: "drop_rate", target: 0.4, min_keep: 3 }, 7);
    const run = serve(c, 707, 120, unseen);
    expect(run.decisions).not.toContain("shifted");
  });

  it("a target of 0 keeps its own variance: a small stratum with no drop does not count as thousands of candidates", async () => {
    // min_keep 1: 12 calibration queries of 2 candidates (one decided each), none dropped; every live query of 2.
    const strata = DROP_RATE_STRATA.map(() => ({ queries: 0, eligible: 0, dropped: 0 }));
    strata[dropStratumOf(2)] = { queries: 12, eligible: 12, dropped: 0 };
    strata[dropStratumOf(21)] = { queries: 4000, eligible: 80_000, dropped: 32_000 };
    const fit = expectationOf(await fitted({ kind: "drop_rate", target: 0.4, min_keep: 1 }, 8));
    const e = { ...fit, guards: { min_keep: 1, max_keep: null }, drop_rate_strata: strata, design_effect: 1.5, mean_candidates: 21 };
    const sums = emptyClusterSums();
    const rng = createRng(9);
    for (let i = 0; i < 300; i++) {
      const dropped = rng.next() < 0.048 ? 1 : 0;
      addObservation(sums, [2, dropped, dropped], { minKeep: 1, maxKeep: null });
    }
    const live: LiveSums = { since: NOW, sums, guards: { min_keep: 1, max_keep: null } };
    const target = targetSide(e, live);
    expect(target.rate).toBe(0);
    expect(target.effectiveSize).toBeLessThan(100);
    expect(liveDecision(target, liveSide(sums), 0.02, 2000).decision).not.toBe("shifted");
  });
});

describe("an unguarded candidate's decision against its target", () => {
  it("is unchanged: its pooled rate, whatever the arm's query sizes", async () => {
    const c = await fitted({ kind: "drop_rate", target: 0.4 }, 6);
    expect(c.guards ?? null).toBeNull();
    const run = serve(c, 106, 20, short);
    const e = expectationOf(c);
    expect(targetSide(e, run.arm)).toEqual(targetSide(e));
    expect(run.decisions).toEqual(run.pooled);
  });
});
