/**
 * Seeded false alarms of the empty-context test when a query's candidate count depends on how well it scores (a
 * first-stage similarity cutoff, a metadata filter, a sparse index with few hits for obscure queries), with the same
 * population in calibration and production: nothing drifted.
 *
 * Model (test/support/score-models.ts coupledQuery): query effect u = sqrt(rho) z, candidates u + N(0, 1 - rho); the
 * query brings m = round(maxM Phi(coupling z + 0.8)) candidates (at least 1) of a top-maxM list. coupling 0: every
 * query brings the same number. The calibration is 500 such queries (rho 0.3, target 0.3), fitted by fitCalibration;
 * production is QUERIES more, in batches of 25, through the change detector. A run counts once if it ever alarms.
 *
 * Ours: the calibration's strata (observed where it holds 50 queries of a size, the hypergeometric extrapolation
 * checked against its short queries elsewhere: src/stats/empty-context.ts). Before: every stratum extrapolated from
 * longer queries, unchecked (bench/lib/previous-empty-strata.ts), on the same runs. Also shown: the correlation of a
 * query's size with its mean score in the calibration, the strata tested, and for the first run the 3-candidate
 * stratum's expected rate against what production's 3-candidate queries really did.
 *
 *   npx esbuild bench/coupled-sizes.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/coupled-sizes.mjs && npx node node_modules/.cache/scoregate-bench/coupled-sizes.mjs
 * Options: --runs N (default 30), --queries N (default 20000), --out PATH (default bench/results/coupled-sizes.md),
 *   --rows LIST (comma-separated row numbers 0-9, default all: split a long run over processes; a row's seeds do not
 *   depend on which rows run with it).
 */

import { calibrationExpectation, expectationOf } from "../src/calibrations/expectation";
import { fitCalibration } from "../src/calibrations/fit";
import type { StoredCalibration } from "../src/contract";
import type { CalibrationExpectation } from "../src/stats/calibration-expectation";
import { driftBands } from "../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../src/stats/drift-config";
import { evaluateDetector, observeDetector } from "../src/stats/drift-detector";
import { newDetector } from "../src/stats/e-detector";
import { stratumOf } from "../src/stats/empty-context";
import { sortedCopy } from "../src/stats/order-statistics";
import { flattenQueries } from "../src/stats/per-query";
import { createRng, deriveSeed } from "../test/support/prng";
import { coupledQuery } from "../test/support/score-models";
import { previousStrata, withPreviousStrata } from "./lib/previous-empty-strata";
import { machineLine, numberOption, stringOption, upperBound95, writeReport } from "./lib/report";

const RUNS = numberOption("runs", 30);
const QUERIES = numberOption("queries", 20_000);
const OUT = stringOption("out", "bench/results/coupled-sizes.md");
const BATCH = 25;
const RHO = 0.3;
const TARGET = 0.3;
const CAL_QUERIES = 500;

const ROWS = [0, 0.5, 1, 1.5, 3].flatMap((coupling) => [20, 50].map((maxM) => ({ coupling, maxM })));
const ROWS_RUN = new Set(
  stringOption("rows", ROWS.map((_, i) => i).join(","))
    .split(",")
    .map(Number),
);

