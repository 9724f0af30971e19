/**
 * Shadow evidence and guarded promotion through the real Worker: the seeded model of sections 29 and 30
 * (bench/lib/promotion-sim.ts) driven through the routes a service and an admin use, on workerd (Miniflare, the
 * harness of bench/lib/worker.mjs), with the pure simulation of the same seeds and the same queries computed beside
 * it in the same run, seed by seed.
 *
 * Shadow: per seed a gate of its own; v1 uploaded active and v2 (the carried or the incident's) unserved, each from
 * its calibration queries (the server fits them), v2 put in shadow (POST /v1/calibrations/{id}/shadow, the mirrored
 * share as its sample rate). Each batch of 25 served queries is reported as a service does: the mirrored queries
 * first (`role: "shadow"`, v2's drops), then the served ones (v1's), both to POST /v1/observations; then the
 * shadow's live decision against the active gate is read from GET /v1/gates/{gate_id}/shadows (what `scoregate
 * shadow ID` reads). The same queries go into the pure decision of bench/shadow-evidence.ts (section 29: the same
 * seeds, deriveSeed(2900 + cell, seed), so these are that table's first seeds). The shadow's batch goes first because
 * the gate's monitor counts served queries for a shadow from the shadow's first batch on (docs/api.md).
 *
 * Promotion: per seed a gate of its own; the incident's v2 (on_regression rollback) or a null v2 (true change 0,
 * pause) promoted with steps [10, 50, 100] and `--min-queries` (default 200, the README's). Each query picks one of
 * 50,000 users; its arm is the SDK's bucketOf(salt, key) (packages/client/src/assignment.ts, the documented murmur3
 * hash) against the step's share, the salt read from GET /v1/threshold's rollout. Each batch of 25 queries is reported
 * per arm (control first, then candidate) with the step the client last read, as a client with a cached rollout does;
 * the promotion is read back after every batch (GET /v1/promotions/{id}: what a pushed event would tell the client),
 * and the cron tick runs every `--tick` batches. The pure twin runs the decision code of bench/guarded-promotion.ts
 * (the state machine, the live decisions, the candidate's drift window per step) after each arm batch on the same
 * batches, as the Worker decides after each counted arm batch; a batch claiming a step the twin has left is counted by
 * no arm, as in the Worker. The null v2 is gated by the threshold whose true change is 0 (section 30's null v2), with
 * the carried calibration uploaded as its record: the monitor never sees thresholds, only the drops they made.
 *
 *   npx esbuild bench/shadow-promotion-worker.ts --bundle --platform=node --format=esm --packages=external \
 *     --alias:@scoregate/client=./packages/client/src/index.ts --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/shadow-promotion-worker.mjs && \
 *     nice -n 10 npx node node_modules/.cache/scoregate-bench/shadow-promotion-worker.mjs
 * Options: --carried-seeds N (default 10 per cell of the carried v2), --shadow-seeds N (default 20 per cell of the
 * incident's v2 in shadow), --incident-seeds N and --null-seeds N (promotion seeds per cell, defaults 20 and 5), --horizon N served
 * queries per shadow run (default 20000), --min-queries N (default 200), --tick N batches between cron ticks
 * (default 40), --out PATH (default bench/results/shadow-promotion-worker.md). Run from the repository root.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { bucketOf } from "@scoregate/client";
import type { PromotionPlan } from "../src/contract";
import { DEFAULT_PROMOTION_QUERIES, MIN_PROMOTION_QUERIES } from "../src/contract";
import { liveDecision, liveSide, targetSide } from "../src/monitoring/live-decision";
import { addBatch, evaluateWindow, newWindow, type WindowState } from "../src/monitoring/window";
import { type PromotionPosition, transition } from "../src/promotions/state-machine";
import { DEFAULT_DRIFT_CONFIG } from "../src/stats/drift-config";
import { addObservation, type ClusterSums, emptyClusterSums, type QueryObservation } from "../src/stats/per-query";
import { createRng, deriveSeed, type Rng } from "../test/support/prng";
import { calibrations, type Gate, mirroredQuery, quantile, V2_SHIFT } from "./lib/promotion-sim";
import { machineLine, numberOption, stringOption, writeReport } from "./lib/report";

// The harness is plain JavaScript that finds the repository from its own location: loaded from the tree at run time,
// not bundled into node_modules/.cache (where its ROOT would be wrong).
const harness = (await import(pathToFileURL(resolve("bench/lib/worker.mjs")).href)) as typeof import("./lib/worker.mjs");

const SHADOW_SEEDS = numberOption("shadow-seeds", 20);
const CARRIED_SEEDS = numberOption("carried-seeds", 10);
const INCIDENT_SEEDS = numberOption("incident-seeds", 20);
const NULL_SEEDS = numberOption("null-seeds", 5);
const HORIZON = numberOption("horizon", 20_000);
const MIN_QUERIES = numberOption("min-queries", 200);
const TICK = numberOption("tick", 40);
const OUT = stringOption("out", "bench/results/shadow-promotion-worker.md");
const BATCH = 25;
/** Section 29's tolerance and section 30's plan (but min_queries). */
const TOL = 0.02;
const USERS = 50_000;
const MAX_QUERIES = 200_000;
const TOKENS = { read: "dev-read", calibrate: "dev-calibrate", admin: "dev-admin" } as const;

