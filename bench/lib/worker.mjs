/**
 * Shared benchmark harness: build scoregate with wrangler's bundler and run the bundle in Miniflare (workerd)
 * directly, without `wrangler dev` (its dev proxy is the bottleneck: docs/benchmarks.md).
 *
 *   const h = await startWorker();        // builds into a temp dir, starts workerd on 127.0.0.1:<random port>
 *   await fetch(new URL("/healthz", h.url));
 *   await h.close();                       // disposes Miniflare and removes every temp dir
 *
 * Everything (bundle, D1, KV, Durable Object storage, Miniflare's temp files) lives under one mkdtemp directory that
 * close() removes, also on SIGINT/SIGTERM. The dev registry is disabled so nothing is written outside it.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare } from "miniflare";
import { CACHE, inputsDigest } from "./build-cache.mjs";

const WORKER_NAME = "scoregate";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** compatibility_date (and flags, if any) from wrangler.toml, so the benchmark runs what a deploy would run. */
export function wranglerConfig() {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const date = /^\s*compatibility_date\s*=\s*"([^"]+)"/mu.exec(toml)?.[1];
  if (!date) throw new Error("wrangler.toml has no compatibility_date");
  const flagsRaw = /^\s*compatibility_flags\s*=\s*\[([^\]]*)\]/mu.exec(toml)?.[1] ?? "";
  const flags = [...flagsRaw.matchAll(/"([^"]+)"/gu)].map((m) => m[1]);
  return { compatibilityDate: date, compatibilityFlags: flags };
}

/**
 * The Worker's static assets: the `[assets]` directory of wrangler.toml, as a deploy serves it. Read here, not filled:
 * scripts/vendor-assets.mjs fills it from node_modules on `npm ci` (postinstall), `npm start`, the tests
 * (vitest.config.ts) and `deploy:dry`, and the scripts sit above this harness (scripts/consumer-test.mjs uses it).
 */
function assetsDirectory() {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const dir = /^\[assets\][^[]*?^\s*directory\s*=\s*"([^"]+)"/mu.exec(toml)?.[1];
  if (!dir) throw new Error("wrangler.toml has no [assets] directory");
  const abs = resolve(ROOT, dir);
  if (!existsSync(join(abs, "vendor"))) throw new Error(`${join(abs, "vendor")} is missing: run node scripts/vendor-assets.mjs (npm ci runs it)`);
  return abs;
}

/**
 * The observation queue of wrangler.toml (producer binding and consumer settings), read with wrangler's own parser,
 * as Miniflare 5 bindings and triggers: queue mode runs with the batching a deploy would get.
 */
export async function observationQueueConfig() {
  // Loaded only here: wrangler is large, and the other harness users never need it.
  const { unstable_readConfig } = await import("wrangler");
  const { queues } = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
  const producer = queues.producers.find((p) => p.binding === "OBSERVATIONS_QUEUE");
  const consumer = queues.consumers.find((c) => c.queue === producer?.queue);
  if (!producer || !consumer) throw new Error("wrangler.toml declares no OBSERVATIONS_QUEUE producer with a consumer");
  return {
    env: { OBSERVATIONS_QUEUE: { type: "queue", name: producer.queue } },
    trigger: {
      type: "queue",
      name: consumer.queue,
      ...(consumer.max_batch_size === undefined ? {} : { maxBatchSize: consumer.max_batch_size }),
      ...(consumer.max_batch_timeout === undefined ? {} : { maxBatchTimeout: consumer.max_batch_timeout }),
      ...(consumer.max_retries === undefined ? {} : { maxRetries: consumer.max_retries }),
      ...(consumer.dead_letter_queue === undefined ? {} : { deadLetterQueue: consumer.dead_letter_queue }),
    },
    consumer,
  };
}

/** The exact build command (also printed into the results). */
export const BUILD_COMMAND = "npx wrangler deploy --dry-run --outdir <tmpdir>";

