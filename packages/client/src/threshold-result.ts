/**
 * What getThreshold answers (threshold-response.ts reads the server's body): the cached gate with its reason
 * (`cached`, `stale`), or the caller's fallback (`fallback`, `uncalibrated`), with the error that explains a stale or
 * fallback answer. Never throws: the hot path always gets a threshold or the caller's own fallback.
 */
import type { ServedGate } from "../../../src/contract/wire-types";
import { isScored } from "../../../src/stats/guard-rule";
import { assignable, bucketOf } from "./assignment";
import type { Entry } from "./cache-entry";
import type { ClientError, GetThresholdOptions, ThresholdResult } from "./types";

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
  if (entry.uncalibrated) return fallbackResult(options.fallback, entry.said, entry.fetchedAt);
  // a key is a string: null or a number from JavaScript (`session.userId ?? null`), hashed as its text, would put every
  // anonymous request into one bucket, all in the candidate arm or none, and count them as randomized evidence
  const key = assignable(options.assignmentKey);
  const r = entry.value!.rollout;
  const candidate = r !== null && key !== undefined && bucketOf(r.salt, key) < r.percent_bp;
  const result = answer(
    candidate ? r.candidate : entry.value!,
    reason,
    entry.fetchedAt,
    reason === "stale" ? (authError ?? entry.lastError) : undefined,
  );
  if (r !== null)
    result.promotion = { id: r.promotion_id, step: r.step, arm: key === undefined ? "unassigned" : candidate ? "candidate" : "control" };
  return result;
}

/** A served gate's fields (or the fallback's, all neutral) as an answer, with its error when it has one. */
function answer(
  g: Pick<ServedGate, "threshold" | "guards" | "abstain_below"> &
    Nullable<Pick<ServedGate, "calibration_id" | "index_version" | "expected_drop_rate">>,
  reason: ThresholdResult["reason"],
  fetchedAt: number | null,
  error: ClientError | undefined,
): ThresholdResult {
  const result: ThresholdResult = {
    threshold: g.threshold,
    guards: { minKeep: g.guards.min_keep, maxKeep: g.guards.max_keep },
    abstainBelow: g.abstain_below,
    calibrationId: g.calibration_id,
    indexVersion: g.index_version,
    expectedDropRate: g.expected_drop_rate,
    reason,
    fetchedAt,
  };
  if (error !== undefined) result.error = error;
  return result;
}

type Nullable<T> = { [K in keyof T]: T[K] | null };

/**
 * The caller's fallback: `uncalibrated` when the server said the gate serves nothing (as of `fetchedAt`), else
 * `fallback` (no `fetchedAt`). A fallback that is not a number (NaN included) is null, which keeps everything:
 * JavaScript callers can omit the fallback the types require, or pass a string, and neither may drop every candidate
 * nor be coerced. `fallbackOf` in adapter.ts states the same for adapters that apply a fallback themselves.
 */
export function fallbackResult(fallback: number | null | undefined, error?: ClientError, fetchedAt?: number): ThresholdResult {
  const none = { guards: { min_keep: 0, max_keep: null }, abstain_below: null, calibration_id: null, index_version: null, expected_drop_rate: null };
  return answer(
    { ...none, threshold: isScored(fallback) ? fallback : null },
    fetchedAt === undefined ? "fallback" : "uncalibrated",
    fetchedAt ?? null,
    error,
  );
}
