/**
 * Read-path benchmark: GET /v1/threshold against a trivial route (GET /healthz) served by the same local workerd, side
 * by side in one run. Requirement: threshold throughput >= 0.8x trivial.
 *
 *   npm run bench:read                      (= node bench/threshold-read.mjs, Node 24 from the devDependency)
 *   npm run bench:read -- --duration 5 --rounds 6 --connections 32 --warmup 2 --out bench/results/threshold-read.md
 *
 * What it does: builds the worker (`wrangler deploy --dry-run`), runs it in Miniflare 5 on 127.0.0.1:<random port>
 * with ENVIRONMENT=development (dev tokens), applies the D1 migrations, calibrates one gate with 1,000 seeded scores,
 * then load-tests with autocannon (in this process, one thread) three routes, each for `duration` seconds per round:
 *   trivial        GET /healthz                                             (no auth)
 *   threshold      GET /v1/threshold?index=default&embedding=e5&reranker=bge  Authorization: Bearer dev-read
 *   threshold-304  the same with If-None-Match: <the gate's ETag>           (the polling SDK's path)
 * The order of the three rotates every round (a Latin square: 6 rounds put each route twice in each position), so
 * drift of the machine does not favour a route; many short rounds rather than a few long ones because the machines
 * here are shared (other jobs come and go), and the per-round paired ratios show how much that moved the numbers.
 * Besides requests/s and latency, it reports workerd's own CPU time per request (from /proc), which does not depend on
 * the load generator, and the load generator's CPU use, to show whether autocannon or workerd was the bottleneck.
 * A last instrumented run (not in the table of rates) counts which tier answered (X-Scoregate-Source): isolate, kv, d1.
 * Wall time: about build (~5 s) + 3 warmups + rounds x 3 x duration + 11 s (default ~115 s).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { BUILD_COMMAND, cpuSecondsOf, machineBusySeconds, machineInfo, median, mulberry32, ROOT, startWorker } from "./lib/worker.mjs";

const { values: opts } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    rounds: { type: "string", default: "6" },
    connections: { type: "string", default: "32" },
    warmup: { type: "string", default: "2" },
    out: { type: "string", default: "bench/results/threshold-read.md" },
  },
});
const DURATION = Number(opts.duration);
const ROUNDS = Number(opts.rounds);
const CONNECTIONS = Number(opts.connections);
const WARMUP = Number(opts.warmup);
const OUT = resolve(ROOT, opts.out);
const REQUIRED_RATIO = 0.8;
/** Two isolate-cache expiries (ISOLATE_CACHE_TTL_MS = 5 s) and a bit, for the instrumented run. */
const DIAG_SECONDS = 11;
/** Above this much CPU used by other processes (cores, max over the runs of a route), the run is flagged as noisy. */
const NOISY_OTHER_CORES = 0.25;
const THRESHOLD_PATH = "/v1/threshold?index=default&embedding=e5&reranker=bge";

const fmt = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? "n/a" : x.toFixed(d));
const log = (...a) => console.error(...a);

async function calibrateGate(url) {
  const rand = mulberry32(42);
  const scores = Array.from({ length: 1000 }, () => rand());
  const res = await fetch(new URL("/v1/calibrations", url), {
    method: "POST",
    headers: { authorization: "Bearer dev-calibrate", "content-type": "application/json" },
    body: JSON.stringify({ embedding: "e5", reranker: "bge", index_version: "v1", scores, policy: { kind: "drop_rate", target: 0.2 } }),
  });
  const body = await res.text();
  if (res.status !== 201) throw new Error(`calibration upload answered ${res.status}: ${body}`);
  return JSON.parse(body).calibration;
}

