/**
 * Seeded coverage of recall gates fitted with per-query guards (src/stats/guarded-recall.ts) against known ground
 * truth, and what the guard changes in the threshold for the same guarantee.
 *
 * Model (bench/lib/guard-models.ts drawLabelled): a candidate is relevant with probability 0.15 (at least one per
 * query), score sigmoid(-0.8 + z + 1.5 relevant + e): bench/recall-sim.ts's v2 population. Two size mixes: 20
 * candidates each, and 1 to 200 (log-normal) coupled to the query effect. Guards: none, min_keep 1, min_keep 3,
 * max_keep 10, and min_keep 3 with max_keep 10.
 *
 * Truth: a reference population of REF labelled queries per mix; under each guard its effective scores
 * (effectiveScores: +Infinity for ranks within min_keep, -Infinity beyond max_keep) give every notion's true coverage
 * of any threshold by one binary search. Per seed, N labelled calibration queries are drawn and the guarded gate is
 * fitted (fitGuardedRecall) for every notion and target; its coverage on the reference must average at least the
 * target and at most target + 1/(n+1) (any/all) or + 2/(n+1) (candidates), within two standard errors. A seed where
 * min_keep alone gives the guarantee (guardOnly) covers at least the target but may exceed the upper end: counted
 * apart. Reported beside it: the mean threshold, the reference's drop rate and the candidates kept per query, with and
 * without the guard (the baseline, same seeds, same data).
 *
 *   npx esbuild bench/guarded-recall.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/guarded-recall.mjs && npx node node_modules/.cache/scoregate-bench/guarded-recall.mjs
 * Options: --seeds N (default 1000), --n N (labelled queries, default 300), --ref N (reference queries, default
 * 100000), --out PATH (default bench/results/guarded-recall.md).
 */
import { eligibleScores, type Guards, guardedDropCount, NO_GUARDS } from "../src/stats/guarded-gate";
import { effectiveScores, fitGuardedRecall } from "../src/stats/guarded-recall";
import { countAtOrBelow, countBelow } from "../src/stats/order-statistics";
import { type CoverageNotion, type LabelledQueries, perQueryRelevantScores } from "../src/stats/recall-gate";
import { createRng, deriveSeed } from "../test/support/prng";
import { drawLabelled, type LabelModel, meanSe, type Population, pct, SIZE_MIXES } from "./lib/guard-models";
import { machineLine, numberOption, stringOption, writeReport } from "./lib/report";

const SEEDS = numberOption("seeds", 1000);
const N = numberOption("n", 300);
const REF = numberOption("ref", 100_000);
const OUT = stringOption("out", "bench/results/guarded-recall.md");
const TARGETS = [0.8, 0.9, 0.95];
const NOTIONS: CoverageNotion[] = ["any_relevant", "all_relevant", "candidates"];
const LABELS: LabelModel = { pRel: 0.15, mu: -0.8, gap: 1.5, forceRelevant: true };
const POPS: Population[] = [
  { mix: SIZE_MIXES.fixed20, rho: 0, coupling: 0 },
  { mix: SIZE_MIXES.logNormal200, rho: 0, coupling: 1 },
];
const GUARDS: { name: string; g: Guards }[] = [
  { name: "none", g: NO_GUARDS },
  { name: "min 1", g: { minKeep: 1, maxKeep: null } },
  { name: "min 3", g: { minKeep: 3, maxKeep: null } },
  { name: "max 10", g: { minKeep: 0, maxKeep: 10 } },
  { name: "min 3, max 10", g: { minKeep: 3, maxKeep: 10 } },
];

/** The true coverage of any threshold on the reference, for one notion under one guard. */
interface Truth {
  coverage(t: number | null): number;
}

function truthOf(eff: LabelledQueries, notion: CoverageNotion): Truth {
  if (notion !== "candidates") {
    const s = perQueryRelevantScores(eff, notion === "any_relevant" ? "max" : "min");
    // null: no threshold, only the ranks decide (a -Infinity statistic is lost to the cap).
    return { coverage: (t) => 1 - (t === null ? countAtOrBelow(s, Number.NEGATIVE_INFINITY) : countBelow(s, t)) / s.length };
  }
  const pooled: { s: number; w: number }[] = [];
  let n = 0;
  for (let i = 0; i + 1 < eff.offsets.length; i++) {
    let m = 0;
    for (let j = eff.offsets[i]!; j < eff.offsets[i + 1]!; j++) if (eff.relevant[j] === 1) m++;
    if (m === 0) continue;
    n++;
    for (let j = eff.offsets[i]!; j < eff.offsets[i + 1]!; j++) if (eff.relevant[j] === 1) pooled.push({ s: eff.scores[j]!, w: 1 / m });
  }
  pooled.sort((a, b) => a.s - b.s);
  const scores = Float64Array.from(pooled, (p) => p.s);
  const cum = new Float64Array(pooled.length + 1);
  pooled.forEach((p, i) => {
    cum[i + 1] = cum[i]! + p.w;
  });
  return {
    coverage: (t) => 1 - cum[t === null ? countAtOrBelow(scores, Number.NEGATIVE_INFINITY) : countBelow(scores, t)]! / n,
  };
}

interface Cell {
  coverage: number[];
  thresholds: number[];
  dropRate: number[];
  keptPerQuery: number[];
  guardOnly: number;
  guardOnlyCoverage: number[];
  unreachable: number;
}
const newCell = (): Cell => ({ coverage: [], thresholds: [], dropRate: [], keptPerQuery: [], guardOnly: 0, guardOnlyCoverage: [], unreachable: 0 });

