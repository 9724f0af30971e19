/**
 * The empty-context test's level per row, where simulating the monitor cannot resolve it.
 *
 * `bench/coupled-sizes.ts` runs the whole monitor over 20,000 production queries per run; resolving a 0.1 % level in
 * one row needs about 3,000 such runs a row (hours). This bench resolves it by the test's construction instead
 * (docs/drift.md, "Budget"): the empty-context test spends a'/2 on its calibration bands and a'/2 on the sequential
 * part, and when every armed stratum's band holds (the production rate of the stratum is at most the band's upper
 * end) the detector's e-process is a supermartingale under the null, so Ville's inequality bounds that part by a'/2.
 * Hence, per gate,
 *
 *   P(false empty_context alarm) <= P(some armed stratum's band is below its production rate) + a'/2,
 *
 * and the first term needs only the calibration, not 20,000 production queries: fit the calibration, build the bands,
 * and compare each armed band with the stratum's exact production rate at the fitted threshold. That rate comes from a
 * reference of `--ref` production queries from the same population (their candidate counts and top scores, sorted per
 * stratum: the share with a top score below t is the stratum's empty rate at t). A stratum production never reaches
 * cannot alarm and is skipped.
 *
 * Same rows and population as bench/coupled-sizes.ts (calibration 500 queries, rho 0.3, target 0.3; a query's count
 * coupled to its effect). Seeds deriveSeed(740 + row, run) for the calibrations, deriveSeed(739, row) for the reference.
 *
 *   npm run bench:coupled-bands   (= npx esbuild bench/coupled-bands.ts --bundle ... && npx node ...coupled-bands.mjs)
 * Options: --runs N (calibrations a row, default 20000), --ref N (reference queries a row, default 1000000),
 *   --rows LIST (comma-separated row numbers 0-9, default all), --out PATH (default bench/results/coupled-bands.md).
 */

import { calibrationExpectation, expectationOf } from "../src/calibrations/expectation";
import { fitCalibration } from "../src/calibrations/fit";
import type { StoredCalibration } from "../src/contract";
import { driftBands } from "../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../src/stats/drift-config";
import { EMPTY_CONTEXT_STRATA, stratumOf } from "../src/stats/empty-context";
import { sortedCopy } from "../src/stats/order-statistics";
import { flattenQueries } from "../src/stats/per-query";
import { createRng, deriveSeed } from "../test/support/prng";
import { coupledQuery } from "../test/support/score-models";
import { machineLine, numberOption, stringOption, upperBound95, writeReport } from "./lib/report";

const RUNS = numberOption("runs", 20_000);
const REF = numberOption("ref", 1_000_000);
const OUT = stringOption("out", "bench/results/coupled-bands.md");
const RHO = 0.3;
const TARGET = 0.3;
const CAL_QUERIES = 500;
const S = EMPTY_CONTEXT_STRATA.length;

const ROWS = [0, 0.5, 1, 1.5, 3].flatMap((coupling) => [20, 50].map((maxM) => ({ coupling, maxM })));
const ROWS_RUN = new Set(
  stringOption("rows", ROWS.map((_, i) => i).join(","))
    .split(",")
    .map(Number),
);

