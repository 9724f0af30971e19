/**
 * Seeded simulation of the production change detector (src/stats/drift-detector.ts) against the per-window test it
 * replaced and an oracle.
 *
 * Model: queries of M = 20 candidates; each query draws its own drop probability p_q ~ Beta(mean p, ICC rho), then
 * Binomial(M, p_q) drops (test/support/prng.ts clusteredDrops). The calibration's expected rate is 0.30 from 10,000
 * candidates. Observations arrive in batches of BATCH queries; every method is evaluated after every batch.
 *
 * Methods, fed the same queries:
 *  - detector (ours): observeDetector + evaluateDetector with DEFAULT_DRIFT_CONFIG; reset after an alarm.
 *  - window (before): evaluateDrift on the running sums of a window that restarts every WINDOW queries (24 hours at
 *    WINDOW queries a day) and after an alarm, alarm at ln(2/alpha) after 100 queries: the shipped per-window test.
 *  - oracle: CUSUM (Page 1954) that knows p0 = 0.30, the post-change rate and the true design effect
 *    1 + (M - 1) rho, on deflated counts, with the detector's threshold ln A: the best delay any detector can reach
 *    at the same false-alarm level.
 * Delays are in queries from the change to the alarm; "missed" = no alarm within LIMIT queries after the change.
 *
 *   npx esbuild bench/detector-sim.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/detector-sim.mjs && npx node node_modules/.cache/scoregate-bench/detector-sim.mjs
 * Options: --runs N (shift runs per cell, default 40), --runs-late N (runs of the 1,000,000-query start, default 8),
 *          --null-runs N (default 40), --out PATH (default bench/results/detector.md).
 */
import { writeFileSync } from "node:fs";
import type { CalibrationExpectation } from "../src/stats/calibration-expectation";
import { evaluateDrift } from "../src/stats/drift";
import { DEFAULT_DRIFT_CONFIG } from "../src/stats/drift-config";
import { evaluateDetector, observeDetector } from "../src/stats/drift-detector";
import { type DetectorState, newDetector } from "../src/stats/e-detector";
import { addCluster, type ClusterSums, emptyClusterSums } from "../src/stats/per-query";
import { clusteredDrops, createRng, deriveSeed, type Rng } from "../test/support/prng";

const M = 20;
const BATCH = 25;
const WINDOW = 30_000;
const LIMIT = 30_000;
const P0 = 0.3;
const RHO = 0.05;
const CAL: CalibrationExpectation = { expectedDropRate: P0, n: 10_000, emptyContextRate: null, nQueries: null };
const CONFIG = DEFAULT_DRIFT_CONFIG;

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const RUNS = opt("--runs", 40);
const RUNS_LATE = opt("--runs-late", 8);
const NULL_RUNS = opt("--null-runs", 40);
const OUT = (() => {
  const i = args.indexOf("--out");
  return i >= 0 ? args[i + 1]! : "bench/results/detector.md";
})();

/** The three methods' running state. */
interface Methods {
  det: DetectorState;
  detAlarms: number;
  win: ClusterSums;
  winQueries: number;
  winAlarms: number;
  cusum: number;
  oracleAlarms: number;
}

const fresh = (): Methods => ({ det: newDetector(), detAlarms: 0, win: emptyClusterSums(), winQueries: 0, winAlarms: 0, cusum: 0, oracleAlarms: 0 });

const LOG_A = evaluateDetector(newDetector(), CAL, CONFIG).logThreshold;

/** Feeds one batch; returns which methods alarmed. */
function step(s: Methods, batch: [number, number][], nowMs: number, pAfter: number, rho: number): { det: boolean; win: boolean; oracle: boolean } {
  s.det = observeDetector(s.det, batch, nowMs, CAL, CONFIG);
  const det = evaluateDetector(s.det, CAL, CONFIG).dropRate.alarm;
  if (det) {
    s.det = newDetector();
    s.detAlarms++;
  }
  for (const [m, d] of batch) addCluster(s.win, m, d);
  s.winQueries += batch.length;
  const win = evaluateDrift(s.win, CAL, CONFIG).dropRate.alarm;
  if (win || s.winQueries >= WINDOW) {
    s.win = emptyClusterSums();
    s.winQueries = 0;
  }
  if (win) s.winAlarms++;
  const deff = 1 + (M - 1) * rho;
  let drops = 0;
  for (const [, d] of batch) drops += d;
  const llr = (drops * Math.log(pAfter / P0) + (batch.length * M - drops) * Math.log((1 - pAfter) / (1 - P0))) / deff;
  s.cusum = Math.max(0, s.cusum + llr);
  const oracle = s.cusum >= LOG_A;
  if (oracle) {
    s.cusum = 0;
    s.oracleAlarms++;
  }
  return { det, win, oracle };
}

function batchOf(draw: () => number): [number, number][] {
  const b: [number, number][] = [];
  for (let i = 0; i < BATCH; i++) b.push([M, draw()]);
  return b;
}

