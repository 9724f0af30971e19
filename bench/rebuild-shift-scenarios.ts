/**
 * The rebuild-shift scenarios of test/calibrations/rebuild-shift.test.ts at full size. The suite runs them on 100,
 * 500, 50 and 50 seeds (enough to hold chance moves beyond the tolerance, which is what each checks); this runs every
 * scenario on the seed counts the suite used to run, times --scale, and reports the alerts and the chance moves beyond
 * the tolerance. Scenario model and seeds: test/support/rebuild-scenarios.ts.
 *
 *   npx esbuild bench/rebuild-shift-scenarios.ts --bundle --platform=node --format=esm --packages=external \
 *     --log-level=warning --outfile=node_modules/.cache/scoregate-bench/rebuild-shift-scenarios.mjs && \
 *     npx node node_modules/.cache/scoregate-bench/rebuild-shift-scenarios.mjs
 * Options: --scale N (default 1), --out PATH (default bench/results/rebuild-shift-scenarios.md).
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { REBUILD_TOLERANCE, rebuildOutcomes } from "../test/support/rebuild-scenarios";

const { values } = parseArgs({
  options: { scale: { type: "string", default: "1" }, out: { type: "string", default: "bench/results/rebuild-shift-scenarios.md" } },
});
const SCALE = Number(values.scale);
if (!Number.isInteger(SCALE) || SCALE < 1) throw new RangeError(`--scale must be a positive integer, got ${values.scale}`);

const SCENARIOS = [
  { scenario: 2, runs: 1000, queries: 500, baseShift: 0, expect: "no alert" },
  { scenario: 1, runs: 2000, queries: 50, baseShift: 0, expect: "at most the 0.1 % level (7 of 2,000 at p < 1e-3)" },
  { scenario: 3, runs: 200, queries: 500, baseShift: -0.5, expect: "every rebuild alerts" },
  { scenario: 4, runs: 200, queries: 500, baseShift: -0.02, expect: "no alert" },
] as const;

const lines = [
  "# Rebuild-shift scenarios of the test suite, full size",
  "",
  `Command: \`npx esbuild bench/rebuild-shift-scenarios.ts ... && npx node node_modules/.cache/scoregate-bench/rebuild-shift-scenarios.mjs --scale ${SCALE}\``,
  "",
  `Tolerance ${100 * REBUILD_TOLERANCE} points, target 0.3, 20 candidates per query, seeds deriveSeed(scenario, run).`,
  "",
  "| scenario | queries a side | base shift | runs | alerts | chance moves beyond the tolerance | the suite expects | run time |",
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
];
for (const s of SCENARIOS) {
  const t0 = performance.now();
  const o = rebuildOutcomes(s.scenario, s.runs * SCALE, s.queries, s.baseShift);
  const seconds = (performance.now() - t0) / 1000;
  lines.push(
    `| ${s.scenario} | ${s.queries} | ${s.baseShift} | ${o.runs} | ${o.alerts} | ${o.beyondTolerance} | ${s.expect} | ${seconds.toFixed(1)} s |`,
  );
  console.error(`scenario ${s.scenario}: ${seconds.toFixed(1)} s`);
}
writeFileSync(values.out, `${lines.join("\n")}\n`);
console.log(lines.join("\n"));
