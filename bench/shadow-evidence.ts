/**
 * Shadow evidence: live queries a shadow calibration needs before its live decision (src/monitoring/live-decision.ts,
 * the code the gate's monitor answers GET /v1/gates/{gate_id}/shadows with) says `equivalent` for a correctly carried
 * v2 and `shifted` for the seed incident's v2, against the active gate, read after every batch of 25 queries; and the
 * levels of the anytime decision (a wrong answer ever, over the whole run).
 *
 * Model: bench/lib/promotion-sim.ts (queries of 20 candidates, intra-query correlation rho, v1 and v2 scoring the same
 * mirrored query). Each live query is served by v1 (the active side counts it) and mirrored to the shadow with
 * probability `mirror` (the shadow side counts v2's drops). Tolerance 0.02, planned queries 2,000.
 *
 *   npx esbuild bench/shadow-evidence.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/shadow-evidence.mjs && npx node node_modules/.cache/scoregate-bench/shadow-evidence.mjs
 * Options: --seeds N (default 200; 0 skips the table of queries to a decision), --level-seeds N (default 2000),
 * --levels all|shifted (default all; `shifted`: only the rows of a false `shifted`, true change 0, the slowest level
 * to bound), --horizon N live queries (default 20000), --planned N: the queries the anytime sequence is tuned for
 * (default DEFAULT_PROMOTION_QUERIES, 2,000; the Worker tunes a shadow's for MIN_PROMOTION_QUERIES, 200: src/promotions/shadows.ts),
 * --out PATH (default bench/results/shadow-evidence.md).
 * Seeds depend on the row, never on which rows run: a row's first N seeds are the same in every run.
 */
import { DEFAULT_PROMOTION_QUERIES, MIN_PROMOTION_QUERIES } from "../src/contract";
import { liveDecision, liveSide, targetSide } from "../src/monitoring/live-decision";
import { addObservation, emptyClusterSums } from "../src/stats/per-query";
import { zCdf, zInv } from "../src/stats/special";
import { createRng, deriveSeed, type Rng } from "../test/support/prng";
import { calibrations, mirroredQuery, quantile, V2_SHIFT } from "./lib/promotion-sim";
import { clopperPearson, machineLine, numberOption, stringOption, writeReport } from "./lib/report";

const SEEDS = numberOption("seeds", 200);
const LEVEL_SEEDS = numberOption("level-seeds", 2000);
const HORIZON = numberOption("horizon", 20_000);
const LEVELS = stringOption("levels", "all");
if (LEVELS !== "all" && LEVELS !== "shifted") throw new RangeError(`--levels must be all or shifted, not ${LEVELS}`);
const OUT = stringOption("out", "bench/results/shadow-evidence.md");
const PLANNED = numberOption("planned", DEFAULT_PROMOTION_QUERIES);
if (PLANNED < MIN_PROMOTION_QUERIES) throw new RangeError(`--planned must be at least ${MIN_PROMOTION_QUERIES}, not ${PLANNED}`);
const BATCH = 25;
const TOL = 0.02;

interface Outcome {
  /** Live queries (served) until the first non-inconclusive answer vs active, and that answer; null: none by HORIZON. */
  readonly queries: number | null;
  readonly decision: string | null;
  /** Whether any read said `equivalent` / `shifted` (for the levels: a wrong answer at any read counts). */
  readonly everEquivalent: boolean;
  readonly everShifted: boolean;
  readonly vsTarget: string;
}

/** One shadow run: v1 active at t1, the shadow's threshold t2, mirrored at `mirror`, until the first decision. */
function run(
  rng: Rng,
  rho: number,
  t1: number,
  t2: number,
  target: ReturnType<typeof targetSide>,
  mirror: number,
  v2Extra: number,
  untilEnd: boolean,
): Outcome {
  const active = emptyClusterSums();
  const shadow = emptyClusterSums();
  let first: { queries: number; decision: string } | null = null;
  let everEquivalent = false;
  let everShifted = false;
  let vsTarget = "inconclusive";
  for (let served = 0; served < HORIZON; ) {
    for (let i = 0; i < BATCH; i++, served++) {
      const [a, s] = mirroredQuery(rng, rho, t1, t2, v2Extra);
      addObservation(active, a);
      if (rng.next() < mirror) addObservation(shadow, s);
    }
    const d = liveDecision(liveSide(active), liveSide(shadow), TOL, PLANNED);
    if (d.decision === "equivalent") everEquivalent = true;
    if (d.decision === "shifted") everShifted = true;
    if (first === null && d.decision !== "inconclusive") {
      first = { queries: served, decision: d.decision };
      vsTarget = liveDecision(target, liveSide(shadow), TOL, PLANNED).decision;
      if (!untilEnd) break;
    }
  }
  return { queries: first?.queries ?? null, decision: first?.decision ?? null, everEquivalent, everShifted, vsTarget };
}

