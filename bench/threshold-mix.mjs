/**
 * Load on the read path over many gates: a burst of calibrations across 1,000 gates against a trivial upload (the same
 * bodies POSTed to a minimal Worker that parses them and INSERTs one D1 row) in the same run, then `GET /v1/threshold`
 * over a mix of hot and cold gates for 60 s against the trivial route (GET /healthz), with the Worker isolate's V8
 * heap (over workerd's inspector) and workerd's resident memory sampled before, during and after (the isolate cache
 * is bounded, so it must stay flat).
 *
 *   npm run bench:mix                        (= node bench/threshold-mix.mjs)
 *   npm run bench:mix -- --gates 1000 --duration 60 --trivial 15 --connections 32 --out bench/results/threshold-mix.md
 *
 * Burst: GATES uploads of 500 seeded scores each, BURST_IN_FLIGHT at a time; the trivial upload runs the same bodies
 * just before and just after scoregate's burst, and the ratio is against the mean of the two.
 * Mix: 90 % of requests go to 10 hot gates, 10 % to a uniformly random one of all gates (mostly cold: outside the
 * isolate cache's 5 s freshness, so they reach KV). Every Worker runs in workerd through Miniflare directly.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { isolateHeapUsage, machineInfo, mulberry32, ROOT, startInlineWorker, startWorker } from "./lib/worker.mjs";

const { values: opts } = parseArgs({
  options: {
    gates: { type: "string", default: "1000" },
    duration: { type: "string", default: "60" },
    trivial: { type: "string", default: "15" },
    connections: { type: "string", default: "32" },
    out: { type: "string", default: "bench/results/threshold-mix.md" },
  },
});
const GATES = Number(opts.gates);
const DURATION = Number(opts.duration);
const TRIVIAL = Number(opts.trivial);
const CONNECTIONS = Number(opts.connections);
const OUT = resolve(ROOT, opts.out);
const HOT = 10;
const SCORES_PER_UPLOAD = 500;
const BURST_IN_FLIGHT = 8;
const SAMPLE_EVERY_MS = 5_000;
const log = (...a) => console.error(...a);

/** The burst's trivial baseline: parse the upload, INSERT one row into D1, answer 201. */
const BASELINE = `
import { DurableObject } from "cloudflare:workers";
export class Baseline extends DurableObject {}
export default {
  async fetch(request, env) {
    const body = await request.json();
    if (!Array.isArray(body.scores)) return Response.json({ error: { code: "bad_request", message: "scores must be an array" } }, { status: 400 });
    await env.DB.prepare("INSERT INTO uploads (reranker, n) VALUES (?, ?)").bind(body.reranker, body.scores.length).run();
    return Response.json({ stored: body.scores.length }, { status: 201 });
  },
};`;

const rssMb = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/u.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};
const path = (i) => `/v1/threshold?index=mix&embedding=e5&reranker=bge-${i}`;

/** POSTs every body to `url`, BURST_IN_FLIGHT at a time; seconds taken and answers other than 201. */
async function burst(url, headers, bodies) {
  const t0 = performance.now();
  let next = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: BURST_IN_FLIGHT }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
        if (res.status !== 201) failures++;
        await res.arrayBuffer();
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, failures };
}

const rand = mulberry32(3);
const bodies = Array.from({ length: GATES }, (_, i) =>
  JSON.stringify({
    index: "mix",
    embedding: "e5",
    reranker: `bge-${i}`,
    index_version: "v1",
    scores: Array.from({ length: SCORES_PER_UPLOAD }, () => rand()),
    policy: { kind: "drop_rate", target: 0.2 },
  }),
);
const meanBodyBytes = bodies.reduce((a, b) => a + b.length, 0) / bodies.length;

