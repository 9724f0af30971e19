/**
 * Propagation of a change to 1,000 subscribed clients of one gate, three ways in one run on one local workerd: pushed
 * over SSE (GET /v1/events, the edge relay over the gate's hibernating hub: what the Worker ships), pushed over a
 * WebSocket held by the gate's hub itself (no relay), and today's polling path (the SDK's ETag polling).
 *
 *   npm run bench:push           (= node bench/push-propagation.mjs, Node 24 from the devDependency)
 *   npm run bench:push -- --subscribers 1000 --activations 10 --gap 3 --idle 30 --poll 100 --out bench/results/push-propagation.md
 *
 * What it does: builds the worker, runs it in Miniflare 5 directly (workerd, not `wrangler dev`), uploads v1 (served)
 * and v2 (stored) of one gate, then:
 *   1. idle cost: workerd's CPU seconds over `idle` seconds with no subscriber;
 *   2. polling arm (first, so no held stream weighs on it): `subscribers` ScoregateClients (packages/client, ETag
 *      polling with the server's max-age, bundled with esbuild for this run), each asked for the threshold every
 *      `poll` ms as a busy service would; v2, v1, v2, ... activated `activations` times and the time each client first
 *      answers the new calibration recorded; then RSS and open file descriptors of workerd as the baseline;
 *   3. SSE arm: opens `subscribers` SSE streams (one Node process, undici fetch, a line parser), waits for each one's
 *      first heartbeat, measures RSS, file descriptors and `idle` seconds of CPU with all of them connected
 *      (heartbeats every 15 s), then activates `activations` times, `gap` seconds apart, and records when each
 *      subscriber receives the event of each activation: latency from the activation's 200 (negative when the push
 *      arrives before the answer: listeners run before it) and from the request's start;
 *   4. reconnect storm (SSE): every subscriber drops its stream at once, `storm` activations land while they are
 *      away, then all reconnect at once with Last-Event-ID; the time from the storm's start until each has applied
 *      the newest event (the hub replays what it missed), and the reconnects refused or failed (retried);
 *   5. the streams closed, workerd's file descriptors counted 1, 5 and 20 s later (a relay ends when workerd cancels
 *      its stream, which it does on its next write to a gone client: a heartbeat, every 15 s);
 *   6. WebSocket arm: the same (connect, idle CPU with a ping every 15 s answered by the hub's auto-response,
 *      activations, storm with `?after=`, close and file descriptors) with clients on a WebSocket held by the gate's
 *      hub. The Worker has no such door (clients get SSE: docs/architecture.md, "Pushed changes"), so this run adds
 *      one in front of the built Worker (HUB_DOOR below): authenticate, then hand the upgrade to the gate's object
 *      with the relay's own subscribe request; workerd then splices the client's socket to the hub's.
 * Every subscriber of each arm must get every event exactly once, linked by prev_seq (gaps, duplicates and misses
 * are counted, must be 0), storm included. The Node process's event-loop delay (perf_hooks.monitorEventLoopDelay) is
 * reported per arm, so a saturated client process is not read as server latency. Local KV is immediately consistent:
 * production polling is slower by KV's propagation (about 60 s) on top of what is measured here; pushed events do not
 * go through KV. Wall time: about build (~5 s) + 3 x idle + activations x (2 x gap + max-age + 2 s) + 2 x 25 s.
 *
 * What held subscriptions cost the ingest path (`--ingest`, only this, nothing above):
 *
 *   npm run bench:push -- --ingest --subscribers 1000 --rounds 6 --seconds 10 --connections 8 --every 1 --out bench/results/push-ingest.md
 *
 * The gate's object hosts both the hub (the relays' subscribers) and the monitor that counts observation batches. In
 * each of `rounds` rounds, four arms of `seconds` each load `POST /v1/observations` for that one gate from a worker
 * thread (`connections` closed loops, unique batch ids, 20 queries a batch as in section 8), timing every batch:
 *   0 quiet       no subscriber;            0 pushing     no subscriber, an activation every `every` s;
 *   N quiet       `subscribers` SSE held;   N pushing     held, an activation every `every` s pushed to all of them.
 * The 0-subscriber pair and the N pair swap order every round (opening N streams before the N pair, dropping them and
 * waiting 20 s for the relays to end after it), and quiet/pushing swap inside each pair, so machine noise drifting
 * through the run hits every arm. Ratios are against "0 quiet", pooled over rounds and per round; each subscriber must
 * get every pushed event once (gaps, duplicates and misses counted). Wall time: about rounds x (4 x seconds + 35 s).
 *
 * What a service serves (`--sdk`, only this): `npm run bench:push -- --sdk --subscribers 1000` (sdkMain below).
 *
 * A reconnect storm caused by the server (`--restart`, only this): `npm run bench:push -- --restart --subscribers 1000`
 * starts the Worker on a kept storage (startWorker's `stateDir`), opens `subscribers` SSE streams, stops workerd and
 * starts it again on that storage (a deploy or a crash: every stream ends at once). Each client retries every
 * RETRY_MS from the moment its stream ends, resuming after its last seq; reported: the restart, the time to each
 * reconnect (from the stop and from the Worker serving again), retries, then two activations pushed to all of them.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { build } from "esbuild";
import { BUILD_COMMAND, cpuSecondsOf, machineInfo, median, mulberry32, procStatusKb, ROOT, startWorker } from "./lib/worker.mjs";

const { values: opts } = parseArgs({
  options: {
    subscribers: { type: "string", default: "1000" },
    activations: { type: "string", default: "10" },
    gap: { type: "string", default: "3" },
    idle: { type: "string", default: "30" },
    poll: { type: "string", default: "100" },
    storm: { type: "string", default: "2" },
    ingest: { type: "boolean", default: false },
    restart: { type: "boolean", default: false },
    sdk: { type: "boolean", default: false },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "8" },
    every: { type: "string", default: "1" },
    out: { type: "string" },
  },
});
const N = Number(opts.subscribers);
const K = Number(opts.activations);
const GAP_MS = Number(opts.gap) * 1000;
const IDLE_MS = Number(opts.idle) * 1000;
const POLL_MS = Number(opts.poll);
const STORM_EVENTS = Number(opts.storm);
const OUT = resolve(
  ROOT,
  opts.out ??
    (opts.ingest
      ? "bench/results/push-ingest.md"
      : opts.restart
        ? "bench/results/push-restart.md"
        : opts.sdk
          ? "bench/results/push-sdk.md"
          : "bench/results/push-propagation.md"),
);
// Each arm starts with v1 served and activates v2 first, then alternates: even counts bring v1 back at each arm's end.
if (K < 2 || K % 2 !== 0 || STORM_EVENTS < 2 || STORM_EVENTS % 2 !== 0) throw new RangeError("--activations and --storm must be even, at least 2");
/** A subscriber that has not seen an activation this long after its 200 counts as a miss. */
const MISS_AFTER_MS = 10_000;
/** The polling arm waits this long per activation: the SDK's max-age (5 s) and a margin. */
const POLL_WAIT_MS = 7_000;
/** A storm not caught up by then is reported as such. */
const STORM_DEADLINE_MS = 60_000;
/** A refused or failed reconnect is retried after this long (a client's backoff, kept short). */
const RETRY_MS = 250;
/** The WebSocket clients' own liveness ping, at the relay's heartbeat interval (SSE_HEARTBEAT_MS). */
const WS_PING_MS = 15_000;
const TARGET_P99_MS = 2_000;
const GATE = { index: "default", embedding: "e5", reranker: "bge-push" };
const GATE_QS = new URLSearchParams(GATE).toString();

