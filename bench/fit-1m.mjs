/**
 * Fit benchmark: a 1,000,000-score float32 upload is fitted and stored; its wall time against the floor of decoding
 * and sorting the same payload in plain Node, in the same run; and an honest estimate of its peak memory against the
 * Workers limit of 128 MB per isolate (Miniflare does not enforce it).
 *
 *   npm run bench:fit                       (= node bench/fit-1m.mjs, Node 24 from the devDependency)
 *   npm run bench:fit -- --reps 5 --n 1000000 --out bench/results/fit-1m.md
 *
 * 1. Builds the worker (`wrangler deploy --dry-run`), runs it in Miniflare 5 (workerd) on 127.0.0.1:<random port>,
 *    applies the D1 migrations.
 * 2. Generates n seeded scores (mulberry32 from bench/lib/worker.mjs) as little-endian float32, and POSTs them `reps` times as
 *    application/octet-stream to /v1/calibrations?embedding=e5&reranker=bge-1m&index_version=v<i>&kind=drop_rate&target=0.3
 *    (a new index_version each time, so uploads 2.. also compute the rebuild shift against the previous one).
 *    Wall time per upload = request sent -> whole 201 body read, over loopback.
 *    Interleaved with the uploads, the plain-Node floor: decode the same bytes into a Float64Array and sort it
 *    (typed-array sort), two decoders (DataView loop, Float32Array + Float64Array.from), `reps` times each.
 * 3. The text formats, once each: the same n scores as NDJSON (application/x-ndjson: a metadata line, then one
 *    full-precision score per line; a ~19 MB body for 1M, under MAX_NDJSON_BODY_BYTES), and the largest JSON body
 *    MAX_JSON_BODY_BYTES allows (the same scores, ~530k). A 1M-score JSON body exceeds MAX_JSON_BODY_BYTES (413).
 * 4. Memory, three views: (a) workerd's process peak RSS (VmHWM, reset before each upload through
 *    /proc/<pid>/clear_refs) above its RSS before the upload; (b) the same code path run in Node: src is bundled with
 *    esbuild (packages external) and run in a child `node --max-old-space-size=128 --expose-gc`, which streams the
 *    body (the text bodies ready-made from a file, see makeBody) into the upload reader
 *    (src/calibrations/upload.ts), parses it and runs calibrate()
 *    (src/calibrations/calibrate.ts) against the in-memory stores, sampling V8 heap + external (ArrayBuffer) memory at
 *    each stage and the child's peak RSS since the baseline; for 1M float32 scores, MAX_SCORES float32 scores, 1M NDJSON
 *    scores and the largest JSON body; (c) the core alone: decode, sortedCopy, fitCalibration.
 * Linux only for the CPU and RSS figures (/proc); they print n/a elsewhere. Everything temporary (bundle, state,
 * probe) is removed at the end, also on Ctrl-C. Wall time about 30 s.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import {
  BUILD_COMMAND,
  cpuSecondsOf,
  machineBusySeconds,
  machineInfo,
  median,
  mulberry32,
  procStatusKb,
  ROOT,
  resetPeakRss,
  startWorker,
} from "./lib/worker.mjs";

const { values: opts } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    n: { type: "string", default: "1000000" },
    seed: { type: "string", default: "20261124" },
    out: { type: "string", default: "bench/results/fit-1m.md" },
  },
});
const REPS = Number(opts.reps);
const N = Number(opts.n);
const SEED = Number(opts.seed);
const OUT = resolve(ROOT, opts.out);
const TARGET = 0.3;
const WORKERS_MEMORY_MB = 128;
const MB = 1024 * 1024;
const log = (...a) => console.error(...a);
const fmt = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? "n/a" : x.toFixed(d));

/**
 * Reranker-like scores: a logistic of a two-component normal mixture (70 % irrelevant around -2, 30 % relevant around
 * +1.5), so the sample has a realistic skew and few ties. Little-endian float32 bytes.
 */
function scoreBytes(n, seed) {
  const rand = mulberry32(seed);
  const normal = () => {
    // Box-Muller; 1 - u keeps the log finite
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const bytes = new Uint8Array(4 * n);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) {
    const z = rand() < 0.3 ? 1.5 + normal() : -2 + 1.2 * normal();
    view.setFloat32(4 * i, 1 / (1 + Math.exp(-z)), true);
  }
  return bytes;
}

// ---- plain-Node floor --------------------------------------------------------------------------------------------

function floorDataView(bytes) {
  const t0 = performance.now();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / 4;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  out.sort();
  const ms = performance.now() - t0;
  return { ms, check: out[n >> 1] };
}

function floorFrom(bytes) {
  const t0 = performance.now();
  // Copy first: a Float32Array view needs a 4-byte aligned offset, which a received body does not promise.
  const f32 = new Float32Array(bytes.slice().buffer);
  const out = Float64Array.from(f32);
  out.sort();
  const ms = performance.now() - t0;
  return { ms, check: out[out.length >> 1] };
}