/** Count of sorted values strictly below t. */
function countBelow(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Each stratum's production top scores, sorted: the exact empty rate of the stratum at any threshold. */
function reference(maxM: number, coupling: number, row: number): Float64Array[] {
  const rng = createRng(deriveSeed(739, row));
  const tops: number[][] = Array.from({ length: S }, () => []);
  for (let i = 0; i < REF; i++) {
    const q = coupledQuery(rng, maxM, RHO, coupling);
    let top = Number.NEGATIVE_INFINITY;
    for (const x of q) if (x > top) top = x;
    tops[stratumOf(q.length)]!.push(top);
  }
  return tops.map((t) => sortedCopy(Float64Array.from(t)));
}

const t0 = Date.now();
const misses: string[] = [];
const alphaShare = DEFAULT_DRIFT_CONFIG.alpha / 2 / 2; // a' = alpha/2 (drop rate and empty context), a'/2 each part
const lines: string[] = [
  "# Empty-context bands against the exact production rate (nothing drifted; the level by construction)",
  "",
  `Command: \`npm run bench:coupled-bands -- --runs ${RUNS} --ref ${REF} --rows ${[...ROWS_RUN].join(",")}\``,
  "",
  `Machine: ${machineLine()}. Calibration ${CAL_QUERIES} queries, rho ${RHO}, target ${TARGET}; reference ${REF.toLocaleString("en-US")} production queries a row. alpha ${DEFAULT_DRIFT_CONFIG.alpha}: the sequential part of the empty-context test spends a'/2 = ${alphaShare}.`,
  "",
  "| list, coupling | calibrations | armed strata (mean of 8), production reaches | bands below the production rate: calibrations (one-sided 95 % bound) | closest approach: least (band top - production rate) | level bound: bands + a'/2 |",
  "| --- | ---: | --- | --- | ---: | ---: |",
];
ROWS.forEach(({ coupling, maxM }, row) => {
  if (!ROWS_RUN.has(row)) return;
  const ref = reference(maxM, coupling, row);
  let armed = 0;
  let reached = 0;
  let failed = 0;
  let closest = Number.POSITIVE_INFINITY;
  for (let run = 0; run < RUNS; run++) {
    const rng = createRng(deriveSeed(740 + row, run));
    const qs = Array.from({ length: CAL_QUERIES }, () => coupledQuery(rng, maxM, RHO, coupling));
    const { scores, offsets } = flattenQueries(qs);
    const fitted = fitCalibration(sortedCopy(scores), TARGET, { scores, offsets });
    const record = { ...fitted.fields, drift_tolerance: null, empty_context_tolerance: null } as unknown as StoredCalibration;
    const expectation = calibrationExpectation(expectationOf(record));
    const bands = driftBands(expectation, DEFAULT_DRIFT_CONFIG, 1).emptyStrata!;
    const t = fitted.fields.threshold!;
    let failedHere = false;
    bands.forEach((b, i) => {
      if (!b.armable) return;
      armed += 1 / RUNS;
      const sorted = ref[i]!;
      if (sorted.length === 0) return;
      reached += 1 / RUNS;
      const rate = countBelow(sorted, t) / sorted.length;
      closest = Math.min(closest, b.band.hi - rate);
      if (b.band.hi < rate) {
        failedHere = true;
        const st = expectation.emptyContextStrata![i]!;
        misses.push(
          `top-${maxM}, ${coupling}, run ${run}: stratum ${EMPTY_CONTEXT_STRATA[i]}+ (${st.source ?? "hypergeometric"}, check ${st.extrapolationCheck ?? "none"}${st.extrapolated ? ", extrapolated" : ""}), ${st.queries} calibration queries: rate ${st.rate.toFixed(3)}, band top ${b.band.hi.toFixed(3)}, production ${rate.toFixed(3)} (${sorted.length} reference queries)`,
        );
      }
    });
    if (failedHere) failed++;
  }
  const bound = upperBound95(failed, RUNS);
  lines.push(
    `| top-${maxM}, ${coupling} | ${RUNS.toLocaleString("en-US")} | ${armed.toFixed(1)}, ${reached.toFixed(1)} | ${failed} (<= ${(100 * bound).toFixed(3)} %) | ${closest.toFixed(3)} | ${(100 * (bound + alphaShare)).toFixed(3)} % |`,
  );
  console.error(`top-${maxM} coupling ${coupling}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
if (misses.length > 0) lines.push("", "Bands below the production rate:", "", ...misses.map((m) => `- ${m}`));
lines.push("", `Run time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
writeReport(OUT, lines);
