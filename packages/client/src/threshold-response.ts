/** The check of GET /v1/threshold's body, guards, rollout and shadows included, before the cache keeps it. */
import type { ServedGate, ServedRollout, ServedShadow, ThresholdResponse } from "../../../src/contract/wire-types";

/** The threshold body as the cache keeps it: a server that sends no rollout or shadows reads as null and []. */
export type Served = ThresholdResponse & { rollout: ServedRollout | null; shadows: ServedShadow[] };

const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
/** An integer at least `min` (a guard of a served body, a count of an observation). */
export const isCount = (v: unknown, min: number): v is number => Number.isInteger(v) && (v as number) >= min;

/** A served gate's fields, with missing guards and cutoff read as none; undefined when a present field is broken. */
// biome-ignore lint/suspicious/noExplicitAny: an unchecked JSON object, every field is checked below
function readGate(b: Record<string, any> | null | undefined): ServedGate | undefined {
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
  return valid ? ({ ...b, guards: { min_keep: g.min_keep, max_keep: g.max_keep }, abstain_below: a } as ServedGate) : undefined;
}

/**
 * The body of a 200 as the client keeps it, or undefined when it is not a threshold body. A server from before guards
 * sends neither `guards` nor `abstain_below`, one from before promotions neither `rollout` nor `shadows`: each missing
 * field reads as its neutral value, so the gate behaves as it did. A field that is present but broken (a negative or
 * fractional `min_keep`, a `max_keep` below 1 or below `min_keep`, an infinite cutoff, a rollout without a readable
 * candidate) makes the whole body invalid: applying half a policy would be worse than the caller's fallback. Written
 * compactly on purpose: it ships in the size-budgeted core.
 */
export function readThresholdResponse(body: unknown): Served | undefined {
  // biome-ignore lint/suspicious/noExplicitAny: an unchecked JSON body, every field is checked below
  const b = body as Record<string, any> | null;
  const top = readGate(b);
  const r = b?.rollout ?? null;
  const shadows: unknown[] = b?.shadows ?? [];
  const rollout =
    r === null
      ? null
      : isCount(r.percent_bp, 0) && typeof r.salt === "string" && typeof r.promotion_id === "string" && isCount(r.step, 0)
        ? readGate(r.candidate)
        : undefined;
  const read = Array.isArray(shadows)
    ? // biome-ignore lint/suspicious/noExplicitAny: checked by readGate and the sample rate test
      shadows.map((s: any) => (isFiniteNumber(s?.sample_rate) ? readGate(s) : undefined))
    : [undefined];
  if (top === undefined || rollout === undefined || read.includes(undefined)) return undefined;
  return { ...b, ...top, rollout: r === null ? null : { ...r, candidate: rollout }, shadows: read as ServedShadow[] } as Served;
}
