/**
 * Seeded false alarms of the production drop-rate monitor on a guarded gate when production's query-size mix differs
 * from the calibration's and nothing else changed (the same score law for a query of every size, the same gate).
 *
 * Why it matters: a guarded gate's drop rate depends on how many candidates queries bring (min_keep binds on short
 * queries, max_keep on long ones), so a monitor that compares production with the calibration's one overall guarded
 * rate sees "drift" whenever the mix moves. Measured here, on the same runs:
 *  - unconditional: the change detector (drift-detector.ts) against the guarded fit's expected drop rate, the
 *    calibration's design effect of the guarded drops (what today's monitor does with a guarded calibration);
 *  - reweighted (reference, not the server's method): the same detector against the calibration's guarded drop
 *    rate per candidate-count stratum, reweighted to the production mix (known in advance here, an oracle), which
 *    shows how much of the alarm is the mix alone.
 * The monitor's own expectation conditional on candidates per query belongs to the server (issue's item 6); it is
 * measured by this script once it lands (see docs/benchmarks.md, section 23).
 *
 * Model (bench/lib/guard-models.ts): calibration CAL queries of 1 to 200 candidates (log-normal), query effect rho
 * 0.1, with and without count-score coupling; production QUERIES queries of the same population reweighted by size
 * (prodQuery), batches of 25, every batch evaluated. A run counts once if the drop-rate test ever alarms.
 *
 *   npx esbuild bench/guarded-monitor.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/guarded-monitor.mjs && npx node node_modules/.cache/scoregate-bench/guarded-monitor.mjs
 * Options: --runs N (default 30), --queries N (default 20000), --cal N (default 500), --out PATH (default
 * bench/results/guarded-monitor.md).
 */
import { type CalibrationExpectation, DEFAULT_DRIFT_CONFIG } from "../src/stats/drift";
import { evaluateDetector, observeDetector } from "../src/stats/drift-detector";
import { newDetector } from "../src/stats/e-detector";
import { EMPTY_CONTEXT_STRATA, stratumOf } from "../src/stats/empty-context";
import { eligibleScores, fitGuardedGate, type Guards, guardedKept } from "../src/stats/guarded-gate";
import { perQueryStats } from "../src/stats/per-query";
import { createRng, deriveSeed, type Rng } from "../test/support/prng";
import { drawQueries, type Population, SIZE_MIXES, sizeFor } from "./lib/guard-models";
import { machineLine, numberOption, stringOption, upperBound95, writeReport } from "./lib/report";

const RUNS = numberOption("runs", 30);
const QUERIES = numberOption("queries", 20_000);
const CAL = numberOption("cal", 500);
const OUT = stringOption("out", "bench/results/guarded-monitor.md");
const BATCH = 25;
const RHO = 0.1;
/** Production's mix for the reweighting: its share of queries per stratum, from this many draws (seeded). */
const MIX_DRAWS = 200_000;

/**
 * Production's mix as a reweighting of the calibration's population: a query of m candidates is kept with
 * probability accept(m) (rejection sampling). The law of a query's scores given its size is therefore the same in
 * production as in calibration, with or without coupling: only the mix of sizes moved, and a monitor conditional on
 * candidates per query has nothing to alarm on.
 */
interface ProdMix {
  readonly name: string;
  readonly accept: (m: number) => number;
}
const PROD_MIXES: ProdMix[] = [
  { name: "same as calibration", accept: () => 1 },
  { name: "short only (1-5)", accept: (m) => (m <= 5 ? 1 : 0) },
  { name: "long only (50-200)", accept: (m) => (m >= 50 ? 1 : 0) },
  { name: "tilted to short (1/m)", accept: (m) => 1 / m },
  { name: "tilted to long (m/200)", accept: (m) => m / 200 },
];

interface Row {
  readonly prod: ProdMix;
  readonly coupling: number;
  readonly guards: Guards;
  readonly target: number;
}
const CAL_MIX = SIZE_MIXES.logNormal200;
const G_MIN: Guards = { minKeep: 3, maxKeep: null };
const G_MAX: Guards = { minKeep: 0, maxKeep: 10 };
const ROWS: Row[] = [G_MIN, G_MAX].flatMap((guards) =>
  [0, 1].flatMap((coupling) => PROD_MIXES.map((prod) => ({ prod, coupling, guards, target: guards.maxKeep === null ? 0.3 : 0.85 }))),
);

/** A production query's standardized effect and size: the calibration's population, reweighted by `accept`. */
function prodQuery(rng: Rng, pop: Population, prod: ProdMix): { z: number; m: number } {
  for (;;) {
    const z = rng.normal();
    const m = sizeFor(rng, pop, z);
    if (rng.next() < prod.accept(m)) return { z, m };
  }
}

/** One production query's (candidates, guarded drops) at threshold t. */
function query(rng: Rng, pop: Population, prod: ProdMix, t: number, g: Guards): [number, number] {
  const { z, m } = prodQuery(rng, pop, prod);
  const a = Math.sqrt(pop.rho);
  const b = Math.sqrt(1 - pop.rho);
  let c = 0;
  for (let j = 0; j < m; j++) if (a * z + b * rng.normal() >= t) c++;
  return [m, m - guardedKept(m, c, g)];
}

