import { describe, expect, it } from "vitest";
import golden from "../../fixtures/golden/empty-context.json" with { type: "json" };
import { calibrationExpectation, expectationOf } from "../../src/calibrations/expectation";
import { fitCalibration } from "../../src/calibrations/fit";
import type { StoredCalibration } from "../../src/contract";
import type { CalibrationExpectation } from "../../src/stats/calibration-expectation";
import { driftBands } from "../../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { evaluateDetector, observeDetector } from "../../src/stats/drift-detector";
import { emptyContextLogEvidence } from "../../src/stats/drift-evidence";
import { newDetector } from "../../src/stats/e-detector";
import { allDroppedProbability, EMPTY_CONTEXT_STRATA, emptyRateByCandidates, stratumOf } from "../../src/stats/empty-context";
import { sortedCopy } from "../../src/stats/order-statistics";
import { addCluster, type ClusterSums, emptyClusterSums, flattenQueries } from "../../src/stats/per-query";
import { createRng, deriveSeed, type Rng } from "../support/prng";
import { coupledQuery } from "../support/score-models";

describe("allDroppedProbability (scipy.stats.hypergeom)", () => {
  it.each(golden.hypergeom)("m=$m, d=$d, k=$k", ({ m, d, k, p }) => {
    expect(allDroppedProbability(m, d, k)).toBeCloseTo(p, 12);
  });

  it("refuses a draw larger than the query, and counts that are not whole", () => {
    expect(() => allDroppedProbability(3, 1, 4)).toThrow(RangeError);
    expect(() => allDroppedProbability(3, 4, 1)).toThrow(RangeError);
    expect(() => allDroppedProbability(3, 1, 0)).toThrow(RangeError);
    expect(() => allDroppedProbability(3.5, 1, 1)).toThrow(RangeError);
  });
});

describe("stratumOf", () => {
  it("puts each candidate count in the stratum of its lower end", () => {
    expect(EMPTY_CONTEXT_STRATA).toEqual(golden.strata);
    expect([1, 2, 3, 4, 5, 6, 9, 10, 19, 20, 49, 50, 10_000].map(stratumOf)).toEqual([0, 1, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]);
  });
});

