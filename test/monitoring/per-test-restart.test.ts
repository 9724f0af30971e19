/**
 * An alarm restarts only the rate tests that fired (window.ts restartDetector): the others keep their evidence. Over
 * the pure window, as the monitor runs it (gate-monitor/monitor.ts: add the batch, evaluate, restart on an alarm): a
 * guarded, abstaining gate fitted through calibrate(), production gated with decideQuery and reported as
 * [m, d, below, abstained].
 */
import { describe, expect, it } from "vitest";
import { calibrate } from "../../src/calibrations/calibrate";
import { calibrationExpectation, type Expectation, expectationOf } from "../../src/calibrations/expectation";
import { CalibrationMeta, type StoredCalibration } from "../../src/contract";
import { addBatch, evaluateWindow, newWindow, restartDetector, type WindowState, windowStatus } from "../../src/monitoring/window";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { type DetectorEvaluation, evaluateDetector } from "../../src/stats/drift-detector";
import { decideQuery } from "../../src/stats/guard-rule";
import { flattenQueries, type QueryObservation } from "../../src/stats/per-query";
import { memoryDeps } from "../support/memory-deps";
import { createRng, type Rng } from "../support/prng";

const NOW = Date.UTC(2026, 11, 2, 10, 0, 0);
const GATE = { index: "docs", embedding: "e5@v1", reranker: "bge@v2" };
const CONFIG = DEFAULT_DRIFT_CONFIG;
const roundTrip = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** One query of m candidates: a per-query effect plus each candidate's own; `shift` moves the whole query. */
function query(rng: Rng, m: number, shift = 0): number[] {
  const base = rng.normal() + shift;
  return Array.from({ length: m }, () => base + rng.normal());
}
const SIZES = [5, 10, 20];
const size = (rng: Rng): number => SIZES[Math.floor(rng.next() * SIZES.length)]!;

/** The reviewer's gate: drop rate 0.5, min_keep 2, max_keep 8, abstaining on about 20 % of 900 calibration queries. */
async function fitted(): Promise<StoredCalibration> {
  const rng = createRng(1);
  const qs = Array.from({ length: 900 }, () => query(rng, size(rng)));
  const meta = CalibrationMeta.parse({
    ...GATE,
    index_version: "v1",
    policy: { kind: "drop_rate", target: 0.5, min_keep: 2, max_keep: 8, abstention: { rate: 0.2 } },
  });
  return (await calibrate({ meta, ...flattenQueries(qs) }, "alice", memoryDeps({ startMs: NOW }).deps)).calibration;
}

interface Alarm {
  readonly at: number;
  readonly kinds: readonly ("drop_rate" | "empty_context" | "abstention")[];
  readonly ev: DetectorEvaluation;
}

/** 600 healthy queries, then 1,200 whose scores moved down by `shift`, in batches of 20; restarts as the monitor does. */
function run(c: StoredCalibration, e: Expectation, shift: number): { w: WindowState; alarms: Alarm[] } {
  const rng = createRng(3);
  const policy = { threshold: c.threshold, minKeep: 2, maxKeep: 8, abstainBelow: c.abstain_below ?? null };
  let w = newWindow(c.id, c.index_version, e, NOW);
  const alarms: Alarm[] = [];
  for (let b = 0; b < 90; b++) {
    const at = NOW + b * 1000;
    const batch: QueryObservation[] = Array.from({ length: 20 }, () => {
      const d = decideQuery(query(rng, size(rng), b < 30 ? 0 : shift), policy);
      return [d.kept.length, d.dropped, d.below, d.abstain ? 1 : 0] as const;
    });
    // Through JSON between batches, as the Durable Object stores the window.
    w = roundTrip(addBatch(w, batch, null, () => 0.5, at, CONFIG));
    const ev = evaluateWindow(w, CONFIG);
    const kinds = (["drop_rate", "empty_context", "abstention"] as const).filter(
      (k) => ({ drop_rate: ev.dropRate, empty_context: ev.emptyContext, abstention: ev.abstention })[k]?.alarm === true,
    );
    if (kinds.length > 0) {
      alarms.push({ at, kinds, ev });
      w = roundTrip(restartDetector(w, windowStatus(w, ev), ev, at));
    }
  }
  return { w, alarms };
}

