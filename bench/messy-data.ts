/**
 * Seeded simulations of the calibration statistics on messy data: interval coverage under intra-query correlation,
 * and the rebuild decision against the alert rule it replaced.
 *
 * Score model: query q has effect u_q ~ N(0, rho); candidate scores are u_q + e, e ~ N(0, 1 - rho), so every score is
 * N(mu, 1) marginally and the population drop rate of a threshold t is Phi(t - mu) exactly (the oracle).
 *
 * 1. Coverage: 500 queries of 20 at target 0.3. Realized drop rate of the fitted gate = Phi(t). Methods: ours
 *    (fitCalibration with `queries`: effective size n / deff), the previous i.i.d. Beta(k, n+1-k) interval (what a flat
 *    upload still gets), and the oracle width (2.5 % to 97.5 % of the realized drop rate over the runs).
 * 2. Rebuild decision: a previous and a new calibration of Q queries a side (target 0.3), the new population's mean
 *    moved so that the previous threshold's true drop rate moves by `move` points (at the population 0.3-quantile).
 *    Ours: rebuildShift's `decision`; before: the previous rule, alert iff |change| > tolerance and p < 0.001 (the
 *    report's pooled z-test, still computed). Tolerance 2 points, rho 0.1.
 *
 *   npx esbuild bench/messy-data.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/messy-data.mjs && npx node node_modules/.cache/scoregate-bench/messy-data.mjs
 * Options: --coverage-runs N (default 1000), --decision-runs N (default 200; a quarter of that at 5,000 queries),
 *          --out PATH (default bench/results/messy-data.md).
 */
import { writeFileSync } from "node:fs";
import { fitCalibration } from "../src/calibrations/fit";
import { rebuildShift } from "../src/calibrations/rebuild-shift";
import type { StoredCalibration } from "../src/contract";
import { dropRateInterval } from "../src/stats/intervals";
import { sortedCopy } from "../src/stats/order-statistics";
import { zCdf, zInv } from "../src/stats/special";
import { createRng, deriveSeed, type Rng } from "../test/support/prng";

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const COVERAGE_RUNS = opt("--coverage-runs", 1000);
const DECISION_RUNS = opt("--decision-runs", 200);
const OUT = (() => {
  const i = args.indexOf("--out");
  return i >= 0 ? args[i + 1]! : "bench/results/messy-data.md";
})();

function sample(rng: Rng, queries: number, m: number, rho: number, mu: number) {
  const scores = new Float64Array(queries * m);
  const offsets = new Uint32Array(queries + 1);
  const su = Math.sqrt(rho);
  const se = Math.sqrt(1 - rho);
  for (let q = 0; q < queries; q++) {
    const u = mu + su * rng.normal();
    for (let j = 0; j < m; j++) scores[q * m + j] = u + se * rng.normal();
    offsets[q + 1] = (q + 1) * m;
  }
  return { scores, offsets };
}

const lines: string[] = [];
const t0 = Date.now();
lines.push("# Calibration statistics on messy data", "");
lines.push(
  `Command: \`npx esbuild bench/messy-data.ts ... && npx node node_modules/.cache/scoregate-bench/messy-data.mjs --coverage-runs ${COVERAGE_RUNS} --decision-runs ${DECISION_RUNS}\``,
  "",
);