/**
 * The benchmark's extra door: GET /bench/hub?gate=ID[&after=SEQ] with the read token upgrades to a WebSocket held by
 * the gate's hub (the internal subscribe request of src/streaming/hub.ts, hubSubscribeUrl, exactly as the relay sends
 * it); everything else goes to the built Worker. Not a route of the Worker: the bench's stand-in for the design it
 * compares with (clients on the object's WebSocket, no relay).
 */
const HUB_DOOR = `
import scoregate from "./scoregate.js";
export * from "./scoregate.js";
export default {
  ...scoregate,
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname !== "/bench/hub") return scoregate.fetch(request, env, ctx);
    if (url.searchParams.get("token") !== "dev-read") return new Response("unauthorized", { status: 401 });
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket", { status: 426 });
    const gate = url.searchParams.get("gate");
    const after = url.searchParams.get("after");
    const hub = env.GATE_MONITOR.get(env.GATE_MONITOR.idFromName(gate));
    const at = "https://hub.internal/subscribe?gate=" + encodeURIComponent(gate) + (after === null ? "" : "&after=" + after);
    return hub.fetch(at, { headers: { upgrade: "websocket" } });
  },
};
`;

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

/** Serves `target` on its gate (an admin activation, as a rollback would be); returns when it was sent and answered. */
async function serve(url, target, reason) {
  const t0 = performance.now();
  await api(url, "POST", `/v1/calibrations/${target}/activate`, "dev-admin", { reason });
  return { t0, t200: performance.now() };
}

async function upload(url, version, activate, seed) {
  const rand = mulberry32(seed);
  const scores = Array.from({ length: 1000 }, () => rand());
  const body = { ...GATE, index_version: version, scores, policy: { kind: "drop_rate", target: 0.2 }, activate };
  return (await api(url, "POST", "/v1/calibrations", "dev-calibrate", body)).calibration;
}

/**
 * One subscriber of either transport, kept across reconnects: frames parsed as they come (a WebSocket message is one
 * hub frame, already SSE text), each gate event stamped on arrival and checked against the last applied seq.
 * `connect()` opens (resuming after `state.last` when it has one) and resolves at the hub's first heartbeat;
 * `drop()` closes from the client's side.
 */
function subscriber(transport, url, gateId, onEvent) {
  const state = { last: 0, gaps: 0, dups: 0, endedEarly: 0, open: false, failures: 0, caughtAt: null, target: null };
  let current = null;
  const frames = (onReady) => {
    let buffer = "";
    return (text) => {
      buffer += text;
      for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const name = /^event: (.*)$/mu.exec(frame)?.[1];
        const data = /^data: (.*)$/mu.exec(frame)?.[1];
        if (name === "heartbeat") onReady();
        else if (name === "snapshot") state.last = JSON.parse(data).seq;
        else if (name === "gate") {
          const at = performance.now();
          const e = JSON.parse(data);
          if (e.seq <= state.last) state.dups++;
          else {
            if (e.prev_seq !== state.last) state.gaps++;
            state.last = e.seq;
            if (state.target !== null && e.seq >= state.target && state.caughtAt === null) state.caughtAt = at;
            onEvent(e, at);
          }
        }
      }
    };
  };
  const connectSse = () =>
    new Promise((ready, fail) => {
      const controller = new AbortController();
      let dropped = false;
      current = () => {
        dropped = true;
        controller.abort();
      };
      (async () => {
        const headers = { authorization: "Bearer dev-read", accept: "text/event-stream" };
        if (state.last > 0) headers["last-event-id"] = String(state.last);
        const res = await fetch(new URL(`/v1/events?${GATE_QS}`, url), { headers, signal: controller.signal });
        if (res.status !== 200) throw new Error(`GET /v1/events answered ${res.status}: ${await res.text()}`);
        const decoder = new TextDecoder();
        const feed = frames(() => {
          state.open = true;
          ready();
        });
        for await (const chunk of res.body) feed(decoder.decode(chunk, { stream: true }));
      })()
        .catch((e) => {
          if (e.name !== "AbortError") fail(e);
        })
        .finally(() => {
          if (state.open && !dropped) state.endedEarly++;
          state.open = false;
        });
    });
  const connectWs = () =>
    new Promise((ready, fail) => {
      const q = new URLSearchParams({ gate: gateId, token: "dev-read", ...(state.last > 0 ? { after: String(state.last) } : {}) });
      const ws = new WebSocket(new URL(`/bench/hub?${q}`, url.href.replace(/^http/u, "ws")));
      let dropped = false;
      let ping = null;
      current = () => {
        dropped = true;
        ws.close(1000, "bench");
      };
      const feed = frames(() => {
        if (!state.open) {
          state.open = true;
          ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send("ping"), WS_PING_MS);
          ready();
        }
      });
      ws.addEventListener("message", (m) => {
        if (typeof m.data === "string" && m.data !== "pong") feed(m.data);
      });
      ws.addEventListener("error", () => {
        if (!state.open) fail(new Error("WebSocket failed to open"));
      });
      ws.addEventListener("close", () => {
        clearInterval(ping);
        if (state.open && !dropped) state.endedEarly++;
        state.open = false;
      });
    });
  const connect = async () => {
    for (;;) {
      try {
        return await (transport === "sse" ? connectSse() : connectWs());
      } catch {
        state.failures++;
        await sleep(RETRY_MS);
      }
    }
  };
  return { state, connect, drop: () => current?.() };
}