// ---- workerd -----------------------------------------------------------------------------------------------------

async function upload(h, { path, contentType, body }) {
  const pid = h.workerdPid;
  const peakReset = pid !== null && resetPeakRss(pid);
  const rssBefore = pid === null ? null : procStatusKb(pid, "VmRSS");
  const cpu0 = cpuSecondsOf(pid);
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  const res = await fetch(new URL(path, h.url), {
    method: "POST",
    headers: { authorization: "Bearer dev-calibrate", "content-type": contentType },
    body,
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  const cpu = cpu0 === null ? null : cpuSecondsOf(pid) - cpu0;
  const busy = busy0 === null ? null : machineBusySeconds() - busy0;
  const hwm = peakReset ? procStatusKb(pid, "VmHWM") : null;
  let parsed = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // reported below
  }
  if (res.status !== 201) throw new Error(`upload ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  const c = parsed.calibration;
  return {
    ms,
    status: res.status,
    workerdCpuMs: cpu === null ? null : 1000 * cpu,
    // everything else that ran on the machine meanwhile (this process, other jobs), in cores
    otherCores: busy === null || cpu === null ? null : Math.max(0, busy - cpu) / (ms / 1000),
    rssBeforeMb: rssBefore === null ? null : rssBefore / 1024,
    peakRssGrowthMb: hwm === null || rssBefore === null ? null : (hwm - rssBefore) / 1024,
    threshold: c.threshold,
    n: c.n,
    k: c.k,
    id: c.id,
    shift: parsed.shift !== null,
  };
}

// ---- memory probe (src run in a child Node) ----------------------------------------------------------------------

const PROBE_SOURCE = `
import { readFileSync, writeFileSync } from "node:fs";
import * as upload from "./src/calibrations/upload";
import { calibrate } from "./src/calibrations/calibrate";
import { fitCalibration } from "./src/calibrations/fit";
import { sortedCopy } from "./src/stats/order-statistics";
import { MemoryCalibrationStore } from "./test/support/memory-calibration-store";
import { MemoryThresholdProjection } from "./test/support/memory-projection";
import { publishOnActivation } from "./src/serving/publish";
import * as limits from "./src/platform/limits";

const [file, mode, target, nArg] = process.argv.slice(2);
const MB = 1024 * 1024;
const gc = globalThis.gc;
const mem = () => { const m = process.memoryUsage(); return m.heapUsed + m.external; };
// Peak RSS since the baseline: reset VmHWM through /proc/self/clear_refs (getrusage's maxRSS would carry the parent's
// peak across fork + exec).
const status = (field) => Number(readFileSync("/proc/self/status", "utf8").split("\\n").find((l) => l.startsWith(field + ":")).split(/\\s+/)[1]) * 1024;
let hwmReset = false;
const stages = [];
let base = 0;
let rssBase = 0;
const peakRss = () => (hwmReset ? status("VmHWM") - rssBase : NaN) / MB;
const mark = (stage, keep) => {
  const now = mem();
  const peakRssMb = peakRss();
  gc();
  const retained = mem();
  stages.push({ stage, liveMb: (now - base) / MB, retainedMb: (retained - base) / MB, peakRssMb });
  return keep;
};
const deps = () => {
  let clock = Date.parse("2026-11-24T00:00:00Z");
  let counter = 0;
  const calibrations = new MemoryCalibrationStore();
  const projection = new MemoryThresholdProjection();
  return {
    calibrations,
    projection,
    now: () => new Date((clock += 1000)),
    random: () => (++counter).toString(16).padStart(16, "0"),
    defer: (p) => { p.catch(() => {}); },
    activationListeners: [publishOnActivation({ calibrations, projection })],
  };
};
const start = () => {
  gc(); gc();
  base = mem();
  try { writeFileSync("/proc/self/clear_refs", "5"); hwmReset = true; } catch { hwmReset = false; }
  rssBase = status("VmRSS");
};
// total scores, cycling through the file's (to reach a body-size limit)
const scoresOf = (raw, total) => {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = raw.byteLength / 4;
  const out = new Float32Array(total);
  for (let j = 0; j < total; j++) out[j] = view.getFloat32(4 * (j % n), true);
  return out;
};
// The body parts of a given index_version (float32 carries it in the query string, NDJSON in its first line). The
// text bodies come ready-made from the parent in a file: building them here (1M number strings) would grow V8's young
// generation before the baseline and inflate the peak RSS of the parse that follows (measured: +128 MB instead of
// +38 MB for a bare 1M-line NDJSON parse).
const makeBody = (raw, total) => {
  if (mode === "binary") {
    const body = new Uint8Array(scoresOf(raw, total).buffer);
    return { partsFor: () => [body], n: total, bytes: body.byteLength };
  }
  if (mode === "ndjson") {
    const nl = raw.indexOf(10);
    const meta = JSON.parse(new TextDecoder().decode(raw.subarray(0, nl)));
    const lines = raw.subarray(nl + 1);
    const header = (version) => new TextEncoder().encode(JSON.stringify({ ...meta, index_version: version }) + "\\n");
    return { partsFor: (version) => [header(version), lines], n: total, bytes: raw.byteLength };
  }
  return { partsFor: () => [raw], n: total, bytes: raw.byteLength };
};

const CHUNK = 64 * 1024;
const chunkStream = (parts) => {
  let p = 0;
  let o = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      while (p < parts.length && o >= parts[p].byteLength) { p++; o = 0; }
      if (p === parts.length) { controller.close(); return; }
      const end = Math.min(parts[p].byteLength, o + CHUNK);
      controller.enqueue(parts[p].slice(o, end));
      o = end;
    },
  });
};

