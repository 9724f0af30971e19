/**
 * Seeded certified abstention (src/stats/abstention.ts): the false-abstention rate of the fitted `abstain_below` on
 * fresh answerable queries against alpha, over 1,000 seeds, and the share of unanswerable queries it catches.
 *
 * Model: a query is answerable with probability 0.7; its candidate count comes from the size mix (coupled to the
 * query effect z in the 1-200 mix); an answerable query's candidates are relevant with probability 0.15 (at least
 * one), an unanswerable one has none. Scores sigmoid(-0.8 + z + 3 relevant + e) (a
 * reranker that separates well), e ~ N(0, 1). "False lead": one
 * candidate of every unanswerable query gets + LEAD on the logit scale, a distractor that scores like an answer (the
 * 0.8066 against 0.8403 case). "Rounded": scores reported with two decimals (ties at the threshold).
 *
 * Truth: REF fresh queries per scenario; the sorted top scores of the answerable and of the unanswerable ones give the
 * false-abstention and the catch rate of any threshold by binary search. Per seed: CAL calibration queries, the
 * threshold fitted on their answerable top scores (fitFalseAbstention), compared with the truth: the mean false
 * abstention must be at most alpha (the guarantee is marginal: E <= k/(n+1) <= alpha); also reported, the share of
 * seeds above alpha, how often the fit's exact 95 % interval holds the true rate, the true catch rate and how often the
 * calibration's Clopper-Pearson catch interval holds it. Baselines on the same seeds: a fixed floor of 0.5 on the top
 * score, and the unlabelled fit of an abstention rate equal to the true unanswerable share (fitAbstentionRate).
 *
 *   npx esbuild bench/abstention-sim.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/abstention-sim.mjs && npx node node_modules/.cache/scoregate-bench/abstention-sim.mjs
 * Options: --seeds N (default 1000), --cal N (calibration queries, default 300), --ref N (default 200000),
 * --out PATH (default bench/results/abstention.md).
 */
import { catchRate, fitAbstentionRate, fitFalseAbstention, splitTops, topScores } from "../src/stats/abstention";
import { countBelow } from "../src/stats/order-statistics";
import { createRng, deriveSeed, type Rng } from "../test/support/prng";
import { meanSe, type Population, pct, SIZE_MIXES, sizeFor } from "./lib/guard-models";
import { machineLine, numberOption, stringOption, writeReport } from "./lib/report";

const SEEDS = numberOption("seeds", 1000);
const CAL = numberOption("cal", 300);
const REF = numberOption("ref", 200_000);
const OUT = stringOption("out", "bench/results/abstention.md");
const ALPHAS = [0.05, 0.1];
const TRADEOFF = [0.01, 0.02, 0.05, 0.1, 0.2];
const P_ANSWERABLE = 0.7;
const P_REL = 0.15;
const MU = -0.8;
const GAP = 3;
const LEAD = 2.5;
const FLOOR = 0.5;

interface Scenario {
  readonly name: string;
  readonly pop: Population;
  readonly falseLead: boolean;
  readonly rounded: boolean;
  readonly cal: number;
}
const SCENARIOS: Scenario[] = [
  { name: "20 each", pop: { mix: SIZE_MIXES.fixed20, rho: 0, coupling: 0 }, falseLead: false, rounded: false, cal: CAL },
  { name: "20 each, false lead", pop: { mix: SIZE_MIXES.fixed20, rho: 0, coupling: 0 }, falseLead: true, rounded: false, cal: CAL },
  {
    name: "1-200 log-normal coupled, false lead",
    pop: { mix: SIZE_MIXES.logNormal200, rho: 0, coupling: 1 },
    falseLead: true,
    rounded: false,
    cal: CAL,
  },
  { name: "20 each, false lead, two decimals", pop: { mix: SIZE_MIXES.fixed20, rho: 0, coupling: 0 }, falseLead: true, rounded: true, cal: CAL },
  {
    name: "20 each, false lead, 30 calibration queries",
    pop: { mix: SIZE_MIXES.fixed20, rho: 0, coupling: 0 },
    falseLead: true,
    rounded: false,
    cal: 30,
  },
];

/** Q queries: flat scores, offsets and per-query answerability. */
function draw(rng: Rng, q: number, s: Scenario): { scores: Float64Array; offsets: Uint32Array; answerable: Uint8Array } {
  const out: number[] = [];
  const offsets = new Uint32Array(q + 1);
  const answerable = new Uint8Array(q);
  for (let i = 0; i < q; i++) {
    const z = rng.normal();
    const m = sizeFor(rng, s.pop, z);
    const ans = rng.next() < P_ANSWERABLE;
    answerable[i] = ans ? 1 : 0;
    const rel: number[] = [];
    for (let j = 0; j < m; j++) rel.push(ans && rng.next() < P_REL ? 1 : 0);
    if (ans && !rel.includes(1)) rel[Math.floor(rng.next() * m)] = 1;
    const lead = !ans && s.falseLead ? Math.floor(rng.next() * m) : -1;
    for (let j = 0; j < m; j++) {
      const x = 1 / (1 + Math.exp(-(MU + z + GAP * rel[j]! + (j === lead ? LEAD : 0) + rng.normal())));
      out.push(s.rounded ? Math.round(x * 100) / 100 : x);
    }
    offsets[i + 1] = out.length;
  }
  return { scores: Float64Array.from(out), offsets, answerable };
}

