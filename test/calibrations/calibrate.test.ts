import { describe, expect, it } from "vitest";
import { type CalibrationResult, calibrate, scorePath } from "../../src/calibrations/calibrate";
import { CalibrationMeta } from "../../src/contract";
import { AppError } from "../../src/platform/errors";
import { gateIdOf } from "../../src/platform/ids";
import { shareBelow } from "../../src/stats/distribution";
import { memoryDeps } from "../support/memory-deps";

const NOW = new Date(Date.UTC(2026, 10, 24, 9, 30, 0));

const setup = () => memoryDeps({ startMs: NOW.getTime() });

type Gate = { index: string; embedding: string; reranker: string };
const GATE: Gate = { index: "docs", embedding: "BAAI/bge-m3@v2", reranker: "BAAI/bge-reranker-v2-m3@5f0c1a" };
const OLD_GATE: Gate = { ...GATE, embedding: "BAAI/bge-m3@v1" };

/** 1..n in a scrambled order (37 is prime and divides none of the n used here): the k-th smallest is k. */
const oneTo = (n: number): number[] => Array.from({ length: n }, (_, i) => ((i * 37) % n) + 1);

const metaOf = (fields: Record<string, unknown>, gate: Gate = GATE) =>
  CalibrationMeta.parse({ ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.1 }, ...fields });

function run(s: ReturnType<typeof setup>, fields: Record<string, unknown>, scores: readonly number[], gate: Gate = GATE): Promise<CalibrationResult> {
  return calibrate({ meta: metaOf(fields, gate), scores: Float64Array.from(scores), offsets: null }, "alice", s.deps);
}

/** The AppError a call rejects with. */
async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

/** Nothing of the gate was stored: no calibration, no active row, no projection value. */
async function expectNothingStored(s: ReturnType<typeof setup>, gate: Gate = GATE) {
  const gateId = await gateIdOf(gate);
  expect((await s.calibrations.history(gateId, 100, null)).items).toEqual([]);
  expect(await s.calibrations.activeRows(gateId)).toEqual([]);
  expect(await s.calibrations.gate(gateId)).toBeNull();
  expect(await s.projection.get(gateId, null)).toBeNull();
}

const codes = (r: CalibrationResult) => r.warnings.map((w) => w.code);

describe("calibrate: drop_rate", () => {
  it("fits x_(k), k = ceil((n+1) d), stores, activates and publishes", async () => {
    const s = setup();
    const scores = Float64Array.from(oneTo(100));
    const before = Float64Array.from(scores);
    const r = await calibrate({ meta: metaOf({}), scores, offsets: null }, "alice", s.deps);
    expect(scores).toEqual(before); // the upload is not sorted in place

    const c = r.calibration;
    const gateId = await gateIdOf(GATE);
    // k = ceil(101 * 0.1) = 11: the 11th smallest is 11; 10 of 100 are strictly below it.
    expect(c).toMatchObject({
      gate_id: gateId,
      ...GATE,
      index_version: "v1",
      policy: { kind: "drop_rate", target: 0.1 },
      score_scale: "unbounded",
      threshold: 11,
      k: 11,
      n: 100,
      target_drop_rate: 0.1,
      expected_drop_rate: 11 / 101,
      in_sample_drop_rate: 10 / 100,
      min: 1,
      max: 100,
      n_queries: null,
      per_query: null,
      carry: null,
      shift: null,
      created_at: NOW.toISOString(),
      created_by: "alice",
    });
    expect(c.id).toMatch(/^cal_[0-9a-f]{28}$/);
    const [lo, hi] = c.threshold_interval_95;
    expect(lo).not.toBeNull();
    expect(hi).not.toBeNull();
    expect(lo!).toBeLessThan(11);
    expect(hi!).toBeGreaterThan(11);
    expect(c.drop_rate_interval_95[0]).toBeLessThan(11 / 101);
    expect(c.drop_rate_interval_95[1]).toBeGreaterThan(11 / 101);
    expect(c.summary.quantiles).toHaveLength(101);
    expect(r).toMatchObject({ outcome: { activated: true, reason: "first_calibration" }, shift: null });
    // Flat scores: clustering cannot be estimated, and the upload says so.
    expect(codes(r)).toEqual(["small_sample", "flat_scores"]);

    expect(await s.calibrations.get(c.id)).toEqual(c);
    expect((await s.calibrations.current(gateId))?.calibration_id).toBe(c.id);
    expect((await s.projection.get(gateId, null))?.threshold).toMatchObject({ calibration_id: c.id, threshold: 11 });
    expect((await s.projection.get(gateId, "v1"))?.threshold.calibration_id).toBe(c.id);
  });

  it("target 0 is no gate: threshold null, k 0, nothing dropped, no small_sample warning", async () => {
    const s = setup();
    const r = await run(s, { policy: { kind: "drop_rate", target: 0 } }, oneTo(10));
    expect(r.calibration).toMatchObject({ threshold: null, k: 0, expected_drop_rate: 0, in_sample_drop_rate: 0 });
    expect(r.calibration.threshold_interval_95).toEqual([null, null]);
    expect(codes(r)).not.toContain("small_sample");
  });
});