describe.each(golden.cases)("empty rate by candidates: $name", (c) => {
  const { scores, offsets } = flattenQueries(c.queries);
  const result = emptyRateByCandidates(scores, offsets, c.threshold);
  const strata = result.strata;

  it("matches scipy per stratum: own queries where there are enough, the hypergeometric mean elsewhere, nearest beyond", () => {
    expect(strata.map((s) => s.minCandidates)).toEqual(c.strata.map((s) => s.min_candidates));
    strata.forEach((s, i) => {
      const g = c.strata[i]!;
      expect(s.source).toBe(g.source);
      expect(s.rate).toBeCloseTo(g.rate, 12);
      expect(s.queries).toBe(g.queries);
      expect(s.empty).toBe(g.empty);
      expect(s.effectiveQueries).toBeCloseTo(g.effective_queries, 8);
      expect(s.extrapolated).toBe(g.extrapolated);
      expect([s.ownQueries, s.ownEmpty]).toEqual([g.own_queries, g.own_empty]);
      expect(s.extrapolationCheck).toBe(g.extrapolation_check);
    });
  });

  it("checks the extrapolation on the calibration's own queries as scipy.stats.binom does", () => {
    expect(result.verdict).toBe(c.verdict);
    if (c.pooled === null) expect(result.check).toBeNull();
    else {
      expect([result.check!.queries, result.check!.empty]).toEqual([c.pooled.queries, c.pooled.empty]);
      expect(result.check!.predictedEmpty).toBeCloseTo(c.pooled.predicted_empty, 10);
      expect(Math.abs(result.check!.pValue - c.pooled.p_value)).toBeLessThanOrEqual(1e-9 * Math.max(1e-6, c.pooled.p_value));
    }
    strata.forEach((s, i) => {
      const g = c.strata[i]!.check;
      if (g === null) {
        expect(s.check).toBeNull();
        return;
      }
      expect([s.check!.queries, s.check!.empty]).toEqual([g.queries, g.empty]);
      expect(s.check!.predictedEmpty).toBeCloseTo(g.predicted_empty, 10);
      expect(Math.abs(s.check!.pValue - g.p_value)).toBeLessThanOrEqual(1e-9 * Math.max(1e-6, g.p_value));
    });
  });

  it("the hypergeometric strata agree with random k-subsets of the calibration's queries (Monte Carlo, 100,000 draws)", () => {
    for (const [k, mc] of Object.entries(c.monte_carlo)) {
      const s = strata[stratumOf(Number(k))]!;
      if (s.source !== "hypergeometric" || s.minCandidates !== Number(k)) continue;
      const sd = Math.sqrt(Math.max(s.rate * (1 - s.rate), 1e-6) / 100_000);
      expect(Math.abs(s.rate - mc)).toBeLessThan(4 * sd);
    }
  });

  it("is nonincreasing in the candidate count", () => {
    for (let i = 1; i < strata.length; i++) expect(strata[i]!.rate).toBeLessThanOrEqual(strata[i - 1]!.rate + 1e-15);
  });

  it("gives each stratum a Bonferroni Jeffreys band (scipy.stats.beta), tested only where the calibration bounds it", () => {
    const overall = c.queries.filter((q, i) => q.length > 0 && c.drops[i] === q.length).length / c.queries.length;
    const cal: CalibrationExpectation = {
      expectedDropRate: 0.3,
      n: scores.length,
      emptyContextRate: overall,
      nQueries: c.queries.length,
      emptyContextStrata: strata,
    };
    const bands = driftBands(cal, { ...DEFAULT_DRIFT_CONFIG, alpha: golden.alpha, emptyContextTolerance: golden.tolerance }, 1);
    expect(bands.emptyStrata).toHaveLength(EMPTY_CONTEXT_STRATA.length);
    bands.emptyStrata!.forEach((b, i) => {
      expect(b.band.hi).toBeCloseTo(c.strata[i]!.hi, 9);
      expect(b.armable).toBe(c.strata[i]!.armable);
    });
    expect(bands.emptyContextArmable).toBe(c.strata.some((s) => s.armable));
  });
});

describe("emptyRateByCandidates edge cases", () => {
  it("keeps everything without a threshold, and skips queries without candidates", () => {
    const { scores, offsets } = flattenQueries([[0.1, 0.2], [], [0.3]]);
    const { strata } = emptyRateByCandidates(scores, offsets, null);
    expect(strata.every((s) => s.rate === 0)).toBe(true);
    expect(strata[0]!.queries).toBe(2);
    expect(strata[1]!.queries).toBe(1);
    expect(strata[2]).toMatchObject({ queries: 1, extrapolated: true });
  });

  it("refuses an upload without queries", () => {
    expect(() => emptyRateByCandidates(new Float64Array(0), new Uint32Array([0]), 0.5)).toThrow(RangeError);
  });
});

// ----------------------------------------------------------------------------------------------------------------
// The monitor: production queries with fewer candidates than the calibration's, the gate unchanged.
// ----------------------------------------------------------------------------------------------------------------

function query(rng: Rng, m: number, rho: number): number[] {
  const u = Math.sqrt(rho) * rng.normal();
  return Array.from({ length: m }, () => u + Math.sqrt(1 - rho) * rng.normal());
}

/** A 500 x 20 calibration at target 0.3, rho 0.1, as the server fits and publishes it. */
function calibration(seed: number): { cal: CalibrationExpectation; threshold: number } {
  const rng = createRng(seed);
  const qs = Array.from({ length: 500 }, () => query(rng, 20, 0.1));
  const { scores, offsets } = flattenQueries(qs);
  const fitted = fitCalibration(sortedCopy(scores), 0.3, { scores, offsets });
  const record = { ...fitted.fields, drift_tolerance: null, empty_context_tolerance: null } as unknown as StoredCalibration;
  return { cal: calibrationExpectation(expectationOf(record)), threshold: fitted.fields.threshold! };
}