const t0 = Date.now();
const main: string[] = [
  "| scenario | alpha | fitted (refused: too few answerable) | mean answerable n | false abstention: mean % (± 2 se) | bound k/(n+1) mean % | seeds above alpha | fit's 95 % interval holds the truth | catch rate: mean % | catch interval holds the truth | fixed floor 0.5: false abstention / catch % | unlabelled rate fit: false abstention / catch % |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
];
const trade: string[] = [
  `| scenario | ${TRADEOFF.map((a) => `alpha ${a}: false abstention / catch %`).join(" | ")} |`,
  `| --- | ${TRADEOFF.map(() => "---:").join(" | ")} |`,
];
let allMet = true;
SCENARIOS.forEach((s, si) => {
  const ref = draw(createRng(deriveSeed(2100, si)), REF, s);
  const refTops = splitTops(topScores(ref.scores, ref.offsets), ref.answerable);
  const fa = (a: number): number => countBelow(refTops.answerable, a) / refTops.answerable.length;
  const caught = (a: number): number => countBelow(refTops.unanswerable, a) / refTops.unanswerable.length;
  const unansShare = refTops.unanswerable.length / (ref.offsets.length - 1);
  const acc = ALPHAS.map(() => ({
    fa: [] as number[],
    bound: [] as number[],
    n: [] as number[],
    above: 0,
    held: 0,
    cat: [] as number[],
    catHeld: 0,
    refused: 0,
  }));
  const tradeAcc = TRADEOFF.map(() => ({ fa: [] as number[], cat: [] as number[] }));
  const floorFa = fa(FLOOR);
  const floorCatch = caught(FLOOR);
  const rateFa: number[] = [];
  const rateCatch: number[] = [];
  for (let seed = 0; seed < SEEDS; seed++) {
    const cal = draw(createRng(deriveSeed(2101 + si, seed)), s.cal, s);
    const tops = topScores(cal.scores, cal.offsets);
    const split = splitTops(tops, cal.answerable);
    ALPHAS.forEach((alpha, ai) => {
      const a = acc[ai]!;
      const fit = fitFalseAbstention(split.answerable, alpha);
      if (fit.kind !== "fitted") {
        a.refused++;
        return;
      }
      const truth = fa(fit.abstainBelow);
      a.fa.push(truth);
      a.bound.push(fit.falseAbstentionBound);
      a.n.push(fit.n);
      if (truth > alpha) a.above++;
      if (fit.interval95[0] <= truth && truth <= fit.interval95[1]) a.held++;
      const c = catchRate(split.unanswerable, fit.abstainBelow);
      const trueCatch = caught(fit.abstainBelow);
      a.cat.push(trueCatch);
      if (c.interval95 !== null && c.interval95[0] <= trueCatch && trueCatch <= c.interval95[1]) a.catHeld++;
    });
    TRADEOFF.forEach((alpha, ti) => {
      const fit = fitFalseAbstention(split.answerable, alpha);
      if (fit.kind !== "fitted") return;
      tradeAcc[ti]!.fa.push(fa(fit.abstainBelow));
      tradeAcc[ti]!.cat.push(caught(fit.abstainBelow));
    });
    const rate = fitAbstentionRate(Float64Array.from(tops).sort(), unansShare);
    if (rate.kind === "fitted" && rate.abstainBelow !== null) {
      rateFa.push(fa(rate.abstainBelow));
      rateCatch.push(caught(rate.abstainBelow));
    }
  }
  ALPHAS.forEach((alpha, ai) => {
    const a = acc[ai]!;
    if (a.fa.length === 0) {
      main.push(`| ${s.name} | ${alpha} | 0 (${a.refused}) | | | | | | | | | |`);
      return;
    }
    const f = meanSe(a.fa);
    const met = f.mean - 2 * f.se <= alpha;
    allMet &&= met;
    main.push(
      `| ${s.name} | ${alpha} | ${a.fa.length} (${a.refused}) | ${meanSe(a.n).mean.toFixed(1)} | ${pct(f.mean)} ± ${pct(2 * f.se)} | ${pct(meanSe(a.bound).mean)} | ${pct(a.above / a.fa.length, 1)} % | ${pct(a.held / a.fa.length, 1)} % | ${pct(meanSe(a.cat).mean, 1)} | ${pct(a.catHeld / a.fa.length, 1)} % | ${pct(floorFa, 1)} / ${pct(floorCatch, 1)} | ${pct(meanSe(rateFa).mean, 1)} / ${pct(meanSe(rateCatch).mean, 1)} |`,
    );
  });
  trade.push(
    `| ${s.name} | ${tradeAcc.map((t) => (t.fa.length === 0 ? "refused" : `${pct(meanSe(t.fa).mean)} / ${pct(meanSe(t.cat).mean, 1)}`)).join(" | ")} |`,
  );
  console.error(`${s.name}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
const seconds = (Date.now() - t0) / 1000;
writeReport(OUT, [
  "# Certified abstention: false abstention against alpha, and the catch rate",
  "",
  `Command: \`npx esbuild bench/abstention-sim.ts ... && npx node node_modules/.cache/scoregate-bench/abstention-sim.mjs --seeds ${SEEDS} --cal ${CAL} --ref ${REF}\``,
  "",
  `Machine: ${machineLine()}. ${SEEDS} seeds per scenario (calibration deriveSeed(2101 + scenario, seed), reference deriveSeed(2100, scenario)), ${REF.toLocaleString("en-US")} reference queries, ${pct(P_ANSWERABLE, 0)} % answerable. Run time ${seconds.toFixed(0)} s. Mean false abstention at most alpha (within 2 se) in every row: ${allMet ? "yes" : "NO"}.`,
  "",
  ...main,
  "",
  "What a stricter promise costs (mean over the same seeds; refused: too few answerable queries in every seed):",
  "",
  ...trade,
]);
