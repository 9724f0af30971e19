/**
 * Seeded simulation of the production drift monitor (src/stats/drift.ts) against two baselines.
 *
 * Model (docs/drift.md): queries of M candidates; each query draws its own drop
 * probability p_q ~ Beta(mean p, ICC rho), then Binomial(M, p_q) drops. The calibration's expected rate is itself an
 * estimate: p0hat = Binomial(nCal, 0.30) / nCal. Every method is evaluated after EVERY batch of BATCH queries
 * (peeking) up to HORIZON queries, one monitoring window.
 *
 * Methods, all fed the same simulated queries (common random numbers):
 *  - mixture (ours, as shipped): evaluateDrift(sums, cal, DEFAULT_DRIFT_CONFIG), alarm on dropRate.alarm. That is: counts
 *    deflated by the Kish design effect estimated from the window's per-query counts; band p0hat +- max(tolerance,
 *    z_{1-alpha/4} sd_cal), sd_cal = sqrt(p0hat (1 - p0hat) / (nCal / deff_cal)) with deff_cal = 1 here (the simulated
 *    calibration is i.i.d. candidates); beta-binomial mixture e-value, alarm at log E >= ln(2/alpha), never before
 *    DEFAULT_DRIFT_CONFIG.minQueries queries.
 *  - z-test: fixed-window two-proportion z-test, consecutive windows of Z_WINDOW queries, candidates as units, against
 *    the calibration counts; alarm at |z| > 1.96 and at |z| > 3.29 (alpha 0.001). The naive baseline.
 *  - oracle SPRT: one-sided (power-one) Wald SPRT of p = 0.30 vs the true p1, candidates as units, alarm when the
 *    log likelihood ratio reaches ln(1/alpha). It knows p0 exactly and the shift; it ignores clustering.
 *
 * Run from the repository root. src files import each other without extensions, which Node's type stripping cannot
 * resolve, so bundle our code first (esbuild ships with wrangler). Packages stay external (stdlib's CommonJS requires
 * do not survive an ESM bundle) and resolve from the repository's node_modules, hence the output under it.
 * `npx node` is the Node 24 of the `node` devDependency (the system node may be older). `npm run bench:drift` runs
 * exactly this (arguments after `--` go to the node script):
 *   npx esbuild bench/drift-sim.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/drift-sim.mjs && npx node node_modules/.cache/scoregate-bench/drift-sim.mjs
 * Options: --runs-null N (default 5000), --runs-shift N (default 1000), --workers N (default nproc),
 *          --out PATH (default bench/results/drift.md, relative to the working directory).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, platform, release } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { CalibrationExpectation } from "../src/stats/calibration-expectation";
import { evaluateDrift } from "../src/stats/drift";
import { DEFAULT_DRIFT_CONFIG } from "../src/stats/drift-config";
import { DEFAULT_PRIOR_STRENGTH } from "../src/stats/mixture-test";
import { addCluster, emptyClusterSums } from "../src/stats/per-query";
import { betaInv, zInv } from "../src/stats/special";
import { clusteredDrops, createRng, deriveSeed } from "../test/support/prng";

const M = 20;
const P0 = 0.3;
const BATCH = 10;
const HORIZON = 20_000;
const Z_WINDOW = 1_000;
const ALPHA = DEFAULT_DRIFT_CONFIG.alpha;
const Z_05 = zInv(0.975);
const Z_ALPHA = zInv(1 - ALPHA / 2);
const SPRT_ALTERNATIVES = [0.33, 0.35, 0.4, 0.5] as const;
/** The z of the shipped band's calibration term (src/stats/drift-bands.ts): z_{1-alpha/4}, 3.48 at alpha 0.001. */
const Z_CAL = zInv(1 - ALPHA / 4);
const COMMAND =
  "npx esbuild bench/drift-sim.ts --bundle --platform=node --format=esm --packages=external --log-level=warning " +
  "--outfile=node_modules/.cache/scoregate-bench/drift-sim.mjs && npx node node_modules/.cache/scoregate-bench/drift-sim.mjs";

type Kind = "null" | "shift" | "stress";

