import { describe, expect, it } from "vitest";
import { type CalibrationResult, calibrate } from "../../src/calibrations/calibrate";
import { parseCalibrationUpload } from "../../src/calibrations/upload";
import { CalibrationMeta } from "../../src/contract";
import { AppError } from "../../src/platform/errors";
import { gateIdOf } from "../../src/platform/ids";
import { fitFalseAbstention, splitTops, topScores } from "../../src/stats/abstention";
import { eligibleScores, fitGuardedGate, guardedDropCount } from "../../src/stats/guarded-gate";
import { flattenQueries } from "../../src/stats/per-query";
import { fitRecallGate } from "../../src/stats/recall-gate";
import { labelledQueries } from "../support/labelled";
import { memoryDeps } from "../support/memory-deps";
import { createRng } from "../support/prng";

const NOW = new Date(Date.UTC(2026, 11, 2, 9, 30, 0));
const GATE = { index: "docs", embedding: "e5@v1", reranker: "bge-reranker@v2" };

/** q queries of 1..maxM candidates (sizes uniform), scores normal with a per-query effect (seeded). */
function queries(seed: number, q: number, maxM: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: q }, () => {
    const m = 1 + Math.floor(rng.next() * maxM);
    const base = rng.normal();
    return Array.from({ length: m }, () => base + rng.normal());
  });
}

interface Upload {
  policy: Record<string, unknown>;
  queries: readonly (readonly number[])[];
  relevance?: readonly (readonly number[])[];
  answerable?: (boolean | null)[];
  gate?: typeof GATE;
  index_version?: string;
}

