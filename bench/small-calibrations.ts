/**
 * Calibration margins where a normal approximation fails: small calibrations at extreme targets (the drop-rate band),
 * small labelled calibrations (recall_drift's band), and recall gates on tied scores. Exact Beta computations where
 * simulation cannot resolve 0.1 %, and seeded end-to-end runs beside them.
 *
 * 1. Drop-rate margin, exact: for a gate x_(k) on n continuous exchangeable scores the true drop rate is
 *    Beta(k, n+1-k); P(it lies outside the band) is computed exactly (P(Beta(k, n+1-k) <= x) = P(Bin(n, x) >= k)) for
 *    the band before (centre F_n(t-) +- max(tolerance, z_{1-a'/4} sd), normal) and ours (src/stats/drift-bands.ts). Budget
 *    a'/2, a' = 0.001 (drop rate tested alone) or 0.0005 (with empty context).
 * 2. Drop-rate monitor end to end: per run the gate's true rate is drawn from that exact law, production brings
 *    QUERIES queries of 20 independent candidates (dropped ~ Binomial(20, true rate)) in batches of 100 to the change
 *    detector, evaluated after every batch; runs with a false drop_rate_drift alarm (E2E_RUNS = RUNS / 2 a row: the
 *    detector is the costly part).
 * 3. recall_drift's margin, exact: the achieved miss rate of a rank-rule gate is Beta(k, n+1-k); P(it exceeds the
 *    band's edge), before (1 - bound + max(tolerance, z_{1-alpha/2} sd)) and ours (src/stats/coverage-test.ts), and
 *    whether ours is armed. End to end: the true coverage drawn from its law, JUDGED judged queries, tested every 10.
 * 4. Recall gates on tied scores (a reranker with one decimal): the true coverage of the fitted any_relevant gate
 *    against its reported interval and companion, before (rank-based) and ours (tie-aware); recall_drift's false
 *    alarms at the true coverage and its detection of a 10-point fall, before and ours.
 *
 *   npx esbuild bench/small-calibrations.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/small-calibrations.mjs && npx node node_modules/.cache/scoregate-bench/small-calibrations.mjs
 * Options: --runs N (end-to-end runs a row, default 2000), --queries N (default 20000), --judged N (default 10000),
 * --out PATH (default bench/results/small-calibrations.md).
 */
import { calibrationExpectation } from "../src/calibrations/expectation";
import { coverageMargin, coveragePrior, evaluateCoverage } from "../src/stats/coverage-test";
import { driftBands } from "../src/stats/drift-bands";
import { DEFAULT_DRIFT_CONFIG } from "../src/stats/drift-config";
import { evaluateDetector, observeDetector } from "../src/stats/drift-detector";
import { newDetector } from "../src/stats/e-detector";
import { conformalRank } from "../src/stats/gate-fit";
import { type Band, logEvidence } from "../src/stats/mixture-test";
import { coverageInterval, fitRecallGate, type LabelledQueries, recallRank } from "../src/stats/recall-gate";
import { betaInv, binomCdf, zCdf, zInv } from "../src/stats/special";
import { createRng, deriveSeed } from "../test/support/prng";
import { machineLine, numberOption, stringOption, upperBound95, writeReport } from "./lib/report";

const RUNS = numberOption("runs", 2000);
const QUERIES = numberOption("queries", 20_000);
const JUDGED = numberOption("judged", 10_000);
const E2E_RUNS = Math.max(1, Math.floor(RUNS / 2));
const OUT = stringOption("out", "bench/results/small-calibrations.md");
const ALPHA = DEFAULT_DRIFT_CONFIG.alpha;
const TOL = 0.02;

/** P(Beta(k, n+1-k) <= x) = P(Binomial(n, x) >= k). */
const lawCdf = (x: number, k: number, n: number): number => (x <= 0 ? 0 : x >= 1 ? 1 : 1 - binomCdf(k - 1, n, x));
const fmtP = (p: number): string => (p === 0 ? "0" : p < 1e-4 ? p.toExponential(1) : `${(100 * p).toFixed(p < 0.001 ? 3 : 2)} %`);
const count = (x: number, n: number): string => `${x} of ${n.toLocaleString("en-US")} (<= ${(100 * upperBound95(x, n)).toFixed(2)} %)`;