function correlation(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

const lines: string[] = [];
const t0 = Date.now();
lines.push("# Empty-context false alarms when query sizes and scores are coupled (nothing drifted)", "");
lines.push(
  `Command: \`npx esbuild bench/coupled-sizes.ts ... && npx node node_modules/.cache/scoregate-bench/coupled-sizes.mjs --runs ${RUNS} --queries ${QUERIES} --rows ${[...ROWS_RUN].join(",")}\``,
  "",
  `Machine: ${machineLine()}. Calibration ${CAL_QUERIES} queries, rho ${RHO}, target ${TARGET}; production ${QUERIES.toLocaleString("en-US")} queries from the same population, batches of ${BATCH}. Seeds deriveSeed(540 + row, run).`,
  "",
  "| list length, coupling | corr(size, mean score) | runs | ours: runs with an empty_context alarm (one-sided 95 % bound) | before: runs with an alarm, median queries to the first | ours: strata tested (mean of 8) | 3-candidate stratum, first run: expected ours / before, production observed |",
  "| --- | --- | --- | --- | --- | --- | --- |",
);
ROWS.forEach(({ coupling, maxM }, row) => {
  if (!ROWS_RUN.has(row)) return;
  let oursRuns = 0;
  let beforeRuns = 0;
  let oursDrop = 0;
  const firstBefore: number[] = [];
  let tested = 0;
  let corr = 0;
  let illustration = "";
  for (let run = 0; run < RUNS; run++) {
    const rng = createRng(deriveSeed(540 + row, run));
    const qs = Array.from({ length: CAL_QUERIES }, () => coupledQuery(rng, maxM, RHO, coupling));
    corr +=
      correlation(
        qs.map((q) => q.length),
        qs.map((q) => q.reduce((a, b) => a + b, 0) / q.length),
      ) / RUNS;
    const { scores, offsets } = flattenQueries(qs);
    const fitted = fitCalibration(sortedCopy(scores), TARGET, { scores, offsets });
    const record = { ...fitted.fields, drift_tolerance: null, empty_context_tolerance: null } as unknown as StoredCalibration;
    const ours = calibrationExpectation(expectationOf(record));
    const t = fitted.fields.threshold!;
    const before: CalibrationExpectation = withPreviousStrata(ours, previousStrata(scores, offsets, t));
    tested += driftBands(ours, DEFAULT_DRIFT_CONFIG, 1).emptyStrata!.filter((b) => b.armable).length / RUNS;
    let detOurs = newDetector();
    let detBefore = newDetector();
    let alarmOurs = false;
    let alarmDrop = false;
    let firstAlarmBefore: number | null = null;
    let short = 0;
    let shortEmpty = 0;
    for (let q = 0; q < QUERIES; q += BATCH) {
      const batch: [number, number][] = [];
      for (let i = 0; i < BATCH; i++) {
        const s = coupledQuery(rng, maxM, RHO, coupling);
        let d = 0;
        for (const x of s) if (x < t) d++;
        batch.push([s.length, d]);
        if (stratumOf(s.length) === 2) {
          short++;
          if (d === s.length) shortEmpty++;
        }
      }
      detOurs = observeDetector(detOurs, batch, q, ours, DEFAULT_DRIFT_CONFIG);
      const ev = evaluateDetector(detOurs, ours, DEFAULT_DRIFT_CONFIG);
      if (ev.emptyContext?.alarm) alarmOurs = true;
      if (ev.dropRate.alarm) alarmDrop = true;
      if (ev.emptyContext?.alarm || ev.dropRate.alarm) detOurs = newDetector();
      if (firstAlarmBefore === null) {
        detBefore = observeDetector(detBefore, batch, q, before, DEFAULT_DRIFT_CONFIG);
        if (evaluateDetector(detBefore, before, DEFAULT_DRIFT_CONFIG).emptyContext?.alarm) firstAlarmBefore = q + BATCH;
      }
    }
    if (alarmOurs) oursRuns++;
    if (alarmDrop) oursDrop++;
    if (firstAlarmBefore !== null) {
      beforeRuns++;
      firstBefore.push(firstAlarmBefore);
    }
    if (run === 0) {
      const e = ours.emptyContextStrata![2]!;
      const b = before.emptyContextStrata![2]!;
      illustration = `${e.rate.toFixed(3)} (${e.source ?? "hypergeometric"}) / ${b.rate.toFixed(3)}, ${short > 0 ? (shortEmpty / short).toFixed(3) : "n/a"} of ${short}`;
    }
  }
  firstBefore.sort((a, b) => a - b);
  const median = firstBefore.length > 0 ? String(firstBefore[Math.floor((firstBefore.length - 1) / 2)]) : "n/a";
  lines.push(
    `| top-${maxM}, ${coupling} | ${corr.toFixed(2)} | ${RUNS} | ${oursRuns} (<= ${(100 * upperBound95(oursRuns, RUNS)).toFixed(1)} %); drop-rate alarms ${oursDrop} | ${beforeRuns}, ${median} | ${tested.toFixed(1)} | ${illustration} |`,
  );
  console.error(`top-${maxM} coupling ${coupling}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
lines.push("", `Run time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
writeReport(OUT, lines);
