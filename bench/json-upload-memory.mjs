/**
 * JSON upload memory: what the worst bodies within the JSON upload limit cost the isolate that parses them, against
 * the largest legitimate JSON uploads, in workerd, same run.
 *
 *   npm run bench:json-memory                 (= node bench/json-upload-memory.mjs)
 *   npm run bench:json-memory -- --out bench/results/json-upload-memory.md
 *
 * 1. Builds the worker (`wrangler deploy --dry-run`) and runs it in Miniflare 5 (workerd) with V8's `--trace-gc`, so
 *    workerd prints every collection of every isolate with the heap it found ("Scavenge 12.1 (14.0) -> 3.2 (15.0) MB").
 * 2. For each body (each as large as MAX_JSON_BODY_BYTES allows): a full collection first (over workerd's inspector),
 *    workerd's peak RSS reset (/proc/<pid>/clear_refs), POST /v1/calibrations, then a full collection again. The
 *    isolate's peak V8 heap is the largest "used before" of any collection of the worker's isolate between the
 *    request's start and the closing collection (the heap only grows between two collections, and the closing one
 *    finds what the request left, garbage included). V8's trace is buffered, so it is read at the end, pushed out by
 *    forced collections, and each line is placed between the forced collections it came between (flushTrace). The process's peak RSS
 *    growth also counts ArrayBuffers (the body's bytes, typed arrays), which the heap figure does not.
 * 3. The legitimate bodies are the baseline: 533k full-precision scores, and MAX_QUERIES one-score queries with
 *    their relevance labels (the most arrays a valid upload holds). Each hostile body's peak is reported as a ratio
 *    against the larger of the two.
 * Linux only for the RSS figures (/proc). Wall time about a minute.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BUILD_COMMAND, isolateHeapUsage, machineInfo, mulberry32, procStatusKb, ROOT, resetPeakRss, startWorker } from "./lib/worker.mjs";

const { values: opts } = parseArgs({ options: { out: { type: "string", default: "bench/results/json-upload-memory.md" } } });
const OUT = resolve(ROOT, opts.out);
const MB = 2 ** 20;
const WORKERS_MEMORY_MB = 128;
const log = (...a) => console.error(...a);
/** Forced collections that push V8's buffered trace out (two lines of about 200 bytes each; the buffer is 4 KB). */
const TRACE_FLUSH_COLLECTIONS = 20;
/** Lines V8 prints per collection forced over the inspector (its low-memory notification runs two full collections). */
const LINES_PER_FORCED_COLLECTION = 2;
/** The two lines of one forced collection are printed this close together at most. */
const MAX_PAIR_GAP_MS = 1_000;
/** How long the last trace lines take to arrive through workerd's stdout pipe. */
const TRACE_DRAIN_MS = 1_000;
const fmt = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? "n/a" : x.toFixed(d));

// The limits the bodies are sized to, from their source (Node 24 strips the types), so the benchmark follows a change.
const { MAX_JSON_BODY_BYTES, MAX_NDJSON_BODY_BYTES, MAX_QUERIES, MAX_UPLOAD_JSON_CONTAINERS } = await import("../src/contract/limits.ts");

const meta = (label) =>
  `"index":"json-memory","embedding":"e5","reranker":"bge-${label}","index_version":"v1","policy":{"kind":"drop_rate","target":0.2}`;

/** `{meta, "<field>": [unit, unit, ...]}` with as many units as fit in MAX_JSON_BODY_BYTES. */
function repeated(label, field, unit, { open = "[", close = "]" } = {}) {
  const head = `{${meta(label)},"${field}":${open}`;
  const tail = `${close}}`;
  const count = Math.floor((MAX_JSON_BODY_BYTES - head.length - tail.length + 1) / (unit.length + 1));
  return { body: head + Array(count).fill(unit).join(",") + tail, count };
}

function legitScores() {
  const rand = mulberry32(20261205);
  const head = `{${meta("scores")},"scores":[`;
  const parts = [];
  let size = head.length + 2;
  for (;;) {
    const s = String(rand());
    if (size + s.length + 1 > MAX_JSON_BODY_BYTES) break;
    parts.push(s);
    size += s.length + 1;
  }
  return { body: `${head + parts.join(",")}]}`, count: parts.length };
}

function legitQueries() {
  const rand = mulberry32(20261206);
  const queries = [];
  const labels = [];
  for (let i = 0; i < MAX_QUERIES; i++) {
    queries.push(`[${rand().toFixed(6)}]`);
    labels.push(i % 2 === 0 ? "[1]" : "[0]");
  }
  return { body: `{${meta("queries")},"queries":[${queries.join(",")}],"relevance":[${labels.join(",")}]}`, count: MAX_QUERIES };
}