/** The band before: centre +- max(tolerance, z sd), sd from the centre at n. */
function normalBand(centre: number, n: number, z: number): Band {
  const half = Math.max(TOL, z * Math.sqrt((centre * (1 - centre)) / n));
  return { lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

const lines: string[] = [];
const t0 = Date.now();
const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(0)} s`;
lines.push("# Calibration margins for small calibrations, extreme targets and tied recall gates", "");
lines.push(
  `Command: \`npx esbuild bench/small-calibrations.ts ... && npx node node_modules/.cache/scoregate-bench/small-calibrations.mjs --runs ${RUNS} --queries ${QUERIES} --judged ${JUDGED}\``,
  "",
  `Machine: ${machineLine()}. alpha ${ALPHA}, tolerance ${TOL}. End-to-end counts carry a one-sided 95 % Clopper-Pearson bound.`,
  "",
  "## 1. Drop-rate band: P(the gate's true rate lies outside it), exact",
  "",
  "| n | d | k | a' | budget a'/2 | before (normal, centred at F_n(t-)) | ours (exact Beta) | ours armed |",
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
);
const CASES: [number, number][] = [
  [100, 0.01],
  [200, 0.01],
  [300, 0.01],
  [1000, 0.01],
  [100, 0.99],
  [200, 0.99],
  [1000, 0.99],
  [50, 0.5],
];
for (const [n, d] of CASES) {
  const k = conformalRank(n, d);
  for (const a of [ALPHA, ALPHA / 2]) {
    const before = normalBand((k - 1) / n, n, zInv(1 - a / 4));
    const cal = calibrationExpectation({ n, expected_drop_rate: (k - 1) / n, k, ties_at_threshold: 1, empty_context_rate: null, n_queries: null });
    const bands = driftBands(cal, { ...DEFAULT_DRIFT_CONFIG, alpha: a }, 1);
    const miss = (b: Band): number => lawCdf(b.lo - 1e-15, k, n) + 1 - lawCdf(b.hi, k, n);
    lines.push(`| ${n} | ${d} | ${k} | ${a} | ${fmtP(a / 2)} | ${fmtP(miss(before))} | ${fmtP(miss(bands.dropRate))} | ${bands.dropRateArmable} |`);
  }
}

lines.push(
  "",
  `## 2. Drop-rate monitor end to end: runs with a false drop_rate_drift alarm in ${QUERIES.toLocaleString("en-US")} queries`,
  "",
  "| n | d | runs | ours | before: expected from section 1 |",
  "| --- | --- | --- | --- | --- |",
);
[
  [100, 0.01],
  [200, 0.01],
  [200, 0.99],
].forEach(([n, d], row) => {
  const k = conformalRank(n!, d!);
  const cal = calibrationExpectation({ n: n!, expected_drop_rate: (k - 1) / n!, k, ties_at_threshold: 1, empty_context_rate: null, n_queries: null });
  let alarms = 0;
  for (let run = 0; run < E2E_RUNS; run++) {
    const rng = createRng(deriveSeed(560 + row, run));
    const p = rng.beta(k, n! + 1 - k);
    let det = newDetector();
    for (let q = 0; q < QUERIES; q += 100) {
      const batch = Array.from({ length: 100 }, () => [20, rng.binomial(20, p)] as [number, number]);
      det = observeDetector(det, batch, q, cal, DEFAULT_DRIFT_CONFIG);
      if (evaluateDetector(det, cal, DEFAULT_DRIFT_CONFIG).dropRate.alarm) {
        alarms++;
        break;
      }
    }
  }
  const beforeMiss = (() => {
    const b = normalBand((k - 1) / n!, n!, zInv(1 - ALPHA / 4));
    return lawCdf(b.lo - 1e-15, k, n!) + 1 - lawCdf(b.hi, k, n!);
  })();
  lines.push(`| ${n} | ${d} | ${E2E_RUNS} | ${count(alarms, E2E_RUNS)} | at least ${fmtP(beforeMiss)} |`);
  console.error(`drop-rate e2e n ${n} d ${d}: ${elapsed()}`);
});