/** The SDK (packages/client) bundled for this run: today's polling client. */
async function loadClient(entry = "index") {
  const outfile = join(ROOT, "node_modules", ".cache", "scoregate-bench", `push-propagation-client-${entry}.mjs`);
  await build({
    entryPoints: [join(ROOT, `packages/client/src/${entry}.ts`)],
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

/** Writes the report to OUT and prints it. */
function writeOut(lines) {
  const text = `${lines.join("\n")}\n`;
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, text);
  process.stdout.write(text);
  log(`written to ${relative(ROOT, OUT)}`);
}

function summary(xs) {
  return { n: xs.length, p50: quantile(xs, 0.5), p90: quantile(xs, 0.9), p99: quantile(xs, 0.99), max: quantile(xs, 1) };
}

/** Opens `n` subscribers of `transport`, a hundred at a time (a fleet starting, not a storm). */
async function openSubscribers(transport, url, gateId, n, arrivals) {
  const subs = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = subscriber(transport, url, gateId, (e, at) => {
      const list = arrivals.get(e.seq) ?? [];
      list.push({ at, cal: e.calibration_id });
      arrivals.set(e.seq, list);
    });
    subs.push(s);
    if (i % 100 === 99 || i === n - 1) await Promise.all(subs.slice(i - (i % 100)).map((x) => x.connect()));
  }
  return { subs, connectMs: performance.now() - t0 };
}

/** Activates each target in turn, `gap` apart, timing each subscriber's arrival of its event. */
async function measurePush(url, subs, arrivals, targets, label) {
  const from200 = [];
  const fromStart = [];
  const perActivation = [];
  let misses = 0;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  for (const target of targets) {
    const { t0, t200 } = await serve(url, target, `bench ${label}`);
    log(`${label}: activation answered in ${fmt(t200 - t0)} ms`);
    const deadline = t200 + MISS_AFTER_MS;
    // the event of this activation is the newest seq whose calibration is the target
    let got = [];
    while (performance.now() < deadline) {
      const newest = Math.max(...arrivals.keys());
      got = arrivals.get(newest) ?? [];
      if (got.length >= subs.length && got[0].cal === target) break;
      await sleep(20);
    }
    const mine = got.filter((g) => g.cal === target);
    misses += subs.length - mine.length;
    const lat = mine.map((g) => g.at - t200);
    from200.push(...lat);
    fromStart.push(...mine.map((g) => g.at - t0));
    perActivation.push({ request: t200 - t0, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: quantile(lat, 1), got: mine.length });
    await sleep(Math.max(0, GAP_MS - (performance.now() - t200)));
  }
  loop.disable();
  return { from200: summary(from200), fromStart: summary(fromStart), perActivation, misses, loop };
}

/**
 * The reconnect storm: every subscriber drops at once, `STORM_EVENTS` activations land while they are away, then all
 * reconnect at once, resuming after their last seq; per subscriber, the time from the storm's start until it has
 * applied the newest event.
 */
async function storm(url, subs, targets, label) {
  for (const s of subs) s.drop();
  await sleep(1000);
  // Served after the arm's activations: targets[K - 1] (K even: v1); the storm goes on alternating from there.
  for (let i = 0; i < STORM_EVENTS; i++) {
    const target = targets[i % 2];
    await serve(url, target, `bench ${label} storm`);
  }
  // Each activation is one row of the gate's log and nothing else writes to it here: the newest seq is known.
  const behind = subs.map((s) => s.state.last);
  const newest = Math.max(...behind) + STORM_EVENTS;
  for (const s of subs) {
    s.state.target = newest;
    s.state.caughtAt = null;
  }
  const failuresBefore = subs.reduce((a, s) => a + s.state.failures, 0);
  const t0 = performance.now();
  const reconnected = Promise.all(subs.map((s) => s.connect()));
  while (performance.now() - t0 < STORM_DEADLINE_MS && subs.some((s) => s.state.caughtAt === null)) await sleep(20);
  await Promise.race([reconnected, sleep(1000)]);
  const caught = subs.filter((s) => s.state.caughtAt !== null).map((s) => s.state.caughtAt - t0);
  for (const s of subs) s.state.target = null;
  return {
    caught: summary(caught),
    notCaught: subs.length - caught.length,
    retries: subs.reduce((a, s) => a + s.state.failures, 0) - failuresBefore,
    missedWhileAway: Math.min(...subs.map((s, i) => s.state.last - behind[i])),
  };
}

/**
 * Connections workerd has not closed although their client did (TCP CLOSE-WAIT on its port, from `ss`): a held
 * stream whose client is gone; null where `ss` is unavailable.
 */
const closeWaits = (port) => {
  try {
    return execFileSync("ss", ["-tanH", "state", "close-wait", `( sport = :${port} )`], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean).length;
  } catch {
    return null;
  }
};

/** Drops every subscriber; counts workerd's file descriptors and half-closed connections 1, 5 and 20 s later. */
async function closeAndCount(pid, port, subs) {
  for (const s of subs) s.drop();
  const fds = [];
  const halfClosed = [];
  let waited = 0;
  for (const at of [1, 5, 20]) {
    await sleep((at - waited) * 1000);
    waited = at;
    fds.push(fdCount(pid));
    halfClosed.push(closeWaits(port));
  }
  return { fds, halfClosed };
}

/** Everything measured for one pushed arm. */
async function pushArm(transport, h, gateId, targets) {
  const pid = h.workerdPid;
  const label = transport === "sse" ? "SSE" : "WebSocket";
  log(`${label} arm: opening ${N} subscriptions ...`);
  const arrivals = new Map(); // seq -> arrival times
  const rss0 = procStatusKb(pid, "VmRSS");
  const fds0 = fdCount(pid);
  const { subs, connectMs } = await openSubscribers(transport, h.url, gateId, N, arrivals);
  await sleep(2000);
  const rssN = procStatusKb(pid, "VmRSS");
  const fdsN = fdCount(pid);
  log(`${label}: idle ${IDLE_MS / 1000} s with ${N} subscribers ...`);
  const idleCpuN = await cpuOver(pid, IDLE_MS);
  const push = await measurePush(h.url, subs, arrivals, targets, label);
  log(`${label}: reconnect storm ...`);
  const st = await storm(h.url, subs, targets, label);
  const errors = {
    gaps: subs.reduce((a, s) => a + s.state.gaps, 0),
    dups: subs.reduce((a, s) => a + s.state.dups, 0),
    endedEarly: subs.reduce((a, s) => a + s.state.endedEarly, 0),
  };
  const after = await closeAndCount(pid, h.url.port, subs);
  return { label, rss0, rssN, fds0, fdsN, after, idleCpuN, connectMs, push, storm: st, errors };
}

async function main() {
  const machine = machineInfo();
  log(`starting workerd (build, migrations) ...`);
  const h = await startWorker({ entryWrapper: HUB_DOOR });
  const pid = h.workerdPid;
  try {
    const url = h.url;
    const v1 = await upload(url, "v1", true, 1);
    const v2 = await upload(url, "v2", false, 2);
    const gateId = v1.gate_id;
    const targets = Array.from({ length: K }, (_, i) => (i % 2 === 0 ? v2.id : v1.id));

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
      const { t0, t200 } = await serve(url, target, "bench polling");
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

    // 3-5. SSE (what the Worker ships), then 6. the hub's own WebSocket
    const sse = await pushArm("sse", h, gateId, targets);
    const ws = await pushArm("ws", h, gateId, targets);

    const poll = summary(pollFrom200);
    const pollStart = summary(pollFromStart);
    const lines = [];
    const row = (name, s) => `| ${name} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p90)} | ${fmt(s.p99)} | ${fmt(s.max)} |`;
    const ratio = (a, b) => fmt(a / b, 2);
    lines.push(`# Pushed changes: propagation to ${N} subscribers of one gate`);
    lines.push("");
    lines.push(
      `Command: \`npm run bench:push -- --subscribers ${N} --activations ${K} --gap ${GAP_MS / 1000} --idle ${IDLE_MS / 1000} --poll ${POLL_MS} --storm ${STORM_EVENTS}\``,
    );
    lines.push(`Build: \`${BUILD_COMMAND}\`, run by Miniflare ${machine.miniflare} (workerd ${machine.workerd}); Node ${machine.node}.`);
    lines.push(`Machine: ${machine.nproc} cores, ${machine.cpu}. Date: ${new Date().toISOString()}.`);
    lines.push("");
    lines.push("## Latency from the activation's 200 to each subscriber having the new calibration (ms)");
    lines.push("");
    lines.push("| arm | samples | p50 | p90 | p99 | max |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: |");
    lines.push(row("push, SSE relay over the hibernating hub (GET /v1/events)", sse.push.from200));
    lines.push(row("push, WebSocket held by the hub (bench door, no relay)", ws.push.from200));
    lines.push(row("polling (today's SDK, ETag, max-age 5 s)", poll));
    lines.push(row("SSE, from the activation request's start", sse.push.fromStart));
    lines.push(row("WebSocket, from the activation request's start", ws.push.fromStart));
    lines.push(row("polling, from the activation request's start", pollStart));
    lines.push("");
    lines.push(
      `From the request's start, polling / SSE: p50 ${ratio(pollStart.p50, sse.push.fromStart.p50)}x, p99 ${ratio(pollStart.p99, sse.push.fromStart.p99)}x; SSE / WebSocket: p50 ${ratio(sse.push.fromStart.p50, ws.push.fromStart.p50)}x, p99 ${ratio(sse.push.fromStart.p99, ws.push.fromStart.p99)}x. Target p99 < ${TARGET_P99_MS} ms from the 200: SSE ${sse.push.from200.p99 < TARGET_P99_MS ? "met" : "NOT met"}, WebSocket ${ws.push.from200.p99 < TARGET_P99_MS ? "met" : "NOT met"}.`,
    );
    for (const a of [sse, ws]) {
      lines.push(
        `${a.label}: ${a.push.misses} missed (not received within ${MISS_AFTER_MS / 1000} s), ${a.errors.gaps} gaps (prev_seq not the last applied), ${a.errors.dups} duplicates, ${a.errors.endedEarly} streams ended by the server, over the activations and the storm.`,
      );
    }
    lines.push(`Polling: ${pollMisses} (client, activation) pairs not seen within ${POLL_WAIT_MS / 1000} s.`);
    lines.push("");
    lines.push(`## Reconnect storm: all subscribers dropped, ${STORM_EVENTS} activations while away, all back at once`);
    lines.push("");
    lines.push("Time from the storm's start until each subscriber has applied the newest event (ms):");
    lines.push("");
    lines.push("| arm | caught up | p50 | p90 | p99 | max | not caught up in 60 s | reconnects retried | events replayed to each |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const a of [sse, ws]) {
      const c = a.storm.caught;
      lines.push(
        `| ${a.label} | ${c.n} | ${fmt(c.p50)} | ${fmt(c.p90)} | ${fmt(c.p99)} | ${fmt(c.max)} | ${a.storm.notCaught} | ${a.storm.retries} | ${a.storm.missedWhileAway} |`,
      );
    }
    lines.push("");
    lines.push(
      `SSE / WebSocket, storm: p50 ${ratio(sse.storm.caught.p50, ws.storm.caught.p50)}x, p99 ${ratio(sse.storm.caught.p99, ws.storm.caught.p99)}x.`,
    );
    lines.push("");
    lines.push("Per activation: activation request ms, then p50 / p99 / max from its 200, subscribers reached:");
    lines.push("");
    lines.push("| # | SSE request | SSE p50 | SSE p99 | SSE max | reached | WS request | WS p50 | WS p99 | WS max | reached |");
    lines.push("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const [i, a] of sse.push.perActivation.entries()) {
      const b = ws.push.perActivation[i];
      lines.push(
        `| ${i + 1} | ${fmt(a.request)} | ${fmt(a.p50)} | ${fmt(a.p99)} | ${fmt(a.max)} | ${a.got} | ${fmt(b.request)} | ${fmt(b.p50)} | ${fmt(b.p99)} | ${fmt(b.max)} | ${b.got} |`,
      );
    }
    lines.push("");
    lines.push(`Activation requests during the polling arm (ms): ${pollRequests.map((x) => fmt(x)).join(", ")}.`);
    lines.push("");
    lines.push("## Client process (event-loop delay while measuring, ms)");
    lines.push("");
    const loopLine = (name, l) => `${name}: p50 ${fmt(l.percentile(50) / 1e6, 1)}, p99 ${fmt(l.percentile(99) / 1e6, 1)}, max ${fmt(l.max / 1e6, 1)}`;
    lines.push(`${loopLine("SSE arm", sse.push.loop)}; ${loopLine("WebSocket arm", ws.push.loop)}; ${loopLine("polling arm", loopPoll)}.`);
    lines.push("");
    lines.push("## Cost of held subscriptions (workerd process)");
    lines.push("");
    lines.push(`| | no subscriber | ${N} SSE | ${N} WebSocket |`);
    lines.push("| --- | ---: | ---: | ---: |");
    lines.push(
      `| RSS before the arm, with its subscribers (MB) | - | ${fmt(sse.rss0 / 1024, 1)}, ${fmt(sse.rssN / 1024, 1)} | ${fmt(ws.rss0 / 1024, 1)}, ${fmt(ws.rssN / 1024, 1)} |`,
    );
    lines.push(`| CPU seconds over ${IDLE_MS / 1000} idle s | ${fmt(idleCpu0, 2)} | ${fmt(sse.idleCpuN, 2)} | ${fmt(ws.idleCpuN, 2)} |`);
    lines.push(
      `| open file descriptors: before, connected, 1 / 5 / 20 s after the clients left | - | ${sse.fds0}, ${sse.fdsN}, ${sse.after.fds.join(" / ")} | ${ws.fds0}, ${ws.fdsN}, ${ws.after.fds.join(" / ")} |`,
    );
    lines.push(
      `| connections the clients closed and workerd not yet (CLOSE-WAIT), 1 / 5 / 20 s after | - | ${sse.after.halfClosed.join(" / ")} | ${ws.after.halfClosed.join(" / ")} |`,
    );
    lines.push("");
    const perBeat = (a) => (a.idleCpuN !== null && idleCpu0 !== null ? ((a.idleCpuN - idleCpu0) / N / (IDLE_MS / 15000)) * 1e6 : null);
    lines.push(
      `Idle CPU per subscription and 15 s beat: SSE ${fmt(perBeat(sse), 1)} µs (relay heartbeat frame + ping to the hub), WebSocket ${fmt(perBeat(ws), 1)} µs (the client's ping, answered by the auto-response). Memory per subscription: SSE ${fmt(((sse.rssN - sse.rss0) * 1024) / N / 1024, 1)} KB, WebSocket ${fmt(((ws.rssN - ws.rss0) * 1024) / N / 1024, 1)} KB. ${N} subscriptions connected (100 at a time) in ${fmt(sse.connectMs)} ms (SSE) and ${fmt(ws.connectMs)} ms (WebSocket).`,
    );
    writeOut(lines);
  } finally {
    await h.close();
  }
}

/**
 * The ingest load, in a worker thread so the subscribers' frames parsed on the main thread do not delay its timing:
 * `connections` closed loops posting one observation batch each (unique ids), for `ms`; answers the latencies (ms) of
 * the 2xx answers and the count of the others.
 */
const INGEST_LOAD = `
const { parentPort, workerData } = require("node:worker_threads");
const { url, gate, connections, ms, prefix } = workerData;
const lat = [];
let failed = 0;
let n = 0;
const end = performance.now() + ms;
async function loop(c) {
  while (performance.now() < end) {
    const queries = Array.from({ length: 20 }, (_, i) => [20, (n + i + c) % 9]);
    const body = JSON.stringify({ batch_id: prefix + "-" + c + "-" + ++n, ...gate, queries });
    const t0 = performance.now();
    try {
      const res = await fetch(url, { method: "POST", headers: { authorization: "Bearer dev-read", "content-type": "application/json" }, body });
      await res.arrayBuffer();
      if (res.status >= 200 && res.status < 300) lat.push(performance.now() - t0);
      else failed++;
    } catch {
      failed++;
    }
  }
}
Promise.all(Array.from({ length: connections }, (_, c) => loop(c))).then(() => parentPort.postMessage({ lat, failed }));
`;

function ingestLoad(url, ms, prefix) {
  return new Promise((done, fail) => {
    const w = new Worker(INGEST_LOAD, {
      eval: true,
      workerData: { url: new URL("/v1/observations", url).href, gate: GATE, connections: Number(opts.connections), ms, prefix },
    });
    w.once("message", done);
    w.once("error", fail);
  });
}

/** What held subscriptions cost `POST /v1/observations` on their gate (`--ingest`; see the header). */
async function ingestMain() {
  const machine = machineInfo();
  const rounds = Number(opts.rounds);
  const armMs = Number(opts.seconds) * 1000;
  const everyMs = Number(opts.every) * 1000;
  const arms = ["0 quiet", "0 pushing", "N quiet", "N pushing"];
  const pooled = new Map(arms.map((a) => [a, { lat: [], failed: 0, activations: 0, seconds: 0 }]));
  const perRound = [];
  const load0 = loadavg();
  log(`starting workerd (build, migrations) ...`);
  const h = await startWorker();
  try {
    const url = h.url;
    const v1 = await upload(url, "v1", true, 1);
    const v2 = await upload(url, "v2", false, 2);
    const gateId = v1.gate_id;
    let served = v1.id;
    let misses = 0;
    let pushedTotal = 0;
    const errors = { gaps: 0, dups: 0, endedEarly: 0 };
    const fds = [];
    // warm-up: the gate's object, the monitor's tables and the build's first calls, not measured
    await ingestLoad(url, 3000, "warm");
    const runArm = async (name, round, subs, arrivals) => {
      const pushing = name.endsWith("pushing");
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const t0 = performance.now();
      const running = ingestLoad(url, armMs, `r${round}-${name.replace(" ", "")}`);
      const pushed = [];
      if (pushing) {
        while (performance.now() - t0 + everyMs <= armMs) {
          const next = performance.now() + everyMs;
          const target = served === v1.id ? v2.id : v1.id;
          await serve(url, target, `bench ingest ${name}`);
          served = target;
          pushed.push(target);
          await sleep(Math.max(0, next - performance.now()));
        }
      }
      const r = await running;
      const seconds = (performance.now() - t0) / 1000;
      loop.disable();
      if (subs !== null && pushed.length > 0) {
        await sleep(2000);
        // every activation is one event of the gate's log, delivered to every held subscriber
        const newest = [...arrivals.keys()].sort((a, b) => b - a).slice(0, pushed.length);
        for (const seq of newest) misses += subs.length - (arrivals.get(seq)?.length ?? 0);
        pushedTotal += pushed.length * subs.length;
      }
      const p = pooled.get(name);
      p.lat.push(...r.lat);
      p.failed += r.failed;
      p.activations += pushed.length;
      p.seconds += seconds;
      const row = {
        round,
        name,
        ...summary(r.lat),
        failed: r.failed,
        rate: r.lat.length / seconds,
        activations: pushed.length,
        loopP99: loop.percentile(99) / 1e6,
      };
      perRound.push(row);
      log(
        `round ${round} ${name}: ${row.n} batches, ${fmt(row.rate)}/s, p50 ${fmt(row.p50, 1)} ms, p99 ${fmt(row.p99, 1)} ms, ${pushed.length} activations`,
      );
    };
    for (let round = 1; round <= rounds; round++) {
      const quietFirst = round % 2 === 1;
      const pair = (prefix) => (quietFirst ? [`${prefix} quiet`, `${prefix} pushing`] : [`${prefix} pushing`, `${prefix} quiet`]);
      const zero = async () => {
        for (const name of pair("0")) await runArm(name, round, null, null);
      };
      const held = async () => {
        const arrivals = new Map();
        log(`round ${round}: opening ${N} subscriptions ...`);
        const { subs } = await openSubscribers("sse", url, gateId, N, arrivals);
        await sleep(2000);
        fds.push(fdCount(h.workerdPid));
        for (const name of pair("N")) await runArm(name, round, subs, arrivals);
        for (const k of Object.keys(errors)) errors[k] += subs.reduce((a, s) => a + s.state[k], 0);
        log(`round ${round}: dropping them, waiting for the relays to end ...`);
        await closeAndCount(h.workerdPid, url.port, subs);
      };
      if (round % 2 === 1) {
        await zero();
        await held();
      } else {
        await held();
        await zero();
      }
    }
    const load1 = loadavg();
    const base = pooled.get("0 quiet");
    const b = summary(base.lat);
    const lines = [];
    lines.push(`# Pushed changes: what ${N} held subscriptions cost observation ingest on their gate`);
    lines.push("");
    lines.push(
      `Command: \`npm run bench:push -- --ingest --subscribers ${N} --rounds ${rounds} --seconds ${armMs / 1000} --connections ${opts.connections} --every ${everyMs / 1000}\``,
    );
    lines.push(`Build: \`${BUILD_COMMAND}\`, run by Miniflare ${machine.miniflare} (workerd ${machine.workerd}); Node ${machine.node}.`);
    lines.push(
      `Machine: ${machine.nproc} cores, ${machine.cpu}. Load average (1 / 5 / 15 min) at the start ${load0.map((x) => x.toFixed(2)).join(" / ")}, at the end ${load1.map((x) => x.toFixed(2)).join(" / ")}. Date: ${new Date().toISOString()}.`,
    );
    lines.push("");
    lines.push(`## POST /v1/observations latency, pooled over ${rounds} rounds (ms; ratios against "0 quiet")`);
    lines.push("");
    lines.push("| arm | batches | batches/s | p50 | p90 | p99 | max | p50 ratio | p99 ratio | batches/s ratio | non-2xx | activations |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    const baseRate = base.lat.length / base.seconds;
    for (const name of arms) {
      const p = pooled.get(name);
      const s = summary(p.lat);
      const rate = p.lat.length / p.seconds;
      lines.push(
        `| ${name.replace("N", String(N))} | ${s.n} | ${fmt(rate)} | ${fmt(s.p50, 1)} | ${fmt(s.p90, 1)} | ${fmt(s.p99, 1)} | ${fmt(s.max, 1)} | ${fmt(s.p50 / b.p50, 2)} | ${fmt(s.p99 / b.p99, 2)} | ${fmt(rate / baseRate, 2)} | ${p.failed} | ${p.activations} |`,
      );
    }
    lines.push("");
    lines.push(
      `Pushed during the ingest: ${pushedTotal} (activation, subscriber) deliveries expected, ${misses} missed (not received 2 s after the arm), ${errors.gaps} gaps, ${errors.dups} duplicates, ${errors.endedEarly} streams ended by the server. workerd's open file descriptors with the ${N} streams held, per round: ${fds.join(", ")}.`,
    );
    const roundRatios = (name, q) =>
      perRound.filter((r) => r.name === name).map((r) => r[q] / perRound.find((x) => x.round === r.round && x.name === "0 quiet")[q]);
    lines.push(
      `Median over rounds of each round's ratio to its own "0 quiet" (p50 / p99): ${arms
        .slice(1)
        .map((a) => `${a.replace("N", String(N))} ${fmt(median(roundRatios(a, "p50")), 2)} / ${fmt(median(roundRatios(a, "p99")), 2)}`)
        .join("; ")}.`,
    );
    lines.push("");
    lines.push('## Per round (ms; p50 and p99 ratios against the same round\'s "0 quiet")');
    lines.push("");
    lines.push("| round | arm | batches | batches/s | p50 | p99 | p50 ratio | p99 ratio | client event-loop p99 |");
    lines.push("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const r of perRound) {
      const rb = perRound.find((x) => x.round === r.round && x.name === "0 quiet");
      lines.push(
        `| ${r.round} | ${r.name.replace("N", String(N))} | ${r.n} | ${fmt(r.rate)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.p50 / rb.p50, 2)} | ${fmt(r.p99 / rb.p99, 2)} | ${fmt(r.loopP99, 1)} |`,
      );
    }
    writeOut(lines);
  } finally {
    await h.close();
  }
}

/**
 * A reconnect storm caused by the server (`--restart`; see the header): workerd stopped while `subscribers` SSE
 * streams are held and started again on the same storage; every client retries every RETRY_MS from the moment its
 * stream ends, resuming after its last seq.
 */
async function restartMain() {
  const machine = machineInfo();
  const load0 = loadavg();
  const stateDir = mkdtempSync(join(tmpdir(), "scoregate-push-restart-"));
  let h = await startWorker({ stateDir });
  try {
    const target = new URL(h.url); // the clients' address: its port moves to the restarted workerd's
    const v1 = await upload(target, "v1", true, 1);
    const v2 = await upload(target, "v2", false, 2);
    const arrivals = new Map();
    log(`opening ${N} subscriptions ...`);
    const { subs } = await openSubscribers("sse", target, v1.gate_id, N, arrivals);
    await sleep(2000);
    const t0 = performance.now();
    const stopped = h.close();
    // each client reconnects as soon as its stream ends (refused, retried, until the Worker is back)
    const back = subs.map(async (s) => {
      while (s.state.open) await sleep(5);
      await s.connect();
      return performance.now() - t0;
    });
    await stopped;
    const downMs = performance.now() - t0;
    h = await startWorker({ stateDir, migrate: false });
    target.port = h.url.port;
    const upMs = performance.now() - t0;
    log(`workerd stopped in ${fmt(downMs)} ms, serving again ${fmt(upMs)} ms after the stop began; waiting for ${N} reconnects ...`);
    const backMs = await Promise.all(back);
    const reconnect = summary(backMs);
    const sinceUp = summary(backMs.map((ms) => ms - upMs));
    const endedByServer = subs.reduce((a, s) => a + s.state.endedEarly, 0);
    const retries = subs.reduce((a, s) => a + s.state.failures, 0);
    await sleep(2000);
    const push = await measurePush(target, subs, arrivals, [v2.id, v1.id], "after the restart");
    const errors = { gaps: subs.reduce((a, s) => a + s.state.gaps, 0), dups: subs.reduce((a, s) => a + s.state.dups, 0) };
    for (const s of subs) s.drop();
    const load1 = loadavg();
    const lines = [];
    lines.push(`# Pushed changes: ${N} SSE subscribers through a restart of the Worker`);
    lines.push("");
    lines.push(`Command: \`npm run bench:push -- --restart --subscribers ${N}\``);
    lines.push(`Build: \`${BUILD_COMMAND}\`, run by Miniflare ${machine.miniflare} (workerd ${machine.workerd}); Node ${machine.node}.`);
    lines.push(
      `Machine: ${machine.nproc} cores, ${machine.cpu}. Load average (1 / 5 / 15 min) at the start ${load0.map((x) => x.toFixed(2)).join(" / ")}, at the end ${load1.map((x) => x.toFixed(2)).join(" / ")}. Date: ${new Date().toISOString()}.`,
    );
    lines.push("");
    lines.push(
      `workerd stopped ${fmt(downMs)} ms and served again ${fmt(upMs)} ms after the stop began (a new process on the same storage, its build included). Streams ended by the server: ${endedByServer} of ${N}; reconnects refused or failed and retried every ${RETRY_MS} ms: ${retries}.`,
    );
    lines.push("");
    lines.push("| | subscribers | p50 | p90 | p99 | max |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: |");
    lines.push(
      `| from the stop's start to reconnected (first heartbeat), ms | ${reconnect.n} | ${fmt(reconnect.p50)} | ${fmt(reconnect.p90)} | ${fmt(reconnect.p99)} | ${fmt(reconnect.max)} |`,
    );
    lines.push(
      `| from serving again to reconnected, ms | ${sinceUp.n} | ${fmt(sinceUp.p50)} | ${fmt(sinceUp.p90)} | ${fmt(sinceUp.p99)} | ${fmt(sinceUp.max)} |`,
    );
    lines.push(
      `| after: an activation's push, from its 200, ms | ${push.from200.n} | ${fmt(push.from200.p50)} | ${fmt(push.from200.p90)} | ${fmt(push.from200.p99)} | ${fmt(push.from200.max)} |`,
    );
    lines.push("");
    lines.push(`After the restart: ${push.misses} missed, ${errors.gaps} gaps, ${errors.dups} duplicates over 2 activations.`);
    writeOut(lines);
  } finally {
    await h.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/**
 * What a service serves (`--sdk`, only this): `subscribers` SDK clients with pushed changes (`@scoregate/client/stream`,
 * `stream: true`, bundled for this run) and, in the same process and on the same activations, `subscribers` plain SSE
 * subscribers as the baseline. Each SDK client listens to its own events; on each `calibration` event it asks
 * `getThreshold` and the moment that answers the new calibration (from memory: `cached`) is when the service serves it.
 * Reported against the activation's 200, with the baseline's arrivals and the ratio of the two.
 */
async function sdkMain() {
  const machine = machineInfo();
  log("starting workerd (build, migrations) ...");
  const h = await startWorker({});
  try {
    const url = h.url;
    const v1 = await upload(url, "v1", true, 1);
    const v2 = await upload(url, "v2", false, 2);
    const targets = Array.from({ length: K }, (_, i) => (i % 2 === 0 ? v2.id : v1.id));
    const { ScoregateClient } = await loadClient("stream");
    log(`SDK arm: ${N} stream clients ...`);
    const served = new Map(); // calibration id -> [{ at, reason }] (one per client and activation)
    const clients = [];
    for (let i = 0; i < N; i++) {
      const c = new ScoregateClient({ baseUrl: url.href, token: "dev-read", stream: true, observations: { timer: false } });
      c.subscribe((e) => {
        if (e.type !== "calibration") return;
        void c.getThreshold(GATE, { fallback: 0.5 }).then((r) => {
          const list = served.get(r.calibrationId) ?? [];
          list.push({ at: performance.now(), reason: r.reason, client: i });
          served.set(r.calibrationId, list);
        });
      });
      clients.push(c);
      if (i % 100 === 99 || i === N - 1) await Promise.all(clients.slice(i - (i % 100)).map((x) => x.getThreshold(GATE, { fallback: 0.5 })));
    }
    const deadline = performance.now() + 60_000;
    while (performance.now() < deadline && !clients.every((c) => c.streams()[0]?.state === "open")) await sleep(100);
    const open = clients.filter((c) => c.streams()[0]?.state === "open").length;
    log(`SDK: ${open} of ${N} streams open; baseline: ${N} SSE subscribers ...`);
    const arrivals = new Map();
    const { subs } = await openSubscribers("sse", url, v1.gate_id, N, arrivals);
    await sleep(2000);
    const sdkFrom200 = [];
    const rawFrom200 = [];
    const sdkFromStart = [];
    const rawFromStart = [];
    const perActivation = [];
    let sdkMisses = 0;
    let notCached = 0;
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    for (const target of targets) {
      served.delete(target);
      const { t0, t200 } = await serve(url, target, "bench sdk");
      const until = t200 + MISS_AFTER_MS;
      while (performance.now() < until) {
        const newest = Math.max(...arrivals.keys());
        const raw = arrivals.get(newest) ?? [];
        if ((served.get(target)?.length ?? 0) >= N && raw.length >= N && raw[0].cal === target) break;
        await sleep(20);
      }
      const mine = served.get(target) ?? [];
      const firstByClient = new Map();
      for (const m of mine) if (!firstByClient.has(m.client)) firstByClient.set(m.client, m);
      sdkMisses += N - firstByClient.size;
      notCached += [...firstByClient.values()].filter((m) => m.reason !== "cached").length;
      const sdkLat = [...firstByClient.values()].map((m) => m.at - t200);
      const raw = (arrivals.get(Math.max(...arrivals.keys())) ?? []).filter((g) => g.cal === target).map((g) => g.at - t200);
      sdkFrom200.push(...sdkLat);
      rawFrom200.push(...raw);
      sdkFromStart.push(...sdkLat.map((x) => x + (t200 - t0)));
      rawFromStart.push(...raw.map((x) => x + (t200 - t0)));
      perActivation.push({ request: t200 - t0, sdkP99: quantile(sdkLat, 0.99), rawP99: quantile(raw, 0.99), sdk: sdkLat.length, raw: raw.length });
      log(`sdk: activation answered in ${fmt(t200 - t0)} ms; served by ${sdkLat.length}, p99 ${fmt(quantile(sdkLat, 0.99))} ms`);
      await sleep(Math.max(0, GAP_MS - (performance.now() - t200)));
    }
    loop.disable();
    for (const s of subs) s.drop();
    await Promise.all(clients.map((c) => c.close()));
    const sdk = summary(sdkFrom200);
    const raw = summary(rawFrom200);
    const sdkStart = summary(sdkFromStart);
    const rawStart = summary(rawFromStart);
    const row = (name, x) => `| ${name} | ${x.n} | ${fmt(x.p50)} | ${fmt(x.p90)} | ${fmt(x.p99)} | ${fmt(x.max)} |`;
    const lines = [];
    lines.push(`# Pushed changes: ${N} SDK clients serving the new threshold, against ${N} plain SSE subscribers`);
    lines.push("");
    lines.push(`Command: \`npm run bench:push -- --sdk --subscribers ${N} --activations ${K} --gap ${GAP_MS / 1000}\``);
    lines.push(`Build: \`${BUILD_COMMAND}\`, run by Miniflare ${machine.miniflare} (workerd ${machine.workerd}); Node ${machine.node}.`);
    lines.push(`Machine: ${machine.nproc} cores, ${machine.cpu}. Date: ${new Date().toISOString()}.`);
    lines.push("");
    lines.push("Latency from the activation's 200 (ms):");
    lines.push("");
    lines.push("| | samples | p50 | p90 | p99 | max |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: |");
    lines.push(row("SDK client: getThreshold answers the new calibration", sdk));
    lines.push(row("baseline: plain SSE subscriber receives the event", raw));
    lines.push(row("SDK client, from the activation request's start", sdkStart));
    lines.push(row("baseline, from the activation request's start", rawStart));
    lines.push("");
    lines.push(
      `SDK against the baseline: ${fmt(sdk.p50 - raw.p50)} ms later at p50 and ${fmt(sdk.p99 - raw.p99)} ms at p99 (from the 200; negative: the push listener runs before the answer); from the request's start p50 ${fmt(sdkStart.p50 / rawStart.p50, 2)}x, p99 ${fmt(sdkStart.p99 / rawStart.p99, 2)}x. Target p99 < ${TARGET_P99_MS} ms from the 200: ${sdk.p99 < TARGET_P99_MS ? "met" : "NOT met"}. ${open} of ${N} SDK streams open before the first activation; ${sdkMisses} (client, activation) pairs not served within ${MISS_AFTER_MS / 1000} s; ${notCached} first answers not \`cached\`.`,
    );
    lines.push("");
    lines.push("| # | request ms | SDK p99 | baseline p99 | SDK served | baseline reached |");
    lines.push("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const [i, a] of perActivation.entries())
      lines.push(`| ${i + 1} | ${fmt(a.request)} | ${fmt(a.sdkP99)} | ${fmt(a.rawP99)} | ${a.sdk} | ${a.raw} |`);
    lines.push("");
    lines.push(
      `Client process event-loop delay while measuring (ms): p50 ${fmt(loop.percentile(50) / 1e6, 1)}, p99 ${fmt(loop.percentile(99) / 1e6, 1)}, max ${fmt(loop.max / 1e6, 1)}.`,
    );
    writeOut(lines);
  } finally {
    await h.close();
  }
}

await (opts.ingest ? ingestMain() : opts.restart ? restartMain() : opts.sdk ? sdkMain() : main());
