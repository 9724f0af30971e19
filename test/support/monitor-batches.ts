/** Observation batches for driving a GateMonitor directly (its RPC input), shared by the Durable Object tests. */
import type { ObserveInput } from "../../src/monitoring/monitor-contract";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";

/** The tests' fixed clock start: 2026-11-24T00:00Z. */
export const T0 = Date.UTC(2026, 10, 24, 0, 0, 0);

/** One batch against a calibration expecting a 30 % drop rate from 10,000 flat scores. */
export function batch(
  gateId: string,
  batchId: string,
  nowMs: number,
  queries: [number, number][],
  gate?: Partial<ObserveInput["gate"]>,
): ObserveInput {
  return {
    gate: { gate_id: gateId, index: "docs", embedding: "e5", reranker: "bge", ...gate },
    calibration: {
      id: `cal_${gateId}`,
      index_version: "v1",
      expectation: { n: 10_000, expected_drop_rate: 0.3, empty_context_rate: null, n_queries: null, design_effect: 1 },
    },
    batch_id: batchId,
    batch_hash: `hash-${batchId}`,
    queries,
    scores: null,
    now_ms: nowMs,
    config: DEFAULT_DRIFT_CONFIG,
  };
}

/** Queries at the expected 30 % drop rate, and queries at 60 %: a move that alarms within one batch of 200. */
export const steady = (n: number): [number, number][] => Array.from({ length: n }, () => [20, 6] as [number, number]);
export const moved = (n: number): [number, number][] => Array.from({ length: n }, () => [20, 12] as [number, number]);
