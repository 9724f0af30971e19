/**
 * Guarded promotion in simulation: a progressive promotion [10, 50, 100] (min_queries 2,000 and tolerance 0.02 unless asked otherwise) driven by the real
 * decision code: the promotion state machine (src/promotions/state-machine.ts), the live decisions of the step's arms
 * (src/monitoring/live-decision.ts) and the candidate's drift window (src/monitoring/window.ts, the monitor's own
 * detector), read after every batch of 25 queries.
 *
 * Model: bench/lib/promotion-sim.ts. A pool of 50,000 users; each query picks one; the user's arm is its bucket
 * (0..9999) below the step's share in basis points. A uniform bucket drawn once per user from the seeded PRNG stands in
 * for the murmur3 hash the clients use (whose uniformity and nesting the assignment tests check): a user keeps its arm
 * because the share only grows. The candidate arm is gated by v2's threshold on v2's scores, the control arm by v1's on
 * v1's. Evidence is per step (a new step starts from empty sums); the drift window runs across the promotion, keyed by
 * the candidate calibration, as in the monitor.
 * - incident v2 (59 %), on_regression rollback: must be rolled back before the 10 % step completes, in every seed;
 * - null v2, on_regression pause: its threshold drops exactly v1's population share of v2's scores (true change 0), its
 *   calibration is the carried one; it must reach 100 % with no pause in every seed (no false stop);
 * - carried v2 (fitted at 22 % on 400 v2 calibration queries), on_regression pause: calibration noise alone moves its
 *   true drop rate from v1's (by about 1.7 points sd at rho 0.3), so a pause is right when the true change exceeds the
 *   tolerance: reported with the true change of each paused run (and of each run still undecided at the horizon, which
 *   the step's max_step_hours deadline would pause in production); it fails only by pausing within the tolerance.
 *
 *   npx esbuild bench/guarded-promotion.ts --bundle --platform=node --format=esm --packages=external --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/guarded-promotion.mjs && npx node node_modules/.cache/scoregate-bench/guarded-promotion.mjs
 * Options: --bad-seeds N (default 500), --good-seeds N (default 300), --carried-seeds N (default 100), --min-queries N
 * (default 2000) and --tolerance X (default 0.02): the plan's (the README's promotion runs --min-queries 200 --tolerance
 * 0.08), --out PATH (default bench/results/guarded-promotion.md).
 */
import { MIN_PROMOTION_QUERIES, type PromotionPlan } from "../src/contract";
import { liveDecision, liveSide, targetSide } from "../src/monitoring/live-decision";
import { addBatch, evaluateWindow, newWindow } from "../src/monitoring/window";
import { type PromotionPosition, transition } from "../src/promotions/state-machine";
import { DEFAULT_DRIFT_CONFIG } from "../src/stats/drift-config";
import { addObservation, emptyClusterSums, type QueryObservation } from "../src/stats/per-query";
import { zCdf, zInv } from "../src/stats/special";
import { createRng, deriveSeed } from "../test/support/prng";
import { calibrations, mirroredQuery, quantile, V2_SHIFT } from "./lib/promotion-sim";
import { machineLine, numberOption, stringOption, upperBound95, writeReport } from "./lib/report";

const BAD_SEEDS = numberOption("bad-seeds", 500);
const GOOD_SEEDS = numberOption("good-seeds", 300);
const CARRIED_SEEDS = numberOption("carried-seeds", 100);
const OUT = stringOption("out", "bench/results/guarded-promotion.md");
const USERS = 50_000;
const BATCH = 25;
const MAX_QUERIES = 400_000;
const PLAN: Omit<PromotionPlan, "on_regression"> = {
  steps: [10, 50, 100],
  min_queries: numberOption("min-queries", 2000),
  tolerance: numberOption("tolerance", 0.02),
  max_step_hours: 72,
};
if (PLAN.min_queries < MIN_PROMOTION_QUERIES) throw new RangeError(`--min-queries must be at least ${MIN_PROMOTION_QUERIES}`);

interface Result {
  readonly state: string;
  readonly cause: string | null;
  /** Step at the end, candidate queries in the step that ended it, all queries served. */
  readonly step: number;
  readonly candidateQueries: number;
  readonly served: number;
  readonly stops: number;
  /** The candidate's population drop rate less the control's. */
  readonly trueChange: number;
}

type Kind = "incident" | "null" | "carried";