// a plain Uint8Array (Buffer's slice would be a view, not the copy chunkStream means)
const rawBuffer = readFileSync(file);
const raw = new Uint8Array(rawBuffer.buffer, rawBuffer.byteOffset, rawBuffer.byteLength);
let info = {};
const t0 = performance.now();
if (mode === "limits") {
  console.log(JSON.stringify({ MAX_JSON_BODY_BYTES: limits.MAX_JSON_BODY_BYTES, MAX_NDJSON_BODY_BYTES: limits.MAX_NDJSON_BODY_BYTES, MAX_BINARY_BODY_BYTES: limits.MAX_BINARY_BODY_BYTES, MAX_SCORES: limits.MAX_SCORES }));
  process.exit(0);
}
if (mode === "binary" || mode === "json" || mode === "ndjson") {
  const d = deps();
  const query = mode === "binary" ? "?embedding=e5&reranker=bge-1m&kind=drop_rate&target=" + target : "";
  const { partsFor, n, bytes } = makeBody(raw, Number(nArg ?? raw.byteLength / 4));
  info = { n, bodyMb: bytes / MB };
  const type = { binary: "application/octet-stream", json: "application/json", ndjson: "application/x-ndjson" }[mode];
  start();
  for (const [i, version] of ["v1", "v2"].entries()) {
    const url = "http://bench.invalid/v1/calibrations" + query + (mode === "binary" ? "&index_version=" + version : "");
    // the body as the Worker receives it: a stream of fresh 64 KiB chunks (copied from the parts as they are pulled,
    // like bytes off the network) that the upload reader collects and concatenates; no whole-body copy up front
    const request = new Request(url, { method: "POST", headers: { "content-type": type }, body: chunkStream(partsFor(version)), duplex: "half" });
    // src/calibrations/upload.ts either parses a Request in one step, or reads it (readCalibrationUpload, whose
    // bytes the idempotency hash also reads) and then parses the read upload
    const input = upload.readCalibrationUpload
      ? upload.parseCalibrationUpload(mark(version + ": body read", await upload.readCalibrationUpload(request)))
      : await upload.parseCalibrationUpload(request);
    mark(version + ": body parsed into scores", input);
    const result = mark(version + ": calibrate() done (fit, shift, store, publish)", await calibrate(input, "bench", d));
    mark(version + ": response JSON serialized", JSON.stringify({ calibration: result.calibration, shift: result.shift, warnings: result.warnings }).length);
    if (i === 0 && mode === "json") break;
  }
} else {
  start();
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const scores = new Float64Array(raw.byteLength / 4);
  for (let i = 0; i < scores.length; i++) scores[i] = view.getFloat32(4 * i, true);
  mark("decoded to Float64Array", scores);
  const sorted = mark("sortedCopy", sortedCopy(scores));
  mark("fitCalibration", fitCalibration(sorted, Number(target), null));
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ mode, ms, stages, peakRssGrowthMb: peakRss(), baseMb: base / MB, rssBaseMb: rssBase / MB, ...info }));
`;

async function buildProbe(probeDir) {
  const probe = join(probeDir, "mem-probe.mjs");
  await build({
    stdin: { contents: PROBE_SOURCE, resolveDir: ROOT, sourcefile: "mem-probe.ts", loader: "ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    // packages stay external (stdlib's CommonJS requires do not survive an ESM bundle) and resolve from the
    // repository's node_modules, hence the probe lives under node_modules/.cache
    packages: "external",
    outfile: probe,
    logLevel: "warning",
  });
  return probe;
}

const PROBE_COMMAND = `node --max-old-space-size=128 --expose-gc <esbuild bundle of src> <scores.f32|body.ndjson|body.json> <core|binary|ndjson|json> ${TARGET} [n]`;

/** bytesFile: the float32 payload (core, binary) or the ready-made body (ndjson, json). */
function runProbe(probe, bytesFile, mode, n) {
  const args = ["--max-old-space-size=128", "--expose-gc", probe, bytesFile, mode, String(TARGET), ...(n === undefined ? [] : [String(n)])];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", cwd: ROOT });
  if (r.status !== 0) {
    log(`memory probe ${mode} ${n ?? ""} failed (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
    return { failed: true, status: r.status, signal: r.signal, stderr: r.stderr.slice(-2000) };
  }
  const out = JSON.parse(r.stdout.trim().split("\n").pop());
  if (mode !== "limits")
    log(
      `memory probe ${mode} ${n ?? ""}: peak RSS +${fmt(out.peakRssGrowthMb, 1)} MB, live max ${fmt(Math.max(...out.stages.map((s) => s.liveMb)), 1)} MB`,
    );
  return out;
}

