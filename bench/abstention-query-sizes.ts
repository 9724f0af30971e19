/**
 * Certified abstention (`"abstention": {"alpha": a}`) when production's queries have other candidate counts than the
 * calibration's: the false-abstention bound is marginal over answerable queries exchangeable with the calibration's,
 * and a query's top score (the largest of its scores) falls with fewer candidates, so shorter production queries
 * abstain more. This measures how much, on the project's own fit (src/stats/abstention.ts), and is the figure
 * docs/methods.md, "Certified abstention", quotes (docs/benchmarks.md, section 40).
 *
 * Model: a query has m candidates with scores N(0, 1); an answerable one (probability 0.7) has one relevant candidate
 * N(1.5, 1) in place of one of them. Calibration: 200 queries of 20 to 50 candidates; abstain_below fitted at alpha;
 * then 400 fresh answerable queries per production size mix, the share that abstains (false abstention), averaged over
 * the runs. Seeds deriveSeed(4000 + mix, run).
 *
 *   npx esbuild bench/abstention-query-sizes.ts --bundle --platform=node --format=esm --packages=external \
 *     --log-level=warning --outfile=node_modules/.cache/scoregate-bench/abstention-query-sizes.mjs && \
 *     npx node node_modules/.cache/scoregate-bench/abstention-query-sizes.mjs [--runs 1000]
 */
import { parseArgs } from "node:util";
import { fitFalseAbstention, splitTops, topScores } from "../src/stats/abstention";
import { createRng, deriveSeed, type Rng } from "../test/support/prng";

const { values } = parseArgs({ options: { runs: { type: "string", default: "1000" } } });
const RUNS = Number(values.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new RangeError(`--runs must be a positive integer, got ${values.runs}`);
const CAL_QUERIES = 200;
const FRESH = 400;
const ANSWERABLE = 0.7;

const between = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng.next() * (hi - lo + 1));
const MIXES: [string, (rng: Rng) => number][] = [
  ["20 to 50 (the calibration's)", (rng) => between(rng, 20, 50)],
  ["100 to 200", (rng) => between(rng, 100, 200)],
  ["10", () => 10],
  ["3", () => 3],
  ["1 to 5", (rng) => between(rng, 1, 5)],
];

function query(rng: Rng, m: number, answerable: boolean): number[] {
  const s = Array.from({ length: m }, () => rng.normal());
  if (answerable) s[0] = 1.5 + rng.normal();
  return s;
}

console.log(
  `| alpha | production candidates per query | false abstention on fresh answerable queries (mean of ${RUNS.toLocaleString("en-US")} runs) |`,
);
console.log("| ---: | --- | ---: |");
for (const alpha of [0.05, 0.1]) {
  for (const [m, [name, size]] of MIXES.entries()) {
    let sum = 0;
    let fits = 0;
    for (let run = 0; run < RUNS; run++) {
      const rng = createRng(deriveSeed(4000 + m, run));
      const scores: number[] = [];
      const offsets = [0];
      const answerable: number[] = [];
      for (let q = 0; q < CAL_QUERIES; q++) {
        const a = rng.next() < ANSWERABLE;
        scores.push(...query(rng, between(rng, 20, 50), a));
        offsets.push(scores.length);
        answerable.push(a ? 1 : 0);
      }
      const split = splitTops(topScores(Float64Array.from(scores), Uint32Array.from(offsets)), Uint8Array.from(answerable));
      const fit = fitFalseAbstention(split.answerable, alpha);
      if (fit.kind !== "fitted") continue;
      fits++;
      let abstained = 0;
      for (let i = 0; i < FRESH; i++) if (Math.max(...query(rng, size(rng), true)) < fit.abstainBelow) abstained++;
      sum += abstained / FRESH;
    }
    console.log(`| ${alpha} | ${name} | ${((100 * sum) / fits).toFixed(2)} % |`);
  }
}