interface Scenario {
  readonly id: number;
  readonly kind: Kind;
  readonly label: string;
  /** True drop rate before and after `changeAt` (query index). */
  readonly pBefore: number;
  readonly pAfter: number;
  readonly changeAt: number;
  readonly rho: number;
  readonly nCal: number;
  /** false: the calibration hits p0hat = P0 exactly (isolates the other effects). */
  readonly calNoise: boolean;
  readonly runs: number;
}

/** One run's outcome. Alarm times are in queries since the start of the window; -1 = no alarm within HORIZON. */
interface RunResult {
  mixAt: number;
  z05At: number;
  zAlphaAt: number;
  /** First z alarm in a window ending after the change (windows are independent tests, so earlier alarms do not hide it). */
  z05PostAt: number;
  zAlphaPostAt: number;
  z05Windows: number;
  zAlphaWindows: number;
  /** Per alternative in SPRT_ALTERNATIVES. */
  sprtAt: number[];
  finalDeff: number;
}

function simulate(sc: Scenario, run: number): RunResult {
  const rng = createRng(deriveSeed(sc.id, run));
  const calDrops = sc.calNoise ? rng.binomial(sc.nCal, P0) : Math.round(P0 * sc.nCal);
  const cal: CalibrationExpectation = { expectedDropRate: calDrops / sc.nCal, n: sc.nCal, emptyContextRate: null, nQueries: null };
  const before = clusteredDrops(rng, M, sc.pBefore, sc.rho);
  const after = clusteredDrops(rng, M, sc.pAfter, sc.rho);
  const llrDrop = SPRT_ALTERNATIVES.map((p1) => Math.log(p1 / P0));
  const llrKeep = SPRT_ALTERNATIVES.map((p1) => Math.log((1 - p1) / (1 - P0)));
  const llr = SPRT_ALTERNATIVES.map(() => 0);
  const logThreshold = Math.log(1 / ALPHA);

  const r: RunResult = {
    mixAt: -1,
    z05At: -1,
    zAlphaAt: -1,
    z05PostAt: -1,
    zAlphaPostAt: -1,
    z05Windows: 0,
    zAlphaWindows: 0,
    sprtAt: llr.map(() => -1),
    finalDeff: 1,
  };
  const sums = emptyClusterSums();
  let batchDrops = 0;
  let windowDrops = 0;
  for (let q = 0; q < HORIZON; q++) {
    const d = q < sc.changeAt ? before() : after();
    addCluster(sums, M, d);
    batchDrops += d;
    windowDrops += d;
    const seen = q + 1;
    if (seen % BATCH === 0) {
      const ev = evaluateDrift(sums, cal, DEFAULT_DRIFT_CONFIG);
      if (r.mixAt < 0 && ev.dropRate.alarm) r.mixAt = seen;
      for (let i = 0; i < llr.length; i++) {
        llr[i]! += batchDrops * llrDrop[i]! + (BATCH * M - batchDrops) * llrKeep[i]!;
        if (r.sprtAt[i]! < 0 && llr[i]! >= logThreshold) r.sprtAt[i] = seen;
      }
      batchDrops = 0;
    }
    if (seen % Z_WINDOW === 0) {
      const z = Math.abs(twoProportionZ(windowDrops, Z_WINDOW * M, calDrops, sc.nCal));
      if (z > Z_05) {
        r.z05Windows++;
        if (r.z05At < 0) r.z05At = seen;
        if (r.z05PostAt < 0 && seen > sc.changeAt) r.z05PostAt = seen;
      }
      if (z > Z_ALPHA) {
        r.zAlphaWindows++;
        if (r.zAlphaAt < 0) r.zAlphaAt = seen;
        if (r.zAlphaPostAt < 0 && seen > sc.changeAt) r.zAlphaPostAt = seen;
      }
      windowDrops = 0;
    }
    // A shift run is done once every method has alarmed (null runs go the full window: per-window counts need it).
    if (sc.kind === "shift" && r.mixAt >= 0 && r.z05PostAt >= 0 && r.zAlphaPostAt >= 0 && r.sprtAt.every((t) => t >= 0)) break;
  }
  r.finalDeff = evaluateDrift(sums, cal, DEFAULT_DRIFT_CONFIG).designEffect;
  return r;
}