const w = await startWorker({ inspector: true });
const base = await startInlineWorker(BASELINE, { d1: true });
try {
  const baseDb = await base.mf.getD1Database("DB");
  await baseDb.exec("CREATE TABLE uploads (id INTEGER PRIMARY KEY, reranker TEXT NOT NULL, n INTEGER NOT NULL)");
  const baselineUrl = new URL("/upload", base.url);
  const heapStart = await isolateHeapUsage(w.mf, { gc: true, wake: new URL("/healthz", w.url) });
  const baseBefore = await burst(baselineUrl, {}, bodies);
  log(`baseline burst: ${GATES} in ${baseBefore.seconds.toFixed(1)} s (${baseBefore.failures} failures)`);
  const cal = await burst(new URL("/v1/calibrations", w.url), { authorization: "Bearer dev-calibrate" }, bodies);
  log(`calibrated ${GATES} gates in ${cal.seconds.toFixed(1)} s (${cal.failures} failures)`);
  const baseAfter = await burst(baselineUrl, {}, bodies);
  log(`baseline burst: ${GATES} in ${baseAfter.seconds.toFixed(1)} s (${baseAfter.failures} failures)`);
  const rate = (b) => GATES / b.seconds;
  const baseRate = (rate(baseBefore) + rate(baseAfter)) / 2;
  const burstS = cal.seconds;
  const failures = cal.failures;

  const pick = mulberry32(5);
  const run = (duration, setup) =>
    autocannon({
      url: w.url.toString(),
      connections: CONNECTIONS,
      duration,
      requests: [{ method: "GET", headers: { authorization: "Bearer dev-read" }, setupRequest: setup }],
    });
  const summary = (r) => ({
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    bad: r.errors + r.timeouts + r.non2xx,
    total: r.requests.total,
  });

  await run(3, (req) => ({ ...req, path: "/healthz" })); // warm-up
  const rssBefore = rssMb(w.workerdPid);
  const trivial = summary(await run(TRIVIAL, (req) => ({ ...req, path: "/healthz" })));
  log(`trivial: ${trivial.rps.toFixed(0)} req/s`);
  const heapBefore = await isolateHeapUsage(w.mf, { gc: true, wake: new URL("/healthz", w.url) });
  const samples = [];
  const heapSamples = [];
  const timer = setInterval(() => {
    samples.push(rssMb(w.workerdPid));
    // without a forced collection: what the isolate holds at that moment, garbage included
    isolateHeapUsage(w.mf).then(
      (h) => heapSamples.push(h.usedMb),
      (e) => log(`heap sample failed: ${e.message}`),
    );
  }, SAMPLE_EVERY_MS);
  const mix = summary(
    await run(DURATION, (req) => ({ ...req, path: pick() < 0.9 ? path(Math.floor(pick() * HOT)) : path(Math.floor(pick() * GATES)) })),
  );
  clearInterval(timer);
  const rssAfter = rssMb(w.workerdPid);
  const heapAfter = await isolateHeapUsage(w.mf, { gc: true, wake: new URL("/healthz", w.url) });
  log(`mix: ${mix.rps.toFixed(0)} req/s, ${mix.bad} bad`);
  const mb = (x) => x.toFixed(1);

  const m = machineInfo();
  const md = `# Read path over hot and cold gates (${new Date().toISOString()})

Command: \`node bench/threshold-mix.mjs --gates ${GATES} --duration ${DURATION} --trivial ${TRIVIAL} --connections ${CONNECTIONS}\`
Machine: ${m.nproc} cores (${m.cpu}), Node ${m.node}, workerd ${m.workerd}, Miniflare ${m.miniflare}; workerd run through Miniflare directly.

Burst: ${GATES} uploads of ${SCORES_PER_UPLOAD} scores each (${(meanBodyBytes / 1024).toFixed(1)} KB JSON on average), ${BURST_IN_FLIGHT} in flight.

| upload | time | uploads/s | ratio to trivial | not 201 |
| --- | ---: | ---: | ---: | ---: |
| trivial: parse the body, one D1 INSERT (before) | ${baseBefore.seconds.toFixed(1)} s | ${rate(baseBefore).toFixed(0)} | | ${baseBefore.failures} |
| trivial (after) | ${baseAfter.seconds.toFixed(1)} s | ${rate(baseAfter).toFixed(0)} | | ${baseAfter.failures} |
| \`POST /v1/calibrations\` (fit, shift report, D1 batch, KV publish) | ${burstS.toFixed(1)} s | ${(GATES / burstS).toFixed(0)} | ${(GATES / burstS / baseRate).toFixed(2)} | ${failures} |

| route | duration | requests/s | ratio to trivial | p50 / p99 ms | errors + non-2xx |
| --- | ---: | ---: | ---: | ---: | ---: |
| \`GET /healthz\` (trivial) | ${TRIVIAL} s | ${trivial.rps.toFixed(0)} | 1.00 | ${trivial.p50} / ${trivial.p99} | ${trivial.bad} |
| \`GET /v1/threshold\`, 90 % on ${HOT} hot gates, 10 % over all ${GATES} | ${DURATION} s | ${mix.rps.toFixed(0)} | ${(mix.rps / trivial.rps).toFixed(2)} | ${mix.p50} / ${mix.p99} | ${mix.bad} |

Worker isolate V8 heap (workerd inspector, \`Runtime.getHeapUsage\`; after a forced GC where marked): ${mb(heapStart.usedMb)} MB used before the burst (GC), ${mb(heapBefore.usedMb)} MB after it (GC), every 5 s during the mix: ${heapSamples.map(mb).join(", ")} MB (no GC), ${mb(heapAfter.usedMb)} MB after the mix (GC; heap reserved ${mb(heapAfter.totalMb)} MB).

workerd resident memory: ${rssBefore.toFixed(0)} MB before the mix, ${rssAfter.toFixed(0)} MB after; every 5 s during it: ${samples.map((x) => x.toFixed(0)).join(", ")} MB.
(One workerd process runs every isolate and the local D1/KV/DO emulation: the process figure bounds the isolate's growth from above.)
`;
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, md);
  console.log(md);
} finally {
  await base.close();
  await w.close();
}