lines.push(
  "",
  "## 3. recall_drift's band: P(the gate's true coverage lies below the tolerated edge), exact, and end to end",
  "",
  `| n | r | k | before (normal) | ours (exact Beta) | ours armed | end to end, true coverage drawn from its law: ours | before |`,
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
);
const RECALL: [number, number][] = [
  [20, 0.9],
  [30, 0.9],
  [50, 0.95],
  [100, 0.95],
  [300, 0.9],
  [1000, 0.9],
  [3000, 0.9],
  [1000, 0.99],
];
RECALL.forEach(([n, r], row) => {
  const k = recallRank(n, 1 - r);
  const bound = 1 - k / (n + 1);
  const a = n + 1 - k;
  const sd = Math.sqrt((a * k) / ((n + 1) ** 2 * (n + 2)));
  const beforeHi = Math.min(1, 1 - bound + Math.max(TOL, zInv(1 - ALPHA / 2) * sd));
  const c = { bound, n, missMass: k };
  const ours = coverageMargin(c, TOL, ALPHA);
  // The miss rate is Beta(k, n+1-k): P(miss > hi) = P(Bin(n, hi) < k).
  const beyond = (hi: number): number => binomCdf(k - 1, n, hi);
  let oursAlarms = 0;
  let beforeAlarms = 0;
  const beforeBand: Band = { lo: 0, hi: beforeHi };
  const beforePrior = coveragePrior(beforeBand);
  for (let run = 0; run < RUNS; run++) {
    const rng = createRng(deriveSeed(580 + row, run));
    const miss = rng.beta(k, n + 1 - k);
    let covered = 0;
    let oursDone = false;
    let beforeDone = false;
    for (let q = 1; q <= JUDGED && !(oursDone && beforeDone); q++) {
      if (rng.next() >= miss) covered++;
      if (q % 10 !== 0) continue;
      if (!oursDone && evaluateCoverage(covered, q, c, TOL, ALPHA, null).alarm) {
        oursAlarms++;
        oursDone = true;
      }
      if (!beforeDone && logEvidence(q - covered, covered, beforeBand, beforePrior) >= Math.log(2 / ALPHA)) {
        beforeAlarms++;
        beforeDone = true;
      }
    }
  }
  lines.push(
    `| ${n} | ${r} | ${k} | ${fmtP(beyond(beforeHi))} | ${fmtP(beyond(ours.band.hi))} | ${ours.armable} | ${count(oursAlarms, RUNS)} | ${count(beforeAlarms, RUNS)} |`,
  );
  console.error(`recall n ${n} r ${r}: ${elapsed()}`);
});

