/**
 * The GateMonitor Durable Object restarts only the rate tests that alarmed (src/monitoring/window.ts restartDetector):
 * a drop-rate alarm that repeats leaves the abstention test its evidence, and the tests that parted carry their own
 * detectors into the calibration's next daily window.
 */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { Expectation } from "../../src/calibrations/expectation";
import { Windows } from "../../src/monitoring/gate-monitor/windows";
import type { ObserveInput } from "../../src/monitoring/monitor-contract";
import { DRIFT_WINDOW_MS, newWindow, type WindowState } from "../../src/monitoring/window";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { newDetector } from "../../src/stats/e-detector";
import type { QueryObservation } from "../../src/stats/per-query";
import type { GateMonitor } from "../../src/worker/gate-monitor";
import { T0 } from "../support/monitor-batches";
import { monitorStubs } from "../support/monitor-stubs";

const { monitor, drain } = monitorStubs("per-test-restart");
afterEach(drain);

/** Flat scores: a 30 % drop rate; abstaining on 20 % of 2,000 calibration queries. */
const ABSTAINING: Expectation = {
  n: 10_000,
  expected_drop_rate: 0.3,
  empty_context_rate: null,
  n_queries: null,
  design_effect: 1,
  abstention: { expected_rate: 0.2, queries: 2_000 },
};

/** `n` queries of 20 candidates, `drop` of them dropped, the share `abstain` of them abstaining (spread evenly). */
const queries = (n: number, drop: number, abstain: number): QueryObservation[] =>
  Array.from({ length: n }, (_, i) => [20, drop, drop, Math.floor((i + 1) * abstain) > Math.floor(i * abstain) ? 1 : 0]);

const input = (gateId: string, batchId: string, nowMs: number, qs: QueryObservation[]): ObserveInput => ({
  gate: { gate_id: gateId, index: "docs", embedding: "e5", reranker: "bge" },
  calibration: { id: `cal_${gateId}`, index_version: "v1", expectation: ABSTAINING },
  batch_id: batchId,
  batch_hash: `hash-${batchId}`,
  queries: qs,
  scores: null,
  now_ms: nowMs,
  config: DEFAULT_DRIFT_CONFIG,
});

describe("a drop-rate alarm that repeats beside an abstention shift", () => {
  it("raises abstention_drift too: each drop-rate alarm restarts the drop rate only, and the day's end keeps that", async () => {
    const { gateId, rpc } = monitor("both");
    let at = T0;
    /** The monitor's clock: one second a batch. */
    const tick = (): number => {
      at += 1000;
      return at;
    };
    for (let b = 0; b < 6; b++) await rpc.observe(input(gateId, `h${b}`, tick(), queries(100, 6, 0.2)));
    // The shift: the drop rate from 30 % to 60 % (an alarm every 100 queries), abstention from 20 % to 35 %.
    const raised: string[][] = [];
    for (let b = 0; b < 60; b++) raised.push((await rpc.observe(input(gateId, `s${b}`, tick(), queries(20, 12, 0.35)))).alerts);
    const count = (kind: string) => raised.filter((a) => a.includes(kind)).length;
    expect(count("drop_rate_drift")).toBeGreaterThanOrEqual(3);
    expect(count("abstention_drift")).toBeGreaterThanOrEqual(1);

    // Right after a drop-rate alarm alone, the abstention test still holds the evidence it had.
    let before = (await rpc.status(gateId, at, DEFAULT_DRIFT_CONFIG)).windows[0]!;
    let alarm: string[] = [];
    for (let b = 0; b < 10 && !(alarm.includes("drop_rate_drift") && !alarm.includes("abstention_drift")); b++) {
      before = (await rpc.status(gateId, at, DEFAULT_DRIFT_CONFIG)).windows[0]!;
      alarm = (await rpc.observe(input(gateId, `t${b}`, tick(), queries(20, 12, 0.35)))).alerts;
    }
    expect(alarm).toEqual(["drop_rate_drift"]);
    const after = (await rpc.status(gateId, at, DEFAULT_DRIFT_CONFIG)).windows[0]!;
    expect(after.drop_rate.log_evidence).toBe(0);
    expect(after.drop_rate.queries_to_arm).toBe(100);
    expect(after.abstention!.evidence_queries).toBe((before.abstention!.evidence_queries ?? 0) + 20);
    expect(after.abstention!.log_evidence).toBeGreaterThan(0);

    // The day ends: the next window of the calibration carries both detectors as they were.
    const next = (await rpc.observe(input(gateId, "next-day", T0 + 2 * DRIFT_WINDOW_MS, queries(20, 12, 0.35)))).window;
    expect(next.queries).toBe(20);
    expect(next.drop_rate.queries_to_arm).toBe(80);
    expect(next.abstention!.queries_to_arm).toBeNull();
    expect(next.abstention!.evidence_queries).toBe(after.abstention!.evidence_queries! + 20);
    expect(next.drop_rate.evidence_queries).toBe(20);
  });
});

describe("the tests' own detectors in the detectors table", () => {
  it("are written at the day's end with the shared one, cleared when the tests share one again, and ended with a shadow", async () => {
    const { gateId, stub, rpc } = monitor("table");
    // The object's constructor creates its tables.
    await rpc.status(gateId, T0, DEFAULT_DRIFT_CONFIG);
    const result = await runInDurableObject(stub, (_: GateMonitor, state) => {
      const windows = new Windows(state.storage.sql);
      const day = (n: number) => T0 + n * DRIFT_WINDOW_MS;
      const parted = (start: number, role: "served" | "shadow"): WindowState => ({
        ...newWindow("cal_t", "v1", ABSTAINING, start),
        role,
        test_detectors: { drop_rate: newDetector() },
      });
      windows.save(parted(day(0), "served"), day(0));
      windows.rollOver(day(1), DEFAULT_DRIFT_CONFIG);
      const carried = windows.testDetectors("cal_t", "served");
      // The next window's tests share one detector again (an alarm of every test): its end clears the row.
      const { test_detectors: _own, ...shared } = parted(day(1), "served");
      windows.save(shared, day(1));
      windows.rollOver(day(2), DEFAULT_DRIFT_CONFIG);
      const cleared = windows.testDetectors("cal_t", "served");
      windows.save(parted(day(2), "shadow"), day(2));
      windows.rollOver(day(3), DEFAULT_DRIFT_CONFIG);
      const shadow = windows.testDetectors("cal_t", "shadow");
      windows.endShadow("cal_t", day(3), DEFAULT_DRIFT_CONFIG);
      return { carried, cleared, shadow, ended: windows.testDetectors("cal_t", "shadow"), served: windows.detector("cal_t", "served") };
    });
    expect(result.carried).toEqual({ drop_rate: newDetector() });
    expect(result.cleared).toBeUndefined();
    expect(result.served).toEqual(newDetector());
    expect(result.shadow).toEqual({ drop_rate: newDetector() });
    expect(result.ended).toBeUndefined();
  });
});
