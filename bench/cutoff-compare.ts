/**
 * Side by side on the same labelled data: a fixed 0.4 cutoff, Haystack-style top-p with min_top_k
 * (bench/lib/cutoff-baselines.ts), Weaviate-style autocut (cut at the first big score jump), and scoregate's gates
 * fitted on a labelled calibration of the same population, bare and guarded. Each is reported as its drop rate,
 * empty queries (nothing kept), flooded queries (more than FLOOD kept: past a prompt budget), candidates kept per
 * query, and labelled coverage (a relevant candidate kept; the share of relevant candidates kept).
 *
 * Model (bench/lib/guard-models.ts drawLabelled): relevant with probability 0.15 (at least one per query), score
 * sigmoid(-0.8 + z + 1.5 relevant + e), the v2 population of bench/recall-sim.ts. Two size mixes: 20 each, and 1 to
 * 200 (log-normal) coupled to the query effect. Per seed: CAL labelled calibration queries (scoregate fits on them),
 * then TEST fresh queries on which every method is applied; scoregate's gates through decideQuery (guard-rule.ts),
 * the rule the clients apply.
 *
 *   npx esbuild bench/cutoff-compare.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/cutoff-compare.mjs && npx node node_modules/.cache/scoregate-bench/cutoff-compare.mjs
 * Options: --seeds N (default 100), --cal N (default 300), --test N (default 2000), --out PATH (default
 * bench/results/cutoff-compare.md).
 */
import { decideQuery } from "../src/stats/guard-rule";
import { eligibleScores, fitGuardedGate, type Guards, NO_GUARDS } from "../src/stats/guarded-gate";
import { fitGuardedRecall } from "../src/stats/guarded-recall";
import type { LabelledQueries } from "../src/stats/recall-gate";
import { createRng, deriveSeed } from "../test/support/prng";
import { autocutKeep, topPKeep } from "./lib/cutoff-baselines";
import { drawLabelled, type LabelModel, meanSe, type Population, pct, SIZE_MIXES } from "./lib/guard-models";
import { machineLine, numberOption, stringOption, writeReport } from "./lib/report";

const SEEDS = numberOption("seeds", 100);
const CAL = numberOption("cal", 300);
const TEST = numberOption("test", 2000);
const OUT = stringOption("out", "bench/results/cutoff-compare.md");
const FLOOD = 20;
const FIXED = 0.4;
const TOP_P = 0.9;
const MIN_TOP_K = 3;
const GUARDS: Guards = { minKeep: 1, maxKeep: FLOOD };
const RECALL_TARGET = 0.9;
const LABELS: LabelModel = { pRel: 0.15, mu: -0.8, gap: 1.5, forceRelevant: true };
// The drop-rate target of scoregate's unlabelled gate per mix: max_keep 20 alone drops about 56 % of the 1-200 mix's
// candidates, so its target must lie above that (a lower one is refused as unreachable).
const POPS: (Population & { dropTarget: number })[] = [
  { mix: SIZE_MIXES.fixed20, rho: 0, coupling: 0, dropTarget: 0.5 },
  { mix: SIZE_MIXES.logNormal200, rho: 0, coupling: 1, dropTarget: 0.75 },
];

/** How many of a query's top-ranked candidates a method keeps, from its scores sorted highest first. */
type Method = { readonly name: string; readonly keep: (desc: Float64Array, raw: Float64Array) => number };

interface Acc {
  candidates: number;
  dropped: number;
  queries: number;
  empty: number;
  flooded: number;
  any: number;
  share: number;
}
const newAcc = (): Acc => ({ candidates: 0, dropped: 0, queries: 0, empty: 0, flooded: 0, any: 0, share: 0 });

/** Applies `keep` to every test query: the kept candidates are the top ranks (ties in input order, as decideQuery). */
function evaluate(test: LabelledQueries, keep: Method["keep"], acc: Acc): void {
  for (let q = 0; q + 1 < test.offsets.length; q++) {
    const from = test.offsets[q]!;
    const to = test.offsets[q + 1]!;
    const raw = test.scores.subarray(from, to);
    const order = Array.from({ length: to - from }, (_, i) => i).sort((a, b) => (raw[a]! > raw[b]! ? -1 : raw[a]! < raw[b]! ? 1 : 0));
    const desc = Float64Array.from(order, (i) => raw[i]!);
    const k = keep(desc, raw);
    let rel = 0;
    let relKept = 0;
    order.forEach((i, r) => {
      if (test.relevant[from + i] !== 1) return;
      rel++;
      if (r < k) relKept++;
    });
    acc.candidates += to - from;
    acc.dropped += to - from - k;
    acc.queries++;
    if (k === 0) acc.empty++;
    if (k > FLOOD) acc.flooded++;
    if (relKept > 0) acc.any++;
    acc.share += rel > 0 ? relKept / rel : 1;
  }
}

