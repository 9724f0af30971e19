/**
 * Propagation of a change to 1,000 subscribed clients of one gate: pushed (GET /v1/events, the SSE relay over the
 * gate's hibernating hub) against today's polling path (the SDK's ETag polling), in one run on one local workerd.
 *
 *   npm run bench:push           (= node bench/push-propagation.mjs, Node 24 from the devDependency)
 *   npm run bench:push -- --subscribers 1000 --activations 10 --gap 3 --idle 30 --out bench/results/push-propagation.md
 *
 * What it does: builds the worker, runs it in Miniflare 5 directly (workerd, not `wrangler dev`), uploads v1 (served)
 * and v2 (stored) of one gate, then:
 *   1. idle cost: workerd's CPU seconds over `idle` seconds with no subscriber;
 *   2. polling arm (first, so no held stream weighs on it): `subscribers` ScoregateClients (packages/client, ETag
 *      polling with the server's max-age, bundled with esbuild for this run), each asked for the threshold every
 *      `poll` ms as a busy service would; v2, v1, v2, ... activated `activations` times and the time each client first
 *      answers the new calibration recorded; then RSS and open file descriptors of workerd as the baseline;
 *   3. push arm: opens `subscribers` SSE streams (one Node process, undici fetch, a line parser), waits for each one's
 *      snapshot, measures RSS, file descriptors and `idle` seconds of CPU with all of them connected (heartbeats every
 *      15 s), then activates `activations` times, `gap` seconds apart, and records when each subscriber receives the
 *      event of each activation: latency from the activation's 200 (negative when the push arrives before the answer:
 *      listeners run before it) and from the request's start. Checks that every subscriber got every event exactly
 *      once, linked by prev_seq (gaps, duplicates and misses are counted, must be 0); then closes the streams and counts
 *      workerd's file descriptors again (are the relays torn down?).
 * The Node process's event-loop delay (perf_hooks.monitorEventLoopDelay) is reported per arm, so a saturated client
 * process is not read as server latency. Local KV is immediately consistent: production polling is slower by KV's
 * propagation (about 60 s) on top of what is measured here; pushed events do not go through KV.
 * Wall time: about build (~5 s) + 2 x idle + activations x gap + activations x (max-age + gap) (~3 min by default).
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { BUILD_COMMAND, cpuSecondsOf, machineInfo, mulberry32, procStatusKb, ROOT, startWorker } from "./lib/worker.mjs";

const { values: opts } = parseArgs({
  options: {
    subscribers: { type: "string", default: "1000" },
    activations: { type: "string", default: "10" },
    gap: { type: "string", default: "3" },
    idle: { type: "string", default: "30" },
    poll: { type: "string", default: "100" },
    out: { type: "string", default: "bench/results/push-propagation.md" },
  },
});
const N = Number(opts.subscribers);
const K = Number(opts.activations);
const GAP_MS = Number(opts.gap) * 1000;
const IDLE_MS = Number(opts.idle) * 1000;
const POLL_MS = Number(opts.poll);
const OUT = resolve(ROOT, opts.out);
/** A subscriber that has not seen an activation this long after its 200 counts as a miss. */
const MISS_AFTER_MS = 10_000;
/** The polling arm waits this long per activation: the SDK's max-age (5 s) and a margin. */
const POLL_WAIT_MS = 7_000;
const TARGET_P99_MS = 2_000;
const GATE = { index: "default", embedding: "e5", reranker: "bge-push" };
const GATE_QS = new URLSearchParams(GATE).toString();

const log = (...a) => console.error(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? "n/a" : x.toFixed(d));
const quantile = (xs, q) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};