const fmt = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "-");
const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
const lines: string[] = [];
const t0 = Date.now();
lines.push("# Shadow evidence: live queries to a decision", "");
lines.push(
  `Command: \`npx esbuild bench/shadow-evidence.ts ... && npx node node_modules/.cache/scoregate-bench/shadow-evidence.mjs --seeds ${SEEDS} --level-seeds ${LEVEL_SEEDS} --levels ${LEVELS} --horizon ${HORIZON} --planned ${PLANNED}\``,
  "",
  `Machine: ${machineLine()}. Queries of 20 candidates; calibrations of 400 queries; batches of ${BATCH}; tolerance ${TOL}; anytime sequence tuned for ${PLANNED.toLocaleString("en-US")} planned queries; decision read after every batch; horizon ${HORIZON.toLocaleString("en-US")} served queries. Seeds deriveSeed(2900 + cell, seed).`,
  "",
  ...(SEEDS === 0
    ? []
    : [
        "| v2 | rho | mirrored | served queries to the decision: median / p90 / max | shadow queries (median) | right answer | wrong answer | none by the horizon | vs target at that moment |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
      ]),
);
let cell = 0;
for (const rho of [0.05, 0.3]) {
  for (const mirror of [1, 0.2]) {
    for (const kind of ["good", "incident"] as const) {
      if (SEEDS === 0) {
        cell++;
        continue;
      }
      const qs: number[] = [];
      let right = 0;
      let wrong = 0;
      let none = 0;
      const targets = new Map<string, number>();
      for (let seed = 0; seed < SEEDS; seed++) {
        const rng = createRng(deriveSeed(2900 + cell, seed));
        const cals = calibrations(rng, rho);
        const v2 = kind === "good" ? cals.good : cals.incident;
        const o = run(rng, rho, cals.v1.threshold, v2.threshold, targetSide(v2.expectation), mirror, 0, false);
        if (o.queries === null) none++;
        else {
          qs.push(o.queries);
          const ok = (kind === "good" ? "equivalent" : "shifted") === o.decision;
          if (ok) right++;
          else wrong++;
        }
        targets.set(o.vsTarget, (targets.get(o.vsTarget) ?? 0) + 1);
      }
      const tgt = [...targets].map(([k, n]) => `${k} ${n}`).join(", ");
      lines.push(
        `| ${kind === "good" ? "carried (22 %)" : "incident (59 %)"} | ${rho} | ${mirror * 100} % | ${fmt(quantile(qs, 0.5))} / ${fmt(quantile(qs, 0.9))} / ${fmt(quantile(qs, 1))} | ${fmt(quantile(qs, 0.5) * mirror)} | ${right} of ${SEEDS} | ${wrong} | ${none} | ${tgt} |`,
      );
      cell++;
    }
  }
}

// Levels: the shadow's true drop rate at v1's + tol (P(ever equivalent) <= 5 %) and equal (P(ever shifted) <= 0.1 %),
// every read until the horizon counting, mirrored at 100 % (the tightest case: the most evidence per served query).
lines.push(
  "",
  `Levels over ${LEVEL_SEEDS} seeds each, mirrored at 100 %, ${HORIZON.toLocaleString("en-US")} served queries, every read counts (exact 95 % intervals):`,
  "",
  "| rho | true change | wrong answer | runs with it | rate (95 % interval) | allowed |",
  "| ---: | ---: | --- | ---: | --- | ---: |",
);
for (const rho of [0.05, 0.3]) {
  for (const [label, delta] of [
    ["+tolerance", TOL],
    ["-tolerance", -TOL],
    ["0", 0],
  ] as const) {
    if (LEVELS === "shifted" && delta !== 0) {
      cell++;
      continue;
    }
    let bad = 0;
    for (let seed = 0; seed < LEVEL_SEEDS; seed++) {
      const rng = createRng(deriveSeed(2950 + cell, seed));
      const cals = calibrations(rng, rho);
      // The shadow's population drop rate is v1's population rate + delta: its threshold sits at that quantile of v2.
      const t1 = cals.v1.threshold;
      const t2 = zInv(zCdf(t1) + delta) + V2_SHIFT;
      const o = run(rng, rho, t1, t2, targetSide(cals.good.expectation), 1, 0, true);
      if (delta === 0 ? o.everShifted : o.everEquivalent) bad++;
    }
    const [lo, hi] = clopperPearson(bad, LEVEL_SEEDS);
    lines.push(
      `| ${rho} | ${label} | ${delta === 0 ? "shifted" : "equivalent"} | ${bad} of ${LEVEL_SEEDS} | ${pct(bad / LEVEL_SEEDS)} (${pct(lo)}..${pct(hi)}) | ${delta === 0 ? "0.1 %" : "5 %"} |`,
    );
    cell++;
  }
}
lines.push("", `Wall time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
writeReport(OUT, lines);
