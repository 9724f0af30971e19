/**
 * Load on the read path over many gates: a burst of calibrations across 1,000 gates, then `GET /v1/threshold` over a
 * mix of hot and cold gates for 60 s, against the trivial route (GET /healthz) in the same run, with workerd's memory
 * sampled before and after (the isolate cache is bounded, so it must stay flat).
 *
 *   npm run bench:mix                        (= node bench/threshold-mix.mjs)
 *   npm run bench:mix -- --gates 1000 --duration 60 --trivial 15 --connections 32 --out bench/results/threshold-mix.md
 *
 * Mix: 90 % of requests go to 10 hot gates, 10 % to a uniformly random one of all gates (mostly cold: outside the
 * isolate cache's 5 s freshness, so they reach KV). Both routes run in workerd through Miniflare directly.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { ROOT, machineInfo, mulberry32, startWorker } from "./lib/worker.mjs";

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
const log = (...a) => console.error(...a);

const rssMb = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/u.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};
const path = (i) => `/v1/threshold?index=mix&embedding=e5&reranker=bge-${i}`;

const w = await startWorker();
try {
  // burst of calibrations: GATES uploads, 8 in flight
  const rand = mulberry32(3);
  const t0 = performance.now();
  let next = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < GATES) {
        const i = next++;
        const scores = Array.from({ length: 500 }, () => rand());
        const res = await fetch(new URL("/v1/calibrations", w.url), {
          method: "POST",
          headers: { authorization: "Bearer dev-calibrate", "content-type": "application/json" },
          body: JSON.stringify({
            index: "mix",
            embedding: "e5",
            reranker: `bge-${i}`,
            index_version: "v1",
            scores,
            policy: { kind: "drop_rate", target: 0.2 },
          }),
        });
        if (res.status !== 201) failures++;
        await res.arrayBuffer();
      }
    }),
  );
  const burstS = (performance.now() - t0) / 1000;
  log(`calibrated ${GATES} gates in ${burstS.toFixed(1)} s (${failures} failures)`);

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
  const samples = [];
  const timer = setInterval(() => samples.push(rssMb(w.workerdPid)), 5000);
  const mix = summary(
    await run(DURATION, (req) => ({ ...req, path: pick() < 0.9 ? path(Math.floor(pick() * HOT)) : path(Math.floor(pick() * GATES)) })),
  );
  clearInterval(timer);
  const rssAfter = rssMb(w.workerdPid);
  log(`mix: ${mix.rps.toFixed(0)} req/s, ${mix.bad} bad`);

  const m = machineInfo();
  const md = `# Read path over hot and cold gates (${new Date().toISOString()})

Command: \`node bench/threshold-mix.mjs --gates ${GATES} --duration ${DURATION} --trivial ${TRIVIAL} --connections ${CONNECTIONS}\`
Machine: ${m.nproc} cores (${m.cpu}), Node ${m.node}, workerd ${m.workerd}, Miniflare ${m.miniflare}; workerd run through Miniflare directly.

Burst: ${GATES} calibrations (500 scores each, 8 in flight) in ${burstS.toFixed(1)} s (${(GATES / burstS).toFixed(0)}/s), ${failures} failed.

| route | duration | requests/s | ratio to trivial | p50 / p99 ms | errors + non-2xx |
| --- | ---: | ---: | ---: | ---: | ---: |
| \`GET /healthz\` (trivial) | ${TRIVIAL} s | ${trivial.rps.toFixed(0)} | 1.00 | ${trivial.p50} / ${trivial.p99} | ${trivial.bad} |
| \`GET /v1/threshold\`, 90 % on ${HOT} hot gates, 10 % over all ${GATES} | ${DURATION} s | ${mix.rps.toFixed(0)} | ${(mix.rps / trivial.rps).toFixed(2)} | ${mix.p50} / ${mix.p99} | ${mix.bad} |

workerd resident memory: ${rssBefore.toFixed(0)} MB before the mix, ${rssAfter.toFixed(0)} MB after; every 5 s during it: ${samples.map((x) => x.toFixed(0)).join(", ")} MB.
(One workerd process runs every isolate and the local D1/KV/DO emulation, so this bounds the isolate's growth from above.)
`;
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, md);
  console.log(md);
} finally {
  await w.close();
}
