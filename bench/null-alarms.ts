/**
 * Seeded false-alarm simulation of the production monitor end to end, on messy calibrations: the calibration is fitted
 * by fitCalibration from clustered scores (query effect N(0, rho) plus N(0, 1 - rho) noise), and production queries
 * are drawn from the same population with the fitted gate applied, so nothing has drifted. Every run is one day of
 * QUERIES production queries in batches of 25, evaluated after every batch.
 *
 * Methods: the change detector (ours: observeDetector / evaluateDetector with the calibration's expectation) and the
 * previous per-window test (bench/lib/previous-window-test.ts). A run counts if either test (drop rate or empty
 * context) ever alarms.
 *
 *   npx esbuild bench/null-alarms.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/null-alarms.mjs && npx node node_modules/.cache/scoregate-bench/null-alarms.mjs
 * Options: --runs N (default 60), --queries N (default 20000), --out PATH (default bench/results/null-alarms.md).
 */
import { writeFileSync } from "node:fs";
import { calibrationExpectation, expectationOf } from "../src/calibrations/expectation";
import { fitCalibration } from "../src/calibrations/fit";
import type { StoredCalibration } from "../src/contract";
import { DEFAULT_DRIFT_CONFIG } from "../src/stats/drift-config";
import { evaluateDetector, observeDetector } from "../src/stats/drift-detector";
import { newDetector } from "../src/stats/e-detector";
import { sortedCopy } from "../src/stats/order-statistics";
import { addCluster, emptyClusterSums, flattenQueries } from "../src/stats/per-query";
import { createRng, deriveSeed, type Rng } from "../test/support/prng";
import { previousWindowAlarms } from "./lib/previous-window-test";

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const RUNS = opt("--runs", 60);
const QUERIES = opt("--queries", 20_000);
const OUT = (() => {
  const i = args.indexOf("--out");
  return i >= 0 ? args[i + 1]! : "bench/results/null-alarms.md";
})();
const BATCH = 25;

interface Scenario {
  readonly label: string;
  readonly calQueries: number;
  readonly rho: number;
  readonly target: number;
  /** Candidates per query: fixed, or uniform on [lo, hi]. */
  readonly calM: readonly [number, number];
  readonly prodM: readonly [number, number];
  readonly flat: boolean;
}

const SCENARIOS: Scenario[] = [
  // About 4.8 % of queries lose every candidate; 8.6 % of 50-query calibrations see none.
  {
    label: "small clustered calibration: 50 queries x 20, rho 0.5, target 0.5",
    calQueries: 50,
    rho: 0.5,
    target: 0.5,
    calM: [20, 20],
    prodM: [20, 20],
    flat: false,
  },
  {
    label: "clustered data uploaded flat: 200 x 20, rho 0.3, target 0.3",
    calQueries: 200,
    rho: 0.3,
    target: 0.3,
    calM: [20, 20],
    prodM: [20, 20],
    flat: true,
  },
  {
    label: "1 to 100 candidates per query (same mix in calibration), rho 0.1",
    calQueries: 500,
    rho: 0.1,
    target: 0.3,
    calM: [1, 100],
    prodM: [1, 100],
    flat: false,
  },
  { label: "target 0.01, 500 x 20, rho 0.1", calQueries: 500, rho: 0.1, target: 0.01, calM: [20, 20], prodM: [20, 20], flat: false },
  { label: "target 0.98, 500 x 20, rho 0.1", calQueries: 500, rho: 0.1, target: 0.98, calM: [20, 20], prodM: [20, 20], flat: false },
  { label: "i.i.d. reference: 500 x 20, rho 0, target 0.3", calQueries: 500, rho: 0, target: 0.3, calM: [20, 20], prodM: [20, 20], flat: false },
  // Production brings far fewer candidates per query than the calibration: the empty-context test compares each query
  // with the calibration's rate for its own size (stats/empty-context.ts); the previous window test does not.
  {
    label: "production brings 1 to 5 candidates per query, calibration 20 (gate unchanged), rho 0.1",
    calQueries: 500,
    rho: 0.1,
    target: 0.3,
    calM: [20, 20],
    prodM: [1, 5],
    flat: false,
  },
  // The strata's effective sizes rest on a variance estimate: a small, strongly clustered calibration stresses it.
  {
    label: "production brings 1 to 3 candidates per query, calibration 100 x 20, rho 0.3 (gate unchanged)",
    calQueries: 100,
    rho: 0.3,
    target: 0.3,
    calM: [20, 20],
    prodM: [1, 3],
    flat: false,
  },
];

