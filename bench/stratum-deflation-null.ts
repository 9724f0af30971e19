/**
 * Seeded null runs of a guarded gate's drop-rate test at an elevated level, for the production design effect each
 * drop-rate stratum's counts are deflated by (drift-bands.ts productionStratumDesignEffects): nothing changes, so
 * every alarm is a false one.
 *
 * Why it matters: the deflation is estimated from the data it tests (from 30 of a stratum's queries, about 26 %
 * relative error), so the detector's level is an approximation (docs/drift.md, "The change detector"); these runs
 * measure it where the estimate matters most.
 *
 * Two models (--model):
 *  - `stratum` (default): test/stats/stratum-production-design-effect.test.ts's null, one query size: queries of M
 *    candidates, min_keep MINKEEP, max_keep CAP, so K = min(CAP, M) - MINKEEP candidates a query are decided, their
 *    drops beta-binomial at mean P, intra-query correlation 0.02 in the calibration (2,000 queries) and RHOPROD in
 *    production; the fixed-start test (alarm when the strata product's log e-value reaches ln(2/a) at any batch of 50;
 *    level a = 0.02, no tolerance, every stratum tested). Counts runs that alarm as shipped and with every stratum
 *    deflated by the pooled production design effect.
 *  - `mixes`: docs/benchmarks.md section 26's null rows (bench/guarded-monitor.ts: its rows, model and seeds), the
 *    detector as shipped at --alpha over 10,000 queries, drop-rate alarms only.
 *
 *   npx esbuild bench/stratum-deflation-null.ts --bundle --platform=node --format=esm --packages=external \
 *     --log-level=warning --outfile=node_modules/.cache/scoregate-bench/stratum-deflation-null.mjs && \
 *     npx node node_modules/.cache/scoregate-bench/stratum-deflation-null.mjs --m 40 --cap 10 --rhoprod 0.3
 * Options, stratum: --m (40) --cap (10; none: no cap) --minkeep (0) --p (0.3) --rhoprod (0.3) --prod (10000) --runs
 * (300) --scenario (2: the seeds deriveSeed(scenario, run); 2 is the test's capped scenario). Options, mixes: --alpha
 * (0.1) --cal (2000) --runs (40) --rows (all, or indices from 0 separated by commas). Prints one line a scenario.
 */
import { dropRateByCandidates, monitoredDropStrata } from "../src/calibrations/fit";
import type { CalibrationExpectation, DropStratum } from "../src/stats/calibration-expectation";
import { driftBands, productionStratumDesignEffects } from "../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG, type DriftConfig } from "../src/stats/drift-config";
import { evaluateDetector, observeDetector } from "../src/stats/drift-detector";
import { dropRateLogEvidence } from "../src/stats/drift-evidence";
import { newDetector } from "../src/stats/e-detector";
import type { Guards } from "../src/stats/guarded-gate";
import { addObservation, designEffect, emptyClusterSums, flattenQueries, type QueryObservation } from "../src/stats/per-query";
import { addToStratumSpread, emptyStratumSpread } from "../src/stats/stratum-spread";
import { clusteredDrops, createRng, deriveSeed } from "../test/support/prng";
import { fittedGate, type Population, productionQuery, SIZE_MIXES } from "./lib/guard-models";
import { numberOption, stringOption } from "./lib/report";

const MODEL = stringOption("model", "stratum");

