/**
 * A guarded calibration's live target in simulation: a promotion step's vs_target decision (src/promotions/arm-evidence.ts
 * stepEvidence, the target for the arm's own query sizes: src/monitoring/live-decision.ts targetSide,
 * src/stats/conditioned-rates.ts conditionedTarget) beside the decision on the same counts against the calibration's
 * pooled in-sample rate (the target before it was taken for the arm's sizes).
 *
 * Model (as test/promotions/live-target.test.ts): a query of m candidates scores base + N(0, 1) each, base ~ N(0, 1) a
 * per-query effect (rho 0.5). Each seed fits three calibrations through calibrate() on CAL_QUERIES queries of 3 to 40
 * candidates: min_keep 3 at 40 % dropped, max_keep 25 at 45 %, min_keep 2 with max_keep 10 at 70 % (the cap alone drops 57 % of these). Production queries
 * are gated with decideQuery (the rule every client applies) with the calibration's guards and counted as the monitor
 * counts an arm (addObservation with the guards); the decisions are read after every batch of BATCH queries up to
 * --queries. No-change cases draw production scores from the calibration's model; change cases lower every score.
 *
 *   npx esbuild bench/guarded-target.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/guarded-target.mjs && npx node node_modules/.cache/scoregate-bench/guarded-target.mjs
 * Options: --seeds N (default 200), --queries N (live queries a run, default 4000), --out PATH (default
 * bench/results/guarded-target.md).
 */
import { calibrate } from "../src/calibrations/calibrate";
import { expectationOf } from "../src/calibrations/expectation";
import { CalibrationMeta, type PromotionPlan, type StoredCalibration } from "../src/contract";
import { LIVE_SHIFT_ALPHA, liveDecision, liveSide, targetSide } from "../src/monitoring/live-decision";
import { stepEvidence } from "../src/promotions/arm-evidence";
import { decideQuery } from "../src/stats/guard-rule";
import { addObservation, emptyClusterSums, flattenQueries } from "../src/stats/per-query";
import { memoryDeps } from "../test/support/memory-deps";
import { createRng, deriveSeed, type Rng } from "../test/support/prng";
import { quantile } from "./lib/promotion-sim";
import { clopperPearson, machineLine, numberOption, stringOption, upperBound95, writeReport } from "./lib/report";

const SEEDS = numberOption("seeds", 200);
const QUERIES = numberOption("queries", 4000);
const OUT = stringOption("out", "bench/results/guarded-target.md");
const CAL_QUERIES = 4000;
const BATCH = 100;
const NOW = Date.UTC(2026, 11, 5, 10, 0, 0);
const GATE = { index: "docs", embedding: "e5@v1", reranker: "bge@v2" };
const PLAN: PromotionPlan = { steps: [10, 50, 100], min_queries: 2000, on_regression: "rollback", tolerance: 0.02, max_step_hours: 72 };

const uniform = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng.next() * (hi - lo + 1));
function query(rng: Rng, m: number, shift = 0): number[] {
  const base = rng.normal() + shift;
  return Array.from({ length: m }, () => base + rng.normal());
}

const POLICIES = {
  min3: { kind: "drop_rate", target: 0.4, min_keep: 3 },
  max25: { kind: "drop_rate", target: 0.45, max_keep: 25 },
  min2max10: { kind: "drop_rate", target: 0.7, min_keep: 2, max_keep: 10 },
} as const;
type PolicyName = keyof typeof POLICIES;

async function fitted(policy: PolicyName, seed: number): Promise<StoredCalibration> {
  const rng = createRng(seed);
  const qs = Array.from({ length: CAL_QUERIES }, () => query(rng, uniform(rng, 3, 40)));
  const meta = CalibrationMeta.parse({ ...GATE, index_version: "v2", policy: POLICIES[policy] });
  return (await calibrate({ meta, ...flattenQueries(qs) }, "bench", memoryDeps({ startMs: NOW }).deps)).calibration;
}