const lines: string[] = [];
const t0 = Date.now();
lines.push("# Drop-rate monitor on a guarded gate when production's query sizes differ from the calibration's (nothing drifted)", "");
lines.push(
  `Command: \`npx esbuild bench/guarded-monitor.ts ... && npx node node_modules/.cache/scoregate-bench/guarded-monitor.mjs --runs ${RUNS} --queries ${QUERIES} --cal ${CAL}\``,
  "",
  `Machine: ${machineLine()}. Calibration ${CAL} queries, rho ${RHO}; production ${QUERIES.toLocaleString("en-US")} queries, batches of ${BATCH}. Seeds deriveSeed(2300 + row, run); the production mix's strata from deriveSeed(2399, row).`,
  "",
  "| guards, target | production mix (calibration: 1-200 log-normal) | coupling | calibration guarded rate % | production true guarded rate % (mean) | unconditional: runs with a false alarm (one-sided 95 % bound) | reweighted to production's mix (reference): runs with a false alarm |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
);
ROWS.forEach((row, ri) => {
  const calPop: Population = { mix: CAL_MIX, rho: RHO, coupling: row.coupling };
  // Production's share of queries per stratum.
  const mixRng = createRng(deriveSeed(2399, ri));
  const share = EMPTY_CONTEXT_STRATA.map(() => 0);
  for (let i = 0; i < MIX_DRAWS; i++) {
    const { m } = prodQuery(mixRng, calPop, row.prod);
    share[stratumOf(m)]! += 1 / MIX_DRAWS;
  }
  let uncond = 0;
  let reweighted = 0;
  let calRate = 0;
  let prodRate = 0;
  for (let run = 0; run < RUNS; run++) {
    const rng = createRng(deriveSeed(2300 + ri, run));
    const cal = drawQueries(rng, CAL, calPop);
    const fit = fitGuardedGate(eligibleScores(cal.scores, cal.offsets, row.guards), row.target);
    if (fit.kind !== "fitted" || fit.threshold === null) throw new Error(`fit: ${fit.kind}`);
    const t = fit.threshold;
    const stats = perQueryStats(cal.scores, cal.offsets, t, row.guards);
    const base: CalibrationExpectation = {
      expectedDropRate: fit.expectedDropRate,
      n: fit.n,
      designEffect: stats.designEffect,
      emptyContextRate: null,
      nQueries: null,
      emptyContextStrata: null,
    };
    // Reweighted reference: the calibration's guarded drops and candidates per stratum, combined with production's
    // share of queries per stratum (a ratio of expected drops to expected candidates). Strata the calibration lacks
    // borrow the nearest one it has.
    const drops = EMPTY_CONTEXT_STRATA.map(() => 0);
    const cands = EMPTY_CONTEXT_STRATA.map(() => 0);
    const qs = EMPTY_CONTEXT_STRATA.map(() => 0);
    for (let q = 0; q + 1 < cal.offsets.length; q++) {
      const m = cal.offsets[q + 1]! - cal.offsets[q]!;
      let c = 0;
      for (let j = cal.offsets[q]!; j < cal.offsets[q + 1]!; j++) if (cal.scores[j]! >= t) c++;
      const b = stratumOf(m);
      drops[b]! += m - guardedKept(m, c, row.guards);
      cands[b]! += m;
      qs[b]! += 1;
    }
    let num = 0;
    let den = 0;
    EMPTY_CONTEXT_STRATA.forEach((_, b) => {
      if (share[b]! === 0) return;
      let s = b;
      for (let d = 1; qs[s] === 0 && d < EMPTY_CONTEXT_STRATA.length; d++) {
        if ((qs[b - d] ?? 0) > 0) s = b - d;
        else if ((qs[b + d] ?? 0) > 0) s = b + d;
      }
      num += (share[b]! * drops[s]!) / qs[s]!;
      den += (share[b]! * cands[s]!) / qs[s]!;
    });
    const rew: CalibrationExpectation = { ...base, expectedDropRate: num / den };
    calRate += fit.expectedDropRate / RUNS;
    let detU = newDetector();
    let detR = newDetector();
    let alarmU = false;
    let alarmR = false;
    let pd = 0;
    let pc = 0;
    for (let q = 0; q < QUERIES; q += BATCH) {
      const batch: [number, number][] = [];
      for (let i = 0; i < BATCH; i++) {
        const x = query(rng, calPop, row.prod, t, row.guards);
        batch.push(x);
        pc += x[0];
        pd += x[1];
      }
      if (!alarmU) {
        detU = observeDetector(detU, batch, q, base, DEFAULT_DRIFT_CONFIG);
        if (evaluateDetector(detU, base, DEFAULT_DRIFT_CONFIG).dropRate.alarm) alarmU = true;
      }
      if (!alarmR) {
        detR = observeDetector(detR, batch, q, rew, DEFAULT_DRIFT_CONFIG);
        if (evaluateDetector(detR, rew, DEFAULT_DRIFT_CONFIG).dropRate.alarm) alarmR = true;
      }
    }
    prodRate += pd / pc / RUNS;
    if (alarmU) uncond++;
    if (alarmR) reweighted++;
  }
  const g = row.guards.maxKeep === null ? `min_keep ${row.guards.minKeep}` : `max_keep ${row.guards.maxKeep}`;
  const bound = (x: number): string => `${x} of ${RUNS} (<= ${(100 * upperBound95(x, RUNS)).toFixed(1)} %)`;
  lines.push(
    `| ${g}, ${row.target} | ${row.prod.name} | ${row.coupling} | ${(100 * calRate).toFixed(1)} | ${(100 * prodRate).toFixed(1)} | ${bound(uncond)} | ${bound(reweighted)} |`,
  );
  console.error(`row ${ri}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
lines.push("", `Run time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
writeReport(OUT, lines);