/** Feeds `queries` production queries of lo..hi candidates through the detector; the first empty-context alarm. */
function run(seed: number, cal: CalibrationExpectation, threshold: number, sizes: readonly [number, number], queries: number) {
  const rng = createRng(seed);
  let state = newDetector();
  for (let q = 0; q < queries; q += 25) {
    const batch = Array.from({ length: 25 }, () => {
      const m = sizes[0] + Math.floor(rng.next() * (sizes[1] - sizes[0] + 1));
      const scores = query(rng, m, 0.1);
      return [m, scores.filter((s) => s < threshold).length] as const;
    });
    state = observeDetector(state, batch, q, cal, DEFAULT_DRIFT_CONFIG);
    const ev = evaluateDetector(state, cal, DEFAULT_DRIFT_CONFIG);
    if (ev.emptyContext?.alarm) return { alarmAt: q + 25, ev };
  }
  return { alarmAt: null, ev: evaluateDetector(state, cal, DEFAULT_DRIFT_CONFIG) };
}

describe("empty-context test conditioned on candidates per query", () => {
  const { cal, threshold } = calibration(deriveSeed(9001, 0));

  it("the calibration carries its strata to the monitor", () => {
    expect(cal.emptyContextStrata).toHaveLength(EMPTY_CONTEXT_STRATA.length);
    expect(cal.emptyContextStrata![0]!.rate).toBeGreaterThan(0.25);
    expect(cal.emptyContextStrata![6]!.rate).toBeLessThan(0.01);
  });

  it("production queries of 1 to 5 candidates from the same population raise no alarm (3 seeds, 10,000 queries)", () => {
    for (let s = 0; s < 3; s++) {
      const r = run(deriveSeed(9002, s), cal, threshold, [1, 5], 10_000);
      expect(r.alarmAt).toBeNull();
      // The expectation shown is production's mix, far above the calibration's overall rate.
      expect(r.ev.emptyContext!.expected).toBeGreaterThan(0.05);
      expect(r.ev.emptyContext!.observed!).toBeLessThan(r.ev.emptyContext!.band.hi);
    }
  }, 30_000);

  it("the same traffic against the unconditioned expectation (a calibration stored before strata) alarms", () => {
    const legacy = { ...cal, emptyContextStrata: null };
    const r = run(deriveSeed(9002, 0), legacy, threshold, [1, 5], 10_000);
    expect(r.alarmAt).not.toBeNull();
  });

  it("still detects a gate that moved, in short queries: threshold raised so that 3-candidate queries empty more often", () => {
    // Production's scores fall by 0.5 (same gate): the drop rate moves from 0.30 to about 0.46.
    const r = run(deriveSeed(9003, 0), cal, threshold + 0.5, [3, 3], 10_000);
    expect(r.alarmAt).not.toBeNull();
    expect(r.alarmAt!).toBeLessThan(3_000);
  });

  it("sums stored before strata are tested against the overall band for the queries they counted", () => {
    const bands = driftBands(cal, DEFAULT_DRIFT_CONFIG, 1);
    const legacy = { queries: 400, candidates: 8000, dropped: 2400, droppedSq: 0, droppedTimesSize: 0, sizeSq: 0, empty: 40 } as ClusterSums;
    const fresh = emptyClusterSums();
    for (let i = 0; i < 400; i++) addCluster(fresh, 20, i < 40 ? 20 : 6);
    // 10 % empty at 20 candidates: far above both the overall band and the 20-candidate stratum's.
    expect(emptyContextLogEvidence(legacy, bands, DEFAULT_DRIFT_CONFIG.priorStrength)).toBeGreaterThan(10);
    expect(emptyContextLogEvidence(fresh, bands, DEFAULT_DRIFT_CONFIG.priorStrength)).toBeGreaterThan(10);
  });
});

