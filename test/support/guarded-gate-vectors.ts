/**
 * The shared guarded-gate vectors (fixtures/guarded-gate.json, format in fixtures/guarded-gate.md), typed once for the
 * tests that run them: the guard rule itself (test/stats/guard-rule.test.ts) and the SDK's gate()
 * (packages/client/test/guarded-gate.test.ts); the Python client reads the same file.
 */
import fixture from "../../fixtures/guarded-gate.json";

/** A score as JSON can carry it: NaN and the infinities are written as strings. */
export type EncodedScore = number | null | "NaN" | "Infinity" | "-Infinity";

export interface GuardedGateVector {
  name: string;
  scores: EncodedScore[];
  policy: { threshold: number | null; min_keep: number; max_keep: number | null; abstain_below: number | null };
  unscored: "keep" | "drop";
  expected: {
    kept: number[];
    dropped: number[];
    abstain: boolean;
    dropped_count: number;
    dropped_scored: number;
    below: number;
    /** What gate() reports: the clients' business (packages/client/test/guarded-gate.test.ts, python/tests). */
    counts: number[] | null;
  };
}

export const guardedGateVectors = fixture as unknown as {
  version: number;
  cases: GuardedGateVector[];
};

/** A vector's score as a number (null stays null). */
export const decodeScore = (s: EncodedScore): number | null => (typeof s === "string" ? Number(s) : s);