const mOf = (rng: Rng, [lo, hi]: readonly [number, number]): number => (lo === hi ? lo : lo + Math.floor(rng.next() * (hi - lo + 1)));

function query(rng: Rng, m: number, rho: number): Float64Array {
  const u = Math.sqrt(rho) * rng.normal();
  const se = Math.sqrt(1 - rho);
  return Float64Array.from({ length: m }, () => u + se * rng.normal());
}

const lines: string[] = [];
const t0 = Date.now();
lines.push("# False alarms of the production monitor on messy calibrations (nothing drifted)", "");
lines.push(
  `Command: \`npx esbuild bench/null-alarms.ts ... && npx node node_modules/.cache/scoregate-bench/null-alarms.mjs --runs ${RUNS} --queries ${QUERIES}\``,
);
lines.push(
  `Each run: one calibration, then ${QUERIES.toLocaleString("en-US")} production queries (one day, batches of ${BATCH}). Seeds deriveSeed(500 + scenario, run).`,
  "",
);
lines.push(
  "| scenario | runs | detector (ours): runs with a false alarm (drop / empty) | previous window test (drop / empty) |",
  "| --- | --- | --- | --- |",
);
SCENARIOS.forEach((sc, si) => {
  let ourDrop = 0;
  let ourEmpty = 0;
  let oldDrop = 0;
  let oldEmpty = 0;
  for (let run = 0; run < RUNS; run++) {
    const rng = createRng(deriveSeed(500 + si, run));
    const parts: Float64Array[] = [];
    for (let q = 0; q < sc.calQueries; q++) parts.push(query(rng, mOf(rng, sc.calM), sc.rho));
    const { scores, offsets } = flattenQueries(parts);
    const fitted = fitCalibration(sortedCopy(scores), sc.target, sc.flat ? null : { scores, offsets });
    const record = { ...fitted.fields, drift_tolerance: null, empty_context_tolerance: null } as unknown as StoredCalibration;
    const e = expectationOf(record);
    const cal = calibrationExpectation(e);
    const t = fitted.fields.threshold!;
    let det = newDetector();
    let win = emptyClusterSums();
    let alarmed = { od: false, oe: false, pd: false, pe: false };
    for (let q = 0; q < QUERIES; q += BATCH) {
      const batch: [number, number][] = [];
      for (let i = 0; i < BATCH; i++) {
        const s = query(rng, mOf(rng, sc.prodM), sc.rho);
        let d = 0;
        for (const x of s) if (x < t) d++;
        batch.push([s.length, d]);
      }
      det = observeDetector(det, batch, q, cal, DEFAULT_DRIFT_CONFIG);
      const ev = evaluateDetector(det, cal, DEFAULT_DRIFT_CONFIG);
      if (ev.dropRate.alarm) alarmed.od = true;
      if (ev.emptyContext?.alarm) alarmed.oe = true;
      if (ev.dropRate.alarm || ev.emptyContext?.alarm) det = newDetector();
      for (const [m, d] of batch) addCluster(win, m, d);
      const prev = previousWindowAlarms(win, {
        expectedDropRate: e.expected_drop_rate,
        n: e.n,
        designEffect: e.design_effect ?? 1,
        emptyContextRate: e.empty_context_rate,
        nQueries: e.n_queries,
      });
      if (prev.drop) alarmed.pd = true;
      if (prev.empty) alarmed.pe = true;
      if (prev.drop || prev.empty) win = emptyClusterSums();
    }
    ourDrop += alarmed.od ? 1 : 0;
    ourEmpty += alarmed.oe ? 1 : 0;
    oldDrop += alarmed.pd ? 1 : 0;
    oldEmpty += alarmed.pe ? 1 : 0;
    alarmed = { od: false, oe: false, pd: false, pe: false };
  }
  lines.push(`| ${sc.label} | ${RUNS} | ${ourDrop} / ${ourEmpty} | ${oldDrop} / ${oldEmpty} |`);
  console.error(`${sc.label}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
// Power of the conditioned empty-context test: the same short production queries (1 to 5 candidates, calibration
// 500 x 20, rho 0.1, target 0.3), after a real change. Queries from the change to the first alarm of each test.
const POWER = [
  { label: "every production score falls by 0.25 (the drop rate moves from 0.30 to about 0.39)", shift: -0.25, junk: 0 },
  { label: "5 % of production queries retrieve junk (their scores fall by 3)", shift: 0, junk: 0.05 },
];
const POWER_RUNS = Math.max(1, Math.round(RUNS / 3));
lines.push(
  "",
  `Power with short production queries (1 to 5 candidates; calibration 500 x 20, rho 0.1, target 0.3; ${POWER_RUNS} runs of up to ${QUERIES.toLocaleString("en-US")} queries; seeds deriveSeed(600 + row, run)):`,
  "",
  "| change | empty context: runs detected, median queries to alarm | drop rate: runs detected, median |",
  "| --- | --- | --- |",
);
const medianOf = (xs: number[]): string => {
  if (xs.length === 0) return "n/a";
  const s = [...xs].sort((a, b) => a - b);
  return String(s[Math.floor((s.length - 1) / 2)]);
};
POWER.forEach((pw, pi) => {
  const emptyDelays: number[] = [];
  const dropDelays: number[] = [];
  for (let run = 0; run < POWER_RUNS; run++) {
    const rng = createRng(deriveSeed(600 + pi, run));
    const parts: Float64Array[] = [];
    for (let q = 0; q < 500; q++) parts.push(query(rng, 20, 0.1));
    const { scores, offsets } = flattenQueries(parts);
    const fitted = fitCalibration(sortedCopy(scores), 0.3, { scores, offsets });
    const record = { ...fitted.fields, drift_tolerance: null, empty_context_tolerance: null } as unknown as StoredCalibration;
    const cal = calibrationExpectation(expectationOf(record));
    const t = fitted.fields.threshold!;
    let det = newDetector();
    let empty: number | null = null;
    let drop: number | null = null;
    for (let q = 0; q < QUERIES && (empty === null || drop === null); q += BATCH) {
      const batch: [number, number][] = [];
      for (let i = 0; i < BATCH; i++) {
        const junk = rng.next() < pw.junk ? -3 : 0;
        const s = query(rng, mOf(rng, [1, 5]), 0.1);
        let d = 0;
        for (const x of s) if (x + pw.shift + junk < t) d++;
        batch.push([s.length, d]);
      }
      det = observeDetector(det, batch, q, cal, DEFAULT_DRIFT_CONFIG);
      const ev = evaluateDetector(det, cal, DEFAULT_DRIFT_CONFIG);
      if (empty === null && ev.emptyContext?.alarm) empty = q + BATCH;
      if (drop === null && ev.dropRate.alarm) drop = q + BATCH;
    }
    if (empty !== null) emptyDelays.push(empty);
    if (drop !== null) dropDelays.push(drop);
  }
  lines.push(
    `| ${pw.label} | ${emptyDelays.length} of ${POWER_RUNS}, ${medianOf(emptyDelays)} | ${dropDelays.length} of ${POWER_RUNS}, ${medianOf(dropDelays)} |`,
  );
  console.error(`power ${pw.label}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
lines.push("", `Run time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
writeFileSync(OUT, `${lines.join("\n")}\n`);
console.log(lines.join("\n"));