/** The same queries and labels as legitQueries, as NDJSON: one {"scores", "relevance"} line per query. */
function legitNdjsonQueries() {
  const rand = mulberry32(20261206);
  const lines = [`{${meta("ndjson")}}`];
  for (let i = 0; i < MAX_QUERIES; i++) lines.push(`{"scores":[${rand().toFixed(6)}],"relevance":[${i % 2 === 0 ? 1 : 0}]}`);
  return { body: `${lines.join("\n")}\n`, count: MAX_QUERIES, contentType: "application/x-ndjson" };
}

/** Arrays (or objects) nested as deep as the body allows, as the only query. */
function nested(label, open, close, inner = "") {
  const head = `{${meta(label)},"queries":[`;
  const tail = "]}";
  const depth = Math.floor((MAX_JSON_BODY_BYTES - head.length - tail.length - inner.length) / (open.length + close.length));
  return { body: head + open.repeat(depth) + inner + close.repeat(depth) + tail, count: depth };
}

/**
 * As many empty arrays as MAX_UPLOAD_JSON_CONTAINERS allows under `field` (a numeric field, or an unknown one); in a
 * version without that limit, as many as a valid upload may hold (a query and a label array per query).
 */
function atContainerLimit(label, field) {
  const count = (MAX_UPLOAD_JSON_CONTAINERS ?? 2 * MAX_QUERIES + 8) - 8;
  const body = `{${meta(label)},"queries":[[0.5]],"${field}":[${Array(count).fill("[]").join(",")}]}`;
  return { body: field === "queries" ? body.replace('"queries":[[0.5]],', "") : body, count };
}

/** An NDJSON upload whose one query line is arrays nested as deep as MAX_NDJSON_BODY_BYTES allows. */
function ndjsonNested() {
  const head = `{${meta("ndjson-nested")}}\n`;
  const depth = Math.floor((MAX_NDJSON_BODY_BYTES - head.length - 1) / 2);
  return { body: `${head}${"[".repeat(depth)}${"]".repeat(depth)}\n`, count: depth, contentType: "application/x-ndjson" };
}

function manyKeys() {
  const head = `{${meta("keys")},"queries":[[0.5]]`;
  const parts = [];
  let size = head.length + 1;
  for (let i = 0; ; i++) {
    const p = `"k${i}":0`;
    if (size + p.length + 1 > MAX_JSON_BODY_BYTES) break;
    parts.push(p);
    size += p.length + 1;
  }
  return { body: `${head},${parts.join(",")}}`, count: parts.length };
}

const BODIES = [
  { key: "legit-scores", title: "legitimate: full-precision scores", unit: "scores", make: legitScores, legit: true },
  {
    key: "legit-queries",
    title: "legitimate: MAX_QUERIES one-score queries with relevance labels",
    unit: "queries",
    make: legitQueries,
    legit: true,
  },
  {
    key: "legit-ndjson",
    title: "legitimate, NDJSON: the same queries and labels, one line each",
    unit: "queries",
    make: legitNdjsonQueries,
    legit: true,
  },
  { key: "empty-arrays", title: 'empty arrays in "queries"', unit: "arrays", make: () => repeated("empty-arrays", "queries", "[]") },
  { key: "empty-objects", title: 'empty objects in "queries"', unit: "objects", make: () => repeated("empty-objects", "queries", "{}") },
  { key: "nested-arrays", title: 'arrays nested in "queries"', unit: "levels", make: () => nested("nested-arrays", "[", "]") },
  { key: "nested-objects", title: 'objects nested in "queries"', unit: "levels", make: () => nested("nested-objects", '{"a":', "}", "0") },
  { key: "zeros", title: 'one-digit scores in "scores" (more than MAX_SCORES)', unit: "numbers", make: () => repeated("zeros", "scores", "0") },
  { key: "short-strings", title: 'one-character strings in "scores"', unit: "strings", make: () => repeated("strings", "scores", '"a"') },
  { key: "many-keys", title: "distinct unknown keys in the top-level object", unit: "keys", make: manyKeys },
  {
    key: "limit-queries",
    title: 'empty arrays in "queries", as many as MAX_UPLOAD_JSON_CONTAINERS allows',
    unit: "arrays",
    make: () => atContainerLimit("limit-queries", "queries"),
  },
  {
    key: "limit-unknown",
    title: "empty arrays under an unknown key, as many as MAX_UPLOAD_JSON_CONTAINERS allows",
    unit: "arrays",
    make: () => atContainerLimit("limit-unknown", "extra"),
  },
  { key: "ndjson-nested", title: "NDJSON: one line of arrays nested within MAX_NDJSON_BODY_BYTES", unit: "levels", make: ndjsonNested },
];

// ---- the trace --------------------------------------------------------------------------------------------------