async function api(url, method, path, token, body) {
  const res = await fetch(new URL(path, url), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

async function upload(url, version, activate, seed) {
  const rand = mulberry32(seed);
  const scores = Array.from({ length: 1000 }, () => rand());
  const body = { ...GATE, index_version: version, scores, policy: { kind: "drop_rate", target: 0.2 }, activate };
  return (await api(url, "POST", "/v1/calibrations", "dev-calibrate", body)).calibration.id;
}

/** One SSE subscriber: a streamed fetch, frames parsed as they come, each gate event stamped on arrival. */
function subscriber(url, onEvent) {
  const controller = new AbortController();
  const state = { connected: null, ended: false, last: 0, gaps: 0, dups: 0 };
  const ready = new Promise((resolveReady, rejectReady) => {
    (async () => {
      const res = await fetch(new URL(`/v1/events?${GATE_QS}`, url), {
        headers: { authorization: "Bearer dev-read", accept: "text/event-stream" },
        signal: controller.signal,
      });
      if (res.status !== 200) throw new Error(`GET /v1/events answered ${res.status}: ${await res.text()}`);
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const name = /^event: (.*)$/mu.exec(frame)?.[1];
          const data = /^data: (.*)$/mu.exec(frame)?.[1];
          if (name === "snapshot") {
            state.last = JSON.parse(data).seq;
            state.connected = performance.now();
            resolveReady();
          } else if (name === "gate") {
            const at = performance.now();
            const e = JSON.parse(data);
            if (e.seq <= state.last) state.dups++;
            else {
              if (e.prev_seq !== state.last) state.gaps++;
              state.last = e.seq;
              onEvent(e, at);
            }
          }
        }
      }
    })()
      .catch((e) => {
        if (e.name !== "AbortError") rejectReady(e);
      })
      .finally(() => {
        state.ended = true;
      });
  });
  return { state, ready, close: () => controller.abort() };
}

