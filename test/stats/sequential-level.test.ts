import { describe, expect, it } from "vitest";
import { type ClusterSums, designEffect, emptyClusterSums } from "../../src/stats/per-query";
import { type ChangeSide, decideChangeAnytime } from "../../src/stats/sequential-change";
import { binomPpf } from "../../src/stats/special";
import { betaForIcc, createRng, deriveSeed, type Rng } from "../support/prng";

// The anytime decision's levels where they are hardest to keep: the true change exactly on the tolerance's edge,
// clustered queries (beta-binomial drops, intra-query correlation 0.3, 3 to 40 candidates) and low drop rates, where a
// side's plug-in standard error is smallest exactly when its estimate has strayed toward the other side. Each run
// reads the decision after every batch of 25 live queries and counts once if it ever reads the wrong answer.

const TOL = 0.02;
const ICC = 0.3;
const BATCH = 25;

function addQuery(s: ClusterSums, m: number, d: number): void {
  s.queries += 1;
  s.candidates += m;
  s.dropped += d;
  s.droppedSq += d * d;
  s.droppedTimesSize += d * m;
  s.sizeSq += m * m;
}

function query(rng: Rng, p: number): [number, number] {
  const m = 3 + Math.floor(rng.next() * 38);
  const { a, b } = betaForIcc(p, ICC)!;
  return [m, rng.binomial(m, rng.beta(a, b))];
}

const side = (s: ClusterSums): ChangeSide => ({ rate: s.dropped / s.candidates, effectiveSize: s.candidates / designEffect(s), queries: s.queries });

/**
 * Runs that ever read `wrong` (or, for "missed", a 95 % interval without the true change TOL) with the reference at rate
 * p on `refQueries` queries and the live side at p + TOL.
 */
function everWrong(
  scenario: number,
  runs: number,
  p: number,
  refQueries: number,
  liveQueries: number,
  alphaShift: number,
  wrong: "shifted" | "equivalent" | "missed",
): number {
  const levels = { alphaShift, alphaEquivalence: 0.05, plannedQueries: 200, minQueries: 50 };
  let count = 0;
  for (let r = 0; r < runs; r++) {
    const rng = createRng(deriveSeed(scenario, r));
    const ref = emptyClusterSums();
    for (let q = 0; q < refQueries; q++) addQuery(ref, ...query(rng, p));
    const reference = side(ref);
    const live = emptyClusterSums();
    for (let q = 1; q <= liveQueries; q++) {
      addQuery(live, ...query(rng, p + TOL));
      if (q % BATCH !== 0) continue;
      const d = decideChangeAnytime(reference, side(live), TOL, levels);
      const missed = d.interval95 !== null && (TOL < d.interval95[0] || TOL > d.interval95[1]);
      if (wrong === "missed" ? missed : d.decision === wrong) {
        count++;
        break;
      }
    }
  }
  return count;
}

describe("decideChangeAnytime's levels on the tolerance's edge (seeded, clustered, low rates)", () => {
  it("reads a false `equivalent` at most alpha_E of the time: 2 % -> 4 % against a large reference", () => {
    const runs = 600;
    const wrong = everWrong(4101, runs, 0.02, 4000, 1000, 0.001, "equivalent");
    // P(count > bound) <= 0.001 if the level holds
    expect(wrong).toBeLessThanOrEqual(binomPpf(0.999, runs, 0.05));
  });

  it("reads a false `shifted` at most alpha_S of the time: a 50-query reference at 5 %, live at 7 %", () => {
    const runs = 1500;
    const alphaShift = 0.025;
    const wrong = everWrong(4102, runs, 0.05, 50, 4000, alphaShift, "shifted");
    expect(wrong).toBeLessThanOrEqual(binomPpf(0.999, runs, alphaShift));
  });

  it("holds the true change in its 95 % sequence at every read in at least 95 % of runs", () => {
    const runs = 600;
    const missed = everWrong(4103, runs, 0.02, 4000, 1000, 0.001, "missed");
    expect(missed).toBeLessThanOrEqual(binomPpf(0.999, runs, 0.05));
  });
});