const t0 = Date.now();
const lines: string[] = [];
lines.push("# Recall gates with guards: coverage against ground truth, and the threshold for the same guarantee", "");
const cmd = `npx node node_modules/.cache/scoregate-bench/guarded-recall.mjs --seeds ${SEEDS} --n ${N} --ref ${REF}`;
const tables: string[] = [];
let allMet = true;
POPS.forEach((pop, pi) => {
  const ref = drawLabelled(createRng(deriveSeed(2000, pi)), REF, pop, LABELS);
  const refQueries = ref.offsets.length - 1;
  const refTruth = GUARDS.map(({ g }) => {
    const eff = effectiveScores(ref, g);
    return { truth: NOTIONS.map((notion) => truthOf(eff, notion)), elig: eligibleScores(ref.scores, ref.offsets, g) };
  });
  const cells = new Map<string, Cell>();
  const cell = (gi: number, notion: CoverageNotion, r: number): Cell => {
    const key = `${gi}|${notion}|${r}`;
    let c = cells.get(key);
    if (!c) {
      c = newCell();
      cells.set(key, c);
    }
    return c;
  };
  for (let seed = 0; seed < SEEDS; seed++) {
    const cal = drawLabelled(createRng(deriveSeed(2001 + pi, seed)), N, pop, LABELS);
    GUARDS.forEach(({ g }, gi) => {
      const e = eligibleScores(cal.scores, cal.offsets, g);
      const eligibleMax = e.eligible.length > 0 ? e.eligible[e.eligible.length - 1]! : null;
      NOTIONS.forEach((notion, ni) => {
        for (const r of TARGETS) {
          const c = cell(gi, notion, r);
          const fit = fitGuardedRecall(cal, r, notion, g, eligibleMax);
          if (fit.kind === "too_few_queries") throw new Error(`too few queries: ${fit.n}`);
          if (fit.kind === "unreachable") {
            c.unreachable++;
            continue;
          }
          const cov = refTruth[gi]!.truth[ni]!.coverage(fit.threshold);
          if (fit.guardOnly) {
            c.guardOnly++;
            c.guardOnlyCoverage.push(cov);
          }
          c.coverage.push(cov);
          if (fit.threshold !== null) c.thresholds.push(fit.threshold);
          const dropped = guardedDropCount(refTruth[gi]!.elig, fit.threshold);
          c.dropRate.push(dropped / ref.scores.length);
          c.keptPerQuery.push((ref.scores.length - dropped) / refQueries);
        }
      });
    });
  }
  const seconds = (Date.now() - t0) / 1000;
  tables.push(
    `## ${pop.mix.name}${pop.coupling ? `, size coupled to the query effect (coupling ${pop.coupling})` : ""} (${seconds.toFixed(0)} s so far)`,
    "",
    "| notion | target | guards | mean coverage % (± 2 se) | allowed % | meets | seeds: min_keep alone (their mean coverage %) / unreachable | mean threshold | drop rate % | kept per query | vs no guard: threshold / drop rate points / kept |",
    "| --- | ---: | --- | ---: | ---: | :---: | ---: | ---: | ---: | ---: | ---: |",
  );
  NOTIONS.forEach((notion) => {
    for (const r of TARGETS) {
      const base = cell(0, notion, r);
      GUARDS.forEach(({ name }, gi) => {
        const c = cell(gi, notion, r);
        const upper = r + (notion === "candidates" ? 2 : 1) / (N + 1);
        if (c.coverage.length === 0) {
          tables.push(`| ${notion} | ${r} | ${name} | | | n/a | 0 / ${c.unreachable} | | | | |`);
          return;
        }
        const cov = meanSe(c.coverage);
        const met = cov.mean + 2 * cov.se >= r && (c.guardOnly > 0 || cov.mean - 2 * cov.se <= upper);
        if (!met) allMet = false;
        const th = meanSe(c.thresholds).mean;
        const dr = meanSe(c.dropRate).mean;
        const kept = meanSe(c.keptPerQuery).mean;
        const go = c.guardOnly > 0 ? `${c.guardOnly} (${pct(meanSe(c.guardOnlyCoverage).mean)})` : "0";
        const vs =
          gi === 0
            ? ""
            : `${(th - meanSe(base.thresholds).mean >= 0 ? "+" : "") + (th - meanSe(base.thresholds).mean).toFixed(3)} / ${(dr - meanSe(base.dropRate).mean >= 0 ? "+" : "") + pct(dr - meanSe(base.dropRate).mean, 1)} / ${(kept - meanSe(base.keptPerQuery).mean).toFixed(2)}`;
        tables.push(
          `| ${notion} | ${r} | ${name} | ${pct(cov.mean)} ± ${pct(2 * cov.se)} | ${pct(r)}..${pct(upper)} | ${met ? "yes" : "NO"} | ${go} / ${c.unreachable} | ${th.toFixed(3)} | ${pct(dr, 1)} | ${kept.toFixed(2)} | ${vs} |`,
        );
      });
    }
  });
  tables.push("");
  console.error(`${pop.mix.name}: ${seconds.toFixed(0)} s`);
});
const seconds = (Date.now() - t0) / 1000;
lines.push(
  `Command: \`npx esbuild bench/guarded-recall.ts ... && ${cmd}\``,
  "",
  `Machine: ${machineLine()}. ${SEEDS} seeds per mix (calibration deriveSeed(2001 + mix, seed), reference deriveSeed(2000, mix)), n = ${N} labelled queries, ${REF.toLocaleString("en-US")} reference queries. Run time ${seconds.toFixed(0)} s. Every fitted row within its allowed range: ${allMet ? "yes" : "NO"}.`,
  "",
  ...tables,
);
writeReport(OUT, lines);