/** Pooled two-proportion z statistic. */
function twoProportionZ(x1: number, n1: number, x2: number, n2: number): number {
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return se > 0 ? (x1 / n1 - x2 / n2) / se : 0;
}

function scenarios(runsNull: number, runsShift: number): Scenario[] {
  const list: Omit<Scenario, "id">[] = [];
  for (const rho of [0, 0.05, 0.2, 0.5])
    list.push({
      kind: "null",
      label: `p = 0.30, rho = ${rho}`,
      pBefore: P0,
      pAfter: P0,
      changeAt: HORIZON,
      rho,
      nCal: 10_000,
      calNoise: true,
      runs: runsNull,
    });
  for (const p1 of SPRT_ALTERNATIVES)
    list.push({
      kind: "shift",
      label: `0.30 -> ${p1.toFixed(2)}`,
      pBefore: p1,
      pAfter: p1,
      changeAt: 0,
      rho: 0.05,
      nCal: 10_000,
      calNoise: true,
      runs: runsShift,
    });
  list.push({
    kind: "shift",
    label: "0.30 -> 0.40 at query 10000",
    pBefore: P0,
    pAfter: 0.4,
    changeAt: 10_000,
    rho: 0.05,
    nCal: 10_000,
    calNoise: true,
    runs: runsShift,
  });
  // Stress of the null: p at the very edge of the band (p0hat fixed at 0.30, true p = 0.32 = band edge), where Ville's
  // bound is tight and the estimated design effect matters; and a small calibration (nCal = 1000) where the band's
  // half-width is z_{1-alpha/4} sd_cal (about 0.050) rather than the 0.02 business tolerance.
  for (const rho of [0.05, 0.2])
    list.push({
      kind: "stress",
      label: `edge: p = 0.32, p0hat = 0.30 exact, rho = ${rho}`,
      pBefore: 0.32,
      pAfter: 0.32,
      changeAt: HORIZON,
      rho,
      nCal: 10_000,
      calNoise: false,
      runs: runsNull,
    });
  list.push({
    kind: "stress",
    label: `nCal = 1000 (half-width ${Z_CAL.toFixed(2)} sd_cal = ${(Z_CAL * Math.sqrt((P0 * (1 - P0)) / 1_000)).toFixed(3)}), p = 0.30, rho = 0.05`,
    pBefore: P0,
    pAfter: P0,
    changeAt: HORIZON,
    rho: 0.05,
    nCal: 1_000,
    calNoise: true,
    runs: runsNull,
  });
  return list.map((s, id) => ({ ...s, id }));
}

// ---- reporting -------------------------------------------------------------------------------------------------

/** Clopper-Pearson two-sided 95 % interval for x successes in n. */
function clopperPearson(x: number, n: number): [number, number] {
  const lo = x === 0 ? 0 : betaInv(0.025, x, n - x + 1);
  const hi = x === n ? 1 : betaInv(0.975, x + 1, n - x);
  return [lo, hi];
}

const pct = (v: number): string => `${(100 * v).toFixed(v > 0 && v < 0.001 ? 3 : v < 0.1 ? 2 : 1)} %`;

function rate(x: number, n: number): string {
  const [lo, hi] = clopperPearson(x, n);
  return `${x}/${n} = ${pct(x / n)} [${pct(lo)}, ${pct(hi)}]`;
}

/** Nearest-rank quantile of alarm delays; undetected runs count as +Infinity. */
function delayQuantile(delays: readonly number[], q: number): string {
  const sorted = [...delays].sort((a, b) => a - b);
  const v = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return Number.isFinite(v) ? String(v) : `> ${HORIZON}`;
}

