/**
 * Seeded levels of the rebuild decision where the textbook fails: flat uploads of clustered data, and a small
 * previous calibration against a large new one. Each run fits the previous calibration (rebuildShift's real path),
 * then draws the new scores from a population moved so that the previous threshold's true drop rate moves by exactly
 * the given amount at the realized threshold t: Phi(t - mu) - Phi(t) = move (scores are N(mu, 1) marginally, query
 * effect N(0, rho)). So "at the edge" is the worst case of each null hypothesis, not an average over thresholds.
 *
 * Ours: rebuildShift's decision. Before: the same test with both sizes divided by max(1, the sides' design effects)
 * and normal quantiles (a flat side counted as design effect 1), what the server did before. Counts come with their
 * exact (Clopper-Pearson) 95 % interval; "shifted" must stay at most 0.1 % (10,000 runs resolve it), "equivalent" on
 * a move of the full tolerance at most 5 %.
 *
 *   npx esbuild bench/rebuild-levels.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/rebuild-levels.mjs && npx node node_modules/.cache/scoregate-bench/rebuild-levels.mjs
 * Options: --runs N (level rows, default 10000), --power-runs N (default 1000), --out PATH (default bench/results/rebuild-levels.md).
 *
 * The report starts with the exact levels for independent scores (test/support/rebuild-level-exact.ts: no simulation,
 * so 0.1 % is resolved exactly) at unbalanced sizes, with Student's t on the largest df Satterthwaite can give each side
 * (Q - 1: the least conservative), and on Q / 3 (about what it gives independent queries of 20 at target 0.3: the
 * binomial's kurtosis near 3), against normal quantiles. `--exact-only` writes that table alone (a second), to
 * bench/results/rebuild-levels-exact.md unless --out says otherwise.
 */
import { fitCalibration } from "../src/calibrations/fit";
import { rebuildShift } from "../src/calibrations/rebuild-shift";
import type { StoredCalibration } from "../src/contract";
import { decideChange } from "../src/stats/change-decision";
import { sortedCopy } from "../src/stats/order-statistics";
import { flattenQueries, perQueryStats } from "../src/stats/per-query";
import { zCdf, zInv } from "../src/stats/special";
import { createRng, deriveSeed } from "../test/support/prng";
import { exactShiftedProbability, waldOnT } from "../test/support/rebuild-level-exact";
import { clusteredQuery } from "../test/support/score-models";
import { clopperPearson, machineLine, numberOption, stringOption, writeReport } from "./lib/report";

const RUNS = numberOption("runs", 10_000);
const POWER_RUNS = numberOption("power-runs", 1000);
const EXACT_ONLY = process.argv.includes("--exact-only");
const OUT = stringOption("out", EXACT_ONLY ? "bench/results/rebuild-levels-exact.md" : "bench/results/rebuild-levels.md");
const TOL = 0.02;
const M = 20;

interface Row {
  readonly label: string;
  readonly prevQueries: number;
  readonly newQueries: number;
  readonly rho: number;
  /** Move of the previous threshold's true drop rate (rate units). */
  readonly move: number;
  readonly flatPrev: boolean;
  readonly flatNew: boolean;
  /** Which decision is the error here, and its level. */
  readonly error: "shifted" | "equivalent";
  readonly runs: number;
}

/** A row: label, queries a side (previous, new), rho, move, flat sides ("both", "previous", "none"), error, runs. */
const row = (
  label: string,
  [prevQueries, newQueries]: readonly [number, number],
  rho: number,
  move: number,
  flat: "both" | "previous" | "none",
  error: Row["error"],
  runs: number,
): Row => ({ label, prevQueries, newQueries, rho, move, flatPrev: flat !== "none", flatNew: flat === "both", error, runs });

const ROWS: Row[] = [
  row("both flat, rho 0.3, 50 queries' worth a side, no change", [50, 50], 0.3, 0, "both", "shifted", RUNS),
  row("both flat, rho 0.3, 50 a side, +2 points (edge)", [50, 50], 0.3, TOL, "both", "shifted", RUNS),
  row("both flat, rho 0.3, 50 a side, +2 points: equivalent?", [50, 50], 0.3, TOL, "both", "equivalent", POWER_RUNS),
  row("both flat, rho 0.3, 500 a side, +2 points: equivalent?", [500, 500], 0.3, TOL, "both", "equivalent", POWER_RUNS),
  row("previous flat, new as queries, rho 0.3, 500 a side, no change", [500, 500], 0.3, 0, "previous", "shifted", RUNS),
  row("queries, 50 previous against 2,000 new, rho 0.1, +2 points (edge)", [50, 2000], 0.1, TOL, "none", "shifted", RUNS),
  row("queries, 50 previous against 2,000 new, rho 0.1, -2 points (edge)", [50, 2000], 0.1, -TOL, "none", "shifted", RUNS),
  row("queries, 50 a side, rho 0.1, +2 points (edge)", [50, 50], 0.1, TOL, "none", "shifted", RUNS),
];

