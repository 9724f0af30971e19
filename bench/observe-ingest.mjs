/**
 * Observation ingest on one gate: how many `POST /v1/observations` batches per second one gate's Durable Object takes,
 * against a trivial Durable Object write (one SQLite INSERT per request, in a second minimal Worker) in the same run.
 *
 *   npm run bench:ingest                     (= node bench/observe-ingest.mjs)
 *   npm run bench:ingest -- --duration 15 --rounds 2 --connections 32 --queries 20 --out bench/results/observe-ingest.md
 *
 * What it does: builds and starts scoregate in workerd through Miniflare directly (not wrangler dev), calibrates one
 * gate, then alternates autocannon runs of
 *   ingest    POST /v1/observations  {"batch_id": <unique>, index, embedding, reranker, "queries": [[20, d], ...]}
 *   baseline  POST /write            a Durable Object that INSERTs the body's batch id into SQLite
 * each for `duration` seconds per round. Every batch id is unique, so every ingest request is counted (no duplicates).
 * Reports batches/s, p50/p99 latency, errors and non-2xx answers, and the ratio ingest/baseline.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { ROOT, machineInfo, median, mulberry32, startInlineWorker, startWorker } from "./lib/worker.mjs";

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

const sg = await startWorker();
const base = await startInlineWorker(BASELINE);
try {
  await calibrate(sg.url);
  // warm both (isolate cache, object creation)
  const warm = await load(sg.url, "/v1/observations", { authorization: "Bearer dev-read" }, "warm");
  await load(base.url, "/write", {}, "warm");
  const runs = { ingest: [], baseline: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ["ingest", "baseline"] : ["baseline", "ingest"];
    for (const name of order) {
      const res =
        name === "ingest"
          ? await load(sg.url, "/v1/observations", { authorization: "Bearer dev-read" }, `r${r}`)
          : await load(base.url, "/write", {}, `r${r}`);
      runs[name].push(res);
      log(`round ${r + 1} ${name}: ${res.rps.toFixed(0)} req/s, p50 ${res.p50} ms, p99 ${res.p99} ms, errors ${res.errors}, non-2xx ${res.non2xx}`);
    }
  }
  // every accepted ingest batch was counted exactly once
  const status = await (
    await fetch(new URL(`/v1/monitor?index=default&embedding=e5&reranker=bge`, sg.url), { headers: { authorization: "Bearer dev-read" } })
  ).json();
  const counted = status.windows.reduce((s, w) => s + w.batches, 0);
  // autocannon counts answered requests; every answered ingest request was a 202 (errors are reported above)
  const sent = warm.total + runs.ingest.reduce((s, x) => s + x.total, 0);
  const summary = (xs) => ({
    rps: median(xs.map((x) => x.rps)),
    p50: median(xs.map((x) => x.p50)),
    p99: median(xs.map((x) => x.p99)),
    errors: xs.reduce((s, x) => s + x.errors + x.non2xx, 0),
  });
  const ing = summary(runs.ingest);
  const bl = summary(runs.baseline);
  const m = machineInfo();
  const md = `# Observation ingest on one gate (${new Date().toISOString()})

Command: \`node bench/observe-ingest.mjs --duration ${DURATION} --rounds ${ROUNDS} --connections ${CONNECTIONS} --queries ${QUERIES}\`
Machine: ${m.nproc} cores (${m.cpu}), Node ${m.node}, workerd ${m.workerd}, Miniflare ${m.miniflare}; workerd run through Miniflare directly.

| route | median batches/s | ratio to baseline | p50 / p99 ms | errors + non-2xx |
| --- | ---: | ---: | ---: | ---: |
| trivial Durable Object write (baseline) | ${bl.rps.toFixed(0)} | 1.00 | ${bl.p50} / ${bl.p99} | ${bl.errors} |
| \`POST /v1/observations\` (${QUERIES} queries a batch) | ${ing.rps.toFixed(0)} | ${(ing.rps / bl.rps).toFixed(2)} | ${ing.p50} / ${ing.p99} | ${ing.errors} |

Design target: ${TARGET_BATCHES_PER_S} batches/s on one gate (${((100 * ing.rps) / TARGET_BATCHES_PER_S).toFixed(0)} % reached here).
Batches answered 202 (warm-up and measured rounds): ${sent}; batches counted by the gate's monitor: ${counted}${counted === sent ? " (none lost, none counted twice)" : ""}.
`;
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, md);
  console.log(md);
} finally {
  await base.close();
  await sg.close();
}
