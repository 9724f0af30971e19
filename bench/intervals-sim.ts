/**
 * Seeded coverage of the drop-rate interval with few, unequal queries and at extreme targets: which way to measure the
 * variance of a clustered drop rate keeps its 95 % interval honest there.
 *
 * Model (test/support/score-models.ts): query effect N(0, rho) plus N(0, 1 - rho) noise, so every score is N(0, 1) and
 * the realized drop rate of a fitted threshold t is Phi(t) (the oracle); query sizes are drawn independently of the
 * scores (log-normal: round(exp(ln 50 + N(0, 1))) within 1..500; uniform 1..200; or fixed). Each run fits the gate with
 * fitCalibration (queries upload) and asks each method for the 95 % interval of the realized drop rate.
 *
 * Methods, all the Beta law at the expected rate and an effective size (bench/lib/interval-methods.ts):
 *  - ours: the Kish design effect, with Student's t on its Satterthwaite df (src/stats/satterthwaite.ts);
 *  - Kish: the design effect alone (what the server did before);
 *  - Kish + t(Q - 1); a query-level jackknife; a query-level bootstrap (400 resamples, seeded);
 *  - size-model t: a df from the query sizes alone.
 * Coverage is reported with its exact (Clopper-Pearson) 95 % interval, and the share of runs where the realized rate
 * lands above the interval (the lopsided miss). Target: at least 93 % in every row.
 *
 *   npx esbuild bench/intervals-sim.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/intervals-sim.mjs && npx node node_modules/.cache/scoregate-bench/intervals-sim.mjs
 * Options: --runs N (default 2000), --out PATH (default bench/results/intervals.md).
 */
import { fitCalibration } from "../src/calibrations/fit";
import { rateInterval } from "../src/stats/effective-size";
import { sortedCopy } from "../src/stats/order-statistics";
import { flattenQueries } from "../src/stats/per-query";
import { satterthwaiteDf, smallSampleFactor } from "../src/stats/satterthwaite";
import { zCdf } from "../src/stats/special";
import { createRng, deriveSeed, type Rng } from "../test/support/prng";
import { clusteredQuery } from "../test/support/score-models";
import { bootstrap, jackknife, kishT, type QueryCounts, sizeModelT } from "./lib/interval-methods";
import { clopperPearson, machineLine, numberOption, stringOption, writeReport } from "./lib/report";

const RUNS = numberOption("runs", 2000);
const OUT = stringOption("out", "bench/results/intervals.md");

type SizeOf = (rng: Rng) => number;
const logNormal: SizeOf = (rng) => Math.max(1, Math.min(500, Math.round(Math.exp(Math.log(50) + rng.normal()))));
const uniform200: SizeOf = (rng) => 1 + Math.floor(rng.next() * 200);
const fixed =
  (m: number): SizeOf =>
  () =>
    m;

interface Scenario {
  readonly label: string;
  readonly queries: number;
  readonly size: SizeOf;
  readonly rho: number;
  readonly target: number;
}

const SCENARIOS: Scenario[] = [
  { label: "20 queries, log-normal sizes (1-500), rho 0.1, d = 0.3", queries: 20, size: logNormal, rho: 0.1, target: 0.3 },
  { label: "20 queries, log-normal sizes (1-500), rho 0.3, d = 0.3", queries: 20, size: logNormal, rho: 0.3, target: 0.3 },
  { label: "20 queries of 1-200, rho 0.1, d = 0.05", queries: 20, size: uniform200, rho: 0.1, target: 0.05 },
  { label: "20 queries of 20, rho 0.1, d = 0.01", queries: 20, size: fixed(20), rho: 0.1, target: 0.01 },
  { label: "20 queries of 50, rho 0.3, d = 0.01", queries: 20, size: fixed(50), rho: 0.3, target: 0.01 },
  { label: "20 queries, log-normal sizes, rho 0.05, d = 0.01", queries: 20, size: logNormal, rho: 0.05, target: 0.01 },
  { label: "20 queries of 20, rho 0.1, d = 0.99", queries: 20, size: fixed(20), rho: 0.1, target: 0.99 },
  { label: "50 queries, log-normal sizes, rho 0.1, d = 0.3", queries: 50, size: logNormal, rho: 0.1, target: 0.3 },
  { label: "200 queries, log-normal sizes, rho 0.1, d = 0.3", queries: 200, size: logNormal, rho: 0.1, target: 0.3 },
  { label: "500 queries of 20, rho 0.3, d = 0.3 (section 4's hardest row)", queries: 500, size: fixed(20), rho: 0.3, target: 0.3 },
];

