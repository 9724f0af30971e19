/**
 * CLI benchmark: `scoregate calibrate` on a 1,000,000-row CSV with a query column, end to end, against its floor in
 * the same run: reading and splitting the same file in plain Node plus the server's own fit of the same scores.
 *
 *   npm run bench:cli                       (= node bench/cli-calibrate-1m.mjs, Node 24 from the devDependency)
 *   npm run bench:cli -- --reps 5 --queries 50000 --per-query 20 --out bench/results/cli-calibrate-1m.md
 *
 * 1. Writes a seeded CSV `query_id,chunk_id,score` (50,000 queries x 20 candidates, scores printed at full precision,
 *    as String(x) prints a double) to a temp dir, and builds the worker and runs it in Miniflare (bench/lib/worker.mjs).
 * 2. Per round, interleaved (one warm-up round first, not counted):
 *    - floor, read: readline over the file + split(",") + Number() into a Float64Array, in this process;
 *    - the CLI's reader alone (`readScores` from packages/cli/src/read-scores.ts, bundled with esbuild for this
 *      process): delimiter detection, validation, grouping per query; on the same file, and with --semicolon also on a
 *      copy written as a European spreadsheet saves it (`;` between fields, decimal commas);
 *    - floor, server fit: POST the same scores as the CLI sends them (NDJSON, one query per line, built in memory
 *      beforehand) to /v1/calibrations; request sent -> 201 body read;
 *    - CLI: `node packages/cli/dist/cli.js calibrate <file> ... --json` as a child process (process start, the built
 *      CLI's load, reading, grouping, encoding, upload, the server's fit, output), wall time of the child. The CLI is
 *      built first (`npm run build:cli`), so the benchmark runs the current sources as they would be published.
 *    Each round uploads a new index_version to its own gate, so from the second round on both the CLI and the
 *    server-only upload also compute the rebuild shift against the previous one.
 *    With --parsers DIR (a folder where `npm install --prefix DIR csv-parse@7 papaparse@5` put them; not dependencies
 *    of this repository), also two maintained CSV parsers on the same file, in this process, each to a Float64Array
 *    of the score column: csv-parse (arrays mode, streaming) and papaparse (streaming chunks, separator detected as
 *    with `delimiter: ""`): what the CLI's reader would cost on one of them.
 * 3. Ratio = CLI median / (read median + server fit median). Target: at most 2. The reader's own ratio (reader median
 *    / read floor median) isolates the parsing cost from the server's fit and the machine's load on the worker.
 */
import { spawn, spawnSync } from "node:child_process";
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { BUILD_COMMAND, machineInfo, median, mulberry32, ROOT, startWorker } from "./lib/worker.mjs";

const { values: opts } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    queries: { type: "string", default: "50000" },
    "per-query": { type: "string", default: "20" },
    seed: { type: "string", default: "20261201" },
    out: { type: "string", default: "bench/results/cli-calibrate-1m.md" },
    semicolon: { type: "boolean", default: false },
    parsers: { type: "string" },
  },
});
const REPS = Number(opts.reps);
const Q = Number(opts.queries);
const M = Number(opts["per-query"]);
const N = Q * M;
const OUT = resolve(ROOT, opts.out);
const log = (...a) => console.error(...a);
const CLI = join(ROOT, "packages", "cli", "dist", "cli.js");
const READER_BUNDLE = join(ROOT, "node_modules", ".cache", "scoregate-bench", "cli-read-scores.mjs");

