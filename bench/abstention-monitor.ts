/**
 * Seeded false alarms of the production monitor's abstention test when production's query-size mix differs from the
 * calibration's and nothing else changed (the same score law for a query of every size, the same abstain_below), and
 * its power after a real change.
 *
 * Why it matters: a query abstains when its top score, the largest of its m scores, is below abstain_below, so short
 * queries abstain far more often than long ones; a monitor that compares production with the calibration's one pooled
 * abstention rate sees "drift" whenever the mix of query sizes moves. End to end on the same runs: the calibration is
 * fitted by fitCalibration and resolveAbstention (policy `{"rate": 0.1}`, a queries upload), its expectation is what
 * the server stores and serves the monitor (expectationOf, calibrationExpectation), and production's observations
 * [m, d, below, abstained] go through the change detector.
 *  - ours: the abstention test per drop-rate stratum of candidate counts against the calibration's own rate there
 *    (src/stats/drift-bands.ts abstentionStrata);
 *  - before: the same expectation without the strata (one pooled rate: what the monitor did before, and still does
 *    for a calibration stored without `abstention.by_candidates`).
 *
 * Model: calibration CAL queries of 1 to 30 candidates (uniform), scores a sqrt(rho) z_query + sqrt(1 - rho) e with
 * rho 0.1, z and e standard normal; production QUERIES queries of the same law with sizes drawn from the row's range,
 * batches of 25, every batch evaluated. A run counts once if the abstention test ever alarms.
 *
 *   npx esbuild bench/abstention-monitor.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/abstention-monitor.mjs && npx node node_modules/.cache/scoregate-bench/abstention-monitor.mjs
 * Options: --runs N (default 20), --queries N (default 10000), --cal N (default 2000), --out PATH (default
 * bench/results/abstention-monitor.md).
 */
import { resolveAbstention } from "../src/calibrations/abstention";
import { calibrationExpectation, expectationOf } from "../src/calibrations/expectation";
import { fitCalibration } from "../src/calibrations/fit";
import type { StoredCalibration } from "../src/contract";
import type { CalibrationExpectation } from "../src/stats/calibration-expectation";
import { driftBands } from "../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../src/stats/drift-config";
import { evaluateDetector, observeDetector } from "../src/stats/drift-detector";
import { type DetectorState, newDetector } from "../src/stats/e-detector";
import { sortedCopy } from "../src/stats/order-statistics";
import { flattenQueries, type QueryObservation } from "../src/stats/per-query";
import { createRng, deriveSeed, type Rng } from "../test/support/prng";
import { machineLine, numberOption, stringOption, upperBound95, writeReport } from "./lib/report";

const RUNS = numberOption("runs", 20);
const QUERIES = numberOption("queries", 10_000);
const CAL = numberOption("cal", 2000);
const OUT = stringOption("out", "bench/results/abstention-monitor.md");
const BATCH = 25;
const RHO = 0.1;
const RATE = 0.1;
const DROP_TARGET = 0.3;

interface Row {
  readonly name: string;
  /** Production's candidates per query: uniform on [lo, hi]. */
  readonly lo: number;
  readonly hi: number;
  /** A real change: every production score moves by this much (0: nothing drifted). */
  readonly shift: number;
}
const ROWS: Row[] = [
  { name: "same as calibration (1-30)", lo: 1, hi: 30, shift: 0 },
  { name: "short only (2-6)", lo: 2, hi: 6, shift: 0 },
  { name: "long only (20-30)", lo: 20, hi: 30, shift: 0 },
  { name: "single candidate (1)", lo: 1, hi: 1, shift: 0 },
  { name: "middle (8-15)", lo: 8, hi: 15, shift: 0 },
  { name: "same as calibration (1-30)", lo: 1, hi: 30, shift: -0.3 },
  { name: "same as calibration (1-30)", lo: 1, hi: 30, shift: -0.45 },
  { name: "same as calibration (1-30)", lo: 1, hi: 30, shift: -0.6 },
  { name: "short only (2-6)", lo: 2, hi: 6, shift: -0.6 },
  { name: "long only (20-30)", lo: 20, hi: 30, shift: -0.6 },
];

function draw(rng: Rng, lo: number, hi: number, shift: number): Float64Array {
  const m = lo + Math.floor(rng.next() * (hi - lo + 1));
  const z = Math.sqrt(RHO) * rng.normal();
  const out = new Float64Array(m);
  for (let j = 0; j < m; j++) out[j] = z + Math.sqrt(1 - RHO) * rng.normal() + shift;
  return out;
}

/** A detector that stops at its first abstention alarm. */
interface Watch {
  state: DetectorState;
  alarm: boolean;
}

