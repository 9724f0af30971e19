/**
 * Seeded accuracy of the guarded drop-rate fit (src/stats/guarded-gate.ts): the drop rate the fit promises against
 * the drop rate the guarded gate realizes on fresh queries, for min_keep 1 / 3 and max_keep 5 / 10 (and two
 * combinations) across candidate-count mixes from 1 to 200 per query, with query effects (rho) and count-score
 * coupling (bench/lib/guard-models.ts).
 *
 * Per scenario, a reference population of about REF_CANDIDATES fresh candidates is drawn once; its pooled eligible
 * scores under each guard (eligibleScores) give the realized guarded drop rate of any threshold exactly on those
 * queries, D(t) / C, in O(log C). Per seed, CAL calibration queries are drawn, the guarded gate is fitted at each target, and compared:
 *  - the fit's expected drop rate (k/(n+1), tie-aware) against the realized rate on the reference queries;
 *  - the 95 % interval as the server computes it (the design effect of the guarded per-query drops and its
 *    Satterthwaite df, src/calibrations/fit.ts): does it hold the realized rate;
 *  - the baseline in the same run: the bare threshold fitted at the same target without the guards, then applied with
 *    them (what a client-side guard does to a calibration that does not know about it).
 * A target is run only where the reference population can reach it with 3 points to spare on either side (max_keep
 * sets a floor on the drop rate, min_keep a ceiling). The rule itself (decideQuery, guard-rule.ts) is checked against
 * the counting of guarded-gate.ts on the first seed's thresholds for every scenario.
 *
 *   npx esbuild bench/guarded-drop-rate.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/guarded-drop-rate.mjs && npx node node_modules/.cache/scoregate-bench/guarded-drop-rate.mjs
 * Options: --runs N (seeds per scenario, default 300), --cal N (calibration queries, default 300), --ref-candidates N
 * (the reference population's size in candidates, default 4000000: as many queries as that takes in each mix),
 * --out PATH (default bench/results/guarded-drop-rate.md).
 */
import { effectiveSize, rateInterval } from "../src/stats/effective-size";
import { fitGate } from "../src/stats/gate-fit";
import { decideQuery } from "../src/stats/guard-rule";
import { type EligibleScores, eligibleScores, fitGuardedGate, type Guards, guardedDropCount, NO_GUARDS } from "../src/stats/guarded-gate";
import { sortedCopy } from "../src/stats/order-statistics";
import { perQueryStats } from "../src/stats/per-query";
import { smallSampleFactor } from "../src/stats/satterthwaite";
import { createRng, deriveSeed } from "../test/support/prng";
import { drawQueries, meanSe, type Population, pct, SIZE_MIXES } from "./lib/guard-models";
import { machineLine, numberOption, stringOption, writeReport } from "./lib/report";

const RUNS = numberOption("runs", 300);
const CAL = numberOption("cal", 300);
const REF_CANDIDATES = numberOption("ref-candidates", 4_000_000);
const OUT = stringOption("out", "bench/results/guarded-drop-rate.md");
const TARGETS = [0.3, 0.7, 0.95];
const MARGIN = 0.03;

const GUARDS: { name: string; g: Guards }[] = [
  { name: "none", g: NO_GUARDS },
  { name: "min 1", g: { minKeep: 1, maxKeep: null } },
  { name: "min 3", g: { minKeep: 3, maxKeep: null } },
  { name: "max 5", g: { minKeep: 0, maxKeep: 5 } },
  { name: "max 10", g: { minKeep: 0, maxKeep: 10 } },
  { name: "min 1, max 5", g: { minKeep: 1, maxKeep: 5 } },
  { name: "min 3, max 10", g: { minKeep: 3, maxKeep: 10 } },
];

const SCENARIOS: Population[] = [
  { mix: SIZE_MIXES.fixed20, rho: 0, coupling: 0 },
  { mix: SIZE_MIXES.fixed20, rho: 0.3, coupling: 0 },
  ...[SIZE_MIXES.short, SIZE_MIXES.uniform200, SIZE_MIXES.logNormal200].flatMap((mix) => [
    { mix, rho: 0, coupling: 0 },
    { mix, rho: 0.3, coupling: 0 },
    { mix, rho: 0.3, coupling: 1 },
  ]),
];

interface Cell {
  scenario: string;
  guards: string;
  target: number;
  expected: number[];
  realized: number[];
  bare: number[];
  covered: number;
  fitted: number;
  unreachable: number;
  minBind: number[];
  maxBind: number[];
  refSe: number;
}

