/**
 * Queries from a real change to the drop-rate alarm on a guarded gate: the monitor as it ships (each drop-rate
 * stratum's production counts deflated by the larger of the pooled production design effect and the stratum's own,
 * drift-bands.ts productionStratumDesignEffects) against the same detector with every stratum deflated by the pooled
 * value (the detector state without its stratum spread, as states stored before the spread was kept are read).
 *
 * Why it matters: docs/benchmarks.md section 26 counts runs that alarmed within 10,000 queries; a larger deflation
 * alarms later, which a yes/no count within a long horizon does not show.
 *
 * Model: section 26's power rows (bench/guarded-monitor.ts; bench/lib/guard-models.ts), calibration CAL queries of
 * 1-200 candidates (log-normal), rho 0.1; production the same population reweighted by size, every score moved by
 * SHIFT from query CHANGE_AT on, batches of 25, every batch evaluated. Both detectors see the same stream; each stops
 * at its first drop-rate alarm. A run that does not alarm within the row's queries counts as a miss (infinite delay:
 * it sorts last in the median; the mean is over the runs both detectors caught). With --shift 0 nothing changes and
 * the report counts the runs with a (false) alarm instead.
 *
 *   npx esbuild bench/detection-delay.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/detection-delay.mjs && npx node node_modules/.cache/scoregate-bench/detection-delay.mjs
 * Options: --runs N (default 20), --cal N (default 2000), --shift X (default -0.25; 0: null runs), --alpha A (default
 * the monitor's, 0.001), --out PATH (default bench/results/detection-delay.md), --rows all|N (default all; N only the
 * row of that index, from 0).
 */
import { driftBands, productionStratumDesignEffects } from "../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../src/stats/drift-config";
import { evaluateDetector, observeDetector } from "../src/stats/drift-detector";
import { type DetectorState, newDetector } from "../src/stats/e-detector";
import type { Guards } from "../src/stats/guarded-gate";
import { designEffect, type QueryObservation } from "../src/stats/per-query";
import { createRng, deriveSeed } from "../test/support/prng";
import { fittedGate, type Population, productionQuery, SIZE_MIXES } from "./lib/guard-models";
import { machineLine, numberOption, stringOption, writeReport } from "./lib/report";

const RUNS = numberOption("runs", 20);
const CAL = numberOption("cal", 2_000);
const SHIFT = numberOption("shift", -0.25);
const OUT = stringOption("out", "bench/results/detection-delay.md");
const ROWS_OPTION = stringOption("rows", "all");
const CONFIG = { ...DEFAULT_DRIFT_CONFIG, alpha: numberOption("alpha", DEFAULT_DRIFT_CONFIG.alpha) };
/** With no shift the runs are null runs: an alarm is a false alarm, counted per detector. */
const NULL_RUNS = SHIFT === 0;
const BATCH = 25;
const RHO = 0.1;

interface Row {
  readonly name: string;
  readonly guards: Guards;
  readonly target: number;
  readonly coupling: number;
  /** Production's mix: a query of m candidates is kept with this probability (bench/guarded-monitor.ts). */
  readonly accept: (m: number) => number;
  /** Quiet queries before the change, and the queries watched in all. */
  readonly changeAt: number;
  readonly queries: number;
}
const G_MIN: Guards = { minKeep: 3, maxKeep: null };
const G_MAX: Guards = { minKeep: 0, maxKeep: 10 };
const ROWS: Row[] = [
  { name: "`min_keep 3`, same mix", guards: G_MIN, target: 0.3, coupling: 0, accept: () => 1, changeAt: 0, queries: 10_000 },
  { name: "`min_keep 3`, coupled, tilted to short", guards: G_MIN, target: 0.3, coupling: 1, accept: (m) => 1 / m, changeAt: 0, queries: 10_000 },
  { name: "`max_keep 10`, coupled, tilted to long", guards: G_MAX, target: 0.85, coupling: 1, accept: (m) => m / 200, changeAt: 0, queries: 10_000 },
  {
    name: "`min_keep 3`, same mix, change after 8,000 quiet queries",
    guards: G_MIN,
    target: 0.3,
    coupling: 0,
    accept: () => 1,
    changeAt: 8_000,
    queries: 20_000,
  },
];

/** The state without its stratum spread: every stratum deflated by the pooled design effect. */
function pooledOnly(s: DetectorState): DetectorState {
  const { stratumSpread: _, ...rest } = s;
  return rest;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const h = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};
const fmt = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "miss");
const mean = (xs: readonly number[]): number => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