describe("a drift alarm restarts only the tests that fired", () => {
  it("a drop-rate alarm that repeats no longer hides an abstention shift: both alert", async () => {
    const c = await fitted();
    const e = expectationOf(c);
    expect(e.abstention!.expected_rate).toBeCloseTo(0.2, 1);
    const { w, alarms } = run(c, e, -1);
    const of = (k: Alarm["kinds"][number]) => alarms.filter((a) => a.kinds.includes(k));
    // The drop rate alarms again and again on fresh evidence, as before.
    expect(of("drop_rate").length).toBeGreaterThanOrEqual(3);
    // The abstention test, which needs more queries than the drop rate's to gather its evidence, still gets there.
    // (Before, every drop-rate alarm restarted it too: 5 drop-rate alarms and none of abstention on this seed.)
    const first = of("abstention")[0]!;
    expect(first).toBeDefined();
    expect(first.kinds).not.toContain("drop_rate");
    // Its evidence reaches back past the drop-rate alarm before it: that alarm did not restart it.
    const dropBefore = of("drop_rate")
      .filter((a) => a.at < first.at)
      .at(-1)!;
    expect(first.ev.abstention!.since!).toBeLessThan(dropBefore.at);
    expect(first.ev.abstention!.sinceQueries!).toBeGreaterThan(first.ev.dropRate.sinceQueries ?? 0);
    // The window reads both shifts: abstention far above its band, the drop rate above its own.
    const status = windowStatus(w, evaluateWindow(w, CONFIG));
    expect(status.abstention!.observed!).toBeGreaterThan(status.abstention!.band.hi);
    expect(status.alarms).toBe(alarms.length);
  });

  it("changes nothing while the gate is healthy: no alarm, one shared detector", async () => {
    const c = await fitted();
    const { w, alarms } = run(c, expectationOf(c), 0);
    expect(alarms).toEqual([]);
    expect(w.test_detectors).toBeUndefined();
    expect(w.detector!.total.queries).toBe(1800);
  });
});

/** A window of an abstaining calibration that also tests the empty context, 200 queries in, and its evaluation. */
const ABSTAINING: Expectation = {
  n: 5000,
  expected_drop_rate: 0.3,
  empty_context_rate: 0.05,
  n_queries: 500,
  abstention: { expected_rate: 0.2, queries: 1000 },
};
function window200(e: Expectation = ABSTAINING): WindowState {
  const queries: QueryObservation[] = Array.from({ length: 200 }, (_, i) => [10, 3, 3, i % 5 === 0 ? 1 : 0]);
  return addBatch(newWindow("cal_x", "v1", e, NOW), queries, null, () => 0.5, NOW, CONFIG);
}
/** The window after an alarm of `fired` (the evaluation's alarm flags set by hand). */
function alarm(w: WindowState, fired: { drop?: boolean; empty?: boolean; abstention?: boolean }, at: number): WindowState {
  const ev = evaluateWindow(w, CONFIG);
  const set = <T extends { alarm: boolean } | null>(t: T, on: boolean | undefined): T => (t === null ? t : { ...t, alarm: on === true });
  const forced = {
    ...ev,
    dropRate: set(ev.dropRate, fired.drop),
    emptyContext: set(ev.emptyContext, fired.empty),
    abstention: set(ev.abstention, fired.abstention),
  };
  return restartDetector(w, windowStatus(w, forced), forced, at);
}
const more = (w: WindowState, n: number, at: number): WindowState =>
  addBatch(
    w,
    Array.from({ length: n }, () => [10, 3, 3, 0] as const),
    null,
    () => 0.5,
    at,
    CONFIG,
  );