/** What it costs: how often a real move past the tolerance is still called shifted. */
const POWER: Row[] = [
  row("queries, 500 a side, rho 0.1, +4.8 points", [500, 500], 0.1, 0.048, "none", "shifted", POWER_RUNS),
  row("queries, 5,000 a side, rho 0.1, +4.8 points", [5000, 5000], 0.1, 0.048, "none", "shifted", Math.max(1, Math.floor(POWER_RUNS / 5))),
  row("both flat, 500 a side, rho 0.3, +37 points (the incident)", [500, 500], 0.3, 0.37, "both", "shifted", POWER_RUNS),
  row("both flat, 500 a side, rho 0.3, +10 points", [500, 500], 0.3, 0.1, "both", "shifted", POWER_RUNS),
];

const pc = (x: number, n: number): string => {
  const [lo, hi] = clopperPearson(x, n);
  return `${x} of ${n.toLocaleString("en-US")} (${((100 * x) / n).toFixed(2)} %; ${(100 * lo).toFixed(2)}-${(100 * hi).toFixed(2)} %)`;
};

function runRow(row: Row, scenario: number): { ours: number; before: number } {
  let ours = 0;
  let before = 0;
  for (let run = 0; run < row.runs; run++) {
    const rng = createRng(deriveSeed(scenario, run));
    const prevData = flattenQueries(Array.from({ length: row.prevQueries }, () => clusteredQuery(rng, M, row.rho)));
    const prevFit = fitCalibration(sortedCopy(prevData.scores), 0.3, row.flatPrev ? null : prevData);
    const t = prevFit.fields.threshold!;
    const mu = t - zInv(zCdf(t) + row.move);
    const newData = flattenQueries(Array.from({ length: row.newQueries }, () => clusteredQuery(rng, M, row.rho, mu)));
    const sorted = sortedCopy(newData.scores);
    const newFit = fitCalibration(sorted, 0.3, row.flatNew ? null : newData);
    const previous = { id: "cal_prev", gate_id: "g", index_version: "v1", ...prevFit.fields } as unknown as StoredCalibration;
    const shift = rebuildShift({
      previous,
      previousDistribution: prevFit.distribution,
      sorted,
      distribution: newFit.distribution,
      byQuery: row.flatNew ? null : newData,
      tolerance: TOL,
      comparedWith: "gate_current",
    });
    if (shift.decision === row.error) ours++;
    // Before: both sizes over max(1, measured design effects), a flat side counting 1; normal quantiles.
    const deffNew = row.flatNew ? 1 : perQueryStats(newData.scores, newData.offsets, t).designEffect;
    const deff = Math.max(1, prevFit.fields.per_query?.design_effect ?? 1, deffNew);
    const pPrev = prevFit.fields.in_sample_drop_rate;
    const pNew = shift.drop_rate_at_previous_threshold;
    const old = decideChange(pPrev, prevFit.fields.n / deff, pNew, sorted.length / deff, TOL, 0.001, 0.05);
    if (old.decision === row.error) before++;
  }
  return { ours, before };
}

/** Exact P(shifted) at the edge for independent scores, queries of M: previous and new queries (both ways round). */
const EXACT: readonly (readonly [number, number])[] = [
  [50, 50],
  [50, 200],
  [50, 2000],
  [50, 10_000],
  [100, 2000],
  [200, 2000],
  [500, 2000],
  [2000, 200],
  [2000, 50],
  [2000, 2000],
];
/** The grid whose worst cell each target's row reports: 50 to 10,000 queries a side, every pair, both edges. */
const GRID = [50, 100, 200, 500, 2000, 10_000];

const pct3 = (p: number): string => `${(100 * p).toFixed(3)} %`;