/** The CLI's reader as this process can import it: the TypeScript source bundled with the contract it imports. */
function bundleReader() {
  const r = spawnSync(
    "npx",
    [
      "esbuild",
      join(ROOT, "packages", "cli", "src", "read-scores.ts"),
      "--bundle",
      "--platform=node",
      "--format=esm",
      "--log-level=warning",
      `--outfile=${READER_BUNDLE}`,
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`esbuild of the CLI's reader failed:\n${r.stdout}${r.stderr}`);
}

function makeData() {
  const rand = mulberry32(Number(opts.seed));
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const queries = [];
  for (let q = 0; q < Q; q++) {
    const offset = 0.6 * normal();
    const row = new Float64Array(M);
    for (let i = 0; i < M; i++) row[i] = 1 / (1 + Math.exp(-(offset + 1.1 * normal())));
    queries.push(row);
  }
  return queries;
}

/** `;` writes the file as a spreadsheet in a decimal-comma locale saves it: `;` between fields, `,` in numbers. */
function writeCsv(path, queries, sep = ",") {
  const parts = [`${["query_id", "chunk_id", "score"].join(sep)}\n`];
  const num = sep === ";" ? (x) => String(x).replace(".", ",") : String;
  queries.forEach((row, q) => {
    let s = "";
    for (let i = 0; i < row.length; i++) s += `q${q}${sep}c${i}${sep}${num(row[i])}\n`;
    parts.push(s);
  });
  const text = parts.join("");
  writeFileSync(path, text);
  return Buffer.byteLength(text);
}

/** The floor of reading: readline + split + Number into a growing Float64Array (no validation, no grouping). */
async function floorRead(path) {
  const t0 = performance.now();
  let data = new Float64Array(1 << 16);
  let n = 0;
  let first = true;
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) {
    if (first) {
      first = false;
      continue;
    }
    const f = line.split(",");
    if (n === data.length) {
      const g = new Float64Array(data.length * 2);
      g.set(data);
      data = g;
    }
    data[n++] = Number(f[2]);
  }
  return { ms: performance.now() - t0, n };
}

/** The CLI's reader on the file, in this process (the scores must come back as the floor read them). */
async function cliRead(readScores, path) {
  const t0 = performance.now();
  const r = await readScores(path);
  return { ms: performance.now() - t0, n: r.scores.length, queries: r.offsets ? r.offsets.length - 1 : null, delimiter: r.delimiter };
}

/** The maintained parsers from --parsers DIR, or null. */
async function loadParsers(dir) {
  if (dir === undefined) return null;
  const req = createRequire(join(resolve(dir), "package.json"));
  const csvParse = await import(pathToFileURL(req.resolve("csv-parse")).href);
  const papa = (await import(pathToFileURL(req.resolve("papaparse")).href)).default;
  const version = (name) => JSON.parse(readFileSync(join(resolve(dir), "node_modules", name, "package.json"), "utf8")).version;
  return { csvParse, papa, versions: `csv-parse ${version("csv-parse")}, papaparse ${version("papaparse")}` };
}

/** A growing Float64Array, as the floor and the CLI's reader fill theirs. */
function floats() {
  let data = new Float64Array(1 << 16);
  let n = 0;
  return {
    push(x) {
      if (n === data.length) {
        const g = new Float64Array(data.length * 2);
        g.set(data);
        data = g;
      }
      data[n++] = x;
    },
    get n() {
      return n;
    },
  };
}

/** csv-parse 7, arrays mode, streaming: the score column (the third) of every record after the header. */
async function csvParseRead({ csvParse }, path) {
  const t0 = performance.now();
  const out = floats();
  const parser = createReadStream(path).pipe(csvParse.parse({ from_line: 2 }));
  for await (const rec of parser) out.push(Number(rec[2]));
  return { ms: performance.now() - t0, n: out.n };
}

/** papaparse 5, streaming in chunks, the separator detected (delimiter ""): the score column of every data row. */
function papaRead({ papa }, path) {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const out = floats();
    let header = true;
    papa.parse(createReadStream(path), {
      delimiter: "",
      chunk: (results) => {
        for (const row of results.data) {
          if (header) {
            header = false;
            continue;
          }
          if (row.length > 2) out.push(Number(row[2]));
        }
      },
      complete: () => resolvePromise({ ms: performance.now() - t0, n: out.n }),
      error: reject,
    });
  });
}

function ndjsonBody(queries, meta) {
  let s = `${JSON.stringify(meta)}\n`;
  const parts = [];
  for (const row of queries) {
    s += `[${Array.from(row).join(",")}]\n`;
    if (s.length > 1 << 16) {
      parts.push(s);
      s = "";
    }
  }
  parts.push(s);
  return Buffer.from(parts.join(""));
}

