/**
 * What getThreshold answers (threshold-response.ts reads the server's body): the cached gate with its reason
 * (`cached`, `stale`), or the caller's fallback (`fallback`, `uncalibrated`), with the error that explains a stale or
 * fallback answer. Never throws: the hot path always gets a threshold or the caller's own fallback.
 */
import type { ServedGate } from "../../../src/contract/wire-types";
import { bucketOf } from "./assignment";
import type { Entry } from "./cache-entry";
import type { ClientError, GetThresholdOptions, PromotionRef, ThresholdResult } from "./types";

/**
 * The served answer of an entry that holds a value or the uncalibrated answer; during a promotion the arm's, chosen by
 * the key's bucket under the rollout's salt. A stale answer carries the refused-token error or the entry's last one.
 */
export function servedResult(
  entry: Entry,
  options: Pick<GetThresholdOptions, "fallback" | "assignmentKey">,
  reason: "calibrated" | "cached" | "stale",
  authError: ClientError | undefined,
): ThresholdResult {
  if (entry.uncalibrated) return fallbackResult(options.fallback, true, undefined, entry.fetchedAt);
  const key = options.assignmentKey;
  const v = entry.value!;
  const r = v.rollout;
  let promotion: PromotionRef | undefined;
  let g: ServedGate = v;
  if (r !== null) {
    const candidate = key !== undefined && bucketOf(r.salt, key) < r.percent_bp;
    if (candidate) g = r.candidate;
    promotion = { id: r.promotion_id, step: r.step, arm: key === undefined ? "unassigned" : candidate ? "candidate" : "control" };
  }
  const result: ThresholdResult = {
    threshold: g.threshold,
    guards: { minKeep: g.guards.min_keep, maxKeep: g.guards.max_keep },
    abstainBelow: g.abstain_below,
    calibrationId: g.calibration_id,
    indexVersion: g.index_version,
    expectedDropRate: g.expected_drop_rate,
    reason,
    fetchedAt: entry.fetchedAt,
  };
  if (promotion !== undefined) result.promotion = promotion;
  const error = authError ?? entry.lastError;
  if (reason === "stale" && error !== undefined) result.error = error;
  return result;
}

/** The caller's fallback: `uncalibrated` when the server said the gate serves nothing (as of `fetchedAt`), else `fallback`. */
export function fallbackResult(
  fallback: number | null,
  uncalibrated: boolean,
  error?: ClientError,
  fetchedAt: number | null = null,
): ThresholdResult {
  const result: ThresholdResult = {
    threshold: fallback,
    guards: { minKeep: 0, maxKeep: null },
    abstainBelow: null,
    calibrationId: null,
    indexVersion: null,
    expectedDropRate: null,
    reason: uncalibrated ? "uncalibrated" : "fallback",
    fetchedAt: uncalibrated ? fetchedAt : null,
  };
  if (error !== undefined) result.error = error;
  return result;
}