const t0 = Date.now();
const lines: string[] = [
  "# Queries from a real change to the drop-rate alarm: per-stratum production design effect against the pooled one",
  "",
  `Command: \`npx esbuild bench/detection-delay.ts ... && npx node node_modules/.cache/scoregate-bench/detection-delay.mjs --runs ${RUNS} --cal ${CAL} --shift ${SHIFT}${CONFIG.alpha === DEFAULT_DRIFT_CONFIG.alpha ? "" : ` --alpha ${CONFIG.alpha}`}${ROWS_OPTION === "all" ? "" : ` --rows ${ROWS_OPTION}`}\``,
  "",
  `Machine: ${machineLine()}. Calibration ${CAL.toLocaleString("en-US")} queries of 1-200 candidates (log-normal), rho ${RHO}; every production score moved by ${SHIFT} from the change on, batches of ${BATCH}. Alpha ${CONFIG.alpha}. Seeds deriveSeed(2400 + row, run).`,
  "",
  NULL_RUNS
    ? "| row (null: nothing changes) | runs with a false alarm, per-stratum / pooled | armable strata deflated above the pooled value (mean; largest ratio) |"
    : "| row | detected, per-stratum / pooled | median queries to alarm, per-stratum / pooled | mean (runs both detected) | per-stratum slower / faster / same | armable strata deflated above the pooled value (mean; largest ratio) |",
  NULL_RUNS ? "| --- | --- | --- |" : "| --- | --- | --- | --- | --- | --- |",
];
ROWS.forEach((row, ri) => {
  if (/^\d+$/u.test(ROWS_OPTION) && ri !== Number(ROWS_OPTION)) return;
  if (NULL_RUNS && row.changeAt > 0) return; // the same null as the row without the late change
  const pop: Population = { mix: SIZE_MIXES.logNormal200, rho: RHO, coupling: row.coupling };
  const ours: number[] = [];
  const pooled: number[] = [];
  let falseAlarms = 0;
  let above = 0;
  let largest = 1;
  for (let run = 0; run < RUNS; run++) {
    const rng = createRng(deriveSeed(2400 + ri, run));
    const { threshold: t, expectation } = fittedGate(rng, CAL, pop, row.target, row.guards);
    let a = newDetector();
    let b = pooledOnly(newDetector());
    let da = Infinity;
    let db = Infinity;
    for (let q = 0; q < row.queries && !(Number.isFinite(da) && Number.isFinite(db)); q += BATCH) {
      const shift = q >= row.changeAt ? SHIFT : 0;
      const batch: QueryObservation[] = [];
      for (let i = 0; i < BATCH; i++) batch.push(productionQuery(rng, pop, row.accept, t, row.guards, shift));
      if (!Number.isFinite(da)) {
        a = observeDetector(a, batch, q, expectation, CONFIG, row.guards);
        if (evaluateDetector(a, expectation, CONFIG).dropRate.alarm) {
          da = q + BATCH - row.changeAt;
          if (q < row.changeAt) falseAlarms++;
        }
      }
      if (!Number.isFinite(db)) {
        b = pooledOnly(observeDetector(b, batch, q, expectation, CONFIG, row.guards));
        if (evaluateDetector(b, expectation, CONFIG).dropRate.alarm) {
          db = q + BATCH - row.changeAt;
          if (q < row.changeAt) falseAlarms++;
        }
      }
    }
    ours.push(da);
    pooled.push(db);
    const pooledDeff = designEffect(a.total);
    const own = productionStratumDesignEffects(a.stratumSpread, pooledDeff) ?? [];
    const armable = (driftBands(expectation, CONFIG, pooledDeff).dropStrata ?? []).map((x) => x.armable);
    const ratios = own.filter((v, s) => armable[s] && v > pooledDeff * (1 + 1e-9)).map((v) => v / pooledDeff);
    above += ratios.length / RUNS;
    largest = Math.max(largest, ...ratios);
    console.error(`row ${ri} run ${run}: per-stratum ${fmt(da)}, pooled ${fmt(db)}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const detected = (xs: number[]) => xs.filter(Number.isFinite).length;
  const slower = ours.filter((x, i) => x > pooled[i]!).length;
  const faster = ours.filter((x, i) => x < pooled[i]!).length;
  const both = ours.map((x, i) => [x, pooled[i]!] as const).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const strata = `${above.toFixed(1)}; ${largest.toFixed(2)}`;
  if (NULL_RUNS) {
    lines.push(`| ${row.name} | ${detected(ours)} / ${detected(pooled)} of ${RUNS} | ${strata} |`);
    return;
  }
  lines.push(
    `| ${row.name} | ${detected(ours)} / ${detected(pooled)} of ${RUNS} | ${fmt(median(ours))} / ${fmt(median(pooled))} | ${fmt(mean(both.map(([x]) => x)))} / ${fmt(mean(both.map(([, y]) => y)))} | ${slower} / ${faster} / ${RUNS - slower - faster} | ${strata} |`,
  );
  if (falseAlarms > 0) lines.push(`|  | false alarms before the change: ${falseAlarms} |  |  |  |  |`);
});
lines.push("", `Run time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
writeReport(OUT, lines);