/** One autocannon run; returns throughput, latency, and CPU used by workerd and by this process (the load generator). */
async function load(url, scenario, seconds, workerdPid) {
  const cpuBefore = cpuSecondsOf(workerdPid);
  const busyBefore = machineBusySeconds();
  const selfBefore = process.cpuUsage();
  const t0 = performance.now();
  const r = await autocannon({
    url: new URL(scenario.path, url).href,
    method: "GET",
    headers: scenario.headers,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
  });
  const wall = (performance.now() - t0) / 1000;
  const cpuAfter = cpuSecondsOf(workerdPid);
  const busyAfter = machineBusySeconds();
  const self = process.cpuUsage(selfBefore);
  const selfCpu = (self.user + self.system) / 1e6;
  const ok = scenario.expect === 304 ? r["3xx"] : r["2xx"];
  const total = r["1xx"] + r["2xx"] + r["3xx"] + r["4xx"] + r["5xx"];
  const bad = total - ok + r.errors + r.timeouts;
  const workerdCpu = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
  return {
    name: scenario.name,
    rps: ok / r.duration,
    ok,
    bad,
    p50: r.latency.p50,
    p99: r.latency.p99,
    duration: r.duration,
    workerdCpuUsPerReq: workerdCpu === null || ok === 0 ? null : (1e6 * workerdCpu) / ok,
    workerdCpuShare: workerdCpu === null ? null : workerdCpu / wall,
    loadgenCpuShare: selfCpu / wall,
    // CPU used by everything else on the machine (other jobs) while this run lasted, in cores: contention indicator
    otherCpuShare: workerdCpu === null || busyBefore === null ? null : Math.max(0, busyAfter - busyBefore - workerdCpu - selfCpu) / wall,
  };
}