/** Bundles src/index.ts with `wrangler deploy --dry-run`; returns the path of the bundle. */
export function buildWorker(outdir) {
  const r = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outdir], {
    cwd: ROOT,
    encoding: "utf8",
    // a dry run: the deploy guard (wrangler.toml [build] command) lets the placeholder storage ids through
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", SCOREGATE_DRY_RUN: "1" },
  });
  const bundle = join(outdir, "index.js");
  if (r.status !== 0 || !existsSync(bundle)) {
    throw new Error(`wrangler build failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return bundle;
}

/**
 * What the bundle is built from: src/ and the files that steer wrangler's build (its config, the TypeScript settings
 * for JSX, the locked dependencies, wrangler itself included).
 */
const BUILD_INPUTS = ["wrangler.toml", "tsconfig.json", "tsconfig.base.json", "package-lock.json"];
const BUILD_CACHE = join(CACHE, "scoregate-worker");

/** A digest of every build input (paths and contents). */
const buildInputsDigest = () => inputsDigest([...BUILD_INPUTS, "src"]);

/**
 * buildWorker, but a bundle already built from the same inputs (same digest) is reused. For the test projects that
 * start a local worker (the browser test and the CLI tests: vitest.config.ts sets SCOREGATE_REUSE_WORKER_BUILD=1),
 * so one `npm test` builds once; benchmarks always build afresh. Keeps only the newest bundle.
 */
function reusedBuild(outdir) {
  const digest = buildInputsDigest();
  const cached = join(BUILD_CACHE, digest, "index.js");
  if (existsSync(cached)) return cached;
  const built = buildWorker(outdir);
  mkdirSync(dirname(cached), { recursive: true });
  // copy then rename: a concurrent reader sees the whole file or none
  const partial = `${cached}.${process.pid}.partial`;
  copyFileSync(built, partial);
  renameSync(partial, cached);
  for (const entry of readdirSync(BUILD_CACHE)) if (entry !== digest) rmSync(join(BUILD_CACHE, entry), { recursive: true, force: true });
  return cached;
}

/**
 * Splits a migration file into statements: drops `--` comments, splits on `;` outside string literals, and keeps
 * CREATE TRIGGER ... BEGIN ... END; together.
 */
export function splitSql(text) {
  const statements = [];
  let current = "";
  let quote = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      current += ch;
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === "-" && text[i + 1] === "-") {
      while (i < text.length && text[i] !== "\n") i++;
      current += "\n";
      continue;
    }
    if (ch === "'" || ch === '"' || ch === "`") {
      quote = ch;
      current += ch;
      continue;
    }
    if (ch === ";") {
      const s = current.trim();
      const inTrigger = /^create\s+(temp\w*\s+)?trigger\b/iu.test(s) && !/\bend\s*$/iu.test(s);
      if (inTrigger) {
        current += ch;
        continue;
      }
      if (s !== "") statements.push(s);
      current = "";
      continue;
    }
    current += ch;
  }
  if (current.trim() !== "") statements.push(current.trim());
  return statements;
}

/** Applies migrations/*.sql in name order, one D1 batch (a transaction) per file. */
export async function applyMigrations(mf) {
  const db = await mf.getD1Database("DB");
  const dir = join(ROOT, "migrations");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  let count = 0;
  for (const f of files) {
    const statements = splitSql(readFileSync(join(dir, f), "utf8"));
    await db.batch(statements.map((s) => db.prepare(s)));
    count += statements.length;
  }
  return { files, statements: count };
}

/** The pid of the workerd process Miniflare started (a child of this process), for CPU accounting; null if unknown. */
function findWorkerdPid() {
  if (process.platform !== "linux") return null;
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/u.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      if (comm.startsWith("workerd") && ppid === process.pid) found.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return found.length === 1 ? found[0] : null;
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM, ...); null when unavailable. */
export function procStatusKb(pid, field) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.split(/\s+/u)[1]) : null;
  } catch {
    return null;
  }
}

