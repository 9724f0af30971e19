/**
 * Observation ingest on one gate: how many `POST /v1/observations` batches per second one gate's Durable Object takes,
 * directly and through the observation queue, against a trivial Durable Object write (one SQLite INSERT per request,
 * in a second minimal Worker) in the same run.
 *
 *   npm run bench:ingest                     (= node bench/observe-ingest.mjs)
 *   npm run bench:ingest -- --duration 15 --rounds 2 --connections 32 --queries 20 --out bench/results/observe-ingest.md
 *
 * What it does: builds scoregate and starts it twice in workerd through Miniflare directly (not wrangler dev): once
 * with OBSERVATION_INGEST=direct, once with OBSERVATION_INGEST=queue and the observation queue and consumer of
 * wrangler.toml (Miniflare's local Queues). It calibrates one gate in each, then rotates autocannon runs of
 *   ingest    POST /v1/observations  {"batch_id": <unique>, index, embedding, reranker, "queries": [[20, d], ...]}
 *   queue     the same, queue mode: accepted (202 queued) at the producer; then GET /v1/monitor is polled every
 *             POLL_MS until the gate's object has counted every accepted batch (the consumer drained)
 *   baseline  POST /write            a Durable Object that INSERTs the body's batch id into SQLite
 * each for `duration` seconds per round. Every batch id is unique, so every ingest request is counted (no duplicates).
 * Reports batches/s, p50/p99 latency, errors and non-2xx answers and the ratio to the baseline; for the queue, also
 * the batches/s the object counted (from the start of the load until the last accepted batch was counted), the drain
 * time after the load stopped, and the object calls the consumer made (queued_ingest.calls in GET /v1/monitor).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { machineInfo, median, mulberry32, observationQueueConfig, ROOT, startInlineWorker, startWorker } from "./lib/worker.mjs";

const { values: opts } = parseArgs({
  options: {
    duration: { type: "string", default: "15" },
    rounds: { type: "string", default: "2" },
    connections: { type: "string", default: "32" },
    queries: { type: "string", default: "20" },
    out: { type: "string", default: "bench/results/observe-ingest.md" },
  },
});
const DURATION = Number(opts.duration);
const ROUNDS = Number(opts.rounds);
const CONNECTIONS = Number(opts.connections);
const QUERIES = Number(opts.queries);
const OUT = resolve(ROOT, opts.out);
const GATE = { index: "default", embedding: "e5", reranker: "bge" };
const TARGET_BATCHES_PER_S = 2000; // 10,000 processes per gate, one batch every 5 s each
/** How often the queue run reads the gate's counts while the consumer drains. */
const POLL_MS = 250;
/** Longest the queue run waits for the consumer to count every accepted batch after the load stops. */
const DRAIN_TIMEOUT_MS = 300_000;
const log = (...a) => console.error(...a);

const BASELINE = `
import { DurableObject } from "cloudflare:workers";
export class Baseline extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY, received_at INTEGER NOT NULL)");
  }
  async write(id) {
    return this.ctx.storage.sql.exec("INSERT OR IGNORE INTO batches (batch_id, received_at) VALUES (?, ?)", id, Date.now()).rowsWritten;
  }
}
export default {
  async fetch(request, env) {
    const body = await request.json();
    const stub = env.BASELINE.get(env.BASELINE.idFromName("one-gate"));
    return Response.json({ written: await stub.write(body.batch_id) }, { status: 202 });
  },
};`;

async function calibrate(url) {
  const rand = mulberry32(7);
  const scores = Array.from({ length: 2000 }, () => rand());
  const res = await fetch(new URL("/v1/calibrations", url), {
    method: "POST",
    headers: { authorization: "Bearer dev-calibrate", "content-type": "application/json" },
    body: JSON.stringify({ ...GATE, index_version: "v1", scores, policy: { kind: "drop_rate", target: 0.2 } }),
  });
  if (res.status !== 201) throw new Error(`calibration failed: ${res.status} ${await res.text()}`);
}

let seq = 0;
const rand = mulberry32(11);
function batchBody(prefix) {
  const queries = Array.from({ length: QUERIES }, () => [20, Math.floor(rand() * 9)]);
  return JSON.stringify({ batch_id: `${prefix}-${++seq}`, ...GATE, queries });
}

