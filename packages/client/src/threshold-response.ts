/** The check of GET /v1/threshold's body, guards included, before the cache keeps it. */
import type { ThresholdResponse } from "../../../src/contract/wire-types";

const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isCount = (v: unknown, min: number): v is number => Number.isInteger(v) && (v as number) >= min;

/**
 * The body of a 200 as the client keeps it, or undefined when it is not a threshold body. A server from before guards
 * sends neither `guards` nor `abstain_below`: each missing field reads as its neutral value, so the gate behaves as
 * it did. A field that is present but broken (a negative or fractional `min_keep`, a `max_keep` below 1 or below
 * `min_keep`, an infinite cutoff) makes the whole body invalid: applying half a policy would be worse than the
 * caller's fallback. Written compactly on purpose: it ships in the size-budgeted core.
 */
export function readThresholdResponse(body: unknown): ThresholdResponse | undefined {
  // biome-ignore lint/suspicious/noExplicitAny: an unchecked JSON body, every field is checked below
  const b = body as Record<string, any> | null;
  const g = b?.guards ?? { min_keep: 0, max_keep: null };
  const a = b?.abstain_below ?? null;
  const valid =
    typeof b === "object" &&
    b !== null &&
    (b.threshold === null || isFiniteNumber(b.threshold)) &&
    typeof b.calibration_id === "string" &&
    typeof b.index_version === "string" &&
    typeof b.expected_drop_rate === "number" &&
    isCount(g.min_keep, 0) &&
    (g.max_keep === null || (isCount(g.max_keep, 1) && g.max_keep >= g.min_keep)) &&
    (a === null || isFiniteNumber(a));
  return valid ? ({ ...b, guards: { min_keep: g.min_keep, max_keep: g.max_keep }, abstain_below: a } as ThresholdResponse) : undefined;
}