describe("which detector each test reads after an alarm", () => {
  it("a drop-rate alarm gives the drop rate a fresh detector; the empty context and abstention keep theirs", () => {
    const before = window200();
    const shared = before.detector!;
    const w = alarm(before, { drop: true }, NOW + 1);
    expect(w.detector).toEqual(shared);
    expect(w.test_detectors?.drop_rate?.total.queries).toBe(0);
    expect(Object.keys(w.test_detectors!)).toEqual(["drop_rate"]);
    // Each test's status is its own detector's: the drop rate starts over, abstention keeps its 200 queries.
    const next = more(w, 50, NOW + 2);
    const s = windowStatus(next, evaluateWindow(next, CONFIG));
    expect(s.drop_rate).toMatchObject({ evidence_queries: 50, queries_to_arm: 50, armed: false });
    expect(s.drop_rate.evidence_since).toBe(new Date(NOW + 2).toISOString());
    expect(s.abstention).toMatchObject({ queries_to_arm: null, armed: true });
    const cal = calibrationExpectation(ABSTAINING);
    const sharedEv = evaluateDetector(next.detector!, cal, CONFIG, next.sums);
    expect(next.detector!.total.queries).toBe(250);
    expect(s.abstention!.log_evidence).toBe(sharedEv.abstention!.logEvidence);
    expect(s.abstention!.evidence_queries).toBe(sharedEv.abstention!.sinceQueries);
    expect(s.empty_context!.log_evidence).toBe(sharedEv.emptyContext!.logEvidence);
    // The window-wide design effect is the drop-rate test's (its detector since its own reset).
    expect(s.design_effect).toBe(evaluateDetector(next.test_detectors!.drop_rate!, cal, CONFIG).designEffect);
    expect(s.queries).toBe(250);
  });

  it("when every test still reading the shared detector alarms, it restarts, and a test with its own keeps it", () => {
    let w = more(alarm(window200(), { drop: true }, NOW + 1), 60, NOW + 2);
    w = alarm(w, { empty: true, abstention: true }, NOW + 3);
    expect(w.detector!.total.queries).toBe(0);
    expect(w.test_detectors?.drop_rate?.total.queries).toBe(60);
    // The drop rate alarms alone again while the others read the shared detector: its own restarts.
    w = alarm(more(w, 40, NOW + 4), { drop: true }, NOW + 5);
    expect(w.test_detectors?.drop_rate?.total.queries).toBe(0);
    expect(w.detector!.total.queries).toBe(40);
    // All three at once: one fresh shared detector again, nothing of their own.
    w = alarm(more(w, 10, NOW + 6), { drop: true, empty: true, abstention: true }, NOW + 7);
    expect(w.test_detectors).toBeUndefined();
    expect(w.detector!.total.queries).toBe(0);
    expect(w.alarms).toBe(4);
  });

  it("a gate whose only test is the drop rate restarts its one detector, as before", () => {
    const flat: Expectation = { n: 5000, expected_drop_rate: 0.3, empty_context_rate: null, n_queries: null };
    const w = alarm(window200(flat), { drop: true }, NOW + 1);
    expect(w.test_detectors).toBeUndefined();
    expect(w.detector!.total.queries).toBe(0);
  });

  it("an abstention alarm alone leaves the drop rate's evidence where it was", () => {
    const w = alarm(window200(), { abstention: true }, NOW + 1);
    expect(w.detector!.total.queries).toBe(200);
    expect(Object.keys(w.test_detectors!)).toEqual(["abstention"]);
    const s = windowStatus(w, evaluateWindow(w, CONFIG));
    expect(s.drop_rate.evidence_queries).toBe(200);
    expect(s.abstention).toMatchObject({ evidence_queries: null, log_evidence: 0, queries_to_arm: 100 });
  });
});

describe("windows stored before the tests restarted apart", () => {
  it("a stored window with one detector reads it for every test, as before", () => {
    // What an older Worker stored: the window with its one `detector`, no test_detectors.
    const stored = roundTrip(window200());
    expect(stored.test_detectors).toBeUndefined();
    const legacy = evaluateDetector(stored.detector!, calibrationExpectation(stored.expectation), CONFIG, stored.sums);
    expect(evaluateWindow(stored, CONFIG)).toEqual(legacy);
    // Its next batch and its next alarm work on it: the drop rate parts, the others keep the stored evidence.
    const next = alarm(more(stored, 20, NOW + 1), { drop: true }, NOW + 2);
    expect(next.detector!.total.queries).toBe(220);
    expect(next.test_detectors!.drop_rate!.total.queries).toBe(0);
  });

  it("a window whose tests parted evaluates the same after the JSON round trip", () => {
    const w = more(alarm(window200(), { drop: true }, NOW + 1), 120, NOW + 2);
    expect(evaluateWindow(roundTrip(w), CONFIG)).toEqual(evaluateWindow(w, CONFIG));
    const s = windowStatus(w, evaluateWindow(w, CONFIG));
    expect(s.drop_rate.armed).toBe(true);
    expect(s.drop_rate.evidence_queries).toBe(120);
  });
});