async function serverFit(url, queries, version) {
  const body = ndjsonBody(queries, { embedding: "e5", reranker: "bge-server", index_version: version, policy: { kind: "drop_rate", target: 0.3 } });
  const t0 = performance.now();
  const res = await fetch(new URL("/v1/calibrations", url), {
    method: "POST",
    headers: { Authorization: "Bearer dev-calibrate", "Content-Type": "application/x-ndjson" },
    body,
  });
  const json = await res.json();
  const ms = performance.now() - t0;
  if (res.status !== 201) throw new Error(`server upload ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
  return { ms, bytes: body.length, threshold: json.calibration.threshold, n: json.calibration.n };
}

function runCli(url, file, version) {
  return new Promise((resolvePromise, reject) => {
    const args = [CLI, "calibrate", file, "--embedding", "e5", "--reranker", "bge-cli", "--index-version", version, "--target", "0.3", "--json"];
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env: { ...process.env, SCOREGATE_URL: url.origin, SCOREGATE_TOKEN: "dev-calibrate" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => {
      const ms = performance.now() - t0;
      if (code !== 0 && code !== 3 && code !== 4) return reject(new Error(`CLI exit ${code}: ${err}${out.slice(0, 300)}`));
      const j = JSON.parse(out);
      resolvePromise({ ms, code, threshold: j.calibration.threshold, n: j.calibration.n, bytes: j.upload.bytes });
    });
  });
}

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), "scoregate-bench-cli-"));
  let h = null;
  try {
    log(`generating ${N.toLocaleString("en-US")} scores (${Q} queries x ${M})`);
    const queries = makeData();
    const file = join(tmp, "scores.csv");
    const fileBytes = writeCsv(file, queries);
    const semicolonFile = join(tmp, "scores-semicolon.csv");
    if (opts.semicolon) writeCsv(semicolonFile, queries, ";");
    bundleReader();
    const { readScores } = await import(`${pathToFileURL(READER_BUNDLE).href}?t=${Date.now()}`);
    const parsers = await loadParsers(opts.parsers);
    log(`building and starting the worker (${BUILD_COMMAND})`);
    const build = spawnSync("npm", ["run", "--silent", "build:cli"], { cwd: ROOT, encoding: "utf8" });
    if (build.status !== 0) throw new Error(`npm run build:cli failed:\n${build.stdout}${build.stderr}`);
    h = await startWorker();
    log("warm-up round");
    await floorRead(file);
    await cliRead(readScores, file);
    if (opts.semicolon) await cliRead(readScores, semicolonFile);
    if (parsers) {
      await csvParseRead(parsers, file);
      await papaRead(parsers, file);
    }
    await serverFit(h.url, queries, "warmup");
    await runCli(h.url, file, "warmup");
    const rounds = [];
    for (let i = 1; i <= REPS; i++) {
      const read = await floorRead(file);
      const reader = await cliRead(readScores, file);
      const semi = opts.semicolon ? await cliRead(readScores, semicolonFile) : null;
      const lib = parsers ? { csvParse: await csvParseRead(parsers, file), papa: await papaRead(parsers, file) } : null;
      if (lib && (lib.csvParse.n !== N || lib.papa.n !== N)) throw new Error(`csv-parse read ${lib.csvParse.n}, papaparse ${lib.papa.n} scores`);
      if (reader.n !== N || reader.queries !== Q || (semi && (semi.n !== N || semi.queries !== Q)))
        throw new Error(`the CLI's reader read ${reader.n} scores in ${reader.queries} queries (semicolon: ${semi?.n} in ${semi?.queries})`);
      const server = await serverFit(h.url, queries, `v${i}`);
      const cli = await runCli(h.url, file, `v${i}`);
      rounds.push({ read, reader, semi, lib, server, cli });
      log(
        `round ${i}: read ${read.ms.toFixed(0)} ms, CLI reader ${reader.ms.toFixed(0)} ms${semi ? ` (semicolon ${semi.ms.toFixed(0)} ms)` : ""}${lib ? `, csv-parse ${lib.csvParse.ms.toFixed(0)} ms, papaparse ${lib.papa.ms.toFixed(0)} ms` : ""}, server fit ${server.ms.toFixed(0)} ms, CLI ${cli.ms.toFixed(0)} ms`,
      );
    }
    const readMed = median(rounds.map((r) => r.read.ms));
    const readerMed = median(rounds.map((r) => r.reader.ms));
    const semiMed = opts.semicolon ? median(rounds.map((r) => r.semi.ms)) : null;
    const libMed = parsers ? { csvParse: median(rounds.map((r) => r.lib.csvParse.ms)), papa: median(rounds.map((r) => r.lib.papa.ms)) } : null;
    const serverMed = median(rounds.map((r) => r.server.ms));
    const cliMed = median(rounds.map((r) => r.cli.ms));
    const floor = readMed + serverMed;
    const ratio = cliMed / floor;
    const sameThreshold = rounds.every((r) => r.cli.threshold === r.server.threshold && r.cli.n === N);
    const m = machineInfo();
    const lines = [
      "# CLI: `scoregate calibrate` on a 1,000,000-row CSV with a query column",
      "",
      `Command: \`npm run bench:cli -- --reps ${REPS} --queries ${Q} --per-query ${M}${opts.semicolon ? " --semicolon" : ""}${opts.parsers ? " --parsers DIR" : ""}\` (bench/cli-calibrate-1m.mjs). ${new Date().toISOString()}.`,
      "",
      `Machine: ${m.nproc} cores (${m.cpu}), Node ${m.node}, workerd ${m.workerd}, Miniflare ${m.miniflare}, wrangler ${m.wrangler}.`,
      "",
      `File: ${N.toLocaleString("en-US")} rows \`query_id,chunk_id,score\` (${Q.toLocaleString("en-US")} queries x ${M}), ${(fileBytes / 1024 / 1024).toFixed(1)} MB, scores at full precision. Upload: NDJSON, one query per line, ${(rounds[0].cli.bytes / 1024 / 1024).toFixed(1)} MB (the server-only upload sends the same ${(rounds[0].server.bytes / 1024 / 1024).toFixed(1)} MB).`,
      "",
      "| step | median ms | per round ms |",
      "| --- | ---: | --- |",
      `| floor: read + split + Number (readline, in process) | ${readMed.toFixed(0)} | ${rounds.map((r) => r.read.ms.toFixed(0)).join(", ")} |`,
      `| the CLI's reader alone (readScores, in process: detect, validate, group) | ${readerMed.toFixed(0)} | ${rounds.map((r) => r.reader.ms.toFixed(0)).join(", ")} |`,
      ...(opts.semicolon
        ? [
            `| the CLI's reader on the \`;\`-separated, decimal-comma copy | ${semiMed.toFixed(0)} | ${rounds.map((r) => r.semi.ms.toFixed(0)).join(", ")} |`,
          ]
        : []),
      ...(libMed
        ? [
            `| csv-parse (arrays mode, streaming; score column only) | ${libMed.csvParse.toFixed(0)} | ${rounds.map((r) => r.lib.csvParse.ms.toFixed(0)).join(", ")} |`,
            `| papaparse (streaming chunks, separator detected; score column only) | ${libMed.papa.toFixed(0)} | ${rounds.map((r) => r.lib.papa.ms.toFixed(0)).join(", ")} |`,
          ]
        : []),
      `| floor: the server's fit of the same scores (NDJSON POST -> 201) | ${serverMed.toFixed(0)} | ${rounds.map((r) => r.server.ms.toFixed(0)).join(", ")} |`,
      `| floor: sum | ${floor.toFixed(0)} | |`,
      `| CLI end to end (child process: start, read, group, encode, upload, fit, output) | ${cliMed.toFixed(0)} | ${rounds.map((r) => r.cli.ms.toFixed(0)).join(", ")} |`,
      "",
      `**Ratio CLI / floor: ${ratio.toFixed(2)}x** (target: at most 2x; per round ${rounds.map((r) => (r.cli.ms / (r.read.ms + r.server.ms)).toFixed(2)).join(", ")}).`,
      `Reader / read floor: ${(readerMed / readMed).toFixed(2)}x (per round ${rounds.map((r) => (r.reader.ms / r.read.ms).toFixed(2)).join(", ")})${opts.semicolon ? `; the \`;\` copy: ${(semiMed / readMed).toFixed(2)}x` : ""}${libMed ? `; csv-parse ${(libMed.csvParse / readMed).toFixed(2)}x, papaparse ${(libMed.papa / readMed).toFixed(2)}x (${parsers.versions})` : ""}.`,
      `The CLI's calibrations fit the same threshold as the server-only uploads of the same scores, n = ${N.toLocaleString("en-US")}: ${sameThreshold ? "yes" : "**no**"} (threshold ${rounds[0].cli.threshold}).`,
      "",
    ];
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, lines.join("\n"));
    console.log(lines.join("\n"));
    log(`wrote ${relative(process.cwd(), OUT) || OUT}`);
  } finally {
    if (h) await h.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