function promote(seed: number, rho: number, kind: Kind): Result {
  const rng = createRng(seed);
  const cals = calibrations(rng, rho);
  const fitted = kind === "incident" ? cals.incident : cals.good;
  const v2 = kind === "null" ? { ...fitted, threshold: zInv(zCdf(cals.v1.threshold)) + V2_SHIFT } : fitted;
  const trueChange = zCdf(v2.threshold - V2_SHIFT) - zCdf(cals.v1.threshold);
  const plan: PromotionPlan = { ...PLAN, on_regression: kind === "incident" ? "rollback" : "pause" };
  const buckets = Uint16Array.from({ length: USERS }, () => Math.floor(rng.next() * 10_000));
  let p: PromotionPosition = { state: "running", step: 0, version: 1, plan };
  let control = emptyClusterSums();
  let candidate = emptyClusterSums();
  let window = newWindow("cal_v2", "v2", v2.expectation, 0);
  const target = targetSide(v2.expectation);
  let served = 0;
  let stops = 0;
  let cause: string | null = null;
  while (p.state === "running" && served < MAX_QUERIES) {
    const bp = plan.steps[p.step]! * 100;
    const toCandidate: QueryObservation[] = [];
    for (let i = 0; i < BATCH; i++, served++) {
      const user = Math.floor(rng.next() * USERS);
      const [a, b] = mirroredQuery(rng, rho, cals.v1.threshold, v2.threshold);
      if (buckets[user]! < bp) {
        addObservation(candidate, b);
        toCandidate.push(b);
      } else addObservation(control, a);
    }
    if (toCandidate.length > 0) window = addBatch(window, toCandidate, null, () => 0, served);
    const ev = evaluateWindow(window, DEFAULT_DRIFT_CONFIG);
    const t = transition(p, {
      kind: "evidence",
      step: p.step,
      vsControl: liveDecision(liveSide(control), liveSide(candidate), plan.tolerance, plan.min_queries).decision,
      vsTarget: liveDecision(target, liveSide(candidate), plan.tolerance, plan.min_queries).decision,
      driftAlarm: ev.dropRate.alarm || (ev.emptyContext?.alarm ?? false),
      candidateQueries: candidate.queries,
    });
    if (t.kind === "none") continue;
    if (t.kind === "paused" || t.kind === "rolled_back") {
      stops++;
      cause = t.cause;
    }
    if (t.state !== "running" || t.step !== p.step) {
      if (t.state === "running") {
        control = emptyClusterSums();
        candidate = emptyClusterSums();
      }
      p = { ...p, state: t.state, step: t.step, version: p.version + 1 };
    }
  }
  return { state: p.state, cause, step: p.step, candidateQueries: candidate.queries, served, stops, trueChange };
}

const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");
const lines: string[] = [];
const t0 = Date.now();
lines.push("# Guarded promotion in simulation", "");
lines.push(
  `Command: \`npx esbuild bench/guarded-promotion.ts ... && npx node node_modules/.cache/scoregate-bench/guarded-promotion.mjs --bad-seeds ${BAD_SEEDS} --good-seeds ${GOOD_SEEDS} --carried-seeds ${CARRIED_SEEDS} --min-queries ${PLAN.min_queries} --tolerance ${PLAN.tolerance}\``,
  "",
  `Machine: ${machineLine()}. Plan [10, 50, 100], min_queries ${PLAN.min_queries}, tolerance ${PLAN.tolerance}; queries of 20 candidates; ${USERS.toLocaleString("en-US")} users; batches of ${BATCH}, every batch evaluated; at most ${MAX_QUERIES.toLocaleString("en-US")} served queries per run. Seeds deriveSeed(3000 + cell, seed).`,
  "",
  "| v2 | rho | seeds | outcome | stopped in the 10 % step | cause | candidate queries at the stop: median / p99 / max | served queries to the end: median / max | 95 % upper bound on the failure rate |",
  "| --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: |",
);
let cell = 0;
for (const rho of [0.05, 0.3]) {
  for (const kind of ["incident", "null", "carried"] as const) {
    const seeds = kind === "null" ? GOOD_SEEDS : kind === "carried" ? CARRIED_SEEDS : BAD_SEEDS;
    const pausedChanges: number[] = [];
    const outcomes = new Map<string, number>();
    const causes = new Map<string, number>();
    const candidateAtStop: number[] = [];
    const servedAll: number[] = [];
    let inFirst = 0;
    let failures = 0;
    for (let s = 0; s < seeds; s++) {
      const r = promote(deriveSeed(3000 + cell, s), rho, kind);
      outcomes.set(r.state, (outcomes.get(r.state) ?? 0) + 1);
      if (r.cause !== null) causes.set(r.cause, (causes.get(r.cause) ?? 0) + 1);
      servedAll.push(r.served);
      if (r.state === "running") pausedChanges.push(Math.abs(r.trueChange));
      if (r.stops > 0) {
        candidateAtStop.push(r.candidateQueries);
        pausedChanges.push(Math.abs(r.trueChange));
        if (r.step === 0) inFirst++;
      }
      // A carried v2 fails only by pausing while its true change is within the tolerance (a false stop).
      const ok =
        kind === "incident"
          ? r.state === "rolled_back" && r.step === 0
          : kind === "null"
            ? r.state === "completed" && r.stops === 0
            : r.stops === 0 || Math.abs(r.trueChange) > PLAN.tolerance;
      if (!ok) failures++;
    }
    const list = (m: Map<string, number>): string => [...m].map(([k, n]) => `${k} ${n}`).join(", ") || "-";
    const stopQ = candidateAtStop.length
      ? `${fmt(quantile(candidateAtStop, 0.5))} / ${fmt(quantile(candidateAtStop, 0.99))} / ${fmt(quantile(candidateAtStop, 1))}`
      : "-";
    const label = { incident: "incident (59 %), rollback", null: "null (true change 0), pause", carried: "carried from 400 queries, pause" }[kind];
    const paused = pausedChanges.length
      ? ` (|true change| of the runs stopped or still running: ${pausedChanges
          .map((x) => (100 * x).toFixed(1))
          .sort()
          .join(", ")} points)`
      : "";
    lines.push(
      `| ${label} | ${rho} | ${seeds} | ${list(outcomes)} | ${inFirst} | ${list(causes)}${kind === "incident" ? "" : paused} | ${stopQ} | ${fmt(quantile(servedAll, 0.5))} / ${fmt(quantile(servedAll, 1))} | ${(100 * upperBound95(failures, seeds)).toFixed(2)} % (${failures} failed) |`,
    );
    cell++;
  }
}
lines.push("", `Wall time ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
writeReport(OUT, lines);