// 4. Ties: one relevant candidate per query scoring round(sigmoid(z + 1), 1); true coverage of t on the 0.1 grid is
// 1 - Phi(logit(t - 0.05) - 1).
const trueCoverage = (t: number): number => (t <= 0.05 ? 1 : 1 - zCdf(Math.log((t - 0.05) / (1.05 - t)) - 1));
function tiedCalibration(seed: number, n: number): LabelledQueries {
  const rng = createRng(seed);
  const scores = new Float64Array(5 * n);
  const relevant = new Uint8Array(5 * n);
  const offsets = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const rel = Math.round(10 / (1 + Math.exp(-(rng.normal() + 1)))) / 10;
    scores[5 * i] = rel;
    relevant[5 * i] = 1;
    for (let j = 1; j < 5; j++) scores[5 * i + j] = rel * rng.next();
    offsets[i + 1] = 5 * (i + 1);
  }
  return { scores, relevant, offsets };
}
lines.push(
  "",
  "## 4. Recall gates on tied scores (any_relevant, r = 0.9, scores with one decimal)",
  "",
  "| n | seeds | true coverage (mean) | reported centre: ours / before (bound) | interval holds the truth: ours / before | companion >= truth: ours / before | recall_drift false alarms at the truth: ours / before | a 10-point fall detected in " +
    `${JUDGED.toLocaleString("en-US")}: ours / before |`,
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
);
[100, 300, 1000].forEach((n, row) => {
  const seeds = Math.min(RUNS, 1000);
  let truthSum = 0;
  let centreOurs = 0;
  let centreBefore = 0;
  let inOurs = 0;
  let inBefore = 0;
  let upOurs = 0;
  let upBefore = 0;
  let faOurs = 0;
  let faBefore = 0;
  let detOurs = 0;
  let detBefore = 0;
  for (let s = 0; s < seeds; s++) {
    const fit = fitRecallGate(tiedCalibration(deriveSeed(600 + row, s), n), 0.9, "any_relevant");
    if (fit.kind !== "fitted") throw new Error("expected a fit");
    const truth = trueCoverage(fit.threshold);
    truthSum += truth / seeds;
    centreOurs += fit.expectedCoverage / seeds;
    centreBefore += fit.coverageBound / seeds;
    const [lo, hi] = coverageInterval(fit);
    if (lo <= truth && truth <= hi) inOurs++;
    const bLo = betaInv(0.025, n + 1 - fit.k, fit.k);
    const bHi = betaInv(0.975, n + 1 - fit.k, fit.k);
    if (bLo <= truth && truth <= bHi) inBefore++;
    if (truth <= fit.coverageUpper) upOurs++;
    if (truth <= Math.min(1, fit.coverageBound + 1 / (n + 1))) upBefore++;
    const c = { bound: fit.coverageBound, n, missMass: fit.k, below: fit.below, ties: fit.ties };
    const sdB = Math.sqrt(((n + 1 - fit.k) * fit.k) / ((n + 1) ** 2 * (n + 2)));
    const beforeBand: Band = { lo: 0, hi: Math.min(1, 1 - fit.coverageBound + Math.max(TOL, zInv(1 - ALPHA / 2) * sdB)) };
    const beforePrior = coveragePrior(beforeBand);
    for (const [level, fall] of [
      [truth, false],
      [truth - 0.1, true],
    ] as const) {
      const rng = createRng(deriveSeed(620 + row, 2 * s + (fall ? 1 : 0)));
      let covered = 0;
      let o = false;
      let b = false;
      for (let q = 1; q <= JUDGED && !(o && b); q++) {
        if (rng.next() < level) covered++;
        if (q % 10 !== 0) continue;
        if (!o && evaluateCoverage(covered, q, c, TOL, ALPHA, null).alarm) o = true;
        if (!b && logEvidence(q - covered, covered, beforeBand, beforePrior) >= Math.log(2 / ALPHA)) b = true;
      }
      if (fall) {
        detOurs += o ? 1 : 0;
        detBefore += b ? 1 : 0;
      } else {
        faOurs += o ? 1 : 0;
        faBefore += b ? 1 : 0;
      }
    }
  }
  const pc = (x: number): string => `${((100 * x) / seeds).toFixed(1)} %`;
  lines.push(
    `| ${n} | ${seeds} | ${(100 * truthSum).toFixed(2)} % | ${(100 * centreOurs).toFixed(2)} % / ${(100 * centreBefore).toFixed(2)} % | ${pc(inOurs)} / ${pc(inBefore)} | ${pc(upOurs)} / ${pc(upBefore)} | ${count(faOurs, seeds)} / ${count(faBefore, seeds)} | ${pc(detOurs)} / ${pc(detBefore)} |`,
  );
  console.error(`ties n ${n}: ${elapsed()}`);
});
lines.push("", `Run time ${elapsed()}.`);
writeReport(OUT, lines);
