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
import type { Guards } from "./types";

/** No guard: what a fallback, an uncalibrated gate or a server that serves no guards means. */
export const NO_GUARDS: Readonly<Guards> = Object.freeze({ minKeep: 0, maxKeep: null });

const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isCount = (v: unknown, min: number): v is number => Number.isInteger(v) && (v as number) >= min;

/**
 * The body of a 200 as the client keeps it, or undefined when it is not a threshold body. A server from before guards
 * sends neither `guards` nor `abstain_below`: each missing field reads as its neutral value, so the gate behaves as
 * it did. A field that is present but broken (a negative or fractional `min_keep`, a `max_keep` below 1 or below
 * `min_keep`, an infinite cutoff) makes the whole body invalid: applying half a policy would be worse than the
 * caller's fallback.
 */
export function readThresholdResponse(body: unknown): ThresholdResponse | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const b = body as Partial<Record<keyof ThresholdResponse, unknown>>;
  if (!(b.threshold === null || isFiniteNumber(b.threshold))) return undefined;
  if (typeof b.calibration_id !== "string" || typeof b.index_version !== "string" || typeof b.expected_drop_rate !== "number") return undefined;
  let guards: ThresholdResponse["guards"] = { min_keep: 0, max_keep: null };
  if (b.guards !== undefined) {
    const g = b.guards as Partial<Record<keyof ThresholdResponse["guards"], unknown>> | null;
    if (typeof g !== "object" || g === null || !isCount(g.min_keep, 0)) return undefined;
    if (!(g.max_keep === null || (isCount(g.max_keep, 1) && g.max_keep >= g.min_keep))) return undefined;
    guards = { min_keep: g.min_keep, max_keep: g.max_keep };
  }
  const abstainBelow = b.abstain_below ?? null;
  if (!(abstainBelow === null || isFiniteNumber(abstainBelow))) return undefined;
  return { ...(body as ThresholdResponse), guards, abstain_below: abstainBelow };
}

/** The served guards in the client's words. */
export function guardsOf(response: ThresholdResponse): Guards {
  return { minKeep: response.guards.min_keep, maxKeep: response.guards.max_keep };
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