describe("calibrate: carry", () => {
  it("with inline scores carries d = share strictly below t0, exactly (ties at t0 are not dropped)", async () => {
    const s = setup();
    // 3 of 7 are strictly below 0.5; 5 are at or below it.
    const reference = [0.9, 0.1, 0.5, 0.3, 0.5, 0.2, 0.7];
    const r = await run(s, { policy: { kind: "carry", threshold: 0.5, reference: { scores: reference } } }, oneTo(100));
    const d = 3 / 7;
    expect(r.calibration.target_drop_rate).toBe(d);
    expect(r.calibration.carry).toEqual({
      reference: { kind: "inline", n: 7 },
      reference_threshold: 0.5,
      reference_drop_rate: d,
      reference_guards: { min_keep: 0, max_keep: null },
      reference_n: 7,
      carried_drop_rate_sd: expect.closeTo(Math.sqrt(d * (1 - d) * (1 / 7 + 1 / 100)), 12),
    });
    // k = ceil(101 * 3/7) = ceil(43.29) = 44
    expect(r.calibration).toMatchObject({ threshold: 44, k: 44 });
    expect(r.calibration.policy).toEqual({ kind: "carry", threshold: 0.5, reference: { inline_scores: 7 } });
    expect(codes(r)).toContain("small_reference");
  });

  it("from 'active' with the threshold omitted uses the reference's own threshold and its exact in-sample drop rate", async () => {
    const s = setup();
    // 4001 unevenly spaced scores: more than DISTRIBUTION_KNOTS, so the kept distribution interpolates between knots.
    const cubes = Array.from({ length: 4001 }, (_, i) => (i / 4000) ** 3);
    const ref = (await run(s, { policy: { kind: "drop_rate", target: 0.3004 } }, cubes)).calibration;
    expect(ref.in_sample_drop_rate).toBe((ref.k - 1) / 4001);
    // Precondition that makes this test discriminating: the kept distribution alone gives another answer.
    const dist = await s.calibrations.distribution(ref.id);
    expect(shareBelow(dist!, ref.threshold!)).not.toBe(ref.in_sample_drop_rate);

    // Served whatever the rebuild decision (the 1,000 new scores are shaped nothing like the reference's).
    const r = await run(s, { index_version: "v2", policy: { kind: "carry", reference: "active" }, activate: true }, oneTo(1000));
    expect(r.calibration.carry).toMatchObject({
      reference: { kind: "calibration", calibration_id: ref.id },
      reference_threshold: ref.threshold,
      reference_drop_rate: ref.in_sample_drop_rate,
      reference_n: 4001,
    });
    expect(r.calibration.target_drop_rate).toBe(ref.in_sample_drop_rate);
    expect(r.calibration.policy).toEqual({ kind: "carry", threshold: null, reference: "active" });
    expect(r.shift?.previous_calibration_id).toBe(ref.id);
    expect((await s.calibrations.current(await gateIdOf(GATE)))?.calibration_id).toBe(r.calibration.id);
  });

  it("from 'active' keeps ties at the reference threshold out of the carried rate", async () => {
    const s = setup();
    // ten copies of each of 1..10; k = ceil(101 * 0.15) = 16: threshold 2, with 10 scores (not 20) strictly below it.
    const tied = Array.from({ length: 100 }, (_, i) => (i % 10) + 1);
    // Served explicitly: the ties make it miss its target by 5 points, more than activate "auto" accepts.
    const ref = (await run(s, { policy: { kind: "drop_rate", target: 0.15 }, activate: true }, tied)).calibration;
    // With ties at the threshold the gate drops F_n(t-) = 0.1, not the conformal 16/101 it would drop without them.
    expect(ref).toMatchObject({
      threshold: 2,
      in_sample_drop_rate: 0.1,
      expected_drop_rate: 0.1,
      conformal_drop_rate: 16 / 101,
      ties_at_threshold: 10,
    });
    const r = await run(s, { index_version: "v2", policy: { kind: "carry", reference: "active" } }, oneTo(100));
    expect(r.calibration.carry).toMatchObject({ reference_threshold: 2, reference_drop_rate: 0.1 });
    expect(r.calibration.threshold).toBe(11); // k = ceil(101 * 0.1) = 11
  });

  it("by calibration_id from another gate, with an explicit or the reference's own threshold", async () => {
    const s = setup();
    const ref = (await run(s, { policy: { kind: "drop_rate", target: 0.2 } }, oneTo(100), OLD_GATE)).calibration;
    expect(ref.threshold).toBe(21);

    const explicit = await run(s, { policy: { kind: "carry", threshold: 30.5, reference: { calibration_id: ref.id } } }, oneTo(100));
    // 30 of the reference's 100 scores lie below 30.5.
    expect(explicit.calibration.carry).toMatchObject({
      reference: { kind: "calibration", calibration_id: ref.id },
      reference_threshold: 30.5,
      reference_drop_rate: 0.3,
      reference_n: 100,
    });
    expect(explicit.calibration.threshold).toBe(31); // k = ceil(101 * 0.3) = 31
    expect(explicit.calibration.policy).toEqual({ kind: "carry", threshold: 30.5, reference: { calibration_id: ref.id } });
    // the new gate had nothing active: it is compared with the carry reference (the upgrade case)
    expect(explicit.shift).toMatchObject({ compared_with: "carry_reference", previous_calibration_id: ref.id, previous_gate_id: ref.gate_id });
    expect(explicit.shift!.drop_rate_at_previous_threshold).toBe(0.2); // 20 of 1..100 lie below the old threshold 21

    const own = await run(s, { index_version: "v2", policy: { kind: "carry", reference: { calibration_id: ref.id } } }, oneTo(100));
    expect(own.calibration.carry).toMatchObject({ reference_threshold: 21, reference_drop_rate: 0.2 });
    expect(own.calibration.policy).toEqual({ kind: "carry", threshold: null, reference: { calibration_id: ref.id } });
  });

  it("accepts a threshold equal to the largest reference score (not every score is below it)", async () => {
    const s = setup();
    const r = await run(s, { policy: { kind: "carry", threshold: 0.3, reference: { scores: [0.1, 0.2, 0.3] } } }, oneTo(100));
    expect(r.calibration.carry?.reference_drop_rate).toBe(2 / 3);
  });

  it("refuses a threshold above every inline reference score (invalid_input) and stores nothing", async () => {
    const s = setup();
    const err = await rejection(run(s, { policy: { kind: "carry", threshold: 0.31, reference: { scores: [0.1, 0.2, 0.3] } } }, oneTo(100)));
    expect(err.code).toBe("invalid_input");
    expect(err.details).toEqual([{ path: "policy.threshold", message: expect.any(String) }]);
    await expectNothingStored(s);
  });

  it("refuses a threshold above every score of a reference calibration (invalid_input) and stores nothing", async () => {
    const s = setup();
    const ref = (await run(s, {}, oneTo(100), OLD_GATE)).calibration;
    const err = await rejection(run(s, { policy: { kind: "carry", threshold: 100.5, reference: { calibration_id: ref.id } } }, oneTo(100)));
    expect(err.code).toBe("invalid_input");
    await expectNothingStored(s);
  });

  it("refuses inline scores without the old threshold (invalid_input) and stores nothing", async () => {
    const s = setup();
    const err = await rejection(run(s, { policy: { kind: "carry", reference: { scores: [0.1, 0.2] } } }, oneTo(100)));
    expect(err.code).toBe("invalid_input");
    expect(err.details).toEqual([{ path: "policy.threshold", message: expect.any(String) }]);
    await expectNothingStored(s);
  });

  it("'active' on a gate without an active calibration is unknown_reference, and nothing is stored", async () => {
    const s = setup();
    await run(s, {}, oneTo(100), OLD_GATE); // another gate's active calibration does not count
    const err = await rejection(run(s, { policy: { kind: "carry", reference: "active" } }, oneTo(100)));
    expect(err.code).toBe("unknown_reference");
    // the other gate differs in one letter of its embedding: a typo of this gate's name, as the unknown gate's 404 says
    expect(err.details).toEqual({ path: "policy.reference", message: "no active calibration for this gate", suggestions: [OLD_GATE] });
    expect(err.message).toContain(
      `has no active calibration yet; did you mean index=docs embedding=${OLD_GATE.embedding} reranker=${OLD_GATE.reranker}? To carry a threshold`,
    );
    await expectNothingStored(s);
  });

  it("'active' on a gate with no calibrated gate of a similar name suggests none", async () => {
    const s = setup();
    await run(s, {}, oneTo(100), { ...GATE, index: "faq" }); // same models, an index that is no typo of "docs"
    const err = await rejection(run(s, { policy: { kind: "carry", reference: "active" } }, oneTo(100)));
    expect(err.code).toBe("unknown_reference");
    expect(err.details).toMatchObject({ suggestions: [] });
    expect(err.message).not.toContain("did you mean");
    await expectNothingStored(s);
  });

  it("'active' when the gate only has an inactive calibration is unknown_reference", async () => {
    const s = setup();
    await run(s, { activate: false }, oneTo(100));
    const err = await rejection(run(s, { index_version: "v2", policy: { kind: "carry", reference: "active" } }, oneTo(100)));
    expect(err.code).toBe("unknown_reference");
    expect((await s.calibrations.history(await gateIdOf(GATE), 100, null)).items).toHaveLength(1);
  });

  it("an unknown calibration_id is unknown_reference, and nothing is stored", async () => {
    const s = setup();
    const err = await rejection(run(s, { policy: { kind: "carry", reference: { calibration_id: "cal_0123456789abcdef" } } }, oneTo(100)));
    expect(err.code).toBe("unknown_reference");
    await expectNothingStored(s);
  });
});