function watch(w: Watch, batch: QueryObservation[], q: number, cal: CalibrationExpectation): void {
  if (w.alarm) return;
  w.state = observeDetector(w.state, batch, q, cal, DEFAULT_DRIFT_CONFIG);
  if (evaluateDetector(w.state, cal, DEFAULT_DRIFT_CONFIG).abstention?.alarm) w.alarm = true;
}

const HEADER = [
  "| production sizes | score shift | calibration abstention % | production abstention % | ours (per stratum): runs with an alarm (one-sided 95 % bound) | strata tested (of those with calibration queries) | before (one pooled rate): runs with an alarm |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
];
const lines: string[] = [];
const t0 = Date.now();
lines.push("# The abstention monitor when production's query sizes differ from the calibration's", "");
lines.push(
  `Command: \`npx esbuild bench/abstention-monitor.ts ... && npx node node_modules/.cache/scoregate-bench/abstention-monitor.mjs --runs ${RUNS} --queries ${QUERIES} --cal ${CAL}\``,
  "",
  `Machine: ${machineLine()}. Calibration ${CAL} queries of 1-30 candidates (uniform), rho ${RHO}, abstention {"rate": ${RATE}}, drop-rate target ${DROP_TARGET}; production ${QUERIES.toLocaleString("en-US")} queries, batches of ${BATCH}. Seeds deriveSeed(3200 + row, run).`,
  "",
  ...HEADER,
);
let oursNull = 0;
let beforeNull = 0;
let nullRuns = 0;
ROWS.forEach((row, ri) => {
  let ours = 0;
  let before = 0;
  let calRate = 0;
  let prodRate = 0;
  let tested = 0;
  let held = 0;
  for (let run = 0; run < RUNS; run++) {
    const rng = createRng(deriveSeed(3200 + ri, run));
    const cal = flattenQueries(Array.from({ length: CAL }, () => draw(rng, 1, 30, 0)));
    const fitted = fitCalibration(sortedCopy(cal.scores), DROP_TARGET, cal);
    const abstention = resolveAbstention({ rate: RATE }, { ...cal, relevant: null, answerable: null }, null).report;
    const record = { ...fitted.fields, abstention, drift_tolerance: null, empty_context_tolerance: null } as unknown as StoredCalibration;
    const expOurs = calibrationExpectation(expectationOf(record));
    if (!expOurs.abstention?.strata) throw new Error("an abstaining calibration without abstention strata");
    const expBefore: CalibrationExpectation = { ...expOurs, abstention: { ...expOurs.abstention, strata: null } };
    const t = fitted.fields.threshold!;
    const a = abstention!.abstain_below!;
    calRate += abstention!.in_sample_rate / RUNS;
    const bands = driftBands(expOurs, DEFAULT_DRIFT_CONFIG, 1).abstentionStrata ?? [];
    tested += bands.filter((b) => b.armable).length / RUNS;
    held += expOurs.abstention.strata.filter((st) => st.queries > 0).length / RUNS;
    const wOurs: Watch = { state: newDetector(), alarm: false };
    const wBefore: Watch = { state: newDetector(), alarm: false };
    let abstained = 0;
    for (let q = 0; q < QUERIES; q += BATCH) {
      const batch: QueryObservation[] = [];
      for (let i = 0; i < BATCH; i++) {
        const s = draw(rng, row.lo, row.hi, row.shift);
        let below = 0;
        let top = Number.NEGATIVE_INFINITY;
        for (const x of s) {
          if (x < t) below++;
          if (x > top) top = x;
        }
        const abstains = top < a ? 1 : 0;
        abstained += abstains;
        batch.push([s.length, below, below, abstains]);
      }
      watch(wOurs, batch, q, expOurs);
      watch(wBefore, batch, q, expBefore);
    }
    prodRate += abstained / QUERIES / RUNS;
    if (wOurs.alarm) ours++;
    if (wBefore.alarm) before++;
  }
  if (row.shift === 0) {
    oursNull += ours;
    beforeNull += before;
    nullRuns += RUNS;
  }
  const bound = (x: number): string => `${x} of ${RUNS} (<= ${(100 * upperBound95(x, RUNS)).toFixed(1)} %)`;
  lines.push(
    `| ${row.name} | ${row.shift} | ${(100 * calRate).toFixed(1)} | ${(100 * prodRate).toFixed(1)} | ${bound(ours)} | ${tested.toFixed(1)} of ${held.toFixed(1)} | ${before} of ${RUNS} |`,
  );
  console.error(`row ${ri}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
lines.push(
  "",
  `Null rows (no score shift), any abstention alarm: ours ${oursNull} in ${nullRuns} runs (one-sided 95 % bound ${(100 * upperBound95(oursNull, nullRuns)).toFixed(1)} %), before ${beforeNull} in ${nullRuns}. Run time ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
);
writeReport(OUT, lines);