/** Resets the peak RSS (VmHWM) of pid to its current RSS (proc(5): clear_refs "5"); false when not permitted. */
export function resetPeakRss(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** CPU seconds (user + system) used so far by `pid`, from /proc; null when unavailable. */
export function cpuSecondsOf(pid) {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[11] = utime, fields[12] = stime (fields 14 and 15 of proc(5), counted from state = field 3)
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
/** Busy CPU seconds of the whole machine so far (all cores, from /proc/stat); null when unavailable. */
export function machineBusySeconds() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/u).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
    return busy / CLOCK_TICKS;
  } catch {
    return null;
  }
}

const CLOCK_TICKS = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const v = Number(r.stdout?.trim());
  return Number.isFinite(v) && v > 0 ? v : 100;
})();

/** nproc, CPU model, OS, Node and workerd versions, for the results header. */
export function machineInfo() {
  const workerdBin = join(ROOT, "node_modules", ".bin", "workerd");
  const workerd = spawnSync(workerdBin, ["--version"], { encoding: "utf8" }).stdout?.trim() ?? "unknown";
  const pkg = (name) => {
    try {
      return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
    } catch {
      return "unknown";
    }
  };
  const nproc = spawnSync("nproc", [], { encoding: "utf8" }).stdout?.trim() ?? String(cpus().length);
  return {
    nproc,
    cpu: cpus()[0]?.model ?? "unknown",
    node: process.version,
    workerd: `${workerd} (npm workerd ${pkg("workerd")})`,
    miniflare: pkg("miniflare"),
    wrangler: pkg("wrangler"),
  };
}

/**
 * The Miniflare options every local worker here shares: loopback on a free port, no telemetry, state under `tmp`
 * (or in `stateDir`, which outlives the worker).
 */
function localRuntimeOptions(tmp, log, stateDir = null) {
  return {
    host: "127.0.0.1",
    port: 0,
    log: new Log(log),
    enableDevRegistry: false,
    telemetry: { enabled: false },
    // a placeholder Request.cf instead of fetching one from workers.cloudflare.com (loopback traffic only)
    cf: false,
    // no per-request log line from Miniflare's entry worker (production has no such hop)
    logRequests: false,
    resourcePersistencePath: stateDir ?? join(tmp, "state"),
    resourceTmpPath: join(tmp, "mf-tmp"),
  };
}

/**
 * Builds the worker and starts it in Miniflare with the bindings of wrangler.toml and ENVIRONMENT=development
 * (dev tokens dev-read / dev-calibrate / dev-admin), migrations applied. Returns { mf, url, workerdPid, tmp, close }.
 * `ingest: "queue"` sets OBSERVATION_INGEST=queue and binds the observation queue with its consumer (the Worker
 * itself), as wrangler.toml declares them. `v8Flags` are passed to workerd's V8 (e.g. ["--trace-gc"]); `onRuntimeLine`
 * receives every line workerd prints (instead of this process's console). `stateDir`: keep D1, KV and Durable Object
 * storage there instead of under the temp dir, so it outlives close() (the caller removes it) and a later worker
 * started on it continues from it, with `migrate: false` (the migrations are applied once per storage).
 * `entryWrapper` (an ES module's source) becomes the main module, with the built Worker beside it as `./scoregate.js`:
 * a benchmark may add a door the Worker does not have (bench/push-propagation.mjs: a direct WebSocket to a gate's hub)
 * and pass everything else to it.
 */
