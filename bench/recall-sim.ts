/**
 * Seeded simulation of label-aware (recall) gates: coverage against known ground truth, and the detection delay of
 * the production coverage test (recall_drift).
 *
 * Model: a query has M = 20 candidates, each relevant with probability 0.15 (at least one per query); a candidate's
 * reranker score is sigmoid(u_q + gap * relevant + e), u_q ~ N(mu, 1) a per-query effect (candidates of a query move
 * together), e ~ N(0, 1). Version v1: mu = 0, gap = 2. The upgrade (v2) moves both distributions: mu = -0.8 (every
 * score falls) and gap = 1.5 (relevant and irrelevant move closer).
 *
 * Coverage, per seed: n labelled v1 queries and n labelled v2 queries are drawn; then
 *  - recall gate (ours): fitted on the v2 labels for each coverage notion and target;
 *  - fixed 0.4 cutoff: keep iff score >= 0.4 on v2;
 *  - carried drop rate: the v1 recall gate's in-sample drop rate carried to v2 (quantile mapping, carry.ts), what a
 *    team without v2 labels gets;
 * and each gate's true coverage on v2 is measured on TEST fresh v2 queries (Monte Carlo ground truth). The recall gate
 * must average at least the target and at most target + 1/(n+1) (any/all) or + 2/(n+1) (candidates), up to the
 * Monte Carlo error printed with it.
 *
 * Detection: the coverage test (stats/coverage-test.ts, alpha 0.001, tolerance 0.02) of a calibration with n
 * labelled queries at target 0.9 (bound 1 - k/(n+1)); judged queries arrive in batches of 10 with coverage 0.9 (null)
 * or 0.8 (after a fall at query 0); delay = judged queries until the alarm.
 *
 * Run from the repository root (bundled like drift-sim.ts; `npm run bench:recall` runs exactly this):
 *   npx esbuild bench/recall-sim.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/recall-sim.mjs && npx node node_modules/.cache/scoregate-bench/recall-sim.mjs
 * Options: --seeds N (default 1000), --test N (fresh queries per seed, default 2000), --n N (labelled queries,
 * default 300), --runs N (detection runs, default 500), --out PATH (default bench/results/recall.md).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, platform, release } from "node:os";
import { dirname } from "node:path";
import { evaluateCoverage } from "../src/stats/coverage-test";
import { fitGate } from "../src/stats/gate-fit";
import { countBelow, sortedCopy } from "../src/stats/order-statistics";
import { type CoverageNotion, coverageAt, fitRecallGate, type LabelledQueries } from "../src/stats/recall-gate";
import { createRng, deriveSeed, type Rng } from "../test/support/prng";

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const SEEDS = arg("seeds", 1000);
const TEST = arg("test", 2000);
const N = arg("n", 300);
const RUNS = arg("runs", 500);
const outIdx = process.argv.indexOf("--out");
const OUT = outIdx >= 0 ? process.argv[outIdx + 1]! : "bench/results/recall.md";

const M = 20;
const P_REL = 0.15;
const V1 = { mu: 0, gap: 2 };
const V2 = { mu: -0.8, gap: 1.5 };
const TARGETS = [0.8, 0.9, 0.95];
const NOTIONS: CoverageNotion[] = ["any_relevant", "all_relevant", "candidates"];

function draw(rng: Rng, q: number, v: { mu: number; gap: number }): LabelledQueries {
  const scores = new Float64Array(q * M);
  const relevant = new Uint8Array(q * M);
  const offsets = new Uint32Array(q + 1);
  for (let i = 0; i < q; i++) {
    const u = v.mu + rng.normal();
    let any = false;
    for (let j = 0; j < M; j++) {
      const r = rng.next() < P_REL ? 1 : 0;
      relevant[i * M + j] = r;
      if (r) any = true;
    }
    if (!any) relevant[i * M + Math.floor(rng.next() * M)] = 1;
    for (let j = 0; j < M; j++) scores[i * M + j] = 1 / (1 + Math.exp(-(u + v.gap * relevant[i * M + j]! + rng.normal())));
    offsets[i + 1] = (i + 1) * M;
  }
  return { scores, relevant, offsets };
}

interface Acc {
  sum: number;
  sumSq: number;
  below: number;
  n: number;
}
const acc = (): Acc => ({ sum: 0, sumSq: 0, below: 0, n: 0 });
const add = (a: Acc, x: number, target: number): void => {
  a.sum += x;
  a.sumSq += x * x;
  a.n++;
  if (x < target) a.below++;
};
const mean = (a: Acc): number => a.sum / a.n;
const se = (a: Acc): number => Math.sqrt((a.sumSq / a.n - mean(a) ** 2) / a.n);

function coverageSimulation(): string {
  const keys = (m: string, notion: CoverageNotion, t: number): string => `${m}|${notion}|${t}`;
  const res = new Map<string, Acc>();
  const get = (k: string): Acc => {
    const found = res.get(k);
    if (found) return found;
    const a = acc();
    res.set(k, a);
    return a;
  };
  const started = Date.now();
  for (let seed = 0; seed < SEEDS; seed++) {
    const rng = createRng(deriveSeed(1101, seed));
    const cal1 = draw(rng, N, V1);
    const cal2 = draw(rng, N, V2);
    const test = draw(rng, TEST, V2);
    const sorted1 = sortedCopy(cal1.scores);
    const sorted2 = sortedCopy(cal2.scores);
    for (const notion of NOTIONS) {
      const fixed = coverageAt(test, 0.4, notion)!;
      for (const t of TARGETS) {
        add(get(keys("fixed", notion, t)), fixed, t);
        const f2 = fitRecallGate(cal2, t, notion);
        if (f2.kind !== "fitted") throw new Error("too few queries");
        add(get(keys("recall", notion, t)), coverageAt(test, f2.threshold, notion)!, t);
        // Carried: the v1 recall gate's drop rate on v1, refitted as a drop-rate gate on v2's scores.
        const f1 = fitRecallGate(cal1, t, notion);
        if (f1.kind !== "fitted") throw new Error("too few queries");
        const d = countBelow(sorted1, f1.threshold) / sorted1.length;
        const g = fitGate(sorted2, d);
        const carriedT = g.kind === "fitted" ? g.threshold : null;
        add(get(keys("carried", notion, t)), coverageAt(test, carriedT, notion)!, t);
      }
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const pct = (x: number): string => (100 * x).toFixed(2);
  const lines: string[] = [];
  lines.push(`### Coverage on v2 (${SEEDS} seeds, n = ${N} labelled queries a version, ${TEST} fresh test queries a seed; ${seconds.toFixed(0)} s)`);
  lines.push("");
  lines.push(
    "| notion | target | recall gate: mean coverage % (± 2 se) | allowed range % | meets | seeds below target | fixed 0.4: mean % | carried drop rate: mean % |",
  );
  lines.push("| --- | ---: | ---: | ---: | :---: | ---: | ---: | ---: |");
  let allMet = true;
  for (const notion of NOTIONS) {
    for (const t of TARGETS) {
      const r = get(keys("recall", notion, t));
      const upper = t + (notion === "candidates" ? 2 : 1) / (N + 1);
      const m = mean(r);
      const e = 2 * se(r);
      // Meets: the mean is at least the target and at most the upper companion, within twice its standard error.
      const met = m + e >= t && m - e <= upper;
      allMet &&= met;
      lines.push(
        `| ${notion} | ${t} | ${pct(m)} ± ${pct(e)} | ${pct(t)}..${pct(upper)} | ${met ? "yes" : "NO"} | ${pct(r.below / r.n)} % | ${pct(mean(get(keys("fixed", notion, t))))} | ${pct(mean(get(keys("carried", notion, t))))} |`,
      );
    }
  }
  lines.push("");
  lines.push(`All recall-gate rows within the guarantee: **${allMet ? "yes" : "NO"}**.`);
  return lines.join("\n");
}

function detection(): string {
  const lines: string[] = [];
  lines.push(`### Detection of a coverage fall 0.9 -> 0.8 (recall_drift; ${RUNS} runs each, batches of 10 judged queries)`);
  lines.push("");
  lines.push(
    "| calibration n | bound | tolerated down to | false alarms at 0.9 within 10,000 queries | delay 0.9 -> 0.8: median | p90 | max | not detected in 10,000 |",
  );
  lines.push("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  const HORIZON = 10_000;
  for (const n of [300, 1000, 3000]) {
    const k = Math.floor((n + 1) * 0.1 + 1e-9);
    const cal = { bound: 1 - k / (n + 1), n, missMass: k };
    const run = (cov: number, seedBase: number, r: number): number | null => {
      const rng = createRng(deriveSeed(seedBase + n, r));
      let covered = 0;
      for (let q = 1; q <= HORIZON; q++) {
        if (rng.next() < cov) covered++;
        if (q % 10 === 0 && evaluateCoverage(covered, q, cal, 0.02, 0.001, null).alarm) return q;
      }
      return null;
    };
    let falseAlarms = 0;
    const nullRuns = Math.min(RUNS, 200);
    for (let r = 0; r < nullRuns; r++) if (run(0.9, 2201, r) !== null) falseAlarms++;
    const delays: number[] = [];
    let missed = 0;
    for (let r = 0; r < RUNS; r++) {
      const d = run(0.8, 3301, r);
      if (d === null) missed++;
      else delays.push(d);
    }
    delays.sort((a, b) => a - b);
    const q = (p: number): number => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))]!;
    const tolerated = evaluateCoverage(0, 0, cal, 0.02, 0.001, null).tolerated;
    lines.push(
      `| ${n} | ${(100 * cal.bound).toFixed(2)} % | ${(100 * tolerated).toFixed(2)} % | ${falseAlarms} of ${nullRuns} | ${q(0.5)} | ${q(0.9)} | ${delays[delays.length - 1]} | ${missed} of ${RUNS} |`,
    );
  }
  return lines.join("\n");
}

const header = `## Recall gates (bench/recall-sim.ts)\n\nMachine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${platform()} ${release()}, Node ${process.version}.\nModel: ${M} candidates a query, P(relevant) = ${P_REL}; v1 mu = ${V1.mu}, gap = ${V1.gap}; v2 mu = ${V2.mu}, gap = ${V2.gap}.\n`;
const body = [header, coverageSimulation(), "", detection(), ""].join("\n");
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, body);
console.log(body);