// ----------------------------------------------------------------------------------------------------------------
// Sizes coupled to scores: low-scoring queries bring fewer candidates (a first-stage similarity cutoff). Calibration
// and production are the same population, so nothing drifted. The full simulation is bench/coupled-sizes.ts
// (docs/benchmarks.md, section 17).
// ----------------------------------------------------------------------------------------------------------------

describe("empty-context strata when a query's candidate count depends on how well it scores", () => {
  /** 500 queries of at most 20 candidates, coupling 1.5 (count and query effect correlate about 0.7), target 0.3. */
  function coupledCalibration(seed: number) {
    const rng = createRng(seed);
    const { scores, offsets } = flattenQueries(Array.from({ length: 500 }, () => coupledQuery(rng, 20, 0.3, 1.5)));
    const fitted = fitCalibration(sortedCopy(scores), 0.3, { scores, offsets });
    const record = { ...fitted.fields, drift_tolerance: null, empty_context_tolerance: null } as unknown as StoredCalibration;
    return { fitted, cal: calibrationExpectation(expectationOf(record)), threshold: fitted.fields.threshold! };
  }

  it("raises no empty_context alarm on the same population (3 seeds, 3,000 production queries each)", () => {
    for (let s = 0; s < 3; s++) {
      const { cal, threshold } = coupledCalibration(deriveSeed(9101, s));
      const rng = createRng(deriveSeed(9102, s));
      let state = newDetector();
      let alarmAt: number | null = null;
      for (let q = 0; q < 3_000 && alarmAt === null; q += 25) {
        const batch = Array.from({ length: 25 }, () => {
          const scores = coupledQuery(rng, 20, 0.3, 1.5);
          return [scores.length, scores.filter((x) => x < threshold).length] as const;
        });
        state = observeDetector(state, batch, q, cal, DEFAULT_DRIFT_CONFIG);
        if (evaluateDetector(state, cal, DEFAULT_DRIFT_CONFIG).emptyContext?.alarm) alarmAt = q + 25;
      }
      expect(alarmAt, `seed ${s}`).toBeNull();
    }
  }, 30_000);

  it("finds that short queries are empty far more often than extrapolated, and leaves the extrapolated strata untested", () => {
    const { fitted, cal } = coupledCalibration(deriveSeed(9101, 0));
    const pq = fitted.fields.per_query!;
    expect(pq.empty_context_check!.verdict).toBe("failed");
    expect(pq.empty_context_check!.empty).toBeGreaterThan(2 * pq.empty_context_check!.predicted_empty);
    const bands = driftBands(cal, DEFAULT_DRIFT_CONFIG, 1);
    pq.empty_context_by_candidates!.forEach((st, b) => {
      if (st.source === "hypergeometric") expect(bands.emptyStrata![b]!.armable, `stratum ${st.min_candidates}`).toBe(false);
    });
    // The observed strata carry the truth: the own queries' empty share, bounded exactly.
    const observed = pq.empty_context_by_candidates!.filter((st) => st.source === "observed" && !st.extrapolated);
    expect(observed.length).toBeGreaterThan(0);
    for (const st of observed) expect(st.rate).toBe(st.own_empty! / st.own_queries!);
  });

  it("tests no extrapolated stratum after a check that passed on coupled sizes, whose production rate is twice the band's top", () => {
    // Calibration 17,439 of the top-50, coupling 1.5 row of bench/coupled-bands.ts: its few short queries passed the
    // check, and the extrapolated strata under-state production's short queries 2 to 4 times (docs/benchmarks.md,
    // section 17). Tested after the passed check, each would alarm on the same population.
    const rng = createRng(deriveSeed(747, 17_439));
    const { scores, offsets } = flattenQueries(Array.from({ length: 500 }, () => coupledQuery(rng, 50, 0.3, 1.5)));
    const fitted = fitCalibration(sortedCopy(scores), 0.3, { scores, offsets });
    const record = { ...fitted.fields, drift_tolerance: null, empty_context_tolerance: null } as unknown as StoredCalibration;
    const cal = calibrationExpectation(expectationOf(record));
    const t = fitted.fields.threshold!;
    expect(fitted.fields.per_query!.empty_context_check!.verdict).toBe("passed");
    const single = cal.emptyContextStrata![0]!;
    expect([single.source, single.extrapolationCheck]).toEqual(["hypergeometric", "passed"]);
    const bands = driftBands(cal, DEFAULT_DRIFT_CONFIG, 1);
    // Production's single-candidate queries, from the same population: empty far above the band's top.
    const prod = createRng(deriveSeed(748, 0));
    let singles = 0;
    let empty = 0;
    for (let i = 0; i < 20_000; i++) {
      const q = coupledQuery(prod, 50, 0.3, 1.5);
      if (q.length !== 1) continue;
      singles++;
      if (q[0]! < t) empty++;
    }
    expect(singles).toBeGreaterThan(300);
    expect(empty / singles).toBeGreaterThan(1.5 * bands.emptyStrata![0]!.band.hi);
    cal.emptyContextStrata!.forEach((st, b) => {
      if (st.source !== "observed") expect(bands.emptyStrata![b]!.armable, `stratum ${EMPTY_CONTEXT_STRATA[b]}`).toBe(false);
    });
  });

  it("keeps the extrapolation where sizes do not depend on scores (400 queries of 1 to 12 candidates drawn independently)", () => {
    const rng = createRng(deriveSeed(9103, 0));
    const qs = Array.from({ length: 400 }, () => query(rng, 1 + Math.floor(rng.next() * 12), 0.1));
    const { scores, offsets } = flattenQueries(qs);
    const r = emptyRateByCandidates(scores, offsets, -0.3);
    expect(r.verdict).toBe("passed");
    expect(r.strata[0]!.source).toBe("hypergeometric");
    expect(r.strata[5]!.source).toBe("observed");
  });
});

