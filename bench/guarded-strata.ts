/**
 * The stratified drift tests, product against shared tilt: false alarms with nothing changed and queries to detect a
 * real change, for a guarded gate's drop rate (min_keep 3, max_keep 10), its guard-binding rate (the empty-context
 * test at level min_keep) and a bare gate's empty-context rate, with query sizes coupled to scores.
 *
 *  - product (what the monitor runs): one beta-binomial mixture test per stratum, multiplied (the drop rate on
 *    candidate counts deflated by the design effect): src/stats/drift-evidence.ts;
 *  - tilt (measured, not adopted: bench/lib/shared-tilt-alternatives.ts): one log-odds tilt mixture shared by the
 *    strata, the drop rate's outcome a query's dropped share of the candidates a threshold decides;
 *  - deflated tilt (drop rate only, not adopted): the shared tilt on the product's deflated candidate counts.
 *
 * All read the same production queries from one fixed start (query 0), every batch of 25, against the change
 * detector's level ln A (drift-detector.ts evaluateDetector: alpha 0.001 split between the tests, the default
 * horizon): a run alarms if ln E ever reaches it. A fixed start is what each of the detector's starts computes, so the
 * comparison carries over to the detector; the level is Ville's bound for both forms. Calibration and gate end to end as the server fits them (fitCalibration at the threshold
 * the bare gate puts at the calibration's 22 % quantile, expectationOf, calibrationExpectation).
 *
 * Model (bench/lib/guard-models.ts): CAL calibration queries of 1 to 30 candidates whose size rises with the query's
 * effect (coupling 1), rho 0.1, every score N(0, 1) marginally; production QUERIES queries of the same law, every
 * score moved by the row's shift: 0 (nothing changed), -0.25 (the bare threshold drops about 30 % instead of 22 %) and
 * -1 (the seed incident: 59 % instead of 22 %).
 *
 *   npx esbuild bench/guarded-strata.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/guarded-strata.mjs && npx node node_modules/.cache/scoregate-bench/guarded-strata.mjs
 * Options: --runs N (default 20), --queries N (default 4000), --cal N (default 2000), --coupling C (default 1; 0: a
 * query's size does not depend on its scores), --out PATH (default bench/results/guarded-strata.md).
 */
import { calibrationExpectation, expectationOf } from "../src/calibrations/expectation";
import { fitCalibration } from "../src/calibrations/fit";
import type { StoredCalibration } from "../src/contract";
import type { CalibrationExpectation } from "../src/stats/calibration-expectation";
import { driftBands } from "../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../src/stats/drift-config";
import { dropRateLogEvidence, emptyContextLogEvidence } from "../src/stats/drift-evidence";
import { detectorLogThreshold } from "../src/stats/e-detector";
import { type Guards, guardedKept, NO_GUARDS } from "../src/stats/guarded-gate";
import { quantileInvertedCdf, sortedCopy } from "../src/stats/order-statistics";
import { addObservation, DROP_RATE_STRATA, designEffect, dropStratumOf, eligibleSplit, emptyClusterSums } from "../src/stats/per-query";
import { createRng, deriveSeed, type Rng } from "../test/support/prng";
import { drawQueries, type Population, sizeFor } from "./lib/guard-models";
import { machineLine, numberOption, stringOption, upperBound95, writeReport } from "./lib/report";
import { deflatedTilt, emptyTilt, type ShareSums, shareTilt } from "./lib/shared-tilt-alternatives";

const RUNS = numberOption("runs", 20);
const QUERIES = numberOption("queries", 4000);
const CAL = numberOption("cal", 2000);
const OUT = stringOption("out", "bench/results/guarded-strata.md");
const BATCH = 25;
const COUPLING = numberOption("coupling", 1);
const POP: Population = { mix: { name: "1-30 uniform", size: (u) => Math.min(30, 1 + Math.floor(30 * u)) }, rho: 0.1, coupling: COUPLING };
const GUARDS: Guards = { minKeep: 3, maxKeep: 10 };
const BARE_DROP = 0.22;
const SHIFTS = [0, -0.25, -1];
const CONFIG = DEFAULT_DRIFT_CONFIG;

