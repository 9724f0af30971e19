/**
 * GET /metrics at its gate cap: how long one scrape takes when MAX_METRICS_GATES gates are calibrated and observed,
 * against a trivial route (GET /healthz) in the same worker and the same run.
 *
 *   npm run bench:metrics                    (= node bench/metrics-cap.mjs)
 *   npm run bench:metrics -- --gates 300 --scrapes 7 --out bench/results/metrics-cap.md
 *
 * What it does: builds scoregate and starts it in workerd through Miniflare directly (bench/lib/worker.mjs, not
 * wrangler dev). It calibrates `gates` gates (100 queries of 20 scores each, target 0.2), sends each one observation
 * batch of 200 queries (so every gate's monitor has an open window and its series a bucket), raises a drop_rate_drift
 * alarm on one gate in ten (an open alert each), then alternates `scrapes` scrapes of GET /metrics with runs of 20
 * GET /healthz, and reports the median and the slowest scrape, the answer's size and samples, and the ratio of a
 * scrape to the trivial route. Prometheus' default scrape timeout is 10 s; scoregate promises 2 s at the cap.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { machineInfo, median, mulberry32, ROOT, startWorker } from "./lib/worker.mjs";

const { values: opts } = parseArgs({
  options: {
    gates: { type: "string", default: "300" },
    scrapes: { type: "string", default: "7" },
    out: { type: "string", default: "bench/results/metrics-cap.md" },
  },
});
const GATES = Number(opts.gates);
const SCRAPES = Number(opts.scrapes);
const OUT = resolve(ROOT, opts.out);
/** Seeding requests in flight at once. */
const SEED_CONCURRENCY = 4;
const log = (...a) => console.error(...a);

async function post(url, path, token, body) {
  const res = await fetch(new URL(path, url), {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

async function seedGate(url, i) {
  const rand = mulberry32(1000 + i);
  const gate = { index: `bench-${String(i).padStart(4, "0")}`, embedding: "e5", reranker: "bge" };
  const queries = Array.from({ length: 100 }, () => Array.from({ length: 20 }, () => Math.round(rand() * 1e4) / 1e4));
  await post(url, "/v1/calibrations", "dev-calibrate", { ...gate, index_version: "v1", queries, policy: { kind: "drop_rate", target: 0.2 } });
  // One gate in ten drifts to 60 % dropped: the detector alarms and an alert opens.
  const rate = i % 10 === 0 ? 0.6 : 0.2;
  const counts = Array.from({ length: 200 }, (_, q) => [20, Math.round(20 * rate + ((q % 3) - 1))]);
  const r = await post(url, "/v1/observations", "dev-read", { batch_id: `seed-${i}`, ...gate, queries: counts });
  return r.alerts.length > 0;
}

async function timed(url, path) {
  const start = performance.now();
  const res = await fetch(new URL(path, url), { headers: { authorization: "Bearer dev-read" } });
  const body = await res.text();
  const ms = performance.now() - start;
  if (!res.ok) throw new Error(`${path}: ${res.status} ${body.slice(0, 200)}`);
  return { ms, bytes: Buffer.byteLength(body), body };
}

const worker = await startWorker();
try {
  const url = worker.url;
  const seedStart = performance.now();
  let next = 0;
  let alarmed = 0;
  await Promise.all(
    Array.from({ length: SEED_CONCURRENCY }, async () => {
      while (next < GATES) {
        const i = next++;
        if (await seedGate(url, i)) alarmed++;
        if (i % 50 === 49) log(`seeded ${i + 1}/${GATES} gates`);
      }
    }),
  );
  const seedS = (performance.now() - seedStart) / 1000;
  // warm the isolate and the objects once, as a running Prometheus would have
  await timed(url, "/metrics");
  const scrapes = [];
  const trivial = [];
  let last = null;
  for (let r = 0; r < SCRAPES; r++) {
    last = await timed(url, "/metrics");
    scrapes.push(last.ms);
    for (let k = 0; k < 20; k++) trivial.push((await timed(url, "/healthz")).ms);
    log(`scrape ${r + 1}/${SCRAPES}: ${last.ms.toFixed(0)} ms`);
  }
  const listed = /^scoregate_metrics_gates\{listed="true"\} (\d+)$/mu.exec(last.body)?.[1];
  const alarms = last.body.split("\n").filter((l) => l.startsWith("scoregate_drift_alarm{") && l.endsWith(" 1")).length;
  const samples = last.body.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
  const m = machineInfo();
  const lines = [
    "# GET /metrics at its gate cap",
    "",
    `Command: \`node bench/metrics-cap.mjs --gates ${GATES} --scrapes ${SCRAPES}\` (workerd through Miniflare, bench/lib/worker.mjs).`,
    `Machine: ${m.nproc} cores, ${m.cpu}; Node ${m.node}; workerd ${m.workerd}; miniflare ${m.miniflare}.`,
    "",
    `${GATES} gates calibrated and observed (seeded in ${seedS.toFixed(0)} s), ${alarmed} of them alarmed with an open drop_rate_drift alert;`,
    `the scrape listed ${listed} gates, ${alarms} in alarm (scoregate_drift_alarm 1), ${samples} samples, ${(last.bytes / 1024).toFixed(0)} KB.`,
    "",
    "| request | median | slowest | ratio to GET /healthz (median) |",
    "| --- | ---: | ---: | ---: |",
    `| GET /metrics (${SCRAPES} scrapes) | ${median(scrapes).toFixed(0)} ms | ${Math.max(...scrapes).toFixed(0)} ms | ${(median(scrapes) / median(trivial)).toFixed(0)}x |`,
    `| GET /healthz (${trivial.length} requests) | ${median(trivial).toFixed(2)} ms | ${Math.max(...trivial).toFixed(2)} ms | 1x |`,
    "",
  ];
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, lines.join("\n"));
  console.log(lines.join("\n"));
} finally {
  await worker.close();
}