/** A scoregate gate as the clients apply it: decideQuery's kept count. */
const gate =
  (threshold: number | null, g: Guards) =>
  (_desc: Float64Array, raw: Float64Array): number =>
    decideQuery(raw, { threshold, minKeep: g.minKeep, maxKeep: g.maxKeep, abstainBelow: null }).kept.filter(Boolean).length;

const t0 = Date.now();
const out: string[] = [];
POPS.forEach((pop, pi) => {
  const names = [
    `fixed cutoff ${FIXED}`,
    `top-p ${TOP_P}, min_top_k ${MIN_TOP_K} (Haystack)`,
    "autocut 1 (Weaviate)",
    `scoregate drop_rate ${pop.dropTarget}, no guards`,
    `scoregate drop_rate ${pop.dropTarget}, min_keep ${GUARDS.minKeep}, max_keep ${GUARDS.maxKeep}`,
    `scoregate recall any_relevant ${RECALL_TARGET}, no guards`,
    `scoregate recall any_relevant ${RECALL_TARGET}, min_keep ${GUARDS.minKeep}, max_keep ${GUARDS.maxKeep}`,
  ];
  const perSeed = names.map(() => ({
    drop: [] as number[],
    empty: [] as number[],
    flood: [] as number[],
    any: [] as number[],
    share: [] as number[],
    kept: [] as number[],
  }));
  for (let seed = 0; seed < SEEDS; seed++) {
    const rng = createRng(deriveSeed(2200 + pi, seed));
    const cal = drawLabelled(rng, CAL, pop, LABELS);
    const test = drawLabelled(rng, TEST, pop, LABELS);
    const fitDrop = (g: Guards): number | null => {
      const fit = fitGuardedGate(eligibleScores(cal.scores, cal.offsets, g), pop.dropTarget);
      if (fit.kind !== "fitted") throw new Error(`drop_rate fit: ${fit.kind}`);
      return fit.threshold;
    };
    const fitRecall = (g: Guards): number | null => {
      const e = eligibleScores(cal.scores, cal.offsets, g);
      const fit = fitGuardedRecall(cal, RECALL_TARGET, "any_relevant", g, e.eligible.length > 0 ? e.eligible[e.eligible.length - 1]! : null);
      if (fit.kind !== "fitted") throw new Error(`recall fit: ${fit.kind}`);
      return fit.threshold;
    };
    const methods: Method["keep"][] = [
      (desc) => {
        let k = 0;
        while (k < desc.length && desc[k]! >= FIXED) k++;
        return k;
      },
      (desc) => topPKeep(desc, TOP_P, MIN_TOP_K),
      (desc) => autocutKeep(desc, 1),
      gate(fitDrop(NO_GUARDS), NO_GUARDS),
      gate(fitDrop(GUARDS), GUARDS),
      gate(fitRecall(NO_GUARDS), NO_GUARDS),
      gate(fitRecall(GUARDS), GUARDS),
    ];
    methods.forEach((keep, mi) => {
      const a = newAcc();
      evaluate(test, keep, a);
      const s = perSeed[mi]!;
      s.drop.push(a.dropped / a.candidates);
      s.empty.push(a.empty / a.queries);
      s.flood.push(a.flooded / a.queries);
      s.any.push(a.any / a.queries);
      s.share.push(a.share / a.queries);
      s.kept.push((a.candidates - a.dropped) / a.queries);
    });
  }
  out.push(
    `## ${pop.mix.name}${pop.coupling ? `, size coupled to the query effect (coupling ${pop.coupling})` : ""}`,
    "",
    "| method | drop rate % | empty queries % | flooded queries (> 20 kept) % | kept per query | a relevant kept % (any_relevant) | relevant kept, mean share % (candidates) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  names.forEach((name, mi) => {
    const s = perSeed[mi]!;
    const m = (xs: number[]): string => pct(meanSe(xs).mean, 1);
    out.push(`| ${name} | ${m(s.drop)} | ${m(s.empty)} | ${m(s.flood)} | ${meanSe(s.kept).mean.toFixed(1)} | ${m(s.any)} | ${m(s.share)} |`);
  });
  out.push("");
  console.error(`${pop.mix.name}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
const seconds = (Date.now() - t0) / 1000;
writeReport(OUT, [
  "# Side by side: fixed cutoff, top-p with min_top_k, autocut, and scoregate's guarded gates on the same data",
  "",
  `Command: \`npx esbuild bench/cutoff-compare.ts ... && npx node node_modules/.cache/scoregate-bench/cutoff-compare.mjs --seeds ${SEEDS} --cal ${CAL} --test ${TEST}\``,
  "",
  `Machine: ${machineLine()}. ${SEEDS} seeds per mix (deriveSeed(2200 + mix, seed)): ${CAL} labelled calibration queries (scoregate fits on them) and ${TEST} fresh test queries (every method is applied to them); means over seeds. Run time ${seconds.toFixed(0)} s.`,
  "",
  ...out,
]);