/** One production query at threshold t with every score moved by `shift`: [m, guarded drops, below t]. */
function query(rng: Rng, t: number, g: Guards, shift: number): [number, number, number] {
  const z = rng.normal();
  const m = sizeFor(rng, POP, z);
  const a = Math.sqrt(POP.rho);
  const b = Math.sqrt(1 - POP.rho);
  let c = 0;
  for (let j = 0; j < m; j++) if (a * z + b * rng.normal() + shift >= t) c++;
  return [m, m - guardedKept(m, c, g), m - c];
}

function expectation(cal: { scores: Float64Array; offsets: Uint32Array }, t: number, g: Guards): CalibrationExpectation {
  const fitted = fitCalibration(sortedCopy(cal.scores), BARE_DROP, cal, "float64", g, { threshold: t });
  const record = { ...fitted.fields, drift_tolerance: null, empty_context_tolerance: null } as unknown as StoredCalibration;
  return calibrationExpectation(expectationOf(record));
}

type Test = "drop" | "bind" | "empty";
type Variant = "product" | "tilt" | "deflated";
const VARIANTS: readonly Variant[] = ["product", "tilt", "deflated"];
const TESTS: readonly Test[] = ["drop", "bind", "empty"];
const NAMES: Record<Test, string> = {
  drop: "guarded drop rate (min_keep 3, max_keep 10)",
  bind: "guard binding (min_keep 3), the empty-context test at level 3",
  empty: "bare gate's empty-context rate",
};

interface Tally {
  alarms: number;
  /** Queries to the first alarm of each run that alarmed. */
  readonly delays: number[];
  /** The largest ln E of each run (sup over its batches). */
  readonly finals: number[];
}
const tally = new Map<string, Tally>();
const key = (shift: number, test: Test, v: Variant) => `${shift}|${test}|${v}`;
for (const s of SHIFTS) for (const t of TESTS) for (const v of VARIANTS) tally.set(key(s, t, v), { alarms: 0, delays: [], finals: [] });
const strataTested: Record<Test, number> = { drop: 0, bind: 0, empty: 0 };
const rates: Record<string, number> = {};