function exactTable(): string[] {
  const exact = (q1: number, q2: number, target: number, move: number, df1: number, df2: number, before = false): number =>
    exactShiftedProbability({
      n1: q1 * M,
      n2: q2 * M,
      target,
      tolerance: TOL,
      move,
      df1,
      df2,
      alphaShift: 0.001,
      ...(before ? { shifted: waldOnT(TOL, 0.001, df1, df2) } : {}),
    });
  const out = [
    `Exact, independent scores (${M} a query, design effect 1), target 0.3, tolerance 2 points, level 0.1 %: P(shifted) with the true rate moved by exactly the tolerance (\`test/support/rebuild-level-exact.ts\`). Ours: the standard error at H0's edge and the skew term (\`shiftMargin\` in src/stats/change-decision.ts); before: the plain Wald test on t.`,
    "",
    "| previous against new queries | move | ours: t, df Q - 1 a side (the largest) | ours: t, df Q / 3 a side (typical here) | ours: normal quantiles | before: t, df Q - 1 |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const [q1, q2] of EXACT) {
    for (const move of [TOL, -TOL]) {
      out.push(
        `| ${q1.toLocaleString("en-US")} against ${q2.toLocaleString("en-US")} | ${move > 0 ? "+" : "-"}2 points | ${pct3(exact(q1, q2, 0.3, move, q1 - 1, q2 - 1))} | ${pct3(exact(q1, q2, 0.3, move, q1 / 3, q2 / 3))} | ${pct3(exact(q1, q2, 0.3, move, Infinity, Infinity))} | ${pct3(exact(q1, q2, 0.3, move, q1 - 1, q2 - 1, true))} |`,
      );
    }
  }
  out.push(
    "",
    `The largest level over every pair of ${GRID.map((g) => g.toLocaleString("en-US")).join(", ")} queries a side, both edges, df Q - 1 (a target below the tolerance moves down by half the target):`,
    "",
    "| target | ours: worst level (where) | before: worst level (where) |",
    "| ---: | --- | --- |",
  );
  for (const target of [0.01, 0.1, 0.3, 0.5]) {
    const worst = (before: boolean): string => {
      let w = 0;
      let at = "";
      for (const q1 of GRID)
        for (const q2 of GRID)
          for (const edge of [TOL, -TOL]) {
            const move = target < TOL && edge < 0 ? -target / 2 : edge;
            const p = exact(q1, q2, target, move, q1 - 1, q2 - 1, before);
            if (p > w) {
              w = p;
              at = `${q1.toLocaleString("en-US")} against ${q2.toLocaleString("en-US")}, ${move > 0 ? "+" : ""}${(100 * move).toFixed(1)} points`;
            }
          }
      return `${pct3(w)} (${at})`;
    };
    out.push(`| ${target} | ${worst(false)} | ${worst(true)} |`);
  }
  return out;
}

const lines: string[] = [];
const t0 = Date.now();
if (EXACT_ONLY) {
  lines.push("# Rebuild decision levels: exact, unbalanced sides", "");
  lines.push("Command: `npm run bench:rebuild-levels -- --exact-only`", "", `Machine: ${machineLine()}.`, "", ...exactTable());
  lines.push("", `Run time ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
  writeReport(OUT, lines);
  process.exit(0);
}
lines.push("# Rebuild decision levels: flat uploads and unbalanced sides", "");
lines.push(
  `Command: \`npx esbuild bench/rebuild-levels.ts ... && npx node node_modules/.cache/scoregate-bench/rebuild-levels.mjs --runs ${RUNS} --power-runs ${POWER_RUNS}\``,
  "",
  `Machine: ${machineLine()}. Target 0.3, 20 candidates a query, tolerance 2 points; seeds deriveSeed(700 + row, run), power rows deriveSeed(760 + row, run).`,
  "",
  ...exactTable(),
  "",
  "Simulated, clustered scores:",
  "",
  "| scenario | the error counted | level | ours | before (design effect 1 for flat sides, normal quantiles) |",
  "| --- | --- | --- | --- | --- |",
);
ROWS.forEach((row, i) => {
  const r = runRow(row, 700 + i);
  lines.push(`| ${row.label} | ${row.error} | ${row.error === "shifted" ? "0.1 %" : "5 %"} | ${pc(r.ours, row.runs)} | ${pc(r.before, row.runs)} |`);
  console.error(`${row.label}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
lines.push(
  "",
  "What it costs (power: a real move past the tolerance called shifted):",
  "",
  "| scenario | ours: shifted | before: shifted |",
  "| --- | --- | --- |",
);
POWER.forEach((row, i) => {
  const r = runRow(row, 760 + i);
  lines.push(`| ${row.label} | ${pc(r.ours, row.runs)} | ${pc(r.before, row.runs)} |`);
  console.error(`${row.label}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
lines.push("", `Run time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
writeReport(OUT, lines);