describe("calibrate: refusals", () => {
  it("too_few_scores explains n, k, the target and the smallest n that works; nothing is stored", async () => {
    const s = setup();
    // k = ceil(6 * 0.9) = 6 > 5; n = 9 is the first with ceil((n+1) 0.9) <= n.
    const err = await rejection(run(s, { policy: { kind: "drop_rate", target: 0.9 } }, [1, 2, 3, 4, 5]));
    expect(err.code).toBe("too_few_scores");
    expect(err.details).toEqual({ n: 5, k: 6, target: 0.9, minimum_n: 9 });
    await expectNothingStored(s);
  });

  it("probability scale lists the first 10 offending indices and counts them all; nothing is stored", async () => {
    const s = setup();
    const scores = Array.from({ length: 40 }, (_, i) => (i % 40) / 39); // 0..1 inclusive: all fine
    const bad = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    for (const i of bad) scores[i] = i % 2 === 0 ? -0.01 : 1.0001;
    const err = await rejection(run(s, { score_scale: "probability" }, scores));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toContain("12 are outside");
    expect(err.details).toEqual(bad.slice(0, 10).map((i) => ({ path: `scores[${i}]`, message: `${scores[i]} is outside 0..1` })));
    await expectNothingStored(s);
  });

  it("probability scale accepts 0 and 1 exactly, and logit/unbounded accept any finite score", async () => {
    const s = setup();
    const bounds = [0, 1, ...Array.from({ length: 98 }, (_, i) => (i + 1) / 99)];
    expect((await run(s, { score_scale: "probability" }, bounds)).calibration.score_scale).toBe("probability");
    const raw = oneTo(100).map((x) => x - 50);
    expect((await run(s, { index_version: "v2", score_scale: "logit" }, raw)).calibration.min).toBe(-49);
  });

  it("probability scale checks inline reference scores too, with their own path", async () => {
    const s = setup();
    const err = await rejection(
      run(s, { score_scale: "probability", policy: { kind: "carry", threshold: 0.5, reference: { scores: [0.2, 1.5, 0.7, -2] } } }, [0.1, 0.9]),
    );
    expect(err.code).toBe("invalid_input");
    expect(err.details).toEqual([
      { path: "policy.reference.scores[1]", message: "1.5 is outside 0..1" },
      { path: "policy.reference.scores[3]", message: "-2 is outside 0..1" },
    ]);
    await expectNothingStored(s);
  });

  it("probability scale names each out-of-range score by its query and candidate for query uploads", async () => {
    const s = setup();
    const scores = Float64Array.from([0.1, 0.2, 0.3, 7, 0.5]);
    const err = await rejection(
      calibrate({ meta: metaOf({ score_scale: "probability" }), scores, offsets: Uint32Array.from([0, 2, 5]) }, "alice", s.deps),
    );
    expect(err.details).toEqual([{ path: "queries[1][1]", message: "7 is outside 0..1" }]);
    await expectNothingStored(s);
  });

  it("refuses empty and non-finite scores; nothing is stored", async () => {
    const s = setup();
    expect((await rejection(run(s, {}, []))).code).toBe("invalid_input");
    const nan = await rejection(run(s, {}, [0.1, Number.NaN, 0.3]));
    expect(nan.code).toBe("invalid_input");
    expect(nan.details).toEqual([{ path: "scores[1]", message: "NaN is not finite" }]);
    expect((await rejection(run(s, {}, [0.1, Number.POSITIVE_INFINITY]))).code).toBe("invalid_input");
    await expectNothingStored(s);
  });
});

