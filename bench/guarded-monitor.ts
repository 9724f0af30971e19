/**
 * Seeded false alarms of the production monitor on a guarded gate when production's query-size mix differs from the
 * calibration's and nothing else changed (the same score law for a query of every size, the same gate).
 *
 * Why it matters: a guarded gate's drop rate depends on how many candidates queries bring (min_keep binds on short
 * queries, max_keep on long ones), so a monitor that compares production with the calibration's one overall guarded
 * rate sees "drift" whenever the mix moves. End to end on the same runs: the calibration is fitted by fitCalibration
 * with the guards (queries upload), its expectation is what the server stores and serves the monitor (expectationOf,
 * calibrationExpectation), and production's observations [m, d, below] go through the change detector with the gate's
 * empty-context level (min_keep: the guard's binding, not empty context).
 *  - ours: the drop-rate test per candidate-count stratum against the calibration's own guarded rate there
 *    (src/stats/calibration-expectation.ts dropRateStrata), and the guard-binding test per stratum;
 *  - before: the same expectation without the drop-rate strata (one pooled guarded rate, what the monitor did with a
 *    guarded calibration before it conditioned on query sizes).
 *
 * Model (bench/lib/guard-models.ts): calibration CAL queries of 1 to 200 candidates (log-normal), query effect rho
 * 0.1, with and without count-score coupling; production QUERIES queries of the same population reweighted by size
 * (prodQuery), batches of 25, every batch evaluated. A run counts once per test if it ever alarms.
 *
 *   npx esbuild bench/guarded-monitor.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/guarded-monitor.mjs && npx node node_modules/.cache/scoregate-bench/guarded-monitor.mjs
 * Options: --runs N (default 20), --queries N (default 10000), --cal N (default 500), --out PATH (default
 * bench/results/guarded-monitor.md), --rows all|power|N (default all: power runs only the power rows, N only the row of
 * that index, counting from 0 in the order of the report).
 */
import type { CalibrationExpectation } from "../src/stats/calibration-expectation";
import { driftBands } from "../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../src/stats/drift-config";
import { evaluateDetector, observeDetector } from "../src/stats/drift-detector";
import { type DetectorState, newDetector } from "../src/stats/e-detector";
import type { Guards } from "../src/stats/guarded-gate";
import { DROP_RATE_STRATA, type QueryObservation } from "../src/stats/per-query";
import { createRng, deriveSeed } from "../test/support/prng";
import { fittedGate, type Population, productionQuery, SIZE_MIXES } from "./lib/guard-models";
import { machineLine, numberOption, stringOption, upperBound95, writeReport } from "./lib/report";

const RUNS = numberOption("runs", 20);
const QUERIES = numberOption("queries", 10_000);
const CAL = numberOption("cal", 500);
const OUT = stringOption("out", "bench/results/guarded-monitor.md");
const ROWS_OPTION = stringOption("rows", "all");
const BATCH = 25;
const RHO = 0.1;

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
  /** A real change, for the power rows: every production score moves by this much (0: nothing drifted). */
  readonly shift: number;
}
const CAL_MIX = SIZE_MIXES.logNormal200;
const G_MIN: Guards = { minKeep: 3, maxKeep: null };
const G_MAX: Guards = { minKeep: 0, maxKeep: 10 };
const ROWS: Row[] = [G_MIN, G_MAX].flatMap((guards) =>
  [0, 1].flatMap((coupling) => PROD_MIXES.map((prod) => ({ prod, coupling, guards, target: guards.maxKeep === null ? 0.3 : 0.85, shift: 0 }))),
);
/** Power: the same monitor after a real change (every production score falls by 0.25), the mix also moved. */
const POWER_ROWS: Row[] = [
  { prod: PROD_MIXES[0]!, coupling: 0, guards: G_MIN, target: 0.3, shift: -0.25 },
  { prod: PROD_MIXES[3]!, coupling: 1, guards: G_MIN, target: 0.3, shift: -0.25 },
  { prod: PROD_MIXES[4]!, coupling: 1, guards: G_MAX, target: 0.85, shift: -0.25 },
];

/** A detector that stops at its first alarm, per test. */
interface Watch {
  state: DetectorState;
  drop: boolean;
  bind: boolean;
}

function watch(w: Watch, batch: QueryObservation[], q: number, cal: CalibrationExpectation, guards: Guards): void {
  if (w.drop && w.bind) return;
  w.state = observeDetector(w.state, batch, q, cal, DEFAULT_DRIFT_CONFIG, guards);
  const ev = evaluateDetector(w.state, cal, DEFAULT_DRIFT_CONFIG);
  if (ev.dropRate.alarm) w.drop = true;
  if (ev.emptyContext?.alarm) w.bind = true;
}

