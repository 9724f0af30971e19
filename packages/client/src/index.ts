/**
 * @scoregate/client: read gate thresholds without ever stalling the hot path, apply them, report what they did.
 * Runs in Node, browsers and Workers (no Node-only API here; snapshots are in `@scoregate/client/snapshot`, snapshot files in
 * `@scoregate/client/node`).
 */
// The per-query rule gate() applies, for callers that read thresholds themselves (getThreshold, OpenFeature flags).
export { decideQuery, type GuardPolicy, type QueryDecision } from "../../../src/stats/guard-rule";
export { BASIS_POINTS, bucketOf } from "./assignment";
export { OBSERVATIONS_PATH, ScoregateClient, THRESHOLD_PATH } from "./client";
export type {
  Arm,
  ClientError,
  ClientErrorCode,
  ClientEvent,
  FlushResult,
  GateEvent,
  GateEventKind,
  GateKey,
  GateOptions,
  GateOutcome,
  GateResult,
  GetThresholdOptions,
  Guards,
  Observation,
  ObservationStats,
  PromotionRef,
  ScoregateClientOptions,
  ServedGate,
  ServedRollout,
  ServedShadow,
  ShadowOptions,
  Snapshot,
  SnapshotEntry,
  StreamOptions,
  ThresholdReason,
  ThresholdResult,
} from "./types";