async function load(url, path, headers, prefix) {
  const result = await autocannon({
    url: new URL(path, url).toString(),
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        setupRequest: (req) => ({ ...req, body: batchBody(prefix) }),
      },
    ],
  });
  return {
    rps: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

async function monitorCounts(url) {
  const res = await fetch(new URL(`/v1/monitor?index=default&embedding=e5&reranker=bge`, url), { headers: { authorization: "Bearer dev-read" } });
  if (res.status !== 200) throw new Error(`GET /v1/monitor: ${res.status} ${await res.text()}`);
  const status = await res.json();
  return { batches: status.windows.reduce((s, w) => s + w.batches, 0), calls: status.queued_ingest.calls, queued: status.queued_ingest };
}

/** Polls the gate's counts until `expected` batches are counted; returns when that happened (ms, performance.now). */
async function drain(url, expected) {
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const c = await monitorCounts(url);
    if (c.batches >= expected) return { at: performance.now(), counts: c };
    if (performance.now() > deadline) throw new Error(`the consumer counted ${c.batches} of ${expected} accepted batches in ${DRAIN_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** One queue-mode run: load at the producer, then wait until the object has counted every accepted batch. */
async function queueRun(url, prefix) {
  const before = await monitorCounts(url);
  const t0 = performance.now();
  const produced = await load(url, "/v1/observations", { authorization: "Bearer dev-read" }, prefix);
  const loadEnd = performance.now();
  // autocannon's total counts answered requests; a request still in flight when it stops may be accepted too, so wait
  // for at least the answered ones, then read the final count once the queue is quiet.
  const drained = await drain(url, before.batches + produced.total);
  await new Promise((r) => setTimeout(r, 3_000));
  const after = await monitorCounts(url);
  const counted = after.batches - before.batches;
  const calls = after.calls - before.calls;
  return {
    ...produced,
    counted,
    calls,
    countedRps: counted / ((drained.at - t0) / 1000),
    drainMs: drained.at - loadEnd,
    perCall: calls > 0 ? counted / calls : null,
    callsPerS: calls / ((drained.at - t0) / 1000),
  };
}

const { consumer: sqConsumer } = await observationQueueConfig();
const sg = await startWorker();
const sq = await startWorker({ ingest: "queue" });
const base = await startInlineWorker(BASELINE);
try {
  await calibrate(sg.url);
  await calibrate(sq.url);
  // warm all three (isolate cache, object creation, the queue and its consumer)
  const warm = await load(sg.url, "/v1/observations", { authorization: "Bearer dev-read" }, "warm");
  await load(base.url, "/write", {}, "warm");
  const warmQueue = await queueRun(sq.url, "warm");
  log(
    `queue warm-up: ${warmQueue.rps.toFixed(0)} accepted/s, ${warmQueue.countedRps.toFixed(0)} counted/s, drained ${warmQueue.drainMs.toFixed(0)} ms after the load`,
  );
  const runs = { ingest: [], queue: [], baseline: [] };
  const orders = [
    ["ingest", "queue", "baseline"],
    ["baseline", "queue", "ingest"],
    ["queue", "ingest", "baseline"],
  ];
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of orders[r % orders.length]) {
      const res =
        name === "ingest"
          ? await load(sg.url, "/v1/observations", { authorization: "Bearer dev-read" }, `r${r}`)
          : name === "queue"
            ? await queueRun(sq.url, `r${r}`)
            : await load(base.url, "/write", {}, `r${r}`);
      runs[name].push(res);
      const extra =
        name === "queue"
          ? `; counted ${res.counted} at ${res.countedRps.toFixed(0)}/s in ${res.calls} object calls (${res.perCall?.toFixed(1)} batches a call), drained ${res.drainMs.toFixed(0)} ms after the load`
          : "";
      log(
        `round ${r + 1} ${name}: ${res.rps.toFixed(0)} req/s, p50 ${res.p50} ms, p99 ${res.p99} ms, errors ${res.errors}, non-2xx ${res.non2xx}${extra}`,
      );
    }
  }
  // every accepted ingest batch was counted exactly once
  const direct = await monitorCounts(sg.url);
  const counted = direct.batches;
  // autocannon counts answered requests; every answered ingest request was a 202 (errors are reported above)
  const sent = warm.total + runs.ingest.reduce((s, x) => s + x.total, 0);
  const queueFinal = await monitorCounts(sq.url);
  const queueSent = warmQueue.total + runs.queue.reduce((s, x) => s + x.total, 0);
  const summary = (xs) => ({
    rps: median(xs.map((x) => x.rps)),
    p50: median(xs.map((x) => x.p50)),
    p99: median(xs.map((x) => x.p99)),
    errors: xs.reduce((s, x) => s + x.errors + x.non2xx, 0),
  });
  const ing = summary(runs.ingest);
  const bl = summary(runs.baseline);
  const qu = summary(runs.queue);
  const quCounted = median(runs.queue.map((x) => x.countedRps));
  const quCallsPerS = median(runs.queue.map((x) => x.callsPerS));
  const quPerCall = median(runs.queue.map((x) => x.perCall ?? 0));
  const quDrain = median(runs.queue.map((x) => x.drainMs));
  const m = machineInfo();
  const md = `# Observation ingest on one gate (${new Date().toISOString()})

Command: \`node bench/observe-ingest.mjs --duration ${DURATION} --rounds ${ROUNDS} --connections ${CONNECTIONS} --queries ${QUERIES}\`
Machine: ${m.nproc} cores (${m.cpu}), Node ${m.node}, workerd ${m.workerd}, Miniflare ${m.miniflare}; workerd run through Miniflare directly.

| route | median batches/s | ratio to baseline | p50 / p99 ms | errors + non-2xx |
| --- | ---: | ---: | ---: | ---: |
| trivial Durable Object write (baseline) | ${bl.rps.toFixed(0)} | 1.00 | ${bl.p50} / ${bl.p99} | ${bl.errors} |
| \`POST /v1/observations\` direct (${QUERIES} queries a batch) | ${ing.rps.toFixed(0)} | ${(ing.rps / bl.rps).toFixed(2)} | ${ing.p50} / ${ing.p99} | ${ing.errors} |
| \`POST /v1/observations\` queue: accepted at the producer | ${qu.rps.toFixed(0)} | ${(qu.rps / bl.rps).toFixed(2)} | ${qu.p50} / ${qu.p99} | ${qu.errors} |
| queue: counted by the gate's object (load start to last count) | ${quCounted.toFixed(0)} | ${(quCounted / bl.rps).toFixed(2)} | | |

Queue mode: ${quCallsPerS.toFixed(1)} object calls/s, ${quPerCall.toFixed(1)} batches per object call (median of the rounds; the consumer takes up to ${sqConsumer.max_batch_size} messages, waiting at most ${sqConsumer.max_batch_timeout} s); the last accepted batch was counted a median ${(quDrain / 1000).toFixed(1)} s after the load stopped.
Per round: ${runs.queue.map((x) => `${x.rps.toFixed(0)} accepted/s, ${x.countedRps.toFixed(0)} counted/s, ${x.calls} calls for ${x.counted} batches, drained in ${(x.drainMs / 1000).toFixed(1)} s`).join("; ")}.

Design target: ${TARGET_BATCHES_PER_S} batches/s on one gate (direct ${((100 * ing.rps) / TARGET_BATCHES_PER_S).toFixed(0)} %, queue accepted ${((100 * qu.rps) / TARGET_BATCHES_PER_S).toFixed(0)} % and counted ${((100 * quCounted) / TARGET_BATCHES_PER_S).toFixed(0)} % reached here).
Direct: batches answered 202 (warm-up and measured rounds): ${sent}; counted by the gate's monitor: ${counted}${counted === sent ? " (none lost, none counted twice)" : ""}.
Queue: batches answered 202 queued: ${queueSent}; counted by the gate's monitor: ${queueFinal.batches} (duplicates ${queueFinal.queued.duplicates}, mismatches ${queueFinal.queued.mismatches}, object calls ${queueFinal.calls})${queueFinal.batches === queueSent ? " (none lost, none counted twice)" : ""}.
`;
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, md);
  console.log(md);
} finally {
  await base.close();
  await sq.close();
  await sg.close();
}
