/**
 * What the client does with a served calibration: checks the body of GET /v1/threshold (guards included) and applies
 * the threshold, the guards and the abstention cutoff to one query's candidates.
 *
 * The rule itself is src/stats/guard-rule.ts (`decideQuery`), bundled into this package at build time: the server
 * counts what a gate does with the very same code, so the client and the server's statistics cannot drift apart, and
 * fixtures/guarded-gate.json pins it for the Python client too. It is pure and imports nothing.
 */
import type { ThresholdResponse } from "../../../src/contract/wire-types";
import { decideQuery, type GuardPolicy, isScored } from "../../../src/stats/guard-rule";

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

/** What `gate()` decided for one query, candidates split in their input order. */
export interface AppliedGate<T> {
  kept: T[];
  /** Every candidate not kept: all of them when the query abstains. */
  dropped: T[];
  abstain: boolean;
  topScore: number | null;
  /** What the candidate gate dropped, before abstention (what an observation reports). */
  droppedCount: number;
  unscored: number;
  /** The scored candidates' scores in input order, when asked for (the observation's score sample). */
  scores: number[];
}

/** Applies the rule of src/stats/guard-rule.ts to candidates, reading each score once. */
export function applyGate<T>(
  candidates: readonly T[],
  score: (candidate: T) => number | null | undefined,
  policy: GuardPolicy,
  unscored: "keep" | "drop",
  collectScores: boolean,
): AppliedGate<T> {
  const values = candidates.map(score);
  const d = decideQuery(values, policy, unscored);
  const kept = candidates.filter((_, i) => d.kept[i]);
  const dropped = candidates.filter((_, i) => !d.kept[i]);
  const scores = collectScores ? values.filter(isScored) : [];
  return { kept, dropped, abstain: d.abstain, topScore: d.topScore, droppedCount: d.dropped, unscored: d.unscored, scores };
}