export async function startWorker({
  log = LogLevel.WARN,
  ingest = "direct",
  inspector = false,
  v8Flags = [],
  onRuntimeLine = null,
  stateDir = null,
  migrate = true,
  entryWrapper = null,
} = {}) {
  const tmp = mkdtempSync(join(tmpdir(), "scoregate-bench-"));
  let mf = null;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      if (mf) await mf.dispose();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  };
  const onSignal = (signal) => {
    close().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // Miniflare's own signal hook may end the process first: remove the temp dir on exit whatever ends it.
  const removeTmp = () => rmSync(tmp, { recursive: true, force: true });
  process.once("exit", removeTmp);
  try {
    const buildStart = performance.now();
    const scriptPath = process.env.SCOREGATE_REUSE_WORKER_BUILD === "1" ? reusedBuild(join(tmp, "dist")) : buildWorker(join(tmp, "dist"));
    const buildMs = performance.now() - buildStart;
    const { compatibilityDate, compatibilityFlags } = wranglerConfig();
    const queue = ingest === "queue" ? await observationQueueConfig() : null;
    // Miniflare 5 options: one entry per Worker, `config` mirrors wrangler's config (manifest of modules, typed `env`
    // bindings, `exports` for Durable Object classes with their storage backend); `dev` holds local-only settings.
    // Miniflare 5 takes workerd's V8 flags from the environment only (read in its constructor).
    const flagsBefore = process.env.MINIFLARE_WORKERD_V8_FLAGS;
    if (v8Flags.length > 0) process.env.MINIFLARE_WORKERD_V8_FLAGS = v8Flags.join(" ");
    mf = new Miniflare({
      ...localRuntimeOptions(tmp, log, stateDir),
      // every line workerd prints (a V8 --trace-gc line arrives as { level: "log", message })
      ...(onRuntimeLine ? { handleStructuredLogs: (entry) => onRuntimeLine(entry.message) } : {}),
      // workerd's DevTools inspector on a free loopback port: per-isolate V8 heap figures (isolateHeapUsage below)
      ...(inspector ? { inspectorPort: 0, inspectorHost: "127.0.0.1" } : {}),
      workers: [
        {
          config: {
            name: WORKER_NAME,
            compatibilityDate,
            compatibilityFlags,
            manifest: {
              mainModule: "index.js",
              modulesRoot: dirname(scriptPath),
              modules:
                entryWrapper === null
                  ? { "index.js": { type: "esm", contents: readFileSync(scriptPath, "utf8") } }
                  : {
                      "index.js": { type: "esm", contents: entryWrapper },
                      "scoregate.js": { type: "esm", contents: readFileSync(scriptPath, "utf8") },
                    },
            },
            env: {
              DB: { type: "d1", id: "scoregate-bench" },
              THRESHOLDS: { type: "kv", id: "scoregate-bench-thresholds" },
              GATE_MONITOR: { type: "durable-object", worker: WORKER_NAME, exportName: "GateMonitor" },
              ENVIRONMENT: { type: "text", value: "development" },
              OBSERVATION_INGEST: { type: "text", value: ingest },
              ...(queue ? queue.env : {}),
            },
            ...(queue ? { triggers: [queue.trigger] } : {}),
            exports: { GateMonitor: { type: "durable-object", storage: "sqlite" } },
            // [assets] of wrangler.toml: the static files the Worker serves (the API reference's script at /docs).
            assets: { directory: assetsDirectory(), hasUserWorker: true },
          },
          dev: { rootPath: ROOT, unsafeRegisterWorker: false },
        },
      ],
    });
    const url = await mf.ready;
    if (flagsBefore === undefined) delete process.env.MINIFLARE_WORKERD_V8_FLAGS;
    else process.env.MINIFLARE_WORKERD_V8_FLAGS = flagsBefore;
    const migrations = migrate ? await applyMigrations(mf) : null;
    const workerdPid = findWorkerdPid();
    return { mf, url, workerdPid, tmp, buildMs, migrations, compatibilityDate, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Mulberry32: a tiny seeded PRNG (uniform in [0, 1)), so every run sends the same scores. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** How many requests, this far apart, isolateHeapUsage sends to let a forced collection run before giving up. */
const GC_WAKE_ATTEMPTS = 100;
const GC_WAKE_PAUSE_MS = 20;

/**
 * The V8 heap of one isolate, read over workerd's DevTools inspector (`startWorker({ inspector: true })`):
 * `Runtime.getHeapUsage` on the inspector target of `workerName` (workerd names it `core:user:<name>`). With `gc`, a
 * full collection first (`HeapProfiler.collectGarbage`, completed by one GET of `wake`), so `usedMb` is live data
 * rather than live data plus garbage.
 * The heap is what the 128 MB isolate limit counts; the process's resident memory also holds workerd itself and the
 * local D1, KV and Durable Object emulation.
 */
export async function isolateHeapUsage(mf, { workerName = WORKER_NAME, gc = false, wake = null } = {}) {
  if (gc && wake === null) throw new TypeError("isolateHeapUsage: a forced collection needs a `wake` URL of the worker");
  if (typeof WebSocket === "undefined")
    throw new Error(`isolateHeapUsage needs Node 22 or newer (a global WebSocket); this is ${process.version}: run it through npm`);
  const inspector = await mf.getInspectorURL();
  const targets = await (await fetch(new URL("/json/list", inspector.href.replace(/^ws/u, "http")))).json();
  const target = targets.find((t) => t.title === `workerd: worker core:user:${workerName}`);
  if (target === undefined) throw new Error(`no inspector target for worker ${workerName}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`inspector connection to ${target.webSocketDebuggerUrl} failed`));
  });
  let nextId = 0;
  const send = (method) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      const onMessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.id !== id) return;
        ws.removeEventListener("message", onMessage);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result);
      };
      ws.addEventListener("message", onMessage);
      ws.send(JSON.stringify({ id, method }));
    });
  try {
    if (gc) {
      // workerd runs the collection when the isolate next handles an event: requests to `wake` make that happen now
      let collected = false;
      const collection = send("HeapProfiler.collectGarbage").then(() => {
        collected = true;
      });
      for (let i = 0; !collected && i < GC_WAKE_ATTEMPTS; i++) {
        await (await fetch(wake)).arrayBuffer();
        await new Promise((resolve) => setTimeout(resolve, GC_WAKE_PAUSE_MS));
      }
      if (!collected) throw new Error(`the forced collection did not complete after ${GC_WAKE_ATTEMPTS} requests to ${wake}`);
      await collection;
    }
    const usage = await send("Runtime.getHeapUsage");
    return { usedMb: usage.usedSize / 2 ** 20, totalMb: usage.totalSize / 2 ** 20 };
  } finally {
    ws.close();
  }
}

/**
 * A second, minimal Worker in its own Miniflare (same process, same machine, same run): the baseline of a benchmark.
 * `contents` is one ES module exporting a default fetch handler and the Durable Object class `Baseline`, bound as
 * env.BASELINE with SQLite storage; with `d1`, a local D1 database is bound as env.DB.
 */
export async function startInlineWorker(contents, { log = LogLevel.WARN, d1 = false } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), "scoregate-bench-inline-"));
  const { compatibilityDate } = wranglerConfig();
  const mf = new Miniflare({
    ...localRuntimeOptions(tmp, log),
    workers: [
      {
        config: {
          name: "baseline",
          compatibilityDate,
          manifest: { mainModule: "index.js", modulesRoot: tmp, modules: { "index.js": { type: "esm", contents } } },
          env: {
            BASELINE: { type: "durable-object", worker: "baseline", exportName: "Baseline" },
            ...(d1 ? { DB: { type: "d1", id: "scoregate-bench-baseline" } } : {}),
          },
          exports: { Baseline: { type: "durable-object", storage: "sqlite" } },
        },
        dev: { rootPath: ROOT, unsafeRegisterWorker: false },
      },
    ],
  });
  const url = await mf.ready;
  process.once("exit", () => rmSync(tmp, { recursive: true, force: true }));
  return {
    mf,
    url,
    workerdPid: findWorkerdPid(),
    close: async () => {
      await mf.dispose();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