describe("a min_keep gate's guard-binding strata", () => {
  // Eight strata: the four shortest extrapolated from longer queries with a check that passed, the rest measured on
  // their own 400 queries. A passed check is a screen, not a bound: where the guard binds (level 3) it passed on
  // coupled sizes in 12 of 200 null runs that then false-alarmed (docs/benchmarks.md section 26), and for the empty
  // event (level 1) it armed strata 2 to 4 times below production's rate in 2 of 20,000 coupled calibrations
  // (section 17), so only measured strata are tested at either level. An extrapolation with nothing to check it
  // against (every calibration query one size: "untested") is the stated assumption and is tested at level 1.
  const strata = EMPTY_CONTEXT_STRATA.map((_, b) =>
    b < 4
      ? {
          rate: 0.4,
          queries: 2000,
          effectiveQueries: 2000,
          extrapolated: false,
          source: "hypergeometric" as const,
          extrapolationCheck: "passed" as const,
        }
      : { rate: 0.2, queries: 400, extrapolated: false, source: "observed" as const, empty: 80 },
  );
  const cal = { expectedDropRate: 0.3, n: 40_000, emptyContextRate: 0.25, nQueries: 2000, emptyContextStrata: strata };

  it("tests only the strata measured on their own queries after a check passed, and an unchecked extrapolation only for the empty event", () => {
    const armed = (level: number | undefined, check: "passed" | "untested" = "passed") => {
      const c = { ...cal, emptyContextStrata: strata.map((st) => (st.source === "observed" ? st : { ...st, extrapolationCheck: check })) };
      return driftBands(level === undefined ? c : { ...c, emptyContextLevel: level }, DEFAULT_DRIFT_CONFIG, 1).emptyStrata!.map((b) => b.armable);
    };
    const measuredOnly = [false, false, false, false, true, true, true, true];
    expect(armed(undefined)).toEqual(measuredOnly);
    expect(armed(1)).toEqual(measuredOnly);
    expect(armed(3)).toEqual(measuredOnly);
    expect(armed(1, "untested")).toEqual([true, true, true, true, true, true, true, true]);
    expect(armed(3, "untested")).toEqual(measuredOnly);
  });
});