describe("calibrate: warnings", () => {
  it("small_sample below the size that gives +-1 point at 95 %, and not above it", async () => {
    const s = setup();
    // (1.959964 / 0.01)^2 * 0.1 * 0.9 = 3457.3: 3458 scores are needed at d = 0.1.
    const small = await run(s, {}, oneTo(3457));
    expect(codes(small)).toContain("small_sample");
    expect(small.warnings.find((w) => w.code === "small_sample")?.message).toContain("about 3,458 are needed");
    const enough = await run(s, { index_version: "v2" }, oneTo(3458));
    expect(codes(enough)).not.toContain("small_sample");
    // one score reads as one, not "1 scores give"
    const one = await run(s, { index_version: "v5", policy: { kind: "drop_rate", target: 0.3 } }, oneTo(1));
    expect(one.warnings.find((w) => w.code === "small_sample")?.message).toMatch(/^1 score gives the drop rate/u);
  });

  it("messages give a computed target as a rounded percent, never the float's 16 digits", async () => {
    const s = setup();
    const odd = await run(s, { index_version: "v3", policy: { kind: "drop_rate", target: 10 / 31 } }, oneTo(500));
    const message = odd.warnings.find((w) => w.code === "small_sample")?.message ?? "";
    expect(message).toContain("around 32.26 %;");
    expect(message).not.toMatch(/0\.32258/u);
    const tooFew = await rejection(run(s, { index_version: "v4", policy: { kind: "drop_rate", target: 0.999 } }, oneTo(100)));
    expect(tooFew.message).toMatch(/^target drop rate 99\.9 % needs at least 999 scores/u);
  });

  it("ties_at_threshold when more than 1 % of the scores equal the threshold, not for 100 distinct scores", async () => {
    const s = setup();
    const distinct = await run(s, {}, oneTo(100));
    expect(codes(distinct)).not.toContain("ties_at_threshold");

    const withTies = oneTo(100).map((x) => (x === 12 || x === 13 ? 11 : x)); // three scores equal the threshold 11
    const tied = await run(s, { index_version: "v2" }, withTies);
    expect(tied.calibration).toMatchObject({ threshold: 11, in_sample_drop_rate: 0.1 });
    expect(codes(tied)).toContain("ties_at_threshold");
    expect(tied.warnings.find((w) => w.code === "ties_at_threshold")?.message).toContain("equal the threshold 11");
    // The warning is stored with the record, not only returned.
    expect((await s.calibrations.get(tied.calibration.id))?.warnings).toEqual(tied.warnings);
  });

  // The threshold x_(k) is always one of the scores; a score equal to itself is not a tie. With distinct scores there
  // are no ties whatever n is, so no warning (in_sample_drop_rate is then (k-1)/n, the usual order-statistic value).
  for (const n of [10, 50, 99]) {
    it(`no ties_at_threshold for ${n} distinct scores`, async () => {
      const s = setup();
      const r = await run(s, {}, oneTo(n));
      expect(r.calibration.in_sample_drop_rate).toBe((r.calibration.k - 1) / n);
      expect(codes(r)).not.toContain("ties_at_threshold");
    });
  }
});