/** JSON body of `total` scores, cycling through the float32 payload (values widened to float64). */
function jsonBody(f32, total, reranker) {
  const scores = new Array(total);
  for (let j = 0; j < total; j++) scores[j] = f32[j % f32.length];
  const text = JSON.stringify({ embedding: "e5", reranker, index_version: "v1", scores, policy: { kind: "drop_rate", target: TARGET } });
  return new TextEncoder().encode(text);
}

/**
 * NDJSON body of the float32 payload: the metadata line, then one score per line at full precision (each float32
 * widened to float64 and printed as JSON prints it, so it parses back to the same value).
 */
function ndjsonBody(f32, reranker) {
  const header = JSON.stringify({ embedding: "e5", reranker, index_version: "v1", policy: { kind: "drop_rate", target: TARGET } });
  const lines = new Array(f32.length + 1);
  lines[0] = header;
  for (let j = 0; j < f32.length; j++) lines[j + 1] = JSON.stringify(f32[j]);
  return new TextEncoder().encode(`${lines.join("\n")}\n`);
}

// ---- main --------------------------------------------------------------------------------------------------------

async function main() {
  const machine = machineInfo();
  log(`machine: nproc ${machine.nproc}, ${machine.cpu}, node ${machine.node}, ${machine.workerd}`);
  const tGen = performance.now();
  const bytes = scoreBytes(N, SEED);
  const f32 = new Float32Array(bytes.slice().buffer);
  log(`generated ${N} float32 scores (${(bytes.byteLength / MB).toFixed(1)} MB) in ${fmt(performance.now() - tGen)} ms`);

  // Scratch for the memory probe: under node_modules/.cache so the bundle resolves packages from the repository.
  const cacheDir = join(ROOT, "node_modules", ".cache");
  mkdirSync(cacheDir, { recursive: true });
  const probeDir = mkdtempSync(join(cacheDir, "scoregate-bench-fit-"));
  // also when Ctrl-C ends the run (the worker harness exits the process after disposing Miniflare)
  const removeProbeDir = () => rmSync(probeDir, { recursive: true, force: true });
  process.once("exit", removeProbeDir);
  let h = null;
  try {
    const bytesFile = join(probeDir, "scores.f32");
    writeFileSync(bytesFile, bytes);
    const probe = await buildProbe(probeDir);
    const limits = runProbe(probe, bytesFile, "limits");
    if (limits.failed) throw new Error("could not read src/platform/limits.ts through the probe bundle");

    log("building and starting the worker ...");
    h = await startWorker();
    const compatibilityDate = h.compatibilityDate;
    log(`workerd on ${h.url.href} (pid ${h.workerdPid ?? "unknown"}), build ${fmt(h.buildMs)} ms`);
    const idleRssMb = h.workerdPid === null ? null : procStatusKb(h.workerdPid, "VmRSS") / 1024;

    const uploads = [];
    const floorsDv = [];
    const floorsFrom = [];
    for (let i = 1; i <= REPS; i++) {
      floorsDv.push(floorDataView(bytes));
      floorsFrom.push(floorFrom(bytes));
      const u = await upload(h, {
        path: `/v1/calibrations?embedding=e5&reranker=bge-1m&index_version=v${i}&kind=drop_rate&target=${TARGET}`,
        contentType: "application/octet-stream",
        body: bytes,
      });
      uploads.push(u);
      log(
        `rep ${i}: upload ${fmt(u.ms)} ms (workerd CPU ${fmt(u.workerdCpuMs)} ms, peak RSS +${fmt(u.peakRssGrowthMb, 1)} MB over ${fmt(u.rssBeforeMb, 1)} MB, other load ${fmt(u.otherCores, 2)} cores), ` +
          `floor DataView ${fmt(floorsDv.at(-1).ms)} ms, floor Float64Array.from ${fmt(floorsFrom.at(-1).ms)} ms; threshold ${u.threshold}, n ${u.n}, k ${u.k}`,
      );
    }
    // Same answer as a plain sort: the k-th smallest score.
    const expectedThreshold = Float64Array.from(f32).sort()[uploads[0].k - 1];

    // Text formats, once each: the same scores as NDJSON; then as many as fit under the JSON body limit (a JSON body
    // of all N scores exceeds it for N = 1M).
    const ndjson = ndjsonBody(f32, "bge-1m-ndjson");
    if (ndjson.byteLength > limits.MAX_NDJSON_BODY_BYTES)
      log(`warning: the NDJSON body (${ndjson.byteLength} bytes) exceeds MAX_NDJSON_BODY_BYTES = ${limits.MAX_NDJSON_BODY_BYTES}: expect 413`);
    // one separator (newline or comma) a score in both formats
    const bytesPerScore = ndjson.byteLength / N;
    let nLimit = Math.min(limits.MAX_SCORES, Math.floor((0.995 * limits.MAX_JSON_BODY_BYTES) / bytesPerScore));
    let jsonLimit = jsonBody(f32, nLimit, "bge-json-limit");
    while (jsonLimit.byteLength > limits.MAX_JSON_BODY_BYTES) {
      nLimit = Math.floor(nLimit * 0.99);
      jsonLimit = jsonBody(f32, nLimit, "bge-json-limit");
    }
    const ndjsonFile = join(probeDir, "body.ndjson");
    const jsonLimitFile = join(probeDir, "body.json");
    writeFileSync(ndjsonFile, ndjson);
    writeFileSync(jsonLimitFile, jsonLimit);
    const textRuns = [];
    for (const [key, contentType, label, body, n] of [
      [
        "ndjson",
        "application/x-ndjson",
        `${N.toLocaleString("en-US")} scores (MAX_NDJSON_BODY_BYTES = ${(limits.MAX_NDJSON_BODY_BYTES / MB).toFixed(0)} MB)`,
        ndjson,
        N,
      ],
      [
        "json-limit",
        "application/json",
        `${nLimit.toLocaleString("en-US")} scores (largest under MAX_JSON_BODY_BYTES = ${(limits.MAX_JSON_BODY_BYTES / MB).toFixed(0)} MB)`,
        jsonLimit,
        nLimit,
      ],
    ]) {
      try {
        const u = await upload(h, { path: "/v1/calibrations", contentType, body });
        textRuns.push({ key, contentType, label, n, mb: body.byteLength / MB, ...u });
        log(
          `${contentType} upload ${label} (${(body.byteLength / MB).toFixed(1)} MB): ${fmt(u.ms)} ms, workerd CPU ${fmt(u.workerdCpuMs)} ms, peak RSS +${fmt(u.peakRssGrowthMb, 1)} MB; threshold ${u.threshold}, n ${u.n}, k ${u.k}`,
        );
      } catch (e) {
        textRuns.push({ key, contentType, label, n, mb: body.byteLength / MB, error: e.message });
        log(`${contentType} upload ${label} failed: ${e.message}`);
      }
    }
    const textBy = Object.fromEntries(textRuns.map((t) => [t.key, t]));
    await h.close();
    h = null;

    log("memory probes (src in a child node --max-old-space-size=128) ...");
    const probes = [
      {
        key: "core",
        title: `core only: decode, sortedCopy, fitCalibration (${N.toLocaleString("en-US")} scores)`,
        r: runProbe(probe, bytesFile, "core"),
      },
      {
        key: "binary",
        title: `float32 request of ${N.toLocaleString("en-US")} scores: read + parse + calibrate() with in-memory stores, twice (v2 computes the shift against v1)`,
        r: runProbe(probe, bytesFile, "binary", N),
      },
      {
        key: "binary-limit",
        title: `float32 request at MAX_SCORES = ${limits.MAX_SCORES.toLocaleString("en-US")} scores (${((4 * limits.MAX_SCORES) / MB).toFixed(1)} MB), same steps`,
        r: runProbe(probe, bytesFile, "binary", limits.MAX_SCORES),
      },
      {
        key: "ndjson",
        title: `NDJSON request of ${N.toLocaleString("en-US")} scores (${(ndjson.byteLength / MB).toFixed(1)} MB, full precision): read + parse + calibrate(), twice (v2 computes the shift against v1)`,
        r: runProbe(probe, ndjsonFile, "ndjson", N),
      },
      {
        key: "json-limit",
        title: `JSON request at the body limit: ${nLimit.toLocaleString("en-US")} scores, ${(jsonLimit.byteLength / MB).toFixed(1)} MB (MAX_JSON_BODY_BYTES = ${(limits.MAX_JSON_BODY_BYTES / MB).toFixed(0)} MB)`,
        r: runProbe(probe, jsonLimitFile, "json", nLimit),
      },
    ];
    const peakOf = (r) => (r && !r.failed ? Math.max(r.peakRssGrowthMb, ...r.stages.map((s) => s.liveMb)) : null);
    const liveOf = (r) => (r && !r.failed ? Math.max(...r.stages.map((s) => s.liveMb)) : null);
    const probeBy = Object.fromEntries(probes.map((p) => [p.key, p.r]));

    // ---- report ----
    const up = uploads.map((u) => u.ms);
    const upMedian = median(up);
    const dv = median(floorsDv.map((f) => f.ms));
    const from = median(floorsFrom.map((f) => f.ms));
    const floor = Math.min(dv, from);
    const ratio = upMedian / floor;
    const maxWorkerdGrowth = Math.max(...uploads.map((u) => u.peakRssGrowthMb ?? NaN));
    const binaryPeak = peakOf(probeBy.binary);
    const lines = [];
    lines.push(`# Fitting a ${N.toLocaleString("en-US")}-score float32 upload`);
    lines.push("");
    lines.push(
      `Generated by \`bench/fit-1m.mjs\` on ${new Date().toISOString()}. Requirement: a 1,000,000-score float32 upload is fitted and stored within the Workers limits (128 MB memory); time reported against the floor of parsing and sorting the same payload in plain Node, same run.`,
    );
    lines.push("");
    lines.push(
      `**Result: median upload ${fmt(upMedian)} ms (min ${fmt(Math.min(...up))} ms) against a plain-Node decode + sort floor of ${fmt(floor)} ms: ${fmt(ratio, 2)}x the floor. ` +
        `Memory of the float32 path: at most ${fmt(liveOf(probeBy.binary), 0)} MB live (V8 heap + ArrayBuffers, stage boundaries) and ${fmt(probeBy.binary?.peakRssGrowthMb, 0)} MB peak RSS growth of a Node process running the same src; ` +
        `workerd's whole process grew by at most ${fmt(maxWorkerdGrowth, 0)} MB per upload: ${binaryPeak !== null && binaryPeak < WORKERS_MEMORY_MB / 2 ? "well under" : "compare with"} the ${WORKERS_MEMORY_MB} MB isolate limit.**`,
    );
    lines.push("");
    const rssOf = (r) => (r && !r.failed ? r.peakRssGrowthMb : null);
    const share = (mb) => `${fmt((100 * mb) / WORKERS_MEMORY_MB)} %`;
    const nd = textBy.ndjson;
    const ndSame = nd && !nd.error ? nd.threshold === uploads[0].threshold && nd.k === uploads[0].k && nd.n === uploads[0].n : false;
    const ndLive = liveOf(probeBy.ndjson);
    const ndRss = rssOf(probeBy.ndjson);
    const ndWorst = ndLive === null ? null : Math.max(ndLive, ndRss ?? 0);
    lines.push(
      nd?.error
        ? `> **NDJSON: the ${N.toLocaleString("en-US")}-score upload failed: ${nd.error.slice(0, 200)}**`
        : `> ${ndWorst !== null && ndWorst > 0.75 * WORKERS_MEMORY_MB ? "**Risk: little headroom on the NDJSON path.** " : ""}NDJSON at full precision: ` +
            `the same ${N.toLocaleString("en-US")} scores as NDJSON (${(ndjson.byteLength / MB).toFixed(1)} MB, MAX_NDJSON_BODY_BYTES = ${(limits.MAX_NDJSON_BODY_BYTES / MB).toFixed(0)} MB) took ${fmt(nd.ms)} ms (one upload; ${fmt(nd.ms / upMedian, 1)}x the float32 median), workerd CPU ${fmt(nd.workerdCpuMs)} ms, workerd's whole process +${fmt(nd.peakRssGrowthMb, 0)} MB; ` +
            `the Node probe (read + parse + calibrate(), twice) needs at most ${fmt(ndLive, 0)} MB live and ${fmt(ndRss, 0)} MB peak RSS growth: ${ndWorst === null ? "n/a" : share(ndWorst)} of the ${WORKERS_MEMORY_MB} MB isolate limit, before the isolate's own baseline. ` +
            `Same threshold as the float32 upload: ${ndSame ? "yes" : `**no** (${nd.threshold}, k = ${nd.k} of n = ${nd.n})`}.`,
    );
    lines.push("");
    const jsonLimitLive = liveOf(probeBy["json-limit"]);
    const jsonLimitRss = rssOf(probeBy["json-limit"]);
    const jl = textBy["json-limit"];
    if (jsonLimitLive !== null) {
      const worst = Math.max(jsonLimitLive, jsonLimitRss ?? 0);
      lines.push(
        `> ${worst > 0.75 * WORKERS_MEMORY_MB ? "**Risk: little headroom on the JSON path at its body limit.** " : ""}JSON at its body limit: ` +
          `the largest JSON upload MAX_JSON_BODY_BYTES = ${(limits.MAX_JSON_BODY_BYTES / MB).toFixed(0)} MB allows (${(jsonLimit.byteLength / MB).toFixed(1)} MB, ${nLimit.toLocaleString("en-US")} scores) ` +
          `needs ${fmt(jsonLimitLive, 0)} MB live at the parse stage and ${fmt(jsonLimitRss, 0)} MB peak RSS growth in the Node probe (workerd's whole process: +${fmt(jl?.peakRssGrowthMb, 0)} MB${jl?.error ? `; the upload failed: ${jl.error.slice(0, 120)}` : ""}): up to ${share(worst)} of the ${WORKERS_MEMORY_MB} MB isolate limit, before the isolate's own baseline. ` +
          `A ${N.toLocaleString("en-US")}-score JSON body (about ${((bytesPerScore * N) / MB).toFixed(0)} MB) exceeds that limit (413); larger samples go as NDJSON or float32.`,
      );
      lines.push("");
    }
    lines.push("## Command and machine");
    lines.push("");
    lines.push("```");
    lines.push(`npm run bench:fit -- --reps ${REPS} --n ${N} --seed ${SEED}`);
    lines.push(`# = node bench/fit-1m.mjs ...; the worker is built with: ${BUILD_COMMAND}`);
    lines.push(`# memory probes: ${PROBE_COMMAND}`);
    lines.push("```");
    lines.push("");
    lines.push(
      `- nproc ${machine.nproc} (${machine.cpu}), ${process.platform} ${process.arch}; Node ${machine.node}; ${machine.workerd}; miniflare ${machine.miniflare}; wrangler ${machine.wrangler}`,
    );
    lines.push(
      `- workerd run by Miniflare directly, 127.0.0.1, compatibility_date ${compatibilityDate}, ENVIRONMENT=development, local D1/KV/SQLite DO in a temp dir; workerd idle RSS ${fmt(idleRssMb, 0)} MB`,
    );
    lines.push(
      `- payload: ${N.toLocaleString("en-US")} scores, logistic of a normal mixture (mulberry32 seed ${SEED}), little-endian float32, ${(bytes.byteLength / MB).toFixed(2)} MB; target drop rate ${TARGET}`,
    );
    lines.push(`- the machine is shared: "other load" is the CPU used by everything but workerd during the upload (this process included), in cores`);
    lines.push("");
    lines.push("## Upload time (POST /v1/calibrations, application/octet-stream) against the plain-Node floor");
    lines.push("");
    lines.push(
      `| rep | upload wall ms | workerd CPU ms | workerd peak RSS growth MB | other load (cores) | floor: DataView decode + sort ms | floor: Float64Array.from + sort ms | shift computed |`,
    );
    lines.push("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    uploads.forEach((u, i) => {
      lines.push(
        `| ${i + 1} | ${fmt(u.ms)} | ${fmt(u.workerdCpuMs)} | ${fmt(u.peakRssGrowthMb, 1)} | ${fmt(u.otherCores, 2)} | ${fmt(floorsDv[i].ms)} | ${fmt(floorsFrom[i].ms)} | ${u.shift ? "yes" : "no (first upload)"} |`,
      );
    });
    lines.push(
      `| **median** | **${fmt(upMedian)}** (min ${fmt(Math.min(...up))}) | ${fmt(median(uploads.map((u) => u.workerdCpuMs ?? NaN)))} | | | **${fmt(dv)}** | **${fmt(from)}** | |`,
    );
    lines.push("");
    lines.push(
      `Ratio upload / floor (median upload / faster floor median): **${fmt(ratio, 2)}x**; against the DataView floor ${fmt(upMedian / dv, 2)}x.`,
    );
    lines.push("");
    lines.push(
      `The upload includes the ${(bytes.byteLength / MB).toFixed(1)} MB loopback transfer, auth, reading and hashing the body, decoding with the finiteness check, sortedCopy, the fit (threshold, intervals, 101-point summary, 2,000-knot distribution), the rebuild shift against the previous calibration (uploads 2..), the D1 batch and the KV publish. ` +
        `Fitted threshold ${uploads[0].threshold} (k = ${uploads[0].k} of n = ${uploads[0].n}); the k-th smallest of a plain sort is ${expectedThreshold}: ${uploads[0].threshold === expectedThreshold ? "identical" : "DIFFERENT"}.`,
    );
    lines.push("");
    lines.push("## Text formats (NDJSON, JSON), one upload each");
    lines.push("");
    lines.push(
      `Full-precision scores (each float32 score widened to float64 and printed as JSON prints it). NDJSON: the header line \`${JSON.stringify({ embedding: "e5", reranker: "bge-1m-ndjson", index_version: "v1", policy: { kind: "drop_rate", target: TARGET } })}\`, then one score per line. A new gate each (no rebuild shift).`,
    );
    lines.push("");
    lines.push(
      `| body | size MB | wall ms | workerd CPU ms | workerd peak RSS growth MB | other load (cores) | wall vs float32 median | threshold |`,
    );
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for (const t of textRuns) {
      lines.push(
        t.error
          ? `| ${t.contentType}, ${t.label} | ${fmt(t.mb, 1)} | failed: ${t.error.slice(0, 200).replace(/\|/gu, "/")} | | | | | |`
          : `| ${t.contentType}, ${t.label} | ${fmt(t.mb, 1)} | ${fmt(t.ms)} | ${fmt(t.workerdCpuMs)} | ${fmt(t.peakRssGrowthMb, 1)} | ${fmt(t.otherCores, 2)} | ${fmt(t.ms / upMedian, 1)}x | ${t.threshold} (k = ${t.k} of n = ${t.n}) |`,
      );
    }
    lines.push("");
    if (nd && !nd.error)
      lines.push(
        `The NDJSON upload fits the same threshold as the float32 upload (same ${N.toLocaleString("en-US")} values): ${ndSame ? "yes" : `**no** (${nd.threshold}, k = ${nd.k} of n = ${nd.n}; float32: ${uploads[0].threshold}, k = ${uploads[0].k})`}. ` +
          `The JSON row holds ${nLimit <= N ? `the first ${nLimit.toLocaleString("en-US")} of the scores` : `${nLimit.toLocaleString("en-US")} scores (the payload repeated)`}, so its threshold differs.`,
      );
    lines.push("");
    lines.push("## Memory");
    lines.push("");
    lines.push(
      "Miniflare does not enforce the 128 MB isolate limit, so three views. (1) Node probes run the same src (bundled with esbuild) in a child `node --max-old-space-size=128 --expose-gc`: at each stage boundary they read V8 heapUsed + external (ArrayBuffers) above a baseline taken just before the request, as is (`live`, includes garbage not yet collected) and after a full GC (`retained`); and the process's peak RSS since the baseline (VmHWM reset through /proc/self/clear_refs), which also catches transient peaks inside a call but includes V8's heap growth and freed-but-unreturned pages. The request body is streamed into the reader as in the Worker; the NDJSON and JSON bodies are written by this script and read from a file by the probe, so building them (1M number strings) does not grow the probe's heap before the baseline. (2) workerd's whole process peak RSS growth per upload (above), which includes Miniflare's D1/KV services. (3) `--max-old-space-size=128` caps V8's old generation only, not ArrayBuffers, so completing under it is necessary, not sufficient.",
    );
    lines.push("");
    lines.push("| probe | peak live MB (stage boundaries) | peak RSS growth MB | completed under --max-old-space-size=128 |");
    lines.push("| --- | ---: | ---: | --- |");
    for (const p of probes) {
      lines.push(
        p.r.failed
          ? `| ${p.title} | | | **no** (exit ${p.r.status}${p.r.signal ? `, ${p.r.signal}` : ""}) |`
          : `| ${p.title} | ${fmt(liveOf(p.r), 1)} | ${fmt(p.r.peakRssGrowthMb, 1)} | yes (${fmt(p.r.ms)} ms) |`,
      );
    }
    lines.push("");
    for (const p of probes) {
      if (p.r.failed) {
        lines.push(`### ${p.title}`);
        lines.push("");
        lines.push(`FAILED (exit ${p.r.status}): \`${p.r.stderr.split("\n").filter(Boolean).slice(-3).join(" / ")}\``);
        lines.push("");
        continue;
      }
      lines.push(`### ${p.title}`);
      lines.push("");
      lines.push("| stage | live MB | retained after GC MB | peak RSS growth so far MB |");
      lines.push("| --- | ---: | ---: | ---: |");
      for (const s of p.r.stages) lines.push(`| ${s.stage} | ${fmt(s.liveMb, 1)} | ${fmt(s.retainedMb, 1)} | ${fmt(s.peakRssMb, 1)} |`);
      lines.push("");
    }
    lines.push(
      `workerd's process (all of Miniflare's services, SQLite included) had an idle RSS of ${fmt(idleRssMb, 0)} MB; its peak RSS grew by ${uploads.map((u) => fmt(u.peakRssGrowthMb, 1)).join(", ")} MB during the float32 uploads, by ${fmt(nd?.peakRssGrowthMb, 1)} MB during the NDJSON upload and by ${fmt(jl?.peakRssGrowthMb, 1)} MB during the JSON upload at its limit (V8 frees lazily, so growth also counts garbage).`,
    );
    lines.push("");
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, lines.join("\n"));
    console.log(lines.join("\n"));
    log(`\nwrote ${relative(process.cwd(), OUT) || OUT}`);
  } finally {
    if (h) await h.close();
    removeProbeDir();
  }
}

await main();