/** [pid:isolate] <ms since the isolate started> ms: <kind> <used> (<committed>) -> <used> (<committed>) MB, ... */
const GC_LINE = /\[\d+:(0x[0-9a-f]+)\]\s+([\d.]+) ms: .*?([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/u;
/** The reason V8 gives for the full collections forced over the inspector. */
const FORCED = "low memory notification";
const trace = [];
const onRuntimeLine = (line) => {
  const m = GC_LINE.exec(line);
  if (m === null) {
    process.stderr.write(`${line}\n`);
    return;
  }
  trace.push({ isolate: m[1], ms: Number(m[2]), beforeMb: Number(m[3]), forced: line.includes(FORCED) });
};

/**
 * Full collections forced over the inspector, counted: V8 reports each as two "low memory notification" lines, so
 * the lines between the forced pairs of collection c and c + 1 belong to what ran between them.
 */
let forcedCalls = 0;
async function forceCollection(h, wake) {
  const usage = await isolateHeapUsage(h.mf, { gc: true, wake });
  return { ...usage, call: forcedCalls++ };
}

/**
 * V8 prints its trace through C stdio, which buffers a pipe 4 KB at a time: lines arrive late, in bursts. Forced
 * collections push everything before them out; then each line is placed after the forced collections before it.
 */
async function flushTrace(h, wake) {
  for (let i = 0; i < TRACE_FLUSH_COLLECTIONS; i++) await forceCollection(h, wake);
  await new Promise((r) => setTimeout(r, TRACE_DRAIN_MS));
  const isolate = trace.find((t) => t.forced)?.isolate;
  if (isolate === undefined) throw new Error("no --trace-gc line arrived from workerd");
  const mine = trace.filter((t) => t.isolate === isolate);
  let forced = 0;
  const placed = mine.map((t) => ({ ...t, after: Math.floor((t.forced ? forced++ : forced) / LINES_PER_FORCED_COLLECTION) }));
  // each forced collection's lines come in pairs printed within one collection's time: else the count is off
  const pairs = placed.filter((t) => t.forced);
  for (let k = 0; k + 1 < pairs.length; k += 2) {
    if (pairs[k + 1].ms - pairs[k].ms > MAX_PAIR_GAP_MS) throw new Error(`forced collections do not print in pairs (at ${pairs[k].ms} ms)`);
  }
  return placed;
}

/**
 * The isolate's heap peak between forced collection `pre` and the next one: the largest "used before" of the
 * collections in between and of the next forced one (which finds what the request left, garbage included).
 */
function peakBetween(placed, pre) {
  const seen = placed.filter((t) => t.after === pre + 1).map((t) => t.beforeMb);
  if (!placed.some((t) => t.forced && t.after === pre + 1)) throw new Error(`the trace of forced collection ${pre + 1} did not arrive`);
  return { peakMb: Math.max(...seen), collections: seen.length - LINES_PER_FORCED_COLLECTION };
}

// ---- run --------------------------------------------------------------------------------------------------------

const machine = machineInfo();
log("building and starting the worker (V8 --trace-gc) ...");
const h = await startWorker({ inspector: true, v8Flags: ["--trace-gc"], onRuntimeLine });
const wake = new URL("/healthz", h.url);
const results = [];
try {
  await (await fetch(wake)).arrayBuffer();
  const idle = await forceCollection(h, wake);
  const idleRssMb = (procStatusKb(h.workerdPid, "VmRSS") ?? Number.NaN) / 1024;
  for (const spec of BODIES) {
    const { body, count, contentType = "application/json" } = spec.make();
    const bytes = Buffer.from(body);
    if (contentType === "application/json" && bytes.byteLength > MAX_JSON_BODY_BYTES)
      throw new Error(`${spec.key}: ${bytes.byteLength} bytes exceed MAX_JSON_BODY_BYTES`);
    const before = await forceCollection(h, wake);
    const peakReset = h.workerdPid !== null && resetPeakRss(h.workerdPid);
    const rssBefore = procStatusKb(h.workerdPid, "VmRSS");
    const t0 = performance.now();
    let status = null;
    let answer = "";
    try {
      const res = await fetch(new URL("/v1/calibrations", h.url), {
        method: "POST",
        headers: { authorization: "Bearer dev-calibrate", "content-type": contentType },
        body: bytes,
      });
      status = res.status;
      answer = await res.text();
    } catch (e) {
      answer = `request failed: ${e.message}`;
    }
    const ms = performance.now() - t0;
    const hwm = peakReset ? procStatusKb(h.workerdPid, "VmHWM") : null;
    // the closing collection's "before" is the heap at the end of the request, garbage included
    await forceCollection(h, wake);
    let code = null;
    try {
      code = JSON.parse(answer)?.error?.code ?? (status === 201 ? "created" : null);
    } catch {
      code = null;
    }
    const r = {
      ...spec,
      count,
      mb: bytes.byteLength / MB,
      status,
      code,
      message: answer.slice(0, 160),
      ms,
      heapBeforeMb: before.usedMb,
      preCollection: before.call,
      rssGrowthMb: hwm === null || rssBefore === null ? null : (hwm - rssBefore) / 1024,
    };
    results.push(r);
    log(
      `${spec.key}: ${count.toLocaleString("en-US")} ${spec.unit}, ${fmt(r.mb, 1)} MB -> ${status} ${code ?? ""} in ${fmt(ms)} ms; workerd peak RSS +${fmt(r.rssGrowthMb, 1)} MB`,
    );
  }
  const placed = await flushTrace(h, wake);
  for (const r of results) {
    const { peakMb, collections } = peakBetween(placed, r.preCollection);
    r.heapPeakMb = Math.max(r.heapBeforeMb, peakMb);
    r.collections = collections;
    log(`${r.key}: isolate heap peak ${fmt(r.heapPeakMb, 1)} MB over ${collections} collections`);
  }

  // ---- report ----
  const legitPeak = Math.max(...results.filter((r) => r.legit).map((r) => r.heapPeakMb));
  const hostile = results.filter((r) => !r.legit);
  const worst = hostile.reduce((a, b) => (b.heapPeakMb > a.heapPeakMb ? b : a));
  const lines = [];
  lines.push("# JSON upload memory: hostile shapes within the body limit against legitimate uploads");
  lines.push("");
  lines.push(
    `Generated by \`bench/json-upload-memory.mjs\` on ${new Date().toISOString()}. Every body is at most MAX_JSON_BODY_BYTES = ${MAX_JSON_BODY_BYTES.toLocaleString("en-US")} bytes and is POSTed to /v1/calibrations of a worker running in workerd; a production isolate has ${WORKERS_MEMORY_MB} MB.`,
  );
  lines.push("");
  lines.push(
    `**Result: the worst hostile body (${worst.title}) peaked at ${fmt(worst.heapPeakMb, 1)} MB of isolate heap (${fmt(worst.heapPeakMb / legitPeak, 2)}x the largest legitimate upload's ${fmt(legitPeak, 1)} MB, same run); workerd's process grew by at most ${fmt(Math.max(...results.map((r) => r.rssGrowthMb ?? 0)), 0)} MB for any body.**`,
  );
  lines.push("");
  lines.push("| body | count | MB | answer | ms | isolate heap before MB | isolate heap peak MB | vs legitimate peak | workerd peak RSS growth MB |");
  lines.push("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    lines.push(
      `| ${r.title} | ${r.count.toLocaleString("en-US")} ${r.unit} | ${fmt(r.mb, 1)} | ${r.status ?? "none"} ${r.code ?? ""} | ${fmt(r.ms)} | ${fmt(r.heapBeforeMb, 1)} | ${fmt(r.heapPeakMb, 1)} | ${fmt(r.heapPeakMb / legitPeak, 2)}x | ${fmt(r.rssGrowthMb, 1)} |`,
    );
  }
  lines.push("");
  lines.push("Answers (first 160 characters):");
  lines.push("");
  for (const r of results) lines.push(`- ${r.key}: ${r.status ?? "none"} \`${r.message.replaceAll("`", "'")}\``);
  lines.push("");
  lines.push("## Command and machine");
  lines.push("");
  lines.push("```");
  lines.push(`npm run bench:json-memory -- --out ${relative(ROOT, OUT)}`);
  lines.push(`# = node bench/json-upload-memory.mjs ...; the worker is built with: ${BUILD_COMMAND}; workerd runs with V8 --trace-gc`);
  lines.push("```");
  lines.push("");
  lines.push(
    `- nproc ${machine.nproc} (${machine.cpu}), ${process.platform} ${process.arch}; Node ${machine.node}; ${machine.workerd}; miniflare ${machine.miniflare}; wrangler ${machine.wrangler}`,
  );
  lines.push(
    `- workerd run by Miniflare directly, 127.0.0.1, ENVIRONMENT=development; the worker isolate's heap after a full collection at idle: ${fmt(idle.usedMb, 1)} MB; workerd idle RSS ${fmt(idleRssMb, 0)} MB`,
  );
  lines.push(
    "- isolate heap peak: the largest heap any collection of the isolate found (V8 --trace-gc, the figure before each collection), between a forced full collection before the request and one after it; it counts the V8 heap only, not ArrayBuffers (the body's bytes, typed arrays), which the process's peak RSS growth includes along with workerd's own buffers",
  );
  lines.push("");
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${lines.join("\n")}\n`);
  log(`wrote ${relative(ROOT, OUT)}`);
} finally {
  await h.close();
}