function runNull(rng: Rng, s: Methods, queries: number, rho: number): void {
  const draw = clusteredDrops(rng, M, P0, rho);
  for (let q = 0; q < queries; q += BATCH) step(s, batchOf(draw), q, 0.4, rho);
}

/** The methods' state after `start` quiet queries, with the generator positioned after them. */
function prepare(seed: number, start: number, rho: number): { rng: Rng; s: Methods } {
  const rng = createRng(seed);
  const s = fresh();
  runNull(rng, s, start, rho);
  return { rng, s };
}

/** Delays of the three methods (queries after the change, -1 = missed) and false alarms before the change. */
function runShift(prepared: { rng: Rng; s: Methods }, start: number, pAfter: number, rho: number) {
  // Every shift size continues from the same quiet history (a copy: the window sums are mutable).
  const s: Methods = { ...prepared.s, win: { ...prepared.s.win } };
  const rng = createRng(Math.floor(prepared.rng.next() * 2 ** 31) + Math.round(pAfter * 1000));
  const before = { det: s.detAlarms, win: s.winAlarms };
  s.cusum = 0; // the oracle knows when to start
  const draw = clusteredDrops(rng, M, pAfter, rho);
  const at = { det: -1, win: -1, oracle: -1 };
  for (let q = 0; q < LIMIT && (at.det < 0 || at.win < 0 || at.oracle < 0); q += BATCH) {
    const r = step(s, batchOf(draw), start + q, pAfter, rho);
    if (r.det && at.det < 0) at.det = q + BATCH;
    if (r.win && at.win < 0) at.win = q + BATCH;
    if (r.oracle && at.oracle < 0) at.oracle = q + BATCH;
  }
  return { at, falseBefore: before };
}

const median = (xs: number[]): string => {
  const hit = xs.filter((x) => x >= 0).sort((a, b) => a - b);
  if (hit.length * 2 <= xs.length) return `> ${LIMIT}`;
  const all = xs.map((x) => (x < 0 ? Infinity : x)).sort((a, b) => a - b);
  return String(all[Math.floor((all.length - 1) / 2)]);
};
const missed = (xs: number[]): number => xs.filter((x) => x < 0).length;

const lines: string[] = [];
const t0 = Date.now();
lines.push(`# Change detector: detection delay and false alarms`, "");
lines.push(
  `Command: \`npx esbuild bench/detector-sim.ts ... && npx node node_modules/.cache/scoregate-bench/detector-sim.mjs --runs ${RUNS} --runs-late ${RUNS_LATE} --null-runs ${NULL_RUNS}\``,
);
lines.push(
  `Seeds: deriveSeed(scenario, run), scenario ids below. M = ${M}, batch ${BATCH} queries, rho ${RHO}, window ${WINDOW} queries, ln A = ${LOG_A.toFixed(2)}.`,
  "",
);
lines.push(
  "| shift | starts at query | runs | detector: median delay (missed) | window test: median delay (missed) | oracle CUSUM: median delay | false alarms before the change (detector / window) |",
);
lines.push("| --- | --- | --- | --- | --- | --- | --- |");
const shifts = [0.03, 0.05, 0.1, 0.2];
const starts = [0, 10_000, 1_000_000];
let scenario = 100;
for (const start of starts) {
  scenario++;
  const runs = start >= 1_000_000 ? RUNS_LATE : RUNS;
  // One quiet history per run, shared by the four shift sizes (seeds deriveSeed(scenario, run)).
  const histories = Array.from({ length: runs }, (_, r) => prepare(deriveSeed(scenario, r), start, RHO));
  for (const dp of shifts) {
    const det: number[] = [];
    const win: number[] = [];
    const orc: number[] = [];
    let fd = 0;
    let fw = 0;
    for (const h of histories) {
      const o = runShift(h, start, P0 + dp, RHO);
      det.push(o.at.det);
      win.push(o.at.win);
      orc.push(o.at.oracle);
      fd += o.falseBefore.det;
      fw += o.falseBefore.win;
    }
    lines.push(
      `| 0.30 -> ${(P0 + dp).toFixed(2)} | ${start.toLocaleString("en-US")} | ${runs} | ${median(det)} (${missed(det)}) | ${median(win)} (${missed(win)}) | ${median(orc)} | ${fd} / ${fw} |`,
    );
    console.error(`start ${start} shift ${dp}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
}
lines.push("", "| null scenario | runs x queries | detector false alarms | window test false alarms |", "| --- | --- | --- | --- |");
for (const rho of [0, 0.05, 0.2]) {
  scenario++;
  let fd = 0;
  let fw = 0;
  const q = 200_000;
  for (let r = 0; r < NULL_RUNS; r++) {
    const s = fresh();
    runNull(createRng(deriveSeed(scenario, r)), s, q, rho);
    fd += s.detAlarms;
    fw += s.winAlarms;
  }
  lines.push(`| p = 0.30, rho = ${rho} | ${NULL_RUNS} x ${q.toLocaleString("en-US")} | ${fd} | ${fw} |`);
  console.error(`null rho ${rho}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
lines.push("", `Run time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
writeFileSync(OUT, `${lines.join("\n")}\n`);
console.log(lines.join("\n"));