const t0 = Date.now();
const cells: Cell[] = [];
let ruleChecks = 0;
let ruleMismatches = 0;
const refQueries: number[] = [];
const label = (p: Population): string => `${p.mix.name}, rho ${p.rho}, coupling ${p.coupling}`;

SCENARIOS.forEach((pop, si) => {
  const refRng = createRng(deriveSeed(1900, si));
  // As many queries as REF_CANDIDATES candidates take in this mix (its mean size from a pilot of 10,000 queries).
  const pilot = drawQueries(refRng, 10_000, pop);
  const ref = drawQueries(refRng, Math.ceil((REF_CANDIDATES * 10_000) / pilot.scores.length), pop);
  refQueries.push(ref.offsets.length - 1);
  const refN = ref.scores.length;
  const refE = GUARDS.map(({ g }) => eligibleScores(ref.scores, ref.offsets, g));
  const rows: Cell[][] = GUARDS.map(({ name }, gi) =>
    TARGETS.filter((d) => refE[gi]!.floor / refN + MARGIN < d && d < refE[gi]!.ceiling / refN - MARGIN).map((d) => ({
      scenario: label(pop),
      guards: name,
      target: d,
      expected: [],
      realized: [],
      bare: [],
      covered: 0,
      fitted: 0,
      unreachable: 0,
      minBind: [],
      maxBind: [],
      refSe: 0,
    })),
  );
  const realizedOn = (e: EligibleScores, t: number | null): number => guardedDropCount(e, t) / refN;
  for (let run = 0; run < RUNS; run++) {
    const rng = createRng(deriveSeed(1901 + si, run));
    const cal = drawQueries(rng, CAL, pop);
    const sorted = sortedCopy(cal.scores);
    GUARDS.forEach(({ g }, gi) => {
      const e = eligibleScores(cal.scores, cal.offsets, g);
      for (const cell of rows[gi]!) {
        const fit = fitGuardedGate(e, cell.target);
        const bare = fitGate(sorted, cell.target);
        if (bare.kind === "fitted") cell.bare.push(realizedOn(refE[gi]!, bare.threshold));
        if (fit.kind !== "fitted") {
          cell.unreachable++;
          continue;
        }
        cell.fitted++;
        const realized = realizedOn(refE[gi]!, fit.threshold);
        const stats = perQueryStats(cal.scores, cal.offsets, fit.threshold, g);
        const nEff = effectiveSize(fit.n, stats.designEffect) * smallSampleFactor(stats.degreesOfFreedom);
        const [lo, hi] = rateInterval(fit.expectedDropRate, nEff);
        if (lo <= realized && realized <= hi) cell.covered++;
        cell.expected.push(fit.expectedDropRate);
        cell.realized.push(realized);
        cell.minBind.push(stats.minKeepBindingRate);
        cell.maxBind.push(stats.maxKeepBindingRate);
        if (run === 0) {
          // The per-query rule the clients apply must drop exactly what the fit counts, query by query.
          for (let q = 0; q + 1 < cal.offsets.length; q++) {
            const s = cal.scores.subarray(cal.offsets[q]!, cal.offsets[q + 1]!);
            const dq = decideQuery(s, { threshold: fit.threshold, minKeep: g.minKeep, maxKeep: g.maxKeep, abstainBelow: null });
            let expected = 0;
            const desc = Float64Array.from(s).sort().reverse();
            desc.forEach((x, r) => {
              const keep = (g.maxKeep === null || r < g.maxKeep) && (r < g.minKeep || fit.threshold === null || x >= fit.threshold);
              if (!keep) expected++;
            });
            ruleChecks++;
            if (dq.dropped !== expected) ruleMismatches++;
          }
          const total = cal.offsets.length - 1;
          let dropped = 0;
          for (let q = 0; q < total; q++) {
            dropped += decideQuery(cal.scores.subarray(cal.offsets[q]!, cal.offsets[q + 1]!), {
              threshold: fit.threshold,
              minKeep: g.minKeep,
              maxKeep: g.maxKeep,
              abstainBelow: null,
            }).dropped;
          }
          ruleChecks++;
          if (dropped !== fit.dropped) ruleMismatches++;
        }
      }
    });
  }
  // Monte Carlo error of the reference population itself at the mean fitted threshold's rate (shared by every seed).
  rows.forEach((list, gi) => {
    for (const cell of list) {
      const p = meanSe(cell.realized).mean;
      const t = refE[gi]!.eligible.length > 0 ? quantileOfRate(refE[gi]!, p, refN) : null;
      const st = perQueryStats(ref.scores, ref.offsets, t, GUARDS[gi]!.g);
      cell.refSe = Math.sqrt((p * (1 - p) * st.designEffect) / refN);
      cells.push(cell);
    }
  });
  console.error(`${label(pop)}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});

/** The threshold at which the reference's guarded drop rate is p (for its Monte Carlo error). */
function quantileOfRate(e: EligibleScores, p: number, n: number): number {
  const i = Math.min(e.eligible.length - 1, Math.max(0, Math.round(p * n - e.floor)));
  return e.eligible[i]!;
}

const seconds = (Date.now() - t0) / 1000;
const lines: string[] = [];
lines.push("# Guarded drop-rate gates: the fitted target against the realized drop rate on fresh queries", "");
lines.push(
  `Command: \`npx esbuild bench/guarded-drop-rate.ts ... && npx node node_modules/.cache/scoregate-bench/guarded-drop-rate.mjs --runs ${RUNS} --cal ${CAL} --ref-candidates ${REF_CANDIDATES}\``,
  "",
  `Machine: ${machineLine()}. ${RUNS} seeds per scenario (calibration deriveSeed(1901 + scenario, run), reference deriveSeed(1900, scenario)), ${CAL} calibration queries, reference populations of about ${REF_CANDIDATES.toLocaleString("en-US")} candidates (${Math.min(...refQueries).toLocaleString("en-US")} to ${Math.max(...refQueries).toLocaleString("en-US")} queries). Run time ${seconds.toFixed(0)} s.`,
  "",
  `The rule the clients apply (decideQuery) against the fit's counting: ${ruleChecks} checks (per query and per calibration total, first seed of every row), ${ruleMismatches} mismatches.`,
  "",
  "Columns: expected = the fit's expected drop rate (mean over seeds); realized = the guarded gate's drop rate on the reference queries (mean, sd over seeds); bias = realized - expected with 2 standard errors (seeds and the reference's own Monte Carlo error); covered = share of seeds whose 95 % interval holds the realized rate; bare = the threshold fitted without the guards, applied with them (mean realized); bind = share of calibration queries where min_keep / max_keep binds.",
  "",
  "| scenario | guards | target | fitted (unreachable) | expected % | realized % (sd) | bias points (± 2 se) | covered | bare threshold + guards: realized % | bind min / max % |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
);
const summary = new Map<string, { rows: number; worstBias: number; worstBiasSe: number; biasOk: number; minCover: number; worstBare: number }>();
for (const c of cells) {
  if (c.fitted === 0) {
    lines.push(`| ${c.scenario} | ${c.guards} | ${c.target} | 0 (${c.unreachable}) | | | | | | |`);
    continue;
  }
  const ex = meanSe(c.expected);
  const re = meanSe(c.realized);
  const diffs = c.realized.map((r, i) => r - c.expected[i]!);
  const bias = meanSe(diffs);
  const se2 = 2 * Math.sqrt(bias.se ** 2 + c.refSe ** 2);
  const ok = Math.abs(bias.mean) <= se2;
  const cover = c.covered / c.fitted;
  const bare = meanSe(c.bare);
  lines.push(
    `| ${c.scenario} | ${c.guards} | ${c.target} | ${c.fitted} (${c.unreachable}) | ${pct(ex.mean)} | ${pct(re.mean)} (${pct(re.sd)}) | ${pct(bias.mean)} ± ${pct(se2)} | ${pct(cover, 1)} % | ${pct(bare.mean)} | ${pct(meanSe(c.minBind).mean, 1)} / ${pct(meanSe(c.maxBind).mean, 1)} |`,
  );
  const s = summary.get(c.guards) ?? { rows: 0, worstBias: 0, worstBiasSe: 0, biasOk: 0, minCover: 1, worstBare: 0 };
  s.rows++;
  if (Math.abs(bias.mean) > Math.abs(s.worstBias)) {
    s.worstBias = bias.mean;
    s.worstBiasSe = se2;
  }
  if (ok) s.biasOk++;
  s.minCover = Math.min(s.minCover, cover);
  if (Math.abs(bare.mean - c.target) > Math.abs(s.worstBare)) s.worstBare = bare.mean - c.target;
  summary.set(c.guards, s);
}
lines.push("", "Summary per guard (every scenario and target run):", "");
lines.push(
  "| guards | rows | rows with bias within 2 se | largest bias, points (2 se) | lowest interval coverage | bare threshold + guards: largest miss of the target, points |",
);
lines.push("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const { name } of GUARDS) {
  const s = summary.get(name);
  if (!s) continue;
  lines.push(
    `| ${name} | ${s.rows} | ${s.biasOk} | ${pct(s.worstBias)} (${pct(s.worstBiasSe)}) | ${pct(s.minCover, 1)} % | ${pct(s.worstBare, 1)} |`,
  );
}
writeReport(OUT, lines);