function stratumModel(): void {
  const config: DriftConfig = { ...DEFAULT_DRIFT_CONFIG, alpha: 0.02, tolerance: 0, maxCalibrationMargin: 1 };
  const m = numberOption("m", 40);
  const capOption = stringOption("cap", "10");
  const cap = capOption === "none" ? null : Number(capOption);
  const minKeep = numberOption("minkeep", 0);
  const p = numberOption("p", 0.3);
  const rhoProd = numberOption("rhoprod", 0.3);
  const prodQueries = numberOption("prod", 10_000);
  const runs = numberOption("runs", 300);
  const scenario = numberOption("scenario", 2);
  const guards: Guards = { minKeep, maxKeep: cap };
  const top = Math.min(cap ?? m, m);
  const k = top - minKeep;
  const threshold = Math.log(2 / config.alpha);
  let shipped = 0;
  let pooled = 0;
  const t0 = Date.now();
  for (let r = 0; r < runs; r++) {
    const rng = createRng(deriveSeed(scenario, r));
    const calDrops = clusteredDrops(rng, k, p, 0.02);
    const queries: Float64Array[] = [];
    for (let i = 0; i < 2_000; i++) {
      // Ranks 1..min_keep always above the threshold, then the k decided ones, then the tail past the cap below it.
      const above = minKeep + k - calDrops();
      queries.push(Float64Array.from({ length: m }, (_, j) => (j < above ? 1 : -1) * (1 + rng.next())));
    }
    const { scores, offsets } = flattenQueries(queries);
    const strata: DropStratum[] = monitoredDropStrata(dropRateByCandidates(scores, offsets, 0, guards));
    const cal: CalibrationExpectation = {
      expectedDropRate: 0.5, // the pooled band is not tested with strata
      n: scores.length,
      designEffect: 1,
      emptyContextRate: null,
      nQueries: 2_000,
      dropRateStrata: strata,
    };
    const prodDrops = clusteredDrops(rng, k, p, rhoProd);
    const sums = emptyClusterSums();
    const spread = emptyStratumSpread();
    let bestShipped = -Infinity;
    let bestPooled = -Infinity;
    for (let i = 1; i <= prodQueries; i++) {
      const q = [m, m - top + prodDrops()] as const;
      addObservation(sums, q, guards);
      addToStratumSpread(spread, q, guards);
      if (i % 50 !== 0) continue;
      const deff = designEffect(sums);
      const bands = driftBands(cal, config, deff);
      bestShipped = Math.max(bestShipped, dropRateLogEvidence(sums, deff, bands, config.priorStrength, productionStratumDesignEffects(spread, deff)));
      bestPooled = Math.max(bestPooled, dropRateLogEvidence(sums, deff, bands, config.priorStrength));
    }
    if (bestShipped >= threshold) shipped++;
    if (bestPooled >= threshold) pooled++;
  }
  console.log(
    `| ${m} candidates, min_keep ${minKeep}, max_keep ${cap ?? "none"} (${k} decided) | ${p} | ${rhoProd} | ${prodQueries.toLocaleString("en-US")} | ${shipped} of ${runs} | ${pooled} of ${runs} | ${((Date.now() - t0) / 1000).toFixed(0)} s |`,
  );
}

function mixesModel(): void {
  const config: DriftConfig = { ...DEFAULT_DRIFT_CONFIG, alpha: numberOption("alpha", 0.1) };
  const cal = numberOption("cal", 2_000);
  const runs = numberOption("runs", 40);
  const rowsOption = stringOption("rows", "all");
  const mixes: [string, (m: number) => number][] = [
    ["same as calibration", () => 1],
    ["short only (1-5)", (m) => (m <= 5 ? 1 : 0)],
    ["long only (50-200)", (m) => (m >= 50 ? 1 : 0)],
    ["tilted to short (1/m)", (m) => 1 / m],
    ["tilted to long (m/200)", (m) => m / 200],
  ];
  const gMin: Guards = { minKeep: 3, maxKeep: null };
  const gMax: Guards = { minKeep: 0, maxKeep: 10 };
  const rows = [gMin, gMax].flatMap((guards) =>
    [0, 1].flatMap((coupling) => mixes.map(([name, accept]) => ({ name, accept, coupling, guards, target: guards.maxKeep === null ? 0.3 : 0.85 }))),
  );
  const chosen = rowsOption === "all" ? null : rowsOption.split(",").map(Number);
  let total = 0;
  let totalRuns = 0;
  rows.forEach((row, ri) => {
    if (chosen !== null && !chosen.includes(ri)) return;
    const pop: Population = { mix: SIZE_MIXES.logNormal200, rho: 0.1, coupling: row.coupling };
    let alarms = 0;
    const t0 = Date.now();
    for (let run = 0; run < runs; run++) {
      // The seeds of bench/guarded-monitor.ts's row ri.
      const rng = createRng(deriveSeed(2300 + ri, run));
      const { threshold: t, expectation: ex } = fittedGate(rng, cal, pop, row.target, row.guards);
      let s = newDetector();
      for (let q = 0; q < 10_000; q += 25) {
        const batch: QueryObservation[] = [];
        for (let i = 0; i < 25; i++) batch.push(productionQuery(rng, pop, row.accept, t, row.guards, 0));
        s = observeDetector(s, batch, q, ex, config, row.guards);
        if (evaluateDetector(s, ex, config).dropRate.alarm) {
          alarms++;
          break;
        }
      }
    }
    total += alarms;
    totalRuns += runs;
    const g = row.guards.maxKeep === null ? "min_keep 3" : "max_keep 10";
    console.log(`| ${g} | ${row.coupling ? "coupled, " : ""}${row.name} | ${alarms} of ${runs} | ${((Date.now() - t0) / 1000).toFixed(0)} s |`);
  });
  console.log(`alpha ${config.alpha}, ${cal} calibration queries: ${total} runs with a drop-rate alarm in ${totalRuns}`);
}

if (MODEL === "mixes") mixesModel();
else stratumModel();