async function main() {
  const machine = machineInfo();
  log(`machine: nproc ${machine.nproc}, ${machine.cpu}, node ${machine.node}, ${machine.workerd}`);
  log("building and starting the worker ...");
  const h = await startWorker();
  try {
    log(
      `workerd on ${h.url.href} (pid ${h.workerdPid ?? "unknown"}), build ${fmt(h.buildMs)} ms, ${h.migrations.statements} migration statements from ${h.migrations.files.join(", ")}`,
    );
    const calibration = await calibrateGate(h.url);
    const probe = await fetch(new URL(THRESHOLD_PATH, h.url), { headers: { authorization: "Bearer dev-read" } });
    const probeBody = await probe.text();
    const etag = probe.headers.get("etag");
    if (probe.status !== 200 || etag === null) throw new Error(`threshold probe answered ${probe.status} (etag ${etag}): ${probeBody}`);
    const revalidate = await fetch(new URL(THRESHOLD_PATH, h.url), { headers: { authorization: "Bearer dev-read", "if-none-match": etag } });
    await revalidate.arrayBuffer();
    if (revalidate.status !== 304) throw new Error(`If-None-Match probe answered ${revalidate.status}, expected 304`);

    const scenarios = [
      { name: "trivial", label: "GET /healthz (trivial)", path: "/healthz", headers: {}, expect: 200 },
      { name: "threshold", label: "GET /v1/threshold", path: THRESHOLD_PATH, headers: { authorization: "Bearer dev-read" }, expect: 200 },
      {
        name: "threshold-304",
        label: "GET /v1/threshold + If-None-Match (304)",
        path: THRESHOLD_PATH,
        headers: { authorization: "Bearer dev-read", "if-none-match": etag },
        expect: 304,
      },
    ];

    log(`warmup: ${WARMUP} s per route`);
    for (const s of scenarios) await load(h.url, s, WARMUP, h.workerdPid);

    const runs = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const order = scenarios.map((_, i) => scenarios[(i + round - 1) % scenarios.length]);
      for (const s of order) {
        const r = await load(h.url, s, DURATION, h.workerdPid);
        runs.push({ round, ...r });
        log(
          `round ${round} ${s.name.padEnd(13)} ${fmt(r.rps).padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  ` +
            `workerd ${fmt(r.workerdCpuUsPerReq)} us/req (${fmt(100 * (r.workerdCpuShare ?? NaN))} % of a core)  ` +
            `autocannon ${fmt(100 * r.loadgenCpuShare)} % of a core  others ${fmt(100 * (r.otherCpuShare ?? NaN))} %  bad ${r.bad}`,
        );
      }
    }

    // Instrumented run: which tier answered each request (the per-response callback costs load-generator CPU, so
    // this run is not part of the rates above).
    const sources = {};
    const diag = await autocannon({
      url: new URL(THRESHOLD_PATH, h.url).href,
      headers: scenarios[1].headers,
      connections: CONNECTIONS,
      duration: DIAG_SECONDS,
      requests: [
        {
          onResponse: (status, _body, _ctx, headers) => {
            const key = `${status} ${headers["X-Scoregate-Source"] ?? headers["x-scoregate-source"] ?? "-"}`;
            sources[key] = (sources[key] ?? 0) + 1;
          },
        },
      ],
    });
    log(`sources over ${diag.duration} s: ${JSON.stringify(sources)}`);

    const of = (name) => runs.filter((r) => r.name === name);
    const summary = Object.fromEntries(
      scenarios.map((s) => {
        const rs = of(s.name);
        return [
          s.name,
          {
            label: s.label,
            rps: rs.map((r) => r.rps),
            median: median(rs.map((r) => r.rps)),
            p50: median(rs.map((r) => r.p50)),
            p99: median(rs.map((r) => r.p99)),
            p99max: Math.max(...rs.map((r) => r.p99)),
            cpu: rs.some((r) => r.workerdCpuUsPerReq === null) ? null : median(rs.map((r) => r.workerdCpuUsPerReq)),
            workerdShare: rs.some((r) => r.workerdCpuShare === null) ? null : median(rs.map((r) => r.workerdCpuShare)),
            loadgenShare: median(rs.map((r) => r.loadgenCpuShare)),
            otherShare: rs.some((r) => r.otherCpuShare === null) ? null : Math.max(...rs.map((r) => r.otherCpuShare)),
            bad: rs.reduce((a, r) => a + r.bad, 0),
          },
        ];
      }),
    );
    const base = summary.trivial;
    const ratio = (name) => summary[name].median / base.median;
    const pairedRatios = (name) => Array.from({ length: ROUNDS }, (_, i) => of(name)[i].rps / of("trivial")[i].rps);
    const ratioRead = ratio("threshold");
    const pairedMedian = (name) => median(pairedRatios(name));
    const maxOther = Math.max(...scenarios.map((s) => summary[s.name].otherShare ?? 0));
    const noisy = maxOther > NOISY_OTHER_CORES;
    const cpuRatio = (name) => (base.cpu === null || summary[name].cpu === null ? null : base.cpu / summary[name].cpu);
    // The verdict takes the lower of the two estimates: the ratio of the medians (the documented target) and the
    // median of the per-round ratios (robust to the machine's load changing between rounds).
    const verdictRatio = Math.min(ratioRead, median(pairedRatios("threshold")));
    const pass = verdictRatio >= REQUIRED_RATIO;

    const lines = [];
    lines.push("# GET /v1/threshold throughput against a trivial route (same workerd, same run)");
    lines.push("");
    lines.push(
      `Generated by \`bench/threshold-read.mjs\` on ${new Date().toISOString()}. Requirement: threshold throughput >= ${REQUIRED_RATIO}x the trivial route.`,
    );
    lines.push("");
    lines.push(
      `**Result: threshold / trivial = ${fmt(ratioRead, 2)} (ratio of the medians of ${ROUNDS} rounds); median of the per-round ratios ${fmt(pairedMedian("threshold"), 2)}; ` +
        `the lower, ${fmt(verdictRatio, 2)}, against the required ${REQUIRED_RATIO} -> ${pass ? "PASS" : "FAIL"}** ` +
        `(304 path: ${fmt(ratio("threshold-304"), 2)}, median of per-round ${fmt(pairedMedian("threshold-304"), 2)}). ` +
        `By workerd CPU per request (independent of the load generator): threshold ${fmt(cpuRatio("threshold"), 2)}, 304 ${fmt(cpuRatio("threshold-304"), 2)} of the trivial route's rate at CPU saturation.`,
    );
    lines.push("");
    if (noisy) {
      lines.push(
        `> **Noisy run:** other processes used up to ${fmt(maxOther, 2)} cores of ${machine.nproc} during the measurements (threshold ${NOISY_OTHER_CORES}); the per-round ratios below show how far that moved the rates. Rerun on an idle machine before reading a pass or fail into a ratio near ${REQUIRED_RATIO}.`,
      );
      lines.push("");
    }
    lines.push("## Command and machine");
    lines.push("");
    lines.push("```");
    lines.push(`npm run bench:read -- --duration ${DURATION} --rounds ${ROUNDS} --connections ${CONNECTIONS} --warmup ${WARMUP}`);
    lines.push(`# = node bench/threshold-read.mjs ...; the worker is built with: ${BUILD_COMMAND}`);
    lines.push("```");
    lines.push("");
    lines.push(
      `- nproc ${machine.nproc} (${machine.cpu}), ${process.platform} ${process.arch}; Node ${machine.node}; ${machine.workerd}; miniflare ${machine.miniflare}; wrangler ${machine.wrangler}`,
    );
    lines.push(
      `- workerd run by Miniflare directly (no \`wrangler dev\` proxy), 127.0.0.1, compatibility_date ${h.compatibilityDate}, ENVIRONMENT=development, local D1/KV/SQLite DO under a temp dir`,
    );
    lines.push(
      `- load: autocannon ${autocannonVersion()} in-process (one thread), ${CONNECTIONS} connections, no pipelining, ${DURATION} s per route per round, ${ROUNDS} rounds, route order rotated each round, ${WARMUP} s warmup per route; no Accept-Encoding (no gzip)`,
    );
    lines.push(
      `- gate calibrated first with 1,000 seeded scores (mulberry32(42)), drop_rate 0.2; threshold route sends \`Authorization: Bearer dev-read\`; the 304 route also sends \`If-None-Match: ${etag}\``,
    );
    lines.push("");
    lines.push("## Requests per second, per round");
    lines.push("");
    lines.push(
      `| route | ${Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1}`).join(" | ")} | median | ratio to trivial | p50 ms | p99 ms (median / max) | workerd CPU us/req | workerd CPU (share of a core) | autocannon CPU (share of a core) | other processes' CPU, max (cores) | non-expected responses |`,
    );
    lines.push(
      `| --- | ${Array.from({ length: ROUNDS }, () => "---:").join(" | ")} | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    );
    for (const s of scenarios) {
      const x = summary[s.name];
      lines.push(
        `| ${x.label} | ${x.rps.map((v) => fmt(v)).join(" | ")} | **${fmt(x.median)}** | ${s.name === "trivial" ? "1.00" : `**${fmt(ratio(s.name), 2)}**`} | ${fmt(x.p50, 1)} | ${fmt(x.p99, 1)} / ${fmt(x.p99max, 1)} | ${fmt(x.cpu)} | ${fmt(x.workerdShare, 2)} | ${fmt(x.loadgenShare, 2)} | ${fmt(x.otherShare, 2)} | ${x.bad} |`,
      );
    }
    lines.push("");
    lines.push(
      "Per-round ratios (paired, same round): " +
        ["threshold", "threshold-304"]
          .map(
            (n) =>
              `${n} ${pairedRatios(n)
                .map((x) => fmt(x, 2))
                .join(" / ")}`,
          )
          .join("; ") +
        ".",
    );
    lines.push("");
    const kvReads = Object.entries(sources)
      .filter(([k]) => !k.endsWith(" isolate"))
      .reduce((a, [, v]) => a + v, 0);
    const expiries = Math.max(1, Math.floor(diag.duration / 5));
    lines.push(
      `Which tier answered (instrumented ${diag.duration} s run of the threshold route, ${CONNECTIONS} connections): ` +
        Object.entries(sources)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k}: ${v}`)
          .join(", ") +
        `. About ${fmt(kvReads / expiries)} requests go past the isolate cache per 5 s cache expiry.`,
    );
    lines.push("");
    lines.push("## Reading the numbers");
    lines.push("");
    lines.push(
      "- Requests/s count only expected answers (200, or 304 for the revalidation route); any other status, error or timeout is listed in the last column.",
    );
    lines.push(
      "- workerd CPU us/req is user+system CPU of the workerd process (from /proc) divided by the answered requests: the cost of a request independent of the load generator. On a 2-core machine the load generator and workerd share the CPUs, so requests/s are a ratio measurement, not a capacity figure; compare CPU/req when the two disagree.",
    );
    lines.push(
      "- The threshold route is answered from the isolate cache (TTL 5 s, `ISOLATE_CACHE_TTL_MS`); after each expiry one request refreshes it from KV while the others keep the previous value for up to 1 s (src/platform/isolate-cache.ts, src/serving/threshold-reader.ts). Miniflare's local KV and D1 are not the production ones, so only the ratio is meaningful.",
    );
    lines.push("");
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, lines.join("\n"));
    console.log(lines.join("\n"));
    log(`\nwrote ${relative(process.cwd(), OUT) || OUT} (calibration ${calibration.id})`);
  } finally {
    await h.close();
  }
}

function autocannonVersion() {
  try {
    return JSON.parse(readFileSync(resolve(ROOT, "node_modules/autocannon/package.json"))).version;
  } catch {
    return "";
  }
}

await main();