const worker = await harness.startWorker();
let requests = 0;

/** One JSON call to the Worker; throws on an unexpected status (a benchmark that miscounts must not report). */
async function call<T>(method: string, path: string, token: string, body: unknown, expected: readonly number[]): Promise<T> {
  requests++;
  const res = await fetch(new URL(path, worker.url), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!expected.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

interface Calibration {
  readonly id: string;
  readonly gate_id: string;
  readonly threshold: number;
}

/** Uploads a calibration from its queries, fitted at the drop rate the pure model fitted it at. */
async function upload(gate: object, version: string, g: Gate, activate: boolean): Promise<Calibration> {
  const body = {
    ...gate,
    index_version: version,
    queries: g.queries.map((q) => Array.from(q)),
    policy: { kind: "drop_rate", target: g.target },
    activate,
  };
  return (await call<{ calibration: Calibration }>("POST", "/v1/calibrations", TOKENS.calibrate, body, [201])).calibration;
}

let batchSeq = 0;
/** POST /v1/observations for one batch (nothing when it is empty: a batch holds at least one query). */
async function report(calibrationId: string, queries: readonly QueryObservation[], extra: object): Promise<void> {
  if (queries.length === 0) return;
  await call("POST", "/v1/observations", TOKENS.read, { batch_id: `b-${++batchSeq}`, calibration_id: calibrationId, queries, ...extra }, [202]);
}

/** Calibrations fitted by the server at thresholds other than the pure model's (a mismatch to explain). */
let thresholdMismatches = 0;
const checkThreshold = (c: Calibration, g: Gate) => {
  if (c.threshold !== g.threshold) thresholdMismatches++;
};

// ---------------------------------------------------------------------------------------------------------------------
// Shadow evidence

/**
 * The pure decision at two tunings of the anytime sequence (its planned queries t*, docs/drift.md): section 29's
 * (DEFAULT_PROMOTION_QUERIES, 2,000, what docs/drift.md says a shadow uses) and MIN_PROMOTION_QUERIES (200, what
 * src/promotions/shadows.ts passes for GET /v1/gates/{gate_id}/shadows).
 */
const TUNINGS = { pure: DEFAULT_PROMOTION_QUERIES, pure200: MIN_PROMOTION_QUERIES } as const;
type Side = "worker" | keyof typeof TUNINGS;
type First = { queries: number; decision: string } | null;

interface ShadowOutcome {
  /** Per side, served queries to the first non-inconclusive decision vs active, and the decision; null: none by HORIZON. */
  readonly first: Record<Side, First>;
  /** Per pure tuning, reads whose decision (or shadow query count) differed from the Worker's. */
  readonly differingReads: Record<keyof typeof TUNINGS, number>;
  readonly reads: number;
}

interface ShadowView {
  readonly shadows: { calibration_id: string; queries: number; vs_active: { decision: string } }[];
}

async function shadowRun(rng: Rng, seedIndex: string, rho: number, kind: "good" | "incident", mirror: number): Promise<ShadowOutcome> {
  const cals = calibrations(rng, rho);
  const v2g = kind === "good" ? cals.good : cals.incident;
  const gate = { index: `shadow-${seedIndex}`, embedding: "e5", reranker: "bge" };
  const v1 = await upload(gate, "v1", cals.v1, true);
  const v2 = await upload(gate, "v2", v2g, false);
  checkThreshold(v1, cals.v1);
  checkThreshold(v2, v2g);
  await call("POST", `/v1/calibrations/${v2.id}/shadow`, TOKENS.admin, { sample_rate: mirror, reason: "benchmark" }, [200]);
  const active = emptyClusterSums();
  const shadow = emptyClusterSums();
  const first: Record<Side, First> = { worker: null, pure: null, pure200: null };
  const differingReads = { pure: 0, pure200: 0 };
  let reads = 0;
  for (let served = 0; served < HORIZON && Object.values(first).includes(null); ) {
    const servedBatch: QueryObservation[] = [];
    const mirrored: QueryObservation[] = [];
    // bench/shadow-evidence.ts's run(), query for query (the same draws in the same order)
    for (let i = 0; i < BATCH; i++, served++) {
      const [a, s] = mirroredQuery(rng, rho, cals.v1.threshold, v2g.threshold);
      addObservation(active, a);
      servedBatch.push(a);
      if (rng.next() < mirror) {
        addObservation(shadow, s);
        mirrored.push(s);
      }
    }
    await report(v2.id, mirrored, { role: "shadow" });
    await report(v1.id, servedBatch, {});
    const view = await call<ShadowView>("GET", `/v1/gates/${v2.gate_id}/shadows`, TOKENS.read, undefined, [200]);
    const s = view.shadows.find((x) => x.calibration_id === v2.id);
    const decisions: Record<Side, string> = {
      worker: s?.vs_active.decision ?? "missing",
      pure: liveDecision(liveSide(active), liveSide(shadow), TOL, TUNINGS.pure).decision,
      pure200: liveDecision(liveSide(active), liveSide(shadow), TOL, TUNINGS.pure200).decision,
    };
    reads++;
    for (const t of ["pure", "pure200"] as const) if (decisions[t] !== decisions.worker || (s?.queries ?? 0) !== shadow.queries) differingReads[t]++;
    for (const side of ["worker", "pure", "pure200"] as const)
      if (first[side] === null && decisions[side] !== "inconclusive") first[side] = { queries: served, decision: decisions[side] };
  }
  return { first, differingReads, reads };
}

// ---------------------------------------------------------------------------------------------------------------------
// Guarded promotion

type Kind = "incident" | "null";

interface PromotionEnd {
  readonly state: string;
  readonly step: number;
  readonly cause: string | null;
  /** Served queries when the run ended (stopped, completed, or the cap), and candidate queries of the ending step. */
  readonly served: number;
  readonly candidateQueries: number;
  readonly stops: number;
}

interface PromotionView {
  readonly state: string;
  readonly step: number;
  readonly steps: { kind: string; cause: string; numbers: { candidate_queries?: number } }[];
}

/** The pure twin: section 30's decision code after each arm batch, on the batches the Worker was sent. */
class PureStep {
  p: PromotionPosition;
  control: ClusterSums = emptyClusterSums();
  candidate: ClusterSums = emptyClusterSums();
  window: WindowState | null = null;
  alarm = false;
  stops = 0;
  cause: string | null = null;
  endedAt: { served: number; candidateQueries: number } | null = null;
  readonly #target: ReturnType<typeof targetSide>;
  readonly #v2: Gate;

  constructor(plan: PromotionPlan, v2: Gate) {
    this.p = { state: "running", step: 0, version: 1, plan };
    this.#v2 = v2;
    this.#target = targetSide(v2.expectation);
  }

  /** One arm batch claiming `step`; counted and decided only while the twin is running at that step. */
  arm(arm: "candidate" | "control", step: number, queries: readonly QueryObservation[], served: number): void {
    if (queries.length === 0 || this.p.state !== "running" || this.p.step !== step) return;
    const now = Date.now();
    if (arm === "candidate") {
      for (const q of queries) addObservation(this.candidate, q);
      this.window = addBatch(this.window ?? newWindow("v2", "v2", this.#v2.expectation, now), queries, null, () => 0, now);
      const ev = evaluateWindow(this.window, DEFAULT_DRIFT_CONFIG);
      // the monitor keeps the step's first alarm
      this.alarm ||= ev.dropRate.alarm || (ev.emptyContext?.alarm ?? false);
    } else for (const q of queries) addObservation(this.control, q);
    const { plan } = this.p;
    const t = transition(this.p, {
      kind: "evidence",
      step: this.p.step,
      vsControl: liveDecision(liveSide(this.control), liveSide(this.candidate), plan.tolerance, plan.min_queries).decision,
      vsTarget: liveDecision(this.#target, liveSide(this.candidate), plan.tolerance, plan.min_queries).decision,
      driftAlarm: this.alarm,
      candidateQueries: this.candidate.queries,
    });
    if (t.kind === "none") return;
    if (t.kind === "paused" || t.kind === "rolled_back") {
      this.stops++;
      this.cause = t.cause;
    }
    if (t.state !== "running") this.endedAt = { served, candidateQueries: this.candidate.queries };
    if (t.state === "running" && t.step !== this.p.step) {
      this.control = emptyClusterSums();
      this.candidate = emptyClusterSums();
      this.window = null;
      this.alarm = false;
    }
    this.p = { ...this.p, state: t.state, step: t.step, version: this.p.version + 1 };
  }
}

async function cronTick(): Promise<void> {
  requests++;
  // Miniflare's Fetcher has scheduled() at run time; its declared type (built against other workers types) lacks it.
  const fetcher = (await worker.mf.getWorker()) as unknown as { scheduled(o: { cron: string; scheduledTime: Date }): Promise<unknown> };
  await fetcher.scheduled({ cron: "* * * * *", scheduledTime: new Date() });
}

async function promotionRun(rng: Rng, seedIndex: string, rho: number, kind: Kind): Promise<{ worker: PromotionEnd; pure: PromotionEnd }> {
  const cals = calibrations(rng, rho);
  const fitted = kind === "incident" ? cals.incident : cals.good;
  // section 30's null v2: its threshold drops exactly v1's population share of v2's scores
  const t2 = kind === "null" ? cals.v1.threshold + V2_SHIFT : fitted.threshold;
  const gate = { index: `promote-${seedIndex}`, embedding: "e5", reranker: "bge" };
  const v1 = await upload(gate, "v1", cals.v1, true);
  const v2 = await upload(gate, "v2", fitted, false);
  checkThreshold(v1, cals.v1);
  checkThreshold(v2, fitted);
  const plan: PromotionPlan = {
    steps: [10, 50, 100],
    min_queries: MIN_QUERIES,
    tolerance: TOL,
    max_step_hours: 72,
    on_regression: kind === "incident" ? "rollback" : "pause",
  };
  const { on_regression, ...planBody } = plan;
  const promotion = await call<{ id: string }>(
    "POST",
    `/v1/calibrations/${v2.id}/promote`,
    TOKENS.admin,
    { ...planBody, on_regression, reason: "benchmark" },
    [201],
  );
  const q = new URLSearchParams(gate).toString();
  const served0 = await call<{ rollout: { salt: string } | null }>("GET", `/v1/threshold?${q}`, TOKENS.read, undefined, [200]);
  if (served0.rollout === null) throw new Error("the promoted gate serves no split");
  const salt = served0.rollout.salt;
  const buckets = new Int16Array(USERS).fill(-1);
  const bucket = (user: number): number => {
    if (buckets[user]! < 0) buckets[user] = bucketOf(salt, `user-${user}`);
    return buckets[user]!;
  };
  const twin = new PureStep(plan, { ...fitted, threshold: t2 });
  let view: PromotionView = { state: "running", step: 0, steps: [] };
  let served = 0;
  let batches = 0;
  let workerEnd: { served: number } | null = null;
  while (view.state === "running" && served < MAX_QUERIES) {
    const step = view.step;
    const bp = plan.steps[step]! * 100;
    const candidate: QueryObservation[] = [];
    const control: QueryObservation[] = [];
    for (let i = 0; i < BATCH; i++, served++) {
      const user = Math.floor(rng.next() * USERS);
      const [a, b] = mirroredQuery(rng, rho, cals.v1.threshold, t2);
      if (bucket(user) < bp) candidate.push(b);
      else control.push(a);
    }
    await report(v1.id, control, { promotion: { id: promotion.id, step, arm: "control" } });
    twin.arm("control", step, control, served);
    await report(v2.id, candidate, { promotion: { id: promotion.id, step, arm: "candidate" } });
    twin.arm("candidate", step, candidate, served);
    if (++batches % TICK === 0) await cronTick();
    view = await call<PromotionView>("GET", `/v1/promotions/${promotion.id}`, TOKENS.read, undefined, [200]);
    if (view.state !== "running") workerEnd = { served };
  }
  const last = view.steps.at(-1);
  const stops = view.steps.filter((s) => s.kind === "paused" || s.kind === "rolled_back").length;
  return {
    worker: {
      state: view.state,
      step: view.step,
      cause: stops > 0 ? (last?.cause ?? null) : null,
      served: workerEnd?.served ?? served,
      candidateQueries: last?.numbers.candidate_queries ?? 0,
      stops,
    },
    pure: {
      state: twin.p.state,
      step: twin.p.step,
      cause: twin.cause,
      served: twin.endedAt?.served ?? served,
      candidateQueries: twin.endedAt?.candidateQueries ?? twin.candidate.queries,
      stops: twin.stops,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// The run

const fmt = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "-");
const spread = (xs: readonly number[]): string => `${fmt(quantile(xs, 0.5))} / ${fmt(quantile(xs, 0.9))} / ${fmt(quantile(xs, 1))}`;
const lines: string[] = [];
const t0 = Date.now();
const info = harness.machineInfo();
try {
  lines.push("# Shadow evidence and guarded promotion through the Worker", "");
  lines.push(
    `Command: \`npx esbuild bench/shadow-promotion-worker.ts ... && nice -n 10 npx node node_modules/.cache/scoregate-bench/shadow-promotion-worker.mjs --carried-seeds ${CARRIED_SEEDS} --shadow-seeds ${SHADOW_SEEDS} --incident-seeds ${INCIDENT_SEEDS} --null-seeds ${NULL_SEEDS} --horizon ${HORIZON} --min-queries ${MIN_QUERIES} --tick ${TICK}\``,
    "",
    `Machine: ${machineLine()}; ${info.workerd}, miniflare ${info.miniflare}. Worker built in ${(worker.buildMs / 1000).toFixed(1)} s (${harness.BUILD_COMMAND}), run on workerd through Miniflare, direct ingest.`,
    "",
    `## Shadow: served queries to the live decision vs active (batches of ${BATCH}, tolerance ${TOL}, horizon ${HORIZON.toLocaleString("en-US")}; seeds deriveSeed(2900 + cell, seed), section 29's)`,
    "",
    "Pure t* 2,000: section 29's decision (planned queries DEFAULT_PROMOTION_QUERIES); pure t* 200: the same sums at MIN_PROMOTION_QUERIES, the tuning src/promotions/shadows.ts uses. A seed agrees when its first decision and the served queries to it are the same; a read differs when the decision or the shadow's query count does.",
    "",
    "| v2 | rho | mirrored | seeds | Worker: median / p90 / max | Worker: right / wrong / none | pure t* 2,000: median / p90 / max | pure t* 2,000: right / wrong / none | pure t* 200: median / p90 / max | seeds agreeing with pure t* 2,000 / t* 200 | reads differing from pure t* 2,000 / t* 200 | wall s |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  let cell = 0;
  for (const rho of [0.05, 0.3]) {
    for (const mirror of [1, 0.2]) {
      for (const kind of ["good", "incident"] as const) {
        const c0 = Date.now();
        const seeds = kind === "good" ? CARRIED_SEEDS : SHADOW_SEEDS;
        const right = kind === "good" ? "equivalent" : "shifted";
        const tally = Object.fromEntries(
          (["worker", "pure", "pure200"] as const).map((k) => [k, { q: [] as number[], right: 0, wrong: 0, none: 0 }]),
        ) as Record<Side, { q: number[]; right: number; wrong: number; none: number }>;
        const agree = { pure: 0, pure200: 0 };
        const differing = { pure: 0, pure200: 0 };
        let reads = 0;
        for (let seed = 0; seed < seeds; seed++) {
          const o = await shadowRun(createRng(deriveSeed(2900 + cell, seed)), `${cell}-${seed}`, rho, kind, mirror);
          for (const side of ["worker", "pure", "pure200"] as const) {
            const r = o.first[side];
            const t = tally[side];
            if (r === null) t.none++;
            else {
              t.q.push(r.queries);
              if (r.decision === right) t.right++;
              else t.wrong++;
            }
          }
          for (const t of ["pure", "pure200"] as const) {
            if (JSON.stringify(o.first.worker) === JSON.stringify(o.first[t])) agree[t]++;
            differing[t] += o.differingReads[t];
          }
          reads += o.reads;
        }
        const { worker: w, pure: p, pure200: p2 } = tally;
        lines.push(
          `| ${kind === "good" ? "carried (22 %)" : "incident (59 %)"} | ${rho} | ${mirror * 100} % | ${seeds} | ${spread(w.q)} | ${w.right} / ${w.wrong} / ${w.none} | ${spread(p.q)} | ${p.right} / ${p.wrong} / ${p.none} | ${spread(p2.q)} | ${agree.pure} / ${agree.pure200} of ${seeds} | ${differing.pure} / ${differing.pure200} of ${reads} | ${((Date.now() - c0) / 1000).toFixed(0)} |`,
        );
        console.error(lines.at(-1));
        cell++;
      }
    }
  }

  lines.push(
    "",
    `## Promotion: steps [10, 50, 100], min_queries ${MIN_QUERIES}, tolerance ${TOL}, max_step_hours 72 (batches of ${BATCH}, ${USERS.toLocaleString("en-US")} users, cron every ${TICK} batches, at most ${MAX_QUERIES.toLocaleString("en-US")} served queries; seeds deriveSeed(3400 + cell, seed))`,
    "",
    "| v2 | rho | seeds | Worker: outcome | Worker: stopped in the 10 % step | Worker: candidate queries at the end, median / max | Worker: served queries to the end, median / max | pure: outcome | pure: served queries to the end, median / max | seeds agreeing exactly | failed | wall s |",
    "| --- | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
  );
  cell = 0;
  for (const rho of [0.05, 0.3]) {
    for (const kind of ["incident", "null"] as const) {
      const c0 = Date.now();
      const ends = { worker: [] as PromotionEnd[], pure: [] as PromotionEnd[] };
      let agree = 0;
      let failed = 0;
      const seeds = kind === "incident" ? INCIDENT_SEEDS : NULL_SEEDS;
      for (let seed = 0; seed < seeds; seed++) {
        const r = await promotionRun(createRng(deriveSeed(3400 + cell, seed)), `${cell}-${seed}`, rho, kind);
        ends.worker.push(r.worker);
        ends.pure.push(r.pure);
        if (JSON.stringify(r.worker) === JSON.stringify(r.pure)) agree++;
        else console.error(`promotion ${kind} rho ${rho} seed ${seed}: Worker ${JSON.stringify(r.worker)} pure ${JSON.stringify(r.pure)}`);
        const ok =
          kind === "incident" ? r.worker.state === "rolled_back" && r.worker.step === 0 : r.worker.state === "completed" && r.worker.stops === 0;
        if (!ok) failed++;
      }
      const outcome = (xs: readonly PromotionEnd[]) => {
        const m = new Map<string, number>();
        for (const e of xs) {
          const k = `${e.state}${e.cause ? ` (${e.cause})` : ""}`;
          m.set(k, (m.get(k) ?? 0) + 1);
        }
        return [...m].map(([k, n]) => `${k} ${n}`).join(", ");
      };
      const two = (xs: readonly number[]) => `${fmt(quantile(xs, 0.5))} / ${fmt(quantile(xs, 1))}`;
      lines.push(
        `| ${kind === "incident" ? "incident (59 %), rollback" : "null (true change 0), pause"} | ${rho} | ${seeds} | ${outcome(ends.worker)} | ${ends.worker.filter((e) => e.stops > 0 && e.step === 0).length} | ${two(ends.worker.map((e) => e.candidateQueries))} | ${two(ends.worker.map((e) => e.served))} | ${outcome(ends.pure)} | ${two(ends.pure.map((e) => e.served))} | ${agree} of ${seeds} | ${failed} | ${((Date.now() - c0) / 1000).toFixed(0)} |`,
      );
      console.error(lines.at(-1));
      cell++;
    }
  }
  lines.push(
    "",
    `Calibrations the server fitted at another threshold than the pure model: ${thresholdMismatches}. Requests to the Worker: ${requests.toLocaleString("en-US")}. Wall time ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
  );
  writeReport(OUT, lines);
} finally {
  await worker.close();
}