const t0 = Date.now();
SHIFTS.forEach((shift, si) => {
  for (let run = 0; run < RUNS; run++) {
    const rng = createRng(deriveSeed(3300 + si, run));
    const cal = drawQueries(rng, CAL, POP);
    const sorted = sortedCopy(cal.scores);
    const t = quantileInvertedCdf(sorted, BARE_DROP);
    const guarded = expectation(cal, t, GUARDS);
    const bare = expectation(cal, t, NO_GUARDS);
    const sums = { guarded: emptyClusterSums(), bare: emptyClusterSums() };
    const shares: ShareSums = { queries: DROP_RATE_STRATA.map(() => 0), shares: DROP_RATE_STRATA.map(() => 0) };
    const first = new Map<string, number>();
    let last: Record<string, number> = {};
    const sup: Record<string, number> = {};
    let belowAll = 0;
    let candidates = 0;
    let guardedDropped = 0;
    for (let q = 0; q < QUERIES; q += BATCH) {
      for (let i = 0; i < BATCH; i++) {
        const [m, d, below] = query(rng, t, GUARDS, shift);
        addObservation(sums.guarded, [m, d, below], GUARDS);
        addObservation(sums.bare, [m, below]);
        const e = eligibleSplit(m, d, GUARDS);
        if (e.eligible > 0) {
          shares.queries[dropStratumOf(m)]! += 1;
          shares.shares[dropStratumOf(m)]! += e.dropped / e.eligible;
        }
        belowAll += below;
        guardedDropped += d;
        candidates += m;
      }
      const deffG = designEffect(sums.guarded);
      const bandsG = driftBands(guarded, CONFIG, deffG);
      const bandsB = driftBands(bare, CONFIG, designEffect(sums.bare));
      const level = (a: number) => detectorLogThreshold(a / 2, Math.ceil(CONFIG.horizonQueries / CONFIG.blockQueries));
      const strata = bandsG.dropStrata!;
      last = {
        "drop|product": dropRateLogEvidence(sums.guarded, deffG, bandsG, CONFIG.priorStrength),
        "drop|tilt": shareTilt(shares, strata),
        "drop|deflated": deflatedTilt(sums.guarded, deffG, strata),
        "bind|product": emptyContextLogEvidence(sums.guarded, bandsG, CONFIG.priorStrength),
        "bind|tilt": emptyTilt(sums.guarded, bandsG),
        "empty|product": emptyContextLogEvidence(sums.bare, bandsB, CONFIG.priorStrength),
        "empty|tilt": emptyTilt(sums.bare, bandsB),
      };
      const armed: Record<Test, boolean> = { drop: bandsG.dropRateArmable, bind: bandsG.emptyContextArmable, empty: bandsB.emptyContextArmable };
      const thresholds: Record<Test, number> = {
        drop: level(bandsG.alphaPerTest),
        bind: level(bandsG.alphaPerTest),
        empty: level(bandsB.alphaPerTest),
      };
      for (const test of TESTS) {
        for (const v of VARIANTS) {
          const k = `${test}|${v}`;
          if (last[k] === undefined) continue;
          sup[k] = Math.max(sup[k] ?? Number.NEGATIVE_INFINITY, last[k]!);
          if (armed[test] && !first.has(k) && last[k]! >= thresholds[test]) first.set(k, q + BATCH);
        }
      }
      if (q === 0) {
        strataTested.drop += strata.filter((b) => b.armable).length / RUNS / SHIFTS.length;
        strataTested.bind += (bandsG.emptyStrata ?? []).filter((b) => b.armable).length / RUNS / SHIFTS.length;
        strataTested.empty += (bandsB.emptyStrata ?? []).filter((b) => b.armable).length / RUNS / SHIFTS.length;
      }
    }
    rates[`${shift}|bare`] = (rates[`${shift}|bare`] ?? 0) + belowAll / candidates / RUNS;
    rates[`${shift}|guarded`] = (rates[`${shift}|guarded`] ?? 0) + guardedDropped / candidates / RUNS;
    for (const test of TESTS) {
      for (const v of VARIANTS) {
        if (last[`${test}|${v}`] === undefined) continue;
        const tl = tally.get(key(shift, test, v))!;
        const at = first.get(`${test}|${v}`);
        if (at !== undefined) {
          tl.alarms++;
          tl.delays.push(at);
        }
        tl.finals.push(sup[`${test}|${v}`]!);
      }
    }
  }
  console.error(`shift ${shift}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : String(x));
const lines: string[] = [
  "# Stratified drift tests: product of per-stratum mixtures against one shared tilt",
  "",
  `Command: \`npx esbuild bench/guarded-strata.ts ... && npx node node_modules/.cache/scoregate-bench/guarded-strata.mjs --runs ${RUNS} --queries ${QUERIES} --cal ${CAL} --coupling ${COUPLING}\``,
  "",
  `Machine: ${machineLine()}. Calibration ${CAL} queries of 1-30 candidates (coupling ${COUPLING}), rho ${POP.rho}; gate at the calibration's ${BARE_DROP * 100} % quantile; production ${QUERIES.toLocaleString("en-US")} queries, batches of ${BATCH}. Seeds deriveSeed(3300 + shift row, run). Strata tested (mean): drop rate ${fmt(strataTested.drop)}, guard binding ${fmt(strataTested.bind)}, bare empty context ${fmt(strataTested.empty)}.`,
  "",
  "| test | score shift | bare drop % | guarded drop % | product: runs alarmed (95 % bound) | product: median queries to alarm | product: median largest ln E | tilt: runs alarmed (95 % bound) | tilt: median queries to alarm | tilt: median largest ln E | deflated tilt (drop rate, not adopted): alarmed, median queries, median largest ln E |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
];
for (const test of TESTS) {
  for (const shift of SHIFTS) {
    const cell = (v: Variant) => {
      const tl = tally.get(key(shift, test, v))!;
      if (tl.finals.length === 0) return "n/a";
      return `${tl.alarms} of ${RUNS} (<= ${(100 * upperBound95(tl.alarms, RUNS)).toFixed(1)} %) | ${tl.alarms === 0 ? "-" : median(tl.delays).toLocaleString("en-US")} | ${fmt(median(tl.finals))}`;
    };
    lines.push(
      `| ${NAMES[test]} | ${shift} | ${(100 * rates[`${shift}|bare`]!).toFixed(1)} | ${(100 * rates[`${shift}|guarded`]!).toFixed(1)} | ${cell("product")} | ${cell("tilt")} | ${cell("deflated").replaceAll(" | ", ", ")} |`,
    );
  }
}
lines.push("", `Run time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
writeReport(OUT, lines);