interface Case {
  readonly label: string;
  readonly policy: PolicyName;
  readonly sizes: string;
  readonly size: (rng: Rng) => number;
  readonly shift: number;
}
const short = (rng: Rng): number => uniform(rng, 3, 6);
const same = (rng: Rng): number => uniform(rng, 3, 40);
const long = (rng: Rng): number => uniform(rng, 30, 40);
const mixed = (rng: Rng): number => (rng.next() < 0.5 ? uniform(rng, 2, 8) : uniform(rng, 20, 40));
const CASES: readonly Case[] = [
  { label: "(a) min_keep 3", policy: "min3", sizes: "3-6", size: short, shift: 0 },
  { label: "(b) min_keep 3", policy: "min3", sizes: "3-40 (as calibrated)", size: same, shift: 0 },
  { label: "(c) min_keep 3", policy: "min3", sizes: "30-40", size: long, shift: 0 },
  { label: "(d) max_keep 25", policy: "max25", sizes: "30-40", size: long, shift: 0 },
  { label: "(e) min_keep 2, max_keep 10", policy: "min2max10", sizes: "half 2-8, half 20-40", size: mixed, shift: 0 },
  { label: "(a) min_keep 3", policy: "min3", sizes: "3-6", size: short, shift: -0.5 },
  { label: "(a) min_keep 3", policy: "min3", sizes: "3-6", size: short, shift: -1 },
  { label: "(d) max_keep 25", policy: "max25", sizes: "30-40", size: long, shift: -0.5 },
  { label: "(d) max_keep 25", policy: "max25", sizes: "30-40", size: long, shift: -1 },
];

interface Run {
  /** Live queries at the first `shifted`, null when none within the run. */
  readonly firstNew: number | null;
  readonly firstPooled: number | null;
  readonly liveRate: number;
  readonly newTarget: number;
  readonly pooledTarget: number;
  /** The targets' effective sizes (candidates): the new one's from its per-stratum variance. */
  readonly newEffective: number;
  readonly pooledEffective: number;
}

function serve(c: StoredCalibration, seed: number, k: Case): Run {
  const rng = createRng(seed);
  const guards = { minKeep: c.guards?.min_keep ?? 0, maxKeep: c.guards?.max_keep ?? null };
  const policy = { threshold: c.threshold, ...guards, abstainBelow: null };
  const sums = emptyClusterSums();
  const arm = { since: NOW, sums, guards: { min_keep: guards.minKeep, max_keep: guards.maxKeep } };
  const e = expectationOf(c);
  const pooled = targetSide(e);
  let firstNew: number | null = null;
  let firstPooled: number | null = null;
  for (let served = 0; served < QUERIES; ) {
    for (let i = 0; i < BATCH; i++, served++) {
      const d = decideQuery(query(rng, k.size(rng), k.shift), policy);
      addObservation(sums, [d.kept.length, d.dropped, d.below], guards);
    }
    const { view } = stepEvidence({ step: 0, plan: PLAN }, { candidate: arm, control: null }, c);
    if (firstNew === null && view.vs_target.decision === "shifted") firstNew = served;
    if (firstPooled === null && liveDecision(pooled, liveSide(sums), PLAN.tolerance, PLAN.min_queries).decision === "shifted") firstPooled = served;
  }
  const conditioned = targetSide(e, arm);
  return {
    firstNew,
    firstPooled,
    liveRate: sums.dropped / sums.candidates,
    newTarget: conditioned.rate,
    pooledTarget: pooled.rate,
    newEffective: conditioned.effectiveSize,
    pooledEffective: pooled.effectiveSize,
  };
}

const pct = (x: number, n: number): string => `${((100 * x) / n).toFixed(1)} %`;
const ci = (x: number, n: number): string => {
  const [lo, hi] = clopperPearson(x, n);
  return `${(100 * lo).toFixed(1)}-${(100 * hi).toFixed(1)}`;
};
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const points = (x: number): string => (100 * x).toFixed(1);

