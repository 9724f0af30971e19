import { describe, expect, it } from "vitest";
import { decideQuery } from "../../src/stats/guard-rule";
import { decodeScore, guardedGateVectors as vectors } from "../support/guarded-gate-vectors";

describe("decideQuery reproduces the shared client vectors (fixtures/guarded-gate.json)", () => {
  it("has the vectors", () => expect(vectors.cases.length).toBeGreaterThan(50));
  for (const v of vectors.cases) {
    it(v.name, () => {
      const p = v.policy;
      const d = decideQuery(
        v.scores.map(decodeScore),
        { threshold: p.threshold, minKeep: p.min_keep, maxKeep: p.max_keep, abstainBelow: p.abstain_below },
        v.unscored,
      );
      const kept = d.kept.flatMap((k, i) => (k ? [i] : []));
      const dropped = d.kept.flatMap((k, i) => (k ? [] : [i]));
      const { counts: _reported, ...expected } = v.expected;
      expect({ kept, dropped, abstain: d.abstain, dropped_count: d.dropped, dropped_scored: d.droppedScored, below: d.below }).toEqual(expected);
    });
  }

  it("refuses a policy that breaks its own invariants", () => {
    expect(() => decideQuery([0.1], { threshold: 0, minKeep: 2, maxKeep: 1, abstainBelow: null })).toThrow(RangeError);
    expect(() => decideQuery([0.1], { threshold: 0, minKeep: -1, maxKeep: null, abstainBelow: null })).toThrow(RangeError);
    expect(() => decideQuery([0.1], { threshold: 0, minKeep: 0.5, maxKeep: null, abstainBelow: null })).toThrow(RangeError);
  });
});