function nullTable(rows: readonly { sc: Scenario; res: readonly RunResult[] }[]): string {
  const sprt = (r: RunResult, p1: number): boolean => r.sprtAt[SPRT_ALTERNATIVES.indexOf(p1 as (typeof SPRT_ALTERNATIVES)[number])]! >= 0;
  const lines = [
    "| scenario | mixture (ours), any alarm in the window | z 5 %, any of 20 windows | z 5 %, per window | z 0.001, any of 20 windows | z 0.001, per window | oracle SPRT p1=0.33, any | oracle SPRT p1=0.40, any | mean deff at end |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const { sc, res } of rows) {
    const n = res.length;
    const count = (f: (r: RunResult) => boolean): number => res.filter(f).length;
    const windows = n * (HORIZON / Z_WINDOW);
    const oracle = sc.kind === "null";
    lines.push(
      `| ${sc.label} | ${rate(
        count((r) => r.mixAt >= 0),
        n,
      )} | ${rate(
        count((r) => r.z05At >= 0),
        n,
      )} | ` +
        `${rate(sum(res.map((r) => r.z05Windows)), windows)} | ${rate(
          count((r) => r.zAlphaAt >= 0),
          n,
        )} | ` +
        `${rate(sum(res.map((r) => r.zAlphaWindows)), windows)} | ` +
        `${
          oracle
            ? rate(
                count((r) => sprt(r, 0.33)),
                n,
              )
            : "n/a"
        } | ${
          oracle
            ? rate(
                count((r) => sprt(r, 0.4)),
                n,
              )
            : "n/a"
        } | ` +
        `${(sum(res.map((r) => r.finalDeff)) / n).toFixed(2)} |`,
    );
  }
  return lines.join("\n");
}

function shiftTable(rows: readonly { sc: Scenario; res: readonly RunResult[] }[]): string {
  const lines = [
    "| shift (rho = 0.05) | method | detected within 20000 queries | median queries to alarm | p90 queries to alarm | alarms before the change |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const { sc, res } of rows) {
    const p1Index = SPRT_ALTERNATIVES.indexOf(sc.pAfter as (typeof SPRT_ALTERNATIVES)[number]);
    // [name, first alarm, first alarm after the change]. The cumulative tests are stopped by their first alarm, so for
    // them an alarm before the change is a false alarm and no detection; the z-test's windows are separate tests.
    const methods: [string, (r: RunResult) => number, (r: RunResult) => number][] = [
      ["mixture (ours)", (r) => r.mixAt, (r) => r.mixAt],
      ["z-test 5 %, 1000-query windows", (r) => r.z05At, (r) => r.z05PostAt],
      ["z-test 0.001, 1000-query windows", (r) => r.zAlphaAt, (r) => r.zAlphaPostAt],
      [`oracle SPRT (p1 = ${sc.pAfter.toFixed(2)})`, (r) => r.sprtAt[p1Index]!, (r) => r.sprtAt[p1Index]!],
    ];
    for (const [name, at, postAt] of methods) {
      const early = res.filter((r) => at(r) >= 0 && at(r) <= sc.changeAt).length;
      const delays = delaysAfterChange(sc, res, postAt);
      const detected = delays.filter(Number.isFinite).length;
      lines.push(
        `| ${sc.label} | ${name} | ${pct(detected / res.length)} (${detected}/${res.length}) | ${delayQuantile(delays, 0.5)} | ` +
          `${delayQuantile(delays, 0.9)} | ${sc.changeAt > 0 ? String(early) : "n/a"} |`,
      );
    }
  }
  return lines.join("\n");
}

/** Queries from the change to the first alarm after it, per run; +Infinity when none within HORIZON. */
function delaysAfterChange(sc: Scenario, res: readonly RunResult[], postAt: (r: RunResult) => number): number[] {
  return res.map((r) => (postAt(r) > sc.changeAt ? postAt(r) - sc.changeAt : Infinity));
}

/** One-sided 95 % Clopper-Pearson upper bound for x successes in n. */
const upper95 = (x: number, n: number): number => (x === n ? 1 : betaInv(0.95, x + 1, n - x));

