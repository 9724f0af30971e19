/**
 * @scoregate/client: read gate thresholds without ever stalling the hot path, apply them, report what they did.
 * Runs in Node, browsers and Workers (no Node-only API here; snapshot files are in `@scoregate/client/node`).
 */
export { OBSERVATIONS_PATH, ScoregateClient, THRESHOLD_PATH } from "./client";
export type {
  ClientError,
  ClientErrorCode,
  ClientEvent,
  FlushResult,
  GateKey,
  GateOptions,
  GateResult,
  GetThresholdOptions,
  Observation,
  ObservationStats,
  ScoregateClientOptions,
  Snapshot,
  SnapshotEntry,
  ThresholdReason,
  ThresholdResult,
} from "./types";