const t0 = Date.now();
const runs: Run[][] = CASES.map(() => []);
for (let s = 0; s < SEEDS; s++) {
  const cals = new Map<PolicyName, StoredCalibration>();
  for (const p of Object.keys(POLICIES) as PolicyName[]) cals.set(p, await fitted(p, deriveSeed(3600, s)));
  CASES.forEach((k, i) => {
    runs[i]!.push(serve(cals.get(k.policy)!, deriveSeed(3610 + i, s), k));
  });
}
const seconds = (Date.now() - t0) / 1000;

const lines: string[] = [];
lines.push("# A guarded calibration's live target: the arm's own query sizes against the pooled rate", "");
lines.push(
  `Command: \`npx esbuild bench/guarded-target.ts ... && npx node node_modules/.cache/scoregate-bench/guarded-target.mjs --seeds ${SEEDS} --queries ${QUERIES}\``,
  "",
  `Machine: ${machineLine()}. Calibrations of ${CAL_QUERIES.toLocaleString("en-US")} queries of 3 to 40 candidates (rho 0.5) through calibrate(); ${QUERIES.toLocaleString("en-US")} live queries a run, decisions read every ${BATCH}; plan min_queries ${PLAN.min_queries}, tolerance ${PLAN.tolerance}; LIVE_SHIFT_ALPHA ${LIVE_SHIFT_ALPHA}. Calibration seeds deriveSeed(3600, seed), live deriveSeed(3610 + case, seed).`,
  "",
  "No change (scores from the calibration's model): runs reading `shifted` within the run.",
  "",
  "| case | production sizes | seeds | live rate / new target / pooled target (mean, %) | target's effective candidates, new / pooled (mean) | false shifted, new target (95 % CI) | false shifted, pooled target (95 % CI) | 95 % upper bound, new |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
);
CASES.forEach((k, i) => {
  if (k.shift !== 0) return;
  const r = runs[i]!;
  const n = r.length;
  const fn = r.filter((x) => x.firstNew !== null).length;
  const fp = r.filter((x) => x.firstPooled !== null).length;
  lines.push(
    `| ${k.label} | ${k.sizes} | ${n} | ${points(mean(r.map((x) => x.liveRate)))} / ${points(mean(r.map((x) => x.newTarget)))} / ${points(mean(r.map((x) => x.pooledTarget)))} | ${Math.round(mean(r.map((x) => x.newEffective))).toLocaleString("en-US")} / ${Math.round(mean(r.map((x) => x.pooledEffective))).toLocaleString("en-US")} | ${fn} (${pct(fn, n)}; ${ci(fn, n)}) | ${fp} (${pct(fp, n)}; ${ci(fp, n)}) | ${(100 * upperBound95(fn, n)).toFixed(2)} % |`,
  );
});
lines.push(
  "",
  "Change (every score lowered): runs reading `shifted` within the run, and the live queries at the first `shifted` of those that did.",
  "",
  "| case | production sizes | score shift | seeds | live rate / new target / pooled target (mean, %) | detected, new | detected, pooled | median queries to detection, new / pooled |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
);
CASES.forEach((k, i) => {
  if (k.shift === 0) return;
  const r = runs[i]!;
  const n = r.length;
  const dn = r.flatMap((x) => (x.firstNew === null ? [] : [x.firstNew]));
  const dp = r.flatMap((x) => (x.firstPooled === null ? [] : [x.firstPooled]));
  const med = (xs: number[]): string => (xs.length ? quantile(xs, 0.5).toLocaleString("en-US") : "-");
  lines.push(
    `| ${k.label} | ${k.sizes} | ${k.shift} | ${n} | ${points(mean(r.map((x) => x.liveRate)))} / ${points(mean(r.map((x) => x.newTarget)))} / ${points(mean(r.map((x) => x.pooledTarget)))} | ${pct(dn.length, n)} | ${pct(dp.length, n)} | ${med(dn)} / ${med(dp)} |`,
  );
});
lines.push("", `Wall time ${seconds.toFixed(0)} s.`);
writeReport(OUT, lines);