function run(s: ReturnType<typeof memoryDeps>, u: Upload): Promise<CalibrationResult> {
  const meta = CalibrationMeta.parse({ ...(u.gate ?? GATE), index_version: u.index_version ?? "v1", policy: u.policy });
  const flat = flattenQueries(u.queries);
  const relevant = u.relevance ? Uint8Array.from(u.relevance.flat()) : null;
  return calibrate({ meta, ...flat, relevant, answerable: u.answerable ?? null }, "alice", s.deps);
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => new Error("expected the call to fail"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

const setup = () => memoryDeps({ startMs: NOW.getTime() });

describe("guarded drop-rate calibrations", () => {
  const qs = queries(11, 400, 12);

  it("places the threshold where the guarded gate drops the target and reports the guards' effect", async () => {
    const s = setup();
    const r = await run(s, { policy: { kind: "drop_rate", target: 0.3, min_keep: 3, max_keep: 8 }, queries: qs });
    const c = r.calibration;
    const flat = flattenQueries(qs);
    const fit = fitGuardedGate(eligibleScores(flat.scores, flat.offsets, { minKeep: 3, maxKeep: 8 }), 0.3);
    expect(fit.kind).toBe("fitted");
    if (fit.kind !== "fitted") return;
    expect(c.threshold).toBe(fit.threshold);
    expect(c.k).toBe(fit.k);
    expect(c.expected_drop_rate).toBeCloseTo(fit.expectedDropRate, 12);
    expect(c.in_sample_drop_rate).toBeCloseTo(fit.dropped / fit.n, 12);
    expect(Math.abs(c.expected_drop_rate - 0.3)).toBeLessThan(1 / (c.n + 1) + 1e-12);
    const g = c.guards!;
    expect(g).toMatchObject({ min_keep: 3, max_keep: 8 });
    // min_keep binds on short queries, so the bare threshold would drop more than the guarded gate does.
    expect(g.min_keep_binding_rate).toBeGreaterThan(0.1);
    expect(g.max_keep_binding_rate).toBeGreaterThan(0);
    expect(g.bare_drop_rate).not.toBeCloseTo(c.in_sample_drop_rate, 3);
    expect(g.reachable.lowest).toBeCloseTo(fit.floor / (fit.n + 1), 12);
    expect(g.reachable.highest).toBeCloseTo(fit.ceiling / (fit.n + 1), 12);
    // The drop rate's interval counts queries (the guarded drops' design effect), and holds the expected rate.
    expect(c.drop_rate_interval_95[0]).toBeLessThan(c.expected_drop_rate);
    expect(c.drop_rate_interval_95[1]).toBeGreaterThan(c.expected_drop_rate);
    // A min_keep >= 1 gate is never empty: its strata count where the guard binds.
    expect(c.per_query!.empty_context_level).toBe(3);
    expect(c.per_query!.empty_context_rate).toBeCloseTo(g.min_keep_binding_rate, 12);
    const byStratum = c.per_query!.drop_rate_by_candidates!;
    expect(byStratum.reduce((a, st) => a + st.dropped, 0)).toBe(fit.dropped);
    expect(byStratum[0]).toMatchObject({ min_candidates: 1, dropped: 0, eligible: 0 }); // one candidate, min_keep 3: never dropped
    expect(byStratum.reduce((a, st) => a + st.eligible, 0)).toBe(fit.ceiling - fit.floor);
    expect(c.policy).toMatchObject({ kind: "drop_rate", target: 0.3, min_keep: 3, max_keep: 8 });
    expect(c.abstain_below).toBeNull();
  });

  it("warns few_monitored_strata when the calibration's queries fall mostly in size strata the monitor cannot test", async () => {
    const s = memoryDeps({ startMs: NOW.getTime() });
    // 300 queries of 1..200 candidates: each drop-rate stratum holds a handful, too few to bound its rate.
    const thin = await run(s, { policy: { kind: "drop_rate", target: 0.3, min_keep: 3 }, queries: queries(31, 300, 200) });
    const w = thin.warnings.find((x) => x.code === "few_monitored_strata");
    expect(w?.message).toMatch(
      /^the production monitor tests the gate's drop rate .*: (\d+) of the (\d+) size strata this calibration holds are tested/u,
    );
    expect(w?.message).toContain("production's drop rate on queries of the other sizes is not watched");
    // 3,000 queries of 1..4 candidates, abstaining: every size has hundreds, all tested.
    const dense = await run(s, { policy: { kind: "drop_rate", target: 0.3, min_keep: 1, abstention: { rate: 0.1 } }, queries: queries(32, 3000, 4) });
    expect(dense.calibration.abstention?.by_candidates?.slice(0, 4).map((st) => st.queries)).toEqual([
      expect.any(Number),
      expect.any(Number),
      expect.any(Number),
      expect.any(Number),
    ]);
    expect(dense.calibration.abstention?.by_candidates?.reduce((a, st) => a + st.queries, 0)).toBe(3000);
    expect(dense.warnings.map((x) => x.code)).not.toContain("few_monitored_strata");
  });

  it("says no query size is watched when no stratum is tested, and which test each warning is about", async () => {
    const s = memoryDeps({ startMs: NOW.getTime() });
    // 29 queries of 20 candidates, one short of the 30 a size stratum needs: one stratum, untested, in both tests.
    const rng = createRng(33);
    const sizes = Array.from({ length: 29 }, () => Array.from({ length: 20 }, () => rng.normal()));
    const r = await run(s, { policy: { kind: "drop_rate", target: 0.3, min_keep: 3, abstention: { rate: 0.1 } }, queries: sizes });
    const [drop, abstention] = r.warnings.filter((x) => x.code === "few_monitored_strata").map((x) => x.message);
    expect(drop).toMatch(/^the production monitor tests the gate's drop rate /u);
    expect(drop).toContain(
      "no query size is tested yet (the one size stratum this calibration holds does not qualify), so production's drop rate is not watched on any query",
    );
    expect(abstention).toMatch(/^the production monitor tests the abstention rate \(the share of queries whose top score is below abstain_below\) /u);
    expect(abstention).toContain("so production's abstention rate is not watched on any query");
    for (const m of [drop, abstention]) expect(m).not.toMatch(/\b0 of the|other sizes/u);
  });

  it("serves the guards with the threshold", async () => {
    const s = setup();
    const r = await run(s, { policy: { kind: "drop_rate", target: 0.3, min_keep: 2 }, queries: qs });
    const p = await s.projection.get(r.calibration.gate_id, null);
    expect(p!.threshold).toMatchObject({ threshold: r.calibration.threshold, guards: { min_keep: 2, max_keep: null }, abstain_below: null });
  });

  it("422 target_unreachable with what is reachable when max_keep drops more than the target", async () => {
    const s = setup();
    const long = queries(12, 100, 1).map((_, i) => Array.from({ length: 10 }, (_, j) => i + j / 10));
    const e = await rejection(run(s, { policy: { kind: "drop_rate", target: 0.3, max_keep: 2 }, queries: long }));
    expect(e.code).toBe("target_unreachable");
    expect(e.details).toMatchObject({ bound: "max_keep", max_keep: 2, lowest_target: 800 / 1001, highest_target: 1000 / 1001 });
    expect(e.message).toMatch(/max_keep 2 drops 80\.00 %/);
    expect(await s.calibrations.activeRows(await gateIdOf(GATE))).toEqual([]); // nothing stored
  });

  it("422 target_unreachable when the candidates a threshold decides are saturated at their minimum, with or without max_keep", async () => {
    const s = setup();
    // 20 queries of 10 candidates: 5 distinct positive scores and 5 of 0 each. max_keep 8 drops 2 per query (F = 40 of
    // n = 200) at every threshold; the 160 it leaves to the threshold hold 60 zeros, which no threshold splits.
    const saturated = Array.from({ length: 20 }, (_, i) => [...Array.from({ length: 5 }, (_, j) => 1 + i + j / 10), 0, 0, 0, 0, 0]);
    for (const target of [0.3, 0.45]) {
      const e = await rejection(run(s, { policy: { kind: "drop_rate", target, max_keep: 8 }, queries: saturated }));
      expect(e.code).toBe("target_unreachable");
      expect(e.details).toMatchObject({ ties_at_minimum: 60, minimum: 0, lowest_target: 100 / 201 });
      expect(e.message).toContain("no threshold drops any candidate it decides: the 60 lowest of them all equal 0");
      expect(e.message).toContain("max_keep 8 drops 20.00 % of these candidates at every threshold");
      expect(e.message).toContain("(reachable targets are above 0.4975)");
    }
    // below the cap's own share: the max_keep bound, with the same lowest reachable target
    const floor = await rejection(run(s, { policy: { kind: "drop_rate", target: 0.15, max_keep: 8 }, queries: saturated }));
    expect(floor.details).toMatchObject({ bound: "max_keep", lowest_target: 100 / 201, highest_target: 200 / 201 });
    expect(floor.message).toContain("reachable targets on these queries are above 0.4975");
    // without guards the 100 zeros are the tie
    const bare = await rejection(run(s, { policy: { kind: "drop_rate", target: 0.3 }, queries: saturated }));
    expect(bare.details).toMatchObject({ ties_at_minimum: 100, lowest_target: 100 / 201 });
    expect(bare.message).toContain("(reachable targets are above 0.4975)");
    expect(await s.calibrations.activeRows(await gateIdOf(GATE))).toEqual([]); // nothing stored
    // just above the tie: fitted, the threshold the lowest positive score, every zero dropped
    const r = await run(s, { policy: { kind: "drop_rate", target: 0.5, max_keep: 8 }, queries: saturated });
    expect(r.calibration.threshold).toBe(1);
    // every positive score 1: the 100 of them tie at the threshold, counted among the candidates the threshold decides
    const tied = await run(s, {
      policy: { kind: "drop_rate", target: 0.5, max_keep: 8 },
      queries: saturated.map((q) => q.map((x) => (x > 0 ? 1 : 0))),
    });
    expect(tied.warnings.find((w) => w.code === "ties_at_threshold")?.message).toMatch(
      /^100 of the candidates the guards leave to the threshold \(50\.00 % of all candidates\) equal the threshold 1; all are kept/u,
    );
  });

  it("422 target_unreachable when min_keep keeps too much", async () => {
    const s = setup();
    const e = await rejection(run(s, { policy: { kind: "drop_rate", target: 0.5, min_keep: 5 }, queries: queries(13, 100, 6) }));
    expect(e.code).toBe("target_unreachable");
    expect(e.details).toMatchObject({ bound: "min_keep", min_keep: 5, lowest_target: 0 });
    expect((e.details as { highest_target: number }).highest_target).toBeLessThan(0.5);
  });

  it("422 target_unreachable says so in words when min_keep keeps every candidate: only 0 is reachable", async () => {
    const s = setup();
    const short = queries(14, 100, 3); // 1 to 3 candidates per query
    const e = await rejection(run(s, { policy: { kind: "drop_rate", target: 0.2, min_keep: 3 }, queries: short }));
    expect(e.code).toBe("target_unreachable");
    expect(e.details).toMatchObject({ bound: "min_keep", min_keep: 3, lowest_target: 0, highest_target: 0 });
    expect(e.message).toBe(
      "guards put target drop rate 20 % out of reach: min_keep 3 keeps every candidate of these queries (none has more than 3), so no threshold drops anything: the only reachable target is 0 (no gate)",
    );
    expect(e.message).not.toMatch(/0\.0000/u);
    // Target 0 is reachable: the gate keeps everything.
    const none = await run(s, { policy: { kind: "drop_rate", target: 0, min_keep: 3 }, queries: short });
    expect(none.calibration.threshold).toBeNull();
  });

  it("422 target_unreachable when min_keep equals max_keep: every threshold drops the same share, no target is reachable", async () => {
    const s = setup();
    const long = queries(15, 50, 1).map((_, i) => Array.from({ length: 5 }, (_, j) => i + j / 10));
    for (const target of [0, 0.3, 0.6, 0.9]) {
      const e = await rejection(run(s, { policy: { kind: "drop_rate", target, min_keep: 2, max_keep: 2 }, queries: long }));
      expect(e.code).toBe("target_unreachable");
      expect(e.message).toMatch(
        /min_keep and max_keep 2 keep the top 2 of every query at every threshold, which drops 60\.00 % of these candidates/u,
      );
      expect(e.message).toMatch(/no drop-rate target is reachable \(set max_keep above min_keep/u);
      expect(e.details).toMatchObject({ min_keep: 2, max_keep: 2, lowest_target: 150 / 251, highest_target: 150 / 251 });
    }
  });

  it("422 for guards on flat scores, naming the field", async () => {
    const s = setup();
    const meta = CalibrationMeta.parse({ ...GATE, index_version: "v1", policy: { kind: "drop_rate", target: 0.3, max_keep: 5 } });
    const e = await rejection(calibrate({ meta, scores: Float64Array.from([1, 2, 3, 4]), offsets: null }, "alice", s.deps));
    expect(e.code).toBe("invalid_input");
    expect(e.details).toEqual([{ path: "policy.max_keep", message: "needs queries" }]);
  });
});

describe("carry with guards", () => {
  const qs = queries(11, 400, 12);
  const flat = flattenQueries(qs);
  const NEXT = { ...GATE, embedding: "e5@v2" };
  const guarded = (s: ReturnType<typeof setup>) => run(s, { policy: { kind: "drop_rate", target: 0.3, min_keep: 3 }, queries: qs });
  const codes = (r: CalibrationResult) => r.warnings.map((w) => w.code);

  it("identical scores carry to the same threshold with the reference's guards when the carry states none", async () => {
    const s = setup();
    const ref = (await guarded(s)).calibration;
    const r = await run(s, { gate: NEXT, queries: qs, policy: { kind: "carry", reference: { calibration_id: ref.id } } });
    const c = r.calibration;
    expect(c.guards).toMatchObject({ min_keep: 3, max_keep: null });
    expect(c.target_drop_rate).toBe(ref.in_sample_drop_rate); // the guarded share, not the bare one
    expect(ref.guards!.bare_drop_rate).toBeGreaterThan(ref.in_sample_drop_rate + 0.05);
    expect(c.threshold).toBe(ref.threshold);
    expect(c.in_sample_drop_rate).toBe(ref.in_sample_drop_rate);
    expect(c.carry).toMatchObject({ reference_drop_rate: ref.in_sample_drop_rate, reference_guards: { min_keep: 3, max_keep: null } });
    expect(c.policy).toEqual({ kind: "carry", threshold: null, reference: { calibration_id: ref.id } }); // as given
    expect(codes(r)).not.toContain("carry_guards_changed");
    const p = await s.projection.get(c.gate_id, null);
    expect(p!.threshold).toMatchObject({ threshold: ref.threshold, guards: { min_keep: 3, max_keep: null } });
  });

  it("an explicit threshold carries the share the reference's guarded gate drops there (from its kept summary)", async () => {
    const s = setup();
    const ref = (await guarded(s)).calibration;
    const t0 = ref.threshold! + 0.4;
    const e = eligibleScores(flat.scores, flat.offsets, { minKeep: 3, maxKeep: null });
    expect(e.eligible.length).toBeLessThanOrEqual(2000); // every eligible score is a knot: the summary is exact
    const exact = guardedDropCount(e, t0) / flat.scores.length;
    let bare = 0;
    for (const x of flat.scores) if (x < t0) bare++;
    expect(bare / flat.scores.length).toBeGreaterThan(exact + 0.05);
    const r = await run(s, { gate: NEXT, queries: qs, policy: { kind: "carry", threshold: t0, reference: { calibration_id: ref.id } } });
    const c = r.calibration;
    expect(c.carry).toMatchObject({ reference_threshold: t0, reference_drop_rate: exact });
    expect(c.target_drop_rate).toBe(exact);
    expect(c.guards).toMatchObject({ min_keep: 3, max_keep: null });
    // On the same scores the new guarded gate lands on the smallest eligible score at or above t0.
    expect(c.threshold).toBe(e.eligible.find((x) => x >= t0));
    // Restating the same guards changes nothing and warns of nothing.
    const same = await run(s, {
      gate: NEXT,
      queries: qs,
      policy: { kind: "carry", threshold: t0, reference: { calibration_id: ref.id }, min_keep: 3 },
    });
    expect(same.calibration.threshold).toBe(c.threshold);
    expect(codes(same)).not.toContain("carry_guards_changed");
  });

  it("a guarded reference stored without its guarded summary is carried at its own threshold only", async () => {
    const s = setup();
    const ref = (await guarded(s)).calibration;
    const dist = (await s.calibrations.distribution(ref.id)) as { guarded?: unknown };
    delete dist.guarded; // as a calibration stored before guarded summaries were kept
    const err = await rejection(
      run(s, { gate: NEXT, queries: qs, policy: { kind: "carry", threshold: ref.threshold! + 0.4, reference: { calibration_id: ref.id } } }),
    );
    expect(err.code).toBe("invalid_input");
    expect(err.details).toMatchObject([{ path: "policy.threshold" }]);
    const own = await run(s, {
      gate: NEXT,
      queries: qs,
      policy: { kind: "carry", threshold: ref.threshold!, reference: { calibration_id: ref.id } },
    });
    expect(own.calibration.threshold).toBe(ref.threshold);
  });

  it("differing guards carry the reference's guarded rate and say so in a warning", async () => {
    const s = setup();
    const ref = (await guarded(s)).calibration;
    const r = await run(s, { gate: NEXT, queries: qs, policy: { kind: "carry", reference: { calibration_id: ref.id }, min_keep: 1, max_keep: 8 } });
    expect(r.calibration.target_drop_rate).toBe(ref.in_sample_drop_rate);
    expect(r.calibration.guards).toMatchObject({ min_keep: 1, max_keep: 8 });
    expect(Math.abs(r.calibration.in_sample_drop_rate - ref.in_sample_drop_rate)).toBeLessThan(2 / r.calibration.n);
    const w = r.warnings.find((x) => x.code === "carry_guards_changed");
    expect(w?.message).toMatch(/reference gate \(min_keep 3, no max_keep\).*own guards \(min_keep 1, max_keep 8\)/);
    // min_keep 0 states "no guards": the bare gate is fitted to the reference's guarded share.
    const bare = await run(s, { gate: NEXT, queries: qs, policy: { kind: "carry", reference: { calibration_id: ref.id }, min_keep: 0 } });
    expect(bare.calibration.guards).toBeNull();
    expect(bare.calibration.target_drop_rate).toBe(ref.in_sample_drop_rate);
    expect(codes(bare)).toContain("carry_guards_changed");
  });

  it("422 for flat scores that would inherit the reference's guards, naming the way out", async () => {
    const s = setup();
    const ref = (await guarded(s)).calibration;
    const meta = CalibrationMeta.parse({ ...NEXT, index_version: "v1", policy: { kind: "carry", reference: { calibration_id: ref.id } } });
    const e = await rejection(calibrate({ meta, scores: flat.scores, offsets: null }, "alice", s.deps));
    expect(e.code).toBe("invalid_input");
    expect(e.message).toMatch(/inherits the reference calibration's guards \(min_keep 3, no max_keep\).*"min_keep": 0/);
    expect(e.details).toEqual([{ path: "policy.reference", message: "a guarded reference needs queries (or min_keep: 0)" }]);
  });
});

describe("recall calibrations with guards", () => {
  const lq = labelledQueries(21, 300, 20);
  const up = { queries: lq.map((q) => q.scores), relevance: lq.map((q) => q.relevance) };

  it("keeps the rank rule on effective scores: with min_keep the threshold is at least the bare one", async () => {
    const s = setup();
    const bare = (await run(s, { ...up, policy: { kind: "recall", target: 0.9 } })).calibration;
    const s2 = setup();
    const guarded = (await run(s2, { ...up, policy: { kind: "recall", target: 0.9, min_keep: 2 } })).calibration;
    expect(guarded.threshold!).toBeGreaterThanOrEqual(bare.threshold!);
    expect(guarded.recall!.coverage_bound).toBeGreaterThanOrEqual(0.9);
    expect(guarded.recall!.in_sample_coverage).toBeGreaterThanOrEqual(0.9);
    expect(guarded.labels!.coverage_at_threshold.any_relevant).toBe(guarded.recall!.in_sample_coverage);
    expect(guarded.guards).toMatchObject({ min_keep: 2, max_keep: null });
    // The bare rule on the same queries for comparison: the same n and k.
    const flat = flattenQueries(up.queries);
    const ref = fitRecallGate({ ...flat, relevant: Uint8Array.from(up.relevance.flat()) }, 0.9, "any_relevant");
    expect(ref.kind === "fitted" && guarded.recall!.k === ref.k).toBe(true);
  });

  it("422 target_unreachable when the cap loses too many relevant candidates", async () => {
    const s = setup();
    const e = await rejection(run(s, { ...up, policy: { kind: "recall", target: 0.95, coverage: "all_relevant", max_keep: 1 } }));
    expect(e.code).toBe("target_unreachable");
    expect(e.details).toMatchObject({ max_keep: 1, coverage: "all_relevant" });
  });

  // 99 labelled queries of 5 candidates; `lost` of them have their one relevant candidate at rank 5, beyond max_keep 3.
  // At target 0.9, k = floor(100 * 0.1) = 10: the fit refuses from 10 lost queries on, and its miss budget is 9.
  const capped = (lost: number): Upload => {
    const qs = Array.from({ length: 99 }, (_, i) => [1, 0.9, 0.8, 0.7, 0.6].map((x) => x + i / 1000));
    const relevance = qs.map((_, i) => [0, 1, 2, 3, 4].map((r) => Number(r === (i < lost ? 4 : 0))));
    return { queries: qs, relevance, policy: { kind: "recall", target: 0.9, max_keep: 3 } };
  };
  const nearCap = async (lost: number) => (await run(setup(), capped(lost))).calibration.warnings.filter((w) => w.code === "recall_near_cap");

  it("warns recall_near_cap when max_keep alone takes more than half the miss budget of a gate it still fits", async () => {
    expect(await nearCap(0)).toEqual([]);
    expect(await nearCap(4)).toEqual([]);
    const [w] = await nearCap(5);
    expect(w!.message).toContain("max_keep 3 alone loses the relevant candidates of 5 of the 9 labelled queries");
    expect(await nearCap(9)).toHaveLength(1);
    expect((await rejection(run(setup(), capped(10)))).code).toBe("target_unreachable");
  });

  // n labelled queries of 5 candidates; the first `lost` have their one relevant candidate at rank 5, beyond max_keep 3.
  const cappedOf = (n: number, lost: number, target: number): Upload => {
    const qs = Array.from({ length: n }, (_, i) => [1, 0.9, 0.8, 0.7, 0.6].map((x) => x + i / 1000));
    const relevance = qs.map((_, i) => [0, 1, 2, 3, 4].map((r) => Number(r === (i < lost ? 4 : 0))));
    return { queries: qs, relevance, policy: { kind: "recall", target, max_keep: 3 } };
  };

  it("says why a tradeoff row has no threshold: too few labelled queries (how many), or the cap (the highest target)", async () => {
    // 60 queries, 3 lost: 0.9 fits (k = 6); 0.95 (k = 3) and 0.98 (k = 1) are out of the cap's reach however many
    // queries are labelled; 0.99 needs 99 labelled queries before the cap even matters
    const c = (await run(setup(), cappedOf(60, 3, 0.9))).calibration;
    const row = (t: number) => c.recall!.tradeoff.find((r) => r.target === t)!;
    expect(row(0.9)).toMatchObject({ threshold: c.threshold, unfit_reason: null, minimum_queries: null, highest_target: null });
    const nulls = { threshold: null, coverage_bound: null, drop_rate: null, empty_context_rate: null };
    for (const t of [0.95, 0.98]) {
      expect(row(t)).toMatchObject({ ...nulls, unfit_reason: "target_unreachable", minimum_queries: null });
      expect(row(t).highest_target).toBeCloseTo(1 - 4 / 61, 12);
    }
    expect(row(0.99)).toEqual({ target: 0.99, ...nulls, unfit_reason: "too_few_labelled_queries", minimum_queries: 99, highest_target: null });
    // each row's reason and numbers are those of the 422 a fit at its target gets
    const far = await rejection(run(setup(), cappedOf(60, 3, 0.95)));
    expect(far.code).toBe("target_unreachable");
    expect(far.details).toMatchObject({ lost: 3, labelled_queries: 60, highest_target: row(0.95).highest_target });
    const few = await rejection(run(setup(), cappedOf(60, 3, 0.99)));
    expect(few.code).toBe("too_few_labelled_queries");
    expect(few.details).toMatchObject({ minimum_queries: 99 });
  });

  it("target_unreachable names whole queries for the rank rules and a highest target rounded down, so it is reachable", async () => {
    // 60 queries, 7 lost at 0.9 (k = 6): the highest target is 1 - 8/61 = 0.868852..., which rounds up to 0.8689
    const e = await rejection(run(setup(), cappedOf(60, 7, 0.9)));
    expect(e.message).toBe(
      "max_keep 3 loses the relevant candidates of 7 of 60 labelled queries at every threshold, so coverage 90 % (any_relevant) cannot be certified; the highest target these guards allow is 0.8688",
    );
    expect((await run(setup(), cappedOf(60, 7, 0.8688))).calibration.recall!.coverage_bound).toBeGreaterThanOrEqual(0.8688);
    // 99 queries, 31 lost: 1 - 32/100 is 0.6799999999999999 in floating point, and 0.68 itself is reachable
    expect((await rejection(run(setup(), cappedOf(99, 31, 0.9)))).message).toMatch(/the highest target these guards allow is 0\.68$/u);
    expect((await run(setup(), cappedOf(99, 31, 0.68))).calibration.recall).toMatchObject({ n: 99, k: 32 });
  });

  it("target_unreachable for candidates coverage speaks of pooled loss, not of a count of queries", async () => {
    // 40 queries of 4 candidates, relevant at ranks 1, 2 and 4: max_keep 3 loses a third of every query's relevant
    // candidates, a pooled loss of 40/3 (no query is lost whole)
    const qs = Array.from({ length: 40 }, (_, q) => [0.9 - q / 1000, 0.8, 0.5, 0.3 - q / 1000]);
    const relevance = qs.map(() => [1, 1, 0, 1]);
    const e = await rejection(run(setup(), { queries: qs, relevance, policy: { kind: "recall", target: 0.9, coverage: "candidates", max_keep: 3 } }));
    expect(e.code).toBe("target_unreachable");
    expect(e.details).toMatchObject({ coverage: "candidates", labelled_queries: 40, max_keep: 3 });
    expect((e.details as { lost: number }).lost).toBeCloseTo(40 / 3, 12);
    expect(e.message).toMatch(
      /^max_keep 3 loses 13\.33 queries' worth of relevant candidates of the 40 labelled queries \(each query counts the share of its relevant candidates ranked beyond max_keep\) at every threshold, so coverage 90 % \(candidates\) cannot be certified; the highest target these guards allow is 0\.6504$/u,
    );
  });
});

describe("certified abstention", () => {
  // 300 answerable queries (with a relevant candidate) and 100 without one, which score lower.
  const answerable = labelledQueries(31, 300, 10);
  const rng = createRng(32);
  const unanswerable = Array.from({ length: 100 }, () => ({
    scores: Array.from({ length: 10 }, () => 1 / (1 + Math.exp(-(rng.normal() - 1.5)))),
    relevance: Array.from({ length: 10 }, () => 0),
  }));
  const all = [...answerable, ...unanswerable];
  const up = { queries: all.map((q) => q.scores), relevance: all.map((q) => q.relevance) };

  it("alpha: abstain_below is the k-th smallest answerable top score, with catch rate and the alpha table", async () => {
    const s = setup();
    const r = await run(s, { ...up, policy: { kind: "drop_rate", target: 0.3, min_keep: 1, abstention: { alpha: 0.1 } } });
    const a = r.calibration.abstention!;
    const flat = flattenQueries(up.queries);
    const tops = topScores(flat.scores, flat.offsets);
    const flags = Uint8Array.from(all.map((q) => (q.relevance.includes(1) ? 1 : 0)));
    const fit = fitFalseAbstention(splitTops(tops, flags).answerable, 0.1);
    expect(fit.kind).toBe("fitted");
    if (fit.kind !== "fitted") return;
    expect(a.abstain_below).toBe(fit.abstainBelow);
    expect(r.calibration.abstain_below).toBe(fit.abstainBelow);
    expect(a).toMatchObject({ mode: "false_abstention", alpha: 0.1, answerable_queries: 300, unanswerable_queries: 100, k: 30, queries: 400 });
    expect(a.false_abstention_bound).toBeCloseTo(30 / 301, 12);
    expect(a.catch_rate!).toBeGreaterThan(0.3);
    expect(a.catch_interval_95![0]).toBeLessThan(a.catch_rate!);
    expect(a.tradeoff!.map((row) => row.alpha)).toContain(0.1);
    // A stricter promise catches no more.
    const rows = a.tradeoff!.filter((row) => row.catch_rate !== null);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.catch_rate!).toBeGreaterThanOrEqual(rows[i - 1]!.catch_rate!);
    const p = await s.projection.get(r.calibration.gate_id, null);
    expect(p!.threshold).toMatchObject({ guards: { min_keep: 1, max_keep: null }, abstain_below: fit.abstainBelow });
  });

  it("explicit answerable flags override the labels", async () => {
    const s = setup();
    const flags = all.map((_, i) => (i < 300 ? null : i < 350)); // 50 of the label-less queries are answerable after all
    const r = await run(s, { ...up, answerable: flags, policy: { kind: "drop_rate", target: 0.3, abstention: { alpha: 0.1 } } });
    expect(r.calibration.abstention).toMatchObject({ answerable_queries: 350, unanswerable_queries: 50 });
  });

  it("422 too_few_answerable_queries with the number needed", async () => {
    const s = setup();
    const few = { queries: up.queries.slice(0, 15), relevance: up.relevance.slice(0, 15) };
    const e = await rejection(run(s, { ...few, policy: { kind: "drop_rate", target: 0.1, abstention: { alpha: 0.05 } } }));
    expect(e.code).toBe("too_few_answerable_queries");
    expect(e.details).toMatchObject({ answerable_queries: 15, minimum_queries: 19, alpha: 0.05 });
  });

  it("422 for alpha without labels or flags", async () => {
    const s = setup();
    const e = await rejection(run(s, { queries: up.queries, policy: { kind: "drop_rate", target: 0.1, abstention: { alpha: 0.1 } } }));
    expect(e.code).toBe("invalid_input");
  });

  it("rate without labels, carried to a new gate", async () => {
    const s = setup();
    const old = await run(s, { queries: up.queries, policy: { kind: "drop_rate", target: 0.2, abstention: { rate: 0.1 } } });
    const a = old.calibration.abstention!;
    expect(a).toMatchObject({ mode: "rate", target_rate: 0.1, queries: 400, k: 41 });
    expect(a.expected_rate).toBeCloseTo(41 / 401, 12);
    expect(a.in_sample_rate).toBeCloseTo(40 / 400, 12);
    const shifted = up.queries.map((q) => q.map((x) => x * 0.9 + 0.05));
    const next = await run(s, {
      gate: { ...GATE, embedding: "e5@v2" },
      queries: shifted,
      policy: { kind: "carry", reference: { calibration_id: old.calibration.id }, abstention: "carry" },
    });
    const c = next.calibration.abstention!;
    expect(c.mode).toBe("carry");
    expect(c.carry).toMatchObject({ reference_calibration_id: old.calibration.id, reference_rate: 0.1, reference_queries: 400 });
    expect(c.carry!.carried_rate_sd).toBeCloseTo(Math.sqrt(0.1 * 0.9 * (2 / 400)), 12);
    expect(c.in_sample_rate).toBeCloseTo(0.1, 2);
    expect(next.calibration.policy).toMatchObject({ kind: "carry", abstention: "carry" });
  });

  it("422 for carrying abstention from a reference without it", async () => {
    const s = setup();
    const old = await run(s, { queries: up.queries, policy: { kind: "drop_rate", target: 0.2 } });
    const e = await rejection(
      run(s, {
        gate: { ...GATE, embedding: "e5@v2" },
        queries: up.queries,
        policy: { kind: "carry", reference: { calibration_id: old.calibration.id }, abstention: "carry" },
      }),
    );
    expect(e.code).toBe("invalid_input");
  });
});

describe("carry keeps the reference's abstention", () => {
  const answerable = labelledQueries(41, 300, 10);
  const rng = createRng(42);
  const unanswerable = Array.from({ length: 100 }, () => ({
    scores: Array.from({ length: 10 }, () => 1 / (1 + Math.exp(-(rng.normal() - 1.5)))),
    relevance: Array.from({ length: 10 }, () => 0),
  }));
  const all = [...answerable, ...unanswerable];
  const up = { queries: all.map((q) => q.scores), relevance: all.map((q) => q.relevance) };
  const NEXT = { ...GATE, embedding: "e5@v2" };
  const codes = (r: CalibrationResult) => r.warnings.map((w) => w.code);
  const shifted = up.queries.map((q) => q.map((x) => x * 0.9 + 0.05));

  it("a carry that states no abstention carries the reference's rate, as it carries its guards", async () => {
    const s = setup();
    const ref = (
      await run(s, { queries: up.queries, policy: { kind: "drop_rate", target: 0.3, min_keep: 2, max_keep: 8, abstention: { rate: 0.1 } } })
    ).calibration;
    const r = await run(s, { gate: NEXT, queries: shifted, policy: { kind: "carry", reference: { calibration_id: ref.id } } });
    const c = r.calibration;
    expect(c.guards).toMatchObject({ min_keep: 2, max_keep: 8 });
    expect(c.abstention).toMatchObject({ mode: "carry", carry: { reference_calibration_id: ref.id, reference_rate: 0.1, reference_queries: 400 } });
    expect(c.abstain_below).not.toBeNull();
    expect(c.abstain_below).toBe(c.abstention!.abstain_below);
    expect(c.abstention!.in_sample_rate).toBeCloseTo(0.1, 2);
    // The same as stating "carry": inheriting is only the default.
    const stated = await run(s, {
      gate: NEXT,
      queries: shifted,
      policy: { kind: "carry", reference: { calibration_id: ref.id }, abstention: "carry" },
    });
    expect(stated.calibration.abstention).toEqual(c.abstention);
    expect(c.policy).toEqual({ kind: "carry", threshold: null, reference: { calibration_id: ref.id } }); // as given
    expect(codes(r)).not.toContain("false_abstention_not_guaranteed");
    // Served with the threshold.
    const p = await s.projection.get(c.gate_id, null);
    expect(p!.threshold).toMatchObject({ guards: { min_keep: 2, max_keep: 8 }, abstain_below: c.abstain_below });
  });

  it('{"rate": 0} carries without abstention; a reference that never abstained gives none', async () => {
    const s = setup();
    const ref = (await run(s, { queries: up.queries, policy: { kind: "drop_rate", target: 0.3, abstention: { rate: 0.1 } } })).calibration;
    const none = await run(s, {
      gate: NEXT,
      queries: shifted,
      policy: { kind: "carry", reference: { calibration_id: ref.id }, abstention: { rate: 0 } },
    });
    expect(none.calibration.abstain_below).toBeNull();
    expect(none.calibration.abstention).toMatchObject({ mode: "rate", target_rate: 0, abstain_below: null });
    const plain = (await run(s, { queries: up.queries, policy: { kind: "drop_rate", target: 0.3 } })).calibration;
    const r = await run(s, {
      gate: { ...NEXT, index: "other" },
      queries: shifted,
      policy: { kind: "carry", reference: { calibration_id: plain.id } },
    });
    expect(r.calibration.abstention).toBeNull();
    expect(r.calibration.abstain_below).toBeNull();
  });

  it("a carried alpha-certified abstention says its false-abstention guarantee does not carry, inherited or stated", async () => {
    const s = setup();
    const ref = (await run(s, { ...up, policy: { kind: "drop_rate", target: 0.3, abstention: { alpha: 0.1 } } })).calibration;
    expect(ref.abstention!.mode).toBe("false_abstention");
    for (const abstention of [undefined, "carry"] as const) {
      const r = await run(s, {
        gate: NEXT,
        queries: shifted,
        policy: { kind: "carry", reference: { calibration_id: ref.id }, ...(abstention ? { abstention } : {}) },
      });
      const a = r.calibration.abstention!;
      expect(a).toMatchObject({
        mode: "carry",
        alpha: null,
        false_abstention_bound: null,
        carry: { reference_rate: ref.abstention!.in_sample_rate },
      });
      const w = r.warnings.find((x) => x.code === "false_abstention_not_guaranteed");
      expect(w?.message).toMatch(/at most 10 % of answerable queries abstain.*not that guarantee.*"abstention": \{"alpha": 0\.1\}/);
    }
    // With labels for the new version the policy states alpha again: certified, no warning.
    const relabelled = await run(s, {
      gate: NEXT,
      queries: shifted,
      relevance: up.relevance,
      policy: { kind: "carry", reference: { calibration_id: ref.id }, abstention: { alpha: 0.1 } },
    });
    expect(relabelled.calibration.abstention!.mode).toBe("false_abstention");
    expect(codes(relabelled)).not.toContain("false_abstention_not_guaranteed");
  });

  it('422 for flat scores that would inherit the reference\'s abstention, naming the way out; {"rate": 0} takes it', async () => {
    const s = setup();
    const ref = (await run(s, { queries: up.queries, policy: { kind: "drop_rate", target: 0.3, abstention: { rate: 0.1 } } })).calibration;
    const flat = flattenQueries(shifted);
    const upload = (policy: Record<string, unknown>) =>
      calibrate({ meta: CalibrationMeta.parse({ ...NEXT, index_version: "v1", policy }), scores: flat.scores, offsets: null }, "alice", s.deps);
    const e = await rejection(upload({ kind: "carry", reference: { calibration_id: ref.id } }));
    expect(e.code).toBe("invalid_input");
    expect(e.message).toMatch(
      /inherits the reference calibration's abstention \(abstain_below .*: 10 % of its queries abstained\).*"abstention": \{"rate": 0\}/,
    );
    expect(e.details).toEqual([{ path: "policy.reference", message: "an abstaining reference needs queries (or abstention: {rate: 0})" }]);
    expect(await s.calibrations.activeRows(await gateIdOf(NEXT))).toEqual([]); // nothing stored
    const r = await upload({ kind: "carry", reference: { calibration_id: ref.id }, abstention: { rate: 0 } });
    expect(r.calibration.abstention).toBeNull();
    expect(r.calibration.abstain_below).toBeNull();
    // A stated rate above 0 still needs queries.
    const stated = await rejection(upload({ kind: "carry", reference: { calibration_id: ref.id }, abstention: { rate: 0.1 } }));
    expect(stated.details).toEqual([{ path: "policy.abstention", message: "needs queries" }]);
  });
});

describe("guards and abstention in every upload encoding", () => {
  const enc = new TextEncoder();

  it("NDJSON: labelled lines may say whether they are answerable", () => {
    const lines = [
      JSON.stringify({ ...GATE, index_version: "v1", policy: { kind: "drop_rate", target: 0.2, min_keep: 1, abstention: { alpha: 0.1 } } }),
      JSON.stringify({ scores: [0.9, 0.1], relevance: [1, 0] }),
      JSON.stringify({ scores: [0.3, 0.2], relevance: [0, 0], answerable: true }),
    ];
    const input = parseCalibrationUpload({ type: "ndjson", bytes: enc.encode(lines.join("\n")), params: {} });
    expect(input.answerable).toEqual([null, true]);
    expect(input.meta.policy).toMatchObject({ min_keep: 1, abstention: { alpha: 0.1 } });
  });

  it("NDJSON: query lines may carry answerable flags without relevance labels, all of them or none", async () => {
    const header = JSON.stringify({ ...GATE, index_version: "v1", policy: { kind: "drop_rate", target: 0.2, abstention: { alpha: 0.1 } } });
    const rng = createRng(77);
    // 40 queries, every fourth unanswerable and scoring lower: flags alone certify the abstention.
    const qs = Array.from({ length: 40 }, (_, i) => ({
      answerable: i % 4 !== 0,
      scores: [rng.normal() + (i % 4 === 0 ? -1.5 : 0.5), rng.normal() - 1],
    }));
    const bytes = enc.encode([header, ...qs.map((q) => JSON.stringify(q))].join("\n"));
    const input = parseCalibrationUpload({ type: "ndjson", bytes, params: {} });
    expect(input.relevant).toBeNull();
    expect(input.answerable).toEqual(qs.map((q) => q.answerable));
    const r = await calibrate(input, "alice", setup().deps);
    expect(r.calibration.abstention).toMatchObject({ mode: "false_abstention", answerable_queries: 30, unanswerable_queries: 10 });
    // One line without a flag among flagged unlabelled lines: refused, naming it.
    const partial = [
      header,
      JSON.stringify({ scores: [0.5], answerable: true }),
      JSON.stringify([0.4]),
      JSON.stringify({ scores: [0.3], answerable: false }),
    ];
    expect(() => parseCalibrationUpload({ type: "ndjson", bytes: enc.encode(partial.join("\n")), params: {} })).toThrow(
      /must all carry "answerable" or none: line 3 has none/,
    );
    // A flagged line without labels among labelled lines: the labelled/unlabelled rule names it.
    const mixed = [header, JSON.stringify({ scores: [0.5, 0.1], relevance: [1, 0] }), JSON.stringify({ scores: [0.3], answerable: false })];
    expect(() => parseCalibrationUpload({ type: "ndjson", bytes: enc.encode(mixed.join("\n")), params: {} })).toThrow(/all labelled/);
  });

  it("float32: min_keep, max_keep and abstention_rate as query parameters, refused when nonsensical", () => {
    const bytes = new Uint8Array(new Float32Array([0.1, 0.2, 0.3, 0.4]).buffer);
    const params = { ...GATE, index_version: "v1", kind: "drop_rate", target: "0.25", candidates_per_query: "2" };
    const input = parseCalibrationUpload({ type: "float32", bytes, params: { ...params, min_keep: "1", max_keep: "2", abstention_rate: "0.1" } });
    expect(input.meta.policy).toMatchObject({ min_keep: 1, max_keep: 2, abstention: { rate: 0.1 } });
    let caught: unknown = null;
    try {
      parseCalibrationUpload({ type: "float32", bytes, params: { ...params, min_keep: "2", max_keep: "1" } });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).code).toBe("invalid_input");
    expect(JSON.stringify((caught as AppError).details)).toContain(`"path":"max_keep"`);
  });

  it("JSON: answerable needs one flag per query", () => {
    const body = { ...GATE, index_version: "v1", policy: { kind: "drop_rate", target: 0.2 }, queries: [[0.1], [0.2]], answerable: [true] };
    expect(() => parseCalibrationUpload({ type: "json", bytes: enc.encode(JSON.stringify(body)), params: {} })).toThrow(/one flag per query/);
  });
});

describe("answerable flags an upload does not use", () => {
  const qs = queries(41, 120, 8);
  const answerable = qs.map((_, i) => i % 3 !== 0);

  it("warns answerable_unused when the policy abstains by rate or not at all, and not with alpha", async () => {
    const codes = async (policy: Record<string, unknown>) => (await run(setup(), { policy, queries: qs, answerable })).warnings.map((w) => w.code);
    expect(await codes({ kind: "drop_rate", target: 0.2 })).toContain("answerable_unused");
    const byRate = await run(setup(), { policy: { kind: "drop_rate", target: 0.2, abstention: { rate: 0.1 } }, queries: qs, answerable });
    const w = byRate.warnings.find((x) => x.code === "answerable_unused");
    expect(w?.message).toContain('"abstention": {"alpha": a}');
    expect(w?.message).toContain("abstains by rate");
    expect(await codes({ kind: "drop_rate", target: 0.2, abstention: { alpha: 0.1 } })).not.toContain("answerable_unused");
    // Without flags there is nothing to warn about.
    const plain = await run(setup(), { policy: { kind: "drop_rate", target: 0.2, abstention: { rate: 0.1 } }, queries: qs });
    expect(plain.warnings.map((x) => x.code)).not.toContain("answerable_unused");
  });
});

describe("the rebuild shift of a guarded gate", () => {
  const qs = queries(31, 400, 12);
  const policy = { kind: "drop_rate", target: 0.3, min_keep: 3 };

  it("applies the previous gate's guards to new per-query scores: the same scores again do not move", async () => {
    const s = setup();
    const v1 = await run(s, { policy, queries: qs });
    const g = v1.calibration.guards!;
    // min_keep binds here: the bare threshold alone drops visibly more than the guarded gate.
    expect(g.bare_drop_rate - v1.calibration.in_sample_drop_rate).toBeGreaterThan(0.05);
    const v2 = await run(s, { policy, queries: qs, index_version: "v2" });
    const shift = v2.shift!;
    expect(shift.previous_drop_rate_at_previous_threshold).toBe(v1.calibration.in_sample_drop_rate);
    expect(shift.drop_rate_at_previous_threshold).toBeCloseTo(v1.calibration.in_sample_drop_rate, 12);
    expect(shift.change_points).toBeCloseTo(0, 9);
    expect(shift.decision).not.toBe("shifted");
    expect(shift.reason).toContain("with its guards (min_keep 3, max_keep none)");
  });

  it("compares both sides bare when the new scores are flat, and says so", async () => {
    const s = setup();
    const v1 = await run(s, { policy, queries: qs });
    const flat = flattenQueries(qs);
    const meta = CalibrationMeta.parse({ ...GATE, index_version: "v2", policy: { kind: "drop_rate", target: 0.3 } });
    const v2 = await calibrate({ meta, scores: flat.scores, offsets: null }, "alice", s.deps);
    const shift = v2.shift!;
    expect(shift.previous_drop_rate_at_previous_threshold).toBe(v1.calibration.guards!.bare_drop_rate);
    expect(shift.drop_rate_at_previous_threshold).toBeCloseTo(v1.calibration.guards!.bare_drop_rate, 12);
    expect(shift.reason).toContain("its guards left out");
  });
});