/** The SDK (packages/client) bundled for this run: today's polling client. */
async function loadClient() {
  const outfile = join(ROOT, "node_modules", ".cache", "scoregate-bench", "push-propagation-client.mjs");
  await build({
    entryPoints: [join(ROOT, "packages/client/src/index.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile,
    logLevel: "warning",
  });
  return import(outfile);
}

/** Open file descriptors of `pid` (sockets included); null when unavailable. */
const fdCount = (pid) => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
};

const cpuOver = async (pid, ms) => {
  const before = cpuSecondsOf(pid);
  await sleep(ms);
  const after = cpuSecondsOf(pid);
  return before === null || after === null ? null : after - before;
};

function summary(xs) {
  return { n: xs.length, p50: quantile(xs, 0.5), p90: quantile(xs, 0.9), p99: quantile(xs, 0.99), max: quantile(xs, 1) };
}

async function main() {
  const machine = machineInfo();
  log(`starting workerd (build, migrations) ...`);
  const h = await startWorker();
  const pid = h.workerdPid;
  try {
    const url = h.url;
    const v1 = await upload(url, "v1", true, 1);
    const v2 = await upload(url, "v2", false, 2);
    const targets = Array.from({ length: K }, (_, i) => (i % 2 === 0 ? v2 : v1));

    // 1. idle, nobody subscribed
    await sleep(2000);
    log(`idle ${IDLE_MS / 1000} s with no subscriber ...`);
    const idleCpu0 = await cpuOver(pid, IDLE_MS);

    // 2. polling arm: today's SDK (first: it holds no stream)
    log(`polling arm: ${N} ScoregateClients ...`);
    const { ScoregateClient } = await loadClient();
    const clients = Array.from({ length: N }, () => new ScoregateClient({ baseUrl: url.href, token: "dev-read" }));
    const seen = clients.map(() => null);
    const gateKey = GATE;
    await Promise.all(clients.map((c) => c.getThreshold(gateKey, { fallback: 0.5 })));
    log("polling clients have a first value");
    let stop = false;
    const pollTimes = clients.map(() => []);
    const pollers = clients.map(async (c, i) => {
      await sleep((i / N) * POLL_MS);
      while (!stop) {
        const r = await c.getThreshold(gateKey, { fallback: 0.5 });
        if (r.calibrationId !== seen[i]) {
          seen[i] = r.calibrationId;
          pollTimes[i].push({ at: performance.now(), cal: r.calibrationId });
        }
        await sleep(POLL_MS);
      }
    });
    const pollFrom200 = [];
    const pollFromStart = [];
    const pollRequests = [];
    let pollMisses = 0;
    const loopPoll = monitorEventLoopDelay({ resolution: 5 });
    loopPoll.enable();
    for (const target of targets) {
      const t0 = performance.now();
      await api(url, "POST", `/v1/calibrations/${target}/activate`, "dev-admin", { reason: "bench polling" });
      const t200 = performance.now();
      log(`polling: activation answered in ${fmt(t200 - t0)} ms`);
      pollRequests.push(t200 - t0);
      await sleep(POLL_WAIT_MS);
      for (const times of pollTimes) {
        const hit = times.find((t) => t.at >= t0 && t.cal === target);
        if (hit === undefined) pollMisses++;
        else {
          pollFrom200.push(hit.at - t200);
          pollFromStart.push(hit.at - t0);
        }
      }
      await sleep(Math.max(0, GAP_MS - POLL_WAIT_MS));
    }
    loopPoll.disable();
    stop = true;
    await Promise.all(pollers);
    await sleep(2000);
    const rss0 = procStatusKb(pid, "VmRSS");
    const fds0 = fdCount(pid);

    // 3. push arm
    log(`opening ${N} subscriptions ...`);
    const arrivals = new Map(); // seq -> arrival times
    const subs = [];
    const tOpen = performance.now();
    for (let i = 0; i < N; i++) {
      subs.push(
        subscriber(url, (e, at) => {
          const list = arrivals.get(e.seq) ?? [];
          list.push({ at, cal: e.calibration_id });
          arrivals.set(e.seq, list);
        }),
      );
      if (i % 100 === 99) await Promise.all(subs.slice(i - 99).map((s) => s.ready));
    }
    await Promise.all(subs.map((s) => s.ready));
    const connectMs = performance.now() - tOpen;
    await sleep(2000);
    const rssN = procStatusKb(pid, "VmRSS");
    const fdsN = fdCount(pid);
    log(`idle ${IDLE_MS / 1000} s with ${N} subscribers ...`);
    const idleCpuN = await cpuOver(pid, IDLE_MS);

    const pushFrom200 = [];
    const pushFromStart = [];
    const perActivation = [];
    let misses = 0;
    const loopPush = monitorEventLoopDelay({ resolution: 5 });
    loopPush.enable();
    for (const target of targets) {
      const t0 = performance.now();
      await api(url, "POST", `/v1/calibrations/${target}/activate`, "dev-admin", { reason: "bench" });
      const t200 = performance.now();
      log(`push: activation answered in ${fmt(t200 - t0)} ms`);
      const deadline = t200 + MISS_AFTER_MS;
      // the event of this activation is the newest seq whose calibration is the target
      let got = [];
      while (performance.now() < deadline) {
        const newest = Math.max(...arrivals.keys());
        got = arrivals.get(newest) ?? [];
        if (got.length >= N && got[0].cal === target) break;
        await sleep(20);
      }
      const mine = got.filter((g) => g.cal === target);
      misses += N - mine.length;
      const lat = mine.map((g) => g.at - t200);
      pushFrom200.push(...lat);
      pushFromStart.push(...mine.map((g) => g.at - t0));
      perActivation.push({ request: t200 - t0, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: quantile(lat, 1), got: mine.length });
      await sleep(Math.max(0, GAP_MS - (performance.now() - t200)));
    }
    loopPush.disable();
    const gaps = subs.reduce((a, s) => a + s.state.gaps, 0);
    const dups = subs.reduce((a, s) => a + s.state.dups, 0);
    const endedEarly = subs.filter((s) => s.state.ended).length;
    for (const s of subs) s.close();
    await sleep(5000);
    const fdsAfter = fdCount(pid);

    const push = summary(pushFrom200);
    const pushStart = summary(pushFromStart);
    const poll = summary(pollFrom200);
    const pollStart = summary(pollFromStart);
    const bytesPerSub = rss0 !== null && rssN !== null ? ((rssN - rss0) * 1024) / N : null;
    const lines = [];
    const row = (name, s) => `| ${name} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p90)} | ${fmt(s.p99)} | ${fmt(s.max)} |`;
    lines.push(`# Pushed changes: propagation to ${N} subscribers of one gate`);
    lines.push("");
    lines.push(
      `Command: \`npm run bench:push -- --subscribers ${N} --activations ${K} --gap ${GAP_MS / 1000} --idle ${IDLE_MS / 1000} --poll ${POLL_MS}\``,
    );
    lines.push(`Build: \`${BUILD_COMMAND}\`, run by Miniflare ${machine.miniflare} (workerd ${machine.workerd}); Node ${machine.node}.`);
    lines.push(`Machine: ${machine.nproc} cores, ${machine.cpu}. Date: ${new Date().toISOString()}.`);
    lines.push("");
    lines.push("## Latency from the activation's 200 to each subscriber having the new calibration (ms)");
    lines.push("");
    lines.push("| arm | samples | p50 | p90 | p99 | max |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: |");
    lines.push(row("push (SSE relay over the hibernating hub)", push));
    lines.push(row("push, from the activation request's start", pushStart));
    lines.push(row("polling (today's SDK, ETag, max-age 5 s)", poll));
    lines.push(row("polling, from the activation request's start", pollStart));
    lines.push("");
    lines.push(
      `From the request's start, polling / push: p50 ${fmt(pollStart.p50 / pushStart.p50, 1)}x, p99 ${fmt(pollStart.p99 / pushStart.p99, 1)}x. Target p99 < ${TARGET_P99_MS} ms for push (from the 200): ${push.p99 < TARGET_P99_MS ? "met" : "NOT met"}.`,
    );
    lines.push(
      `Push: ${misses} missed (not received within ${MISS_AFTER_MS / 1000} s), ${gaps} gaps (prev_seq not the last seen), ${dups} duplicates, ${endedEarly} streams ended early. Polling: ${pollMisses} clients that did not see an activation within ${POLL_WAIT_MS / 1000} s.`,
    );
    lines.push("");
    lines.push("Per activation (push): activation request ms, then p50 / p99 / max from its 200, subscribers reached:");
    lines.push("");
    lines.push("| # | request | p50 | p99 | max | reached |");
    lines.push("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const [i, a] of perActivation.entries()) {
      lines.push(`| ${i + 1} | ${fmt(a.request)} | ${fmt(a.p50)} | ${fmt(a.p99)} | ${fmt(a.max)} | ${a.got} |`);
    }
    lines.push("");
    lines.push(`Activation requests during the polling arm (ms): ${pollRequests.map((x) => fmt(x)).join(", ")}.`);
    lines.push("");
    lines.push("## Client process (event-loop delay while measuring, ms)");
    lines.push("");
    lines.push(
      `push arm: p50 ${fmt(loopPush.percentile(50) / 1e6, 1)}, p99 ${fmt(loopPush.percentile(99) / 1e6, 1)}, max ${fmt(loopPush.max / 1e6, 1)}; polling arm: p50 ${fmt(loopPoll.percentile(50) / 1e6, 1)}, p99 ${fmt(loopPoll.percentile(99) / 1e6, 1)}, max ${fmt(loopPoll.max / 1e6, 1)}.`,
    );
    lines.push("");
    lines.push("## Cost of held subscriptions (workerd process)");
    lines.push("");
    lines.push("| | no subscriber | " + N + " subscribers |");
    lines.push("| --- | ---: | ---: |");
    lines.push(`| RSS (MB) | ${fmt(rss0 / 1024, 1)} | ${fmt(rssN / 1024, 1)} |`);
    lines.push(`| CPU seconds over ${IDLE_MS / 1000} idle s | ${fmt(idleCpu0, 2)} | ${fmt(idleCpuN, 2)} |`);
    lines.push(`| open file descriptors | ${fds0} | ${fdsN} (5 s after the ${N} clients disconnected: ${fdsAfter}) |`);
    lines.push("");
    lines.push(
      `Memory per subscription (relay request + hub socket + client side in workerd): ${fmt(bytesPerSub === null ? null : bytesPerSub / 1024, 1)} KB. Idle CPU per subscription and heartbeat: ${fmt(idleCpuN !== null && idleCpu0 !== null ? ((idleCpuN - idleCpu0) / N / (IDLE_MS / 15000)) * 1e6 : null, 1)} µs. ${N} subscriptions connected in ${fmt(connectMs)} ms.`,
    );
    const text = `${lines.join("\n")}\n`;
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, text);
    process.stdout.write(text);
    log(`written to ${relative(ROOT, OUT)}`);
  } finally {
    await h.close();
  }
}

await main();