const METHODS = ["ours (Kish + Satterthwaite t)", "Kish", "Kish + t(Q-1)", "jackknife", "bootstrap (400)", "size-model t"] as const;

const pc = (x: number): string => `${(100 * x).toFixed(1)} %`;
const lines: string[] = [];
const t0 = Date.now();
lines.push("# Drop-rate interval coverage with few, unequal queries and at extreme targets", "");
lines.push(
  `Command: \`npx esbuild bench/intervals-sim.ts ... && npx node node_modules/.cache/scoregate-bench/intervals-sim.mjs --runs ${RUNS}\``,
  "",
  `Machine: ${machineLine()}. Seeds deriveSeed(820 + row, run); bootstrap resamples from deriveSeed(880 + row, run).`,
  "",
  `Coverage of the realized drop rate Phi(t) by each 95 % interval, ${RUNS} runs a row, with the exact 95 % interval of the coverage; "above": share of runs where the realized rate lies above the interval; width: mean interval width.`,
  "",
  `| scenario | ${METHODS.join(" | ")} | mean df (ours) |`,
  `| --- | ${METHODS.map(() => "---").join(" | ")} | --- |`,
);
const timing: number[] = METHODS.map(() => 0);
SCENARIOS.forEach((sc, si) => {
  const covered = METHODS.map(() => 0);
  const above = METHODS.map(() => 0);
  const width = METHODS.map(() => 0);
  let dfSum = 0;
  for (let run = 0; run < RUNS; run++) {
    const rng = createRng(deriveSeed(820 + si, run));
    const { scores, offsets } = flattenQueries(Array.from({ length: sc.queries }, () => clusteredQuery(rng, sc.size(rng), sc.rho)));
    const fields = fitCalibration(sortedCopy(scores), sc.target, { scores, offsets }).fields;
    const t = fields.threshold!;
    const truth = zCdf(t);
    const counts: QueryCounts = { sizes: [], drops: [] };
    for (let q = 0; q < sc.queries; q++) {
      let d = 0;
      for (let j = offsets[q]!; j < offsets[q + 1]!; j++) if (scores[j]! < t) d++;
      (counts.sizes as number[]).push(offsets[q + 1]! - offsets[q]!);
      (counts.drops as number[]).push(d);
    }
    const deff = fields.per_query!.design_effect;
    const m = fields.expected_drop_rate;
    dfSum += fields.interval_degrees_of_freedom ?? sc.queries - 1;
    const boot = createRng(deriveSeed(880 + si, run));
    const methods: (() => [number, number])[] = [
      () => rateInterval(m, (fields.n / deff) * smallSampleFactor(satterthwaiteDf(counts.sizes, counts.drops))),
      () => rateInterval(m, fields.n / deff),
      () => kishT(m, fields.n, deff, sc.queries),
      () => jackknife(m, fields.n, counts),
      () => bootstrap(m, fields.n, counts, boot),
      () => sizeModelT(m, fields.n, deff, counts),
    ];
    methods.forEach((f, i) => {
      const s = performance.now();
      const [lo, hi] = f();
      if (i === 0 && (lo !== fields.drop_rate_interval_95[0] || hi !== fields.drop_rate_interval_95[1])) {
        throw new Error("the server's interval differs from the one recomputed here");
      }
      timing[i]! += performance.now() - s;
      if (lo <= truth && truth <= hi) covered[i]!++;
      if (truth > hi) above[i]!++;
      width[i]! += hi - lo;
    });
  }
  const cells = METHODS.map((_, i) => {
    const [lo, hi] = clopperPearson(covered[i]!, RUNS);
    return `${pc(covered[i]! / RUNS)} (${(100 * lo).toFixed(1)}-${(100 * hi).toFixed(1)}); above ${pc(above[i]! / RUNS)}; width ${(width[i]! / RUNS).toFixed(4)}`;
  });
  lines.push(`| ${sc.label} | ${cells.join(" | ")} | ${(dfSum / RUNS).toFixed(1)} |`);
  console.error(`${sc.label}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
lines.push(
  "",
  `Time per interval from the per-query counts (mean over all rows): ${METHODS.map((name, i) => `${name} ${((1000 * timing[i]!) / (RUNS * SCENARIOS.length)).toFixed(1)} us`).join(", ")}.`,
  "",
  `Run time ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
);
writeReport(OUT, lines);