describe("calibrate: activate false", () => {
  it("on a new gate: stores the calibration but activates and publishes nothing", async () => {
    const s = setup();
    const r = await run(s, { activate: false }, oneTo(100));
    const gateId = await gateIdOf(GATE);
    expect(r.outcome.activated).toBe(false);
    expect(r.shift).toBeNull();
    expect(await s.calibrations.get(r.calibration.id)).toEqual(r.calibration);
    expect(await s.calibrations.activeRows(gateId)).toEqual([]);
    expect(await s.calibrations.activations(gateId, 10)).toEqual([]);
    expect(s.projection.values.size).toBe(0);
  });

  it("next to an active calibration: returns the shift report against it and leaves it active", async () => {
    const s = setup();
    const v1 = (await run(s, {}, oneTo(100))).calibration; // threshold 11, 10 % below it
    const gateId = await gateIdOf(GATE);
    const published = await s.projection.get(gateId, null);

    const shifted = oneTo(100).map((x) => x + 5); // 6..105: 5 of 100 below 11
    const r = await run(s, { index_version: "v2", activate: false }, shifted);
    expect(r.outcome.activated).toBe(false);
    expect(r.shift).toMatchObject({
      previous_calibration_id: v1.id,
      previous_index_version: "v1",
      previous_threshold: 11,
      previous_drop_rate_at_previous_threshold: 0.1,
      drop_rate_at_previous_threshold: 0.05,
    });
    expect(r.calibration.shift).toEqual(r.shift);
    expect((await s.calibrations.history(gateId, 10, null)).items.map((c) => c.id)).toEqual([r.calibration.id, v1.id]);
    const rows = await s.calibrations.activeRows(gateId);
    expect(rows.map((row) => [row.index_version, row.calibration_id])).toEqual([["v1", v1.id]]);
    expect(await s.projection.get(gateId, null)).toEqual(published);
    expect(await s.projection.get(gateId, "v2")).toBeNull();
  });
});

describe("scorePath", () => {
  it("names a flattened score by its query and candidate, empty queries and the last query included", () => {
    const offsets = Uint32Array.from([0, 2, 2, 5, 6]);
    expect([0, 1, 2, 3, 4, 5].map((i) => scorePath(offsets, i))).toEqual([
      "queries[0][0]",
      "queries[0][1]",
      "queries[2][0]",
      "queries[2][1]",
      "queries[2][2]",
      "queries[3][0]",
    ]);
    expect(scorePath(null, 7)).toBe("scores[7]");
  });
});