// 1. Coverage
lines.push("## 95 % drop-rate interval: coverage of the realized drop rate (500 queries x 20, target 0.3)", "");
lines.push(
  "| intra-query correlation | runs (seeds deriveSeed(300 + i, run)) | ours (queries, effective n) | previous i.i.d. Beta (and flat uploads) | mean width ours / previous / oracle | mean design effect |",
);
lines.push("| --- | --- | --- | --- | --- | --- |");
[0, 0.05, 0.3].forEach((rho, i) => {
  let ours = 0;
  let prev = 0;
  let wOurs = 0;
  let wPrev = 0;
  let deffSum = 0;
  const realized: number[] = [];
  for (let run = 0; run < COVERAGE_RUNS; run++) {
    const rng = createRng(deriveSeed(300 + i, run));
    const data = sample(rng, 500, 20, rho, 0);
    const sorted = sortedCopy(data.scores);
    const fit = fitCalibration(sorted, 0.3, data).fields;
    const p = zCdf(fit.threshold!);
    realized.push(p);
    const [lo, hi] = fit.drop_rate_interval_95;
    if (lo <= p && p <= hi) ours++;
    wOurs += hi - lo;
    const [plo, phi] = dropRateInterval(fit.k, fit.n);
    if (plo <= p && p <= phi) prev++;
    wPrev += phi - plo;
    deffSum += fit.per_query!.design_effect;
  }
  realized.sort((a, b) => a - b);
  const oracle = realized[Math.floor(0.975 * (realized.length - 1))]! - realized[Math.floor(0.025 * (realized.length - 1))]!;
  const pc = (x: number) => `${((100 * x) / COVERAGE_RUNS).toFixed(1)} %`;
  lines.push(
    `| ${rho} | ${COVERAGE_RUNS} | ${pc(ours)} | ${pc(prev)} | ${(wOurs / COVERAGE_RUNS).toFixed(4)} / ${(wPrev / COVERAGE_RUNS).toFixed(4)} / ${oracle.toFixed(4)} | ${(deffSum / COVERAGE_RUNS).toFixed(2)} |`,
  );
  console.error(`coverage rho ${rho}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});

// 2. Rebuild decision
lines.push("", "## Rebuild decision (tolerance 2 points, target 0.3, 20 candidates per query, rho 0.1)", "");
lines.push(
  "| true move (points) | queries a side | runs | ours: equivalent / shifted / inconclusive | previous rule: alert | truth (oracle) |",
  "| --- | --- | --- | --- | --- | --- |",
);
const RHO = 0.1;
const xi = zInv(0.3);
let scenario = 400;
for (const move of [0, 1, 1.9, 2.5, 4.8, 37]) {
  // Mean shift of the new population so that Phi(xi - mu) = 0.3 + move / 100.
  const mu = xi - zInv(0.3 + move / 100);
  for (const queries of [50, 500, 5000]) {
    scenario++;
    const runs = queries >= 5000 ? Math.max(1, Math.floor(DECISION_RUNS / 4)) : DECISION_RUNS;
    const count = { equivalent: 0, shifted: 0, inconclusive: 0 };
    let oldAlerts = 0;
    for (let run = 0; run < runs; run++) {
      const rng = createRng(deriveSeed(scenario, run));
      const a = sample(rng, queries, 20, RHO, 0);
      const sa = sortedCopy(a.scores);
      const fa = fitCalibration(sa, 0.3, a);
      const previous = { id: "cal_prev", gate_id: "g", index_version: "v1", ...fa.fields } as unknown as StoredCalibration;
      const b = sample(rng, queries, 20, RHO, mu);
      const sb = sortedCopy(b.scores);
      const fb = fitCalibration(sb, 0.3, b);
      const shift = rebuildShift({
        previous,
        previousDistribution: fa.distribution,
        sorted: sb,
        distribution: fb.distribution,
        byQuery: b,
        tolerance: 0.02,
        comparedWith: "gate_current",
      });
      count[shift.decision]++;
      if (Math.abs(shift.change_points) > 2 && shift.p_value < 0.001) oldAlerts++;
    }
    const pc = (x: number) => `${((100 * x) / runs).toFixed(1)} %`;
    const truth = move > 2 ? "shifted" : "equivalent";
    lines.push(
      `| +${move} | ${queries.toLocaleString("en-US")} | ${runs} | ${pc(count.equivalent)} / ${pc(count.shifted)} / ${pc(count.inconclusive)} | ${pc(oldAlerts)} | ${truth} |`,
    );
    console.error(`decision move ${move} q ${queries}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
}
lines.push("", `Run time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
writeFileSync(OUT, `${lines.join("\n")}\n`);
console.log(lines.join("\n"));
