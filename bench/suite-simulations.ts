/**
 * The monitor simulations of test/stats/drift.test.ts and test/stats/drift-detector.test.ts on the seed counts the
 * suite used to run, times --scale: the suite keeps each property on fewer seeds, where the smaller run still decides
 * it (docs/benchmarks.md, "Test suite wall time"); this keeps the large runs and says whether each still holds.
 * Scenario model and seeds: test/support/monitor-runs.ts (the rebuild-shift scenarios have their own script,
 * bench/rebuild-shift-scenarios.ts).
 *
 *   npx esbuild bench/suite-simulations.ts --bundle --platform=node --format=esm --packages=external \
 *     --log-level=warning --outfile=node_modules/.cache/scoregate-bench/suite-simulations.mjs && \
 *     npx node node_modules/.cache/scoregate-bench/suite-simulations.mjs
 * Options: --scale N (default 1), --out PATH (default bench/results/suite-simulations.md).
 * Exits non-zero when a property does not hold.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { detectorDelay, firstAlarm, maxAlarmsConsistentWithAlpha, windowsThatAlarm } from "../test/support/monitor-runs";
import { deriveSeed } from "../test/support/prng";

const { values } = parseArgs({
  options: { scale: { type: "string", default: "1" }, out: { type: "string", default: "bench/results/suite-simulations.md" } },
});
const SCALE = Number(values.scale);
if (!Number.isInteger(SCALE) || SCALE < 1) throw new RangeError(`--scale must be a positive integer, got ${values.scale}`);

interface Check {
  /** The test's name in the suite. */
  readonly name: string;
  /** Seeds the suite runs now, and the count run here (before --scale). */
  readonly suiteRuns: number;
  readonly runs: number;
  /** What the suite expects, in words. */
  readonly expect: string;
  /** Runs the scenario on `runs` seeds: what was seen, and whether the suite's expectation holds. */
  readonly run: (runs: number) => { seen: string; holds: boolean };
}

/** The per-window test's false-alarm checks: at most what a level-alpha test allows, except with probability 1e-4. */
const nullWindows = (scenario: number, queries: number, p: number, rho: number, p0hat: number | null) => (runs: number) => {
  const alarms = windowsThatAlarm(runs, (run) => deriveSeed(scenario, run), queries, p, rho, p0hat);
  const bound = maxAlarmsConsistentWithAlpha(runs);
  return { seen: `${alarms} alarms (bound ${bound})`, holds: alarms <= bound };
};

const CHECKS: readonly Check[] = [
  {
    name: "drift: does not alarm without a shift (rho 0.05, noisy calibration, 2,000-query windows)",
    suiteRuns: 100,
    runs: 300,
    expect: "alarms within alpha",
    run: nullWindows(1, 2_000, 0.3, 0.05, null),
  },
  {
    name: "drift: edge of the band (true 0.32, expected 0.30, rho 0.2, 2,000-query windows)",
    suiteRuns: 100,
    runs: 300,
    expect: "alarms within alpha",
    run: nullWindows(2, 2_000, 0.32, 0.2, 0.3),
  },
  {
    name: "drift: heavy clustering (rho 0.5), 100-query windows",
    suiteRuns: 5_000,
    runs: 20_000,
    expect: "alarms within alpha",
    run: nullWindows(5, 100, 0.3, 0.5, 0.3),
  },
  {
    name: "drift: 0.30 -> 0.40 within 3,000 queries",
    suiteRuns: 100,
    runs: 300,
    expect: ">= 95 % detected, median delay <= 500",
    run: (runs) => {
      const delays: number[] = [];
      for (let run = 0; run < runs; run++) {
        const at = firstAlarm(deriveSeed(3, run), 3_000, 0.4, 0.05, null);
        if (at !== null) delays.push(at);
      }
      delays.sort((a, b) => a - b);
      const median = delays[Math.floor(delays.length / 2)] ?? Number.POSITIVE_INFINITY;
      return { seen: `${delays.length} detected, median ${median}`, holds: delays.length / runs >= 0.95 && median <= 500 };
    },
  },
  ...[0, 10_000, 50_000].map(
    (quiet): Check => ({
      name: `detector: 0.30 -> 0.40 after ${quiet} quiet queries (rho 0.05)`,
      suiteRuns: 2,
      runs: 5,
      expect: "no false alarm, every shift detected within 400 queries",
      run: (runs) => {
        let falseAlarms = 0;
        let worst = 0;
        let missed = 0;
        for (let run = 0; run < runs; run++) {
          const r = detectorDelay(deriveSeed(71 + quiet, run), quiet, 0.4, 0.05);
          falseAlarms += r.falseAlarms;
          if (r.delay === null) missed++;
          else worst = Math.max(worst, r.delay);
        }
        return {
          seen: `${falseAlarms} false alarms, ${missed} missed, longest delay ${worst}`,
          holds: falseAlarms === 0 && missed === 0 && worst <= 400,
        };
      },
    }),
  ),
  {
    name: "detector: no false alarm over 100,000 queries (rho 0.2)",
    suiteRuns: 1,
    runs: 3,
    expect: "no false alarm",
    run: (runs) => {
      let falseAlarms = 0;
      for (let run = 0; run < runs; run++) falseAlarms += detectorDelay(deriveSeed(72, run), 100_000, 0.3, 0.2, 0).falseAlarms;
      return { seen: `${falseAlarms} false alarms`, holds: falseAlarms === 0 };
    },
  },
];

const lines = [
  "# Monitor simulations of the test suite, on the seed counts the suite used to run",
  "",
  `Command: \`npx esbuild bench/suite-simulations.ts ... && npx node node_modules/.cache/scoregate-bench/suite-simulations.mjs --scale ${SCALE}\``,
  "",
  "20 candidates per query, expected rate 0.30 from 10,000 candidates, seeds deriveSeed(scenario, run) as in the suite (test/support/monitor-runs.ts).",
  "",
  "| check | seeds in the suite | seeds here | seen | the suite expects | holds | run time |",
  "| --- | --- | --- | --- | --- | --- | --- |",
];
let failed = 0;
for (const c of CHECKS) {
  const t0 = performance.now();
  const runs = c.runs * SCALE;
  const { seen, holds } = c.run(runs);
  const seconds = (performance.now() - t0) / 1000;
  if (!holds) failed++;
  lines.push(`| ${c.name} | ${c.suiteRuns} | ${runs} | ${seen} | ${c.expect} | ${holds ? "yes" : "**no**"} | ${seconds.toFixed(1)} s |`);
  console.error(`${c.name}: ${seconds.toFixed(1)} s`);
}
writeFileSync(values.out, `${lines.join("\n")}\n`);
console.log(lines.join("\n"));
if (failed > 0) {
  console.error(`${failed} check(s) do not hold on the larger runs`);
  process.exitCode = 1;
}