const HEADER = [
  `| guards, target | production mix | coupling | calibration guarded rate % | production guarded rate % | ours: runs with a drop-rate alarm (one-sided 95 % bound) | ours: guard-binding (min_keep) alarms | ours: drop-rate strata tested (of ${DROP_RATE_STRATA.length}) | before (one pooled rate): runs with a drop-rate alarm |`,
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
];
const lines: string[] = [];
const t0 = Date.now();
lines.push("# Monitor on a guarded gate when production's query sizes differ from the calibration's", "");
lines.push(
  `Command: \`npx esbuild bench/guarded-monitor.ts ... && npx node node_modules/.cache/scoregate-bench/guarded-monitor.mjs --runs ${RUNS} --queries ${QUERIES} --cal ${CAL}${ROWS_OPTION === "all" ? "" : ` --rows ${ROWS_OPTION}`}\``,
  "",
  `Machine: ${machineLine()}. Calibration ${CAL} queries of 1-200 candidates (log-normal), rho ${RHO}; production ${QUERIES.toLocaleString("en-US")} queries, batches of ${BATCH}. Seeds deriveSeed(2300 + row, run).`,
  "",
  ...HEADER,
);
let oursTotal = 0;
let runsTotal = 0;
[...ROWS, ...POWER_ROWS].forEach((row, ri) => {
  if (ROWS_OPTION === "power" && row.shift === 0) return;
  if (/^\d+$/u.test(ROWS_OPTION) && ri !== Number(ROWS_OPTION)) return;
  const pop: Population = { mix: CAL_MIX, rho: RHO, coupling: row.coupling };
  let oursDrop = 0;
  let oursBind = 0;
  let beforeDrop = 0;
  let calRate = 0;
  let prodRate = 0;
  let tested = 0;
  for (let run = 0; run < RUNS; run++) {
    const rng = createRng(deriveSeed(2300 + ri, run));
    const { threshold: t, expectation: ours } = fittedGate(rng, CAL, pop, row.target, row.guards);
    if (!ours.dropRateStrata) throw new Error("a guarded calibration without drop-rate strata");
    const before: CalibrationExpectation = { ...ours, dropRateStrata: null };
    calRate += ours.expectedDropRate / RUNS;
    const wOurs: Watch = { state: newDetector(), drop: false, bind: false };
    const wBefore: Watch = { state: newDetector(), drop: false, bind: true };
    let pd = 0;
    let pc = 0;
    for (let q = 0; q < QUERIES; q += BATCH) {
      const batch: QueryObservation[] = [];
      for (let i = 0; i < BATCH; i++) {
        const x = productionQuery(rng, pop, row.prod.accept, t, row.guards, row.shift);
        batch.push(x);
        pc += x[0];
        pd += x[1];
      }
      watch(wOurs, batch, q, ours, row.guards);
      watch(wBefore, batch, q, before, row.guards);
    }
    tested += (driftBands(ours, DEFAULT_DRIFT_CONFIG, 1).dropStrata ?? []).filter((b) => b.armable).length / RUNS;
    prodRate += pd / pc / RUNS;
    if (wOurs.drop) oursDrop++;
    if (wOurs.bind) oursBind++;
    if (wBefore.drop) beforeDrop++;
  }
  if (row.shift === 0) {
    oursTotal += oursDrop + oursBind;
    runsTotal += RUNS;
  } else if (ri === ROWS.length && ROWS_OPTION !== "power") {
    lines.push("", `Power: the same monitors after a real change (every production score moved by ${row.shift}).`, "", ...HEADER);
  }
  const g = row.guards.maxKeep === null ? `min_keep ${row.guards.minKeep}` : `max_keep ${row.guards.maxKeep}`;
  const bound = (x: number): string => `${x} of ${RUNS} (<= ${(100 * upperBound95(x, RUNS)).toFixed(1)} %)`;
  lines.push(
    `| ${g}, ${row.target} | ${row.prod.name} | ${row.coupling} | ${(100 * calRate).toFixed(1)} | ${(100 * prodRate).toFixed(1)} | ${bound(oursDrop)} | ${row.guards.minKeep > 0 ? `${oursBind} of ${RUNS}` : "n/a"} | ${tested.toFixed(1)} | ${beforeDrop} of ${RUNS} |`,
  );
  console.error(`row ${ri}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
lines.push(
  "",
  `Ours, any false alarm (drop rate or guard binding): ${oursTotal} in ${runsTotal} runs. Run time ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
);
writeReport(OUT, lines);