/** The figures quoted in docs: ours only. */
function summary(
  falseAlarmRows: readonly { sc: Scenario; res: readonly RunResult[] }[],
  shiftRows: readonly { sc: Scenario; res: readonly RunResult[] }[],
): string {
  const lines = [
    "## Summary (ours = evaluateDrift with DEFAULT_DRIFT_CONFIG, as shipped)",
    "",
    `False alarms: share of ${HORIZON}-query windows, evaluated every ${BATCH} queries, with any drop-rate alarm. ` +
      `Requirement: <= alpha = ${pct(ALPHA)} per window. The upper bound is the one-sided 95 % Clopper-Pearson bound ` +
      "(the tables below give two-sided 95 % intervals, whose upper ends are one-sided 97.5 % bounds).",
    "",
    "| scenario | false alarms | rate | 95 % upper bound |",
    "| --- | --- | --- | --- |",
  ];
  for (const { sc, res } of falseAlarmRows) {
    const x = res.filter((r) => r.mixAt >= 0).length;
    lines.push(
      `| ${sc.kind === "stress" ? "stress: " : ""}${sc.label}${sc.nCal === 10_000 ? ", nCal = 10000" : ""} | ${x}/${res.length} | ${pct(x / res.length)} | ${pct(upper95(x, res.length))} |`,
    );
  }
  lines.push(
    "",
    `Detection of 0.30 -> 0.40 (rho = 0.05, nCal = 10000): queries from the shift to the first alarm (evaluated every ${BATCH} queries, ` +
      `so delays are multiples of ${BATCH}; no alarm is possible before query ${DEFAULT_DRIFT_CONFIG.minQueries} of the window).`,
    "",
    "| shift | detected within the window | median queries to alarm | p90 queries to alarm |",
    "| --- | --- | --- | --- |",
  );
  for (const { sc, res } of shiftRows) {
    if (sc.pAfter !== 0.4) continue;
    const delays = delaysAfterChange(sc, res, (r) => r.mixAt);
    const detected = delays.filter(Number.isFinite).length;
    const where = sc.changeAt === 0 ? "0.30 -> 0.40 from the start of the window" : sc.label;
    lines.push(`| ${where} | ${detected}/${res.length} | ${delayQuantile(delays, 0.5)} | ${delayQuantile(delays, 0.9)} |`);
  }
  return lines.join("\n");
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** `nproc` as the shell reports it (CPU affinity / cgroup aware); os.availableParallelism() if it cannot be run. */
function nproc(): string {
  try {
    return execFileSync("nproc", { encoding: "utf8" }).trim();
  } catch {
    return `${availableParallelism()} (os.availableParallelism; nproc not available)`;
  }
}

function argValue(name: string, fallback: number): number;
function argValue(name: string, fallback: string): string;
function argValue(name: string, fallback: number | string): number | string {
  const i = process.argv.indexOf(name);
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  if (raw === undefined) return fallback;
  if (typeof fallback === "string") return raw;
  const v = Number(raw);
  if (!(Number.isInteger(v) && v > 0)) throw new RangeError(`${name} expects a positive integer, got ${raw}`);
  return v;
}

// ---- parallel driver -------------------------------------------------------------------------------------------

interface Job {
  readonly scenarios: readonly Scenario[];
  readonly worker: number;
  readonly workers: number;
}

/** Runs with run % workers === worker, per scenario; seeds depend on (scenario, run) only, so results do not. */
function runShard(job: Job): { id: number; run: number; result: RunResult }[] {
  const out: { id: number; run: number; result: RunResult }[] = [];
  for (const sc of job.scenarios)
    for (let run = job.worker; run < sc.runs; run += job.workers) out.push({ id: sc.id, run, result: simulate(sc, run) });
  return out;
}

async function main(): Promise<void> {
  const started = performance.now();
  const runsNull = argValue("--runs-null", 5000);
  const runsShift = argValue("--runs-shift", 1000);
  const workers = argValue("--workers", availableParallelism());
  const outPath = argValue("--out", "bench/results/drift.md");
  const list = scenarios(runsNull, runsShift);

  const header = [
    "# Drift monitor simulation",
    "",
    `- command: \`${COMMAND}${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}\` ` +
      `(\`npm run bench:drift${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}\` runs the same)`,
    `- machine: nproc ${nproc()}, CPU ${cpus()[0]?.model ?? "unknown"}, node ${process.version}, ${platform()} ${release()}; ${workers} worker threads`,
    `- model: ${M} candidates per query, drop probability per query ~ Beta(mean p, ICC rho), expected rate from a calibration of nCal candidates ` +
      `(p0hat ~ Binomial(nCal, ${P0}) / nCal unless stated), every method evaluated after every batch of ${BATCH} queries, window = ${HORIZON} queries`,
    `- ours (as shipped in src/stats/drift.ts): evaluateDrift with DEFAULT_DRIFT_CONFIG (alpha ${ALPHA}, tolerance ${DEFAULT_DRIFT_CONFIG.tolerance}, ` +
      `prior strength ${DEFAULT_DRIFT_CONFIG.priorStrength} (DEFAULT_PRIOR_STRENGTH = ${DEFAULT_PRIOR_STRENGTH}), minQueries ${DEFAULT_DRIFT_CONFIG.minQueries}): ` +
      "counts deflated by the Kish design effect estimated from the window's per-query counts (floored at 1); " +
      `band p0hat +- max(tolerance, z_{1-alpha/4} sd_cal) with z_{1-alpha/4} = ${Z_CAL.toFixed(4)}, sd_cal = sqrt(p0hat (1 - p0hat) / (nCal / deff_cal)), ` +
      "deff_cal = 1 (CalibrationExpectation.designEffect not set: the simulated calibration is i.i.d. candidates); " +
      `beta-binomial mixture e-value, alarm when log E >= ln(2/alpha) = ${Math.log(2 / ALPHA).toFixed(4)} and the window holds >= ${DEFAULT_DRIFT_CONFIG.minQueries} queries`,
    `- z-test: consecutive ${Z_WINDOW}-query windows, candidates as units, pooled two-proportion ` +
      `against the calibration counts, |z| > ${Z_05.toFixed(2)} or > ${Z_ALPHA.toFixed(2)}; oracle SPRT: one-sided Wald SPRT of p0 = ${P0} vs the true p1 ` +
      `on candidates, alarm at LLR >= ln(1/${ALPHA}), no lower boundary`,
    "- seeds: run r of scenario s uses createRng(deriveSeed(s, r)) from test/support/prng.ts (xoshiro128**); intervals are Clopper-Pearson 95 %",
    "",
  ].join("\n");
  process.stdout.write(`${header}\n`);

  const shards = await Promise.all(
    Array.from({ length: workers }, (_, worker) => {
      const job: Job = { scenarios: list, worker, workers };
      return new Promise<ReturnType<typeof runShard>>((resolve, reject) => {
        const w = new Worker(fileURLToPath(import.meta.url), { workerData: job });
        w.once("message", resolve);
        w.once("error", reject);
      });
    }),
  );
  const byScenario = new Map<number, RunResult[]>(list.map((s) => [s.id, []]));
  for (const shard of shards) for (const { id, run, result } of shard) byScenario.get(id)![run] = result;
  const rows = (kind: Kind) => list.filter((s) => s.kind === kind).map((sc) => ({ sc, res: byScenario.get(sc.id)! }));

  const seconds = (performance.now() - started) / 1000;
  const top = [summary([...rows("null"), ...rows("stress")], rows("shift")), ""].join("\n");
  const body = [
    "## (a) False alarms under no shift",
    "",
    "Share of windows (runs of 20000 queries) with any alarm. Requirement for ours: <= alpha = 0.001 per window.",
    "",
    nullTable(rows("null")),
    "",
    "### Stress of the null hypothesis (the baselines are not meant to hold here)",
    "",
    nullTable(rows("stress")),
    "",
    "## (b) Detection",
    "",
    "Queries from the shift to the first alarm; undetected runs count as > 20000. Requirement: 0.30 -> 0.40 within a few thousand queries.",
    "",
    shiftTable(rows("shift")),
    "",
    `Runtime: ${seconds.toFixed(1)} s (${sum(list.map((s) => s.runs))} runs).`,
    "",
  ].join("\n");
  process.stdout.write(`${top}\n${body}`);
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, `${header}\n${top}\n${body}`);
  process.stdout.write(`\nWritten to ${outPath}\n`);
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  parentPort!.postMessage(runShard(workerData as Job));
}
