/**
 * Hot-path cost of @scoregate/client against the OpenFeature server SDK's InMemoryProvider, in one run, and the
 * size of the client core (minified, gzipped) and of each adapter.
 *
 * Measured per call, in rounds that alternate the cases (so a noisy neighbour hurts them alike), median of rounds:
 *  - baseline: `getNumberValue` of an OpenFeature client over InMemoryProvider (a number flag held in memory);
 *  - `client.getThreshold` with the value cached (a fake fetch answered once; max-age is set long so every call is
 *    a cache hit, which is what a service sees between revalidations);
 *  - the same through ScoregateProvider and the OpenFeature client (the SDK's own overhead plus ours), and both
 *    providers called directly, without the SDK;
 *  - `client.gate()` over 100 candidates (with and without queuing the observation), against the baseline of an
 *    InMemoryProvider evaluation plus the same filter written by hand.
 *
 * Run from the repository root (`npm run bench:client`, which is exactly):
 *   npx esbuild bench/client-sdk.ts --bundle --platform=node --format=esm --packages=external \
 *     --alias:@scoregate/client=./packages/client/src --log-level=warning \
 *     --outfile=node_modules/.cache/scoregate-bench/client-sdk.mjs && npx node node_modules/.cache/scoregate-bench/client-sdk.mjs
 * Options: --rounds N (default 15), --calls N per case per round (default 20000), --out PATH (default
 * bench/results/client-sdk.md).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, platform, release } from "node:os";
import { dirname } from "node:path";
import { gzipSync } from "node:zlib";
import { InMemoryProvider, OpenFeature } from "@openfeature/server-sdk";
import { build } from "esbuild";
import { ScoregateClient } from "../packages/client/src/index";
import { ScoregateProvider } from "../packages/openfeature/src/index";
import { createRng } from "../test/support/prng";

const COMMAND =
  "npx esbuild bench/client-sdk.ts --bundle --platform=node --format=esm --packages=external " +
  "--alias:@scoregate/client=./packages/client/src --log-level=warning " +
  "--outfile=node_modules/.cache/scoregate-bench/client-sdk.mjs && npx node node_modules/.cache/scoregate-bench/client-sdk.mjs";

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};
const ROUNDS = Number(arg("rounds", "15"));
const CALLS = Number(arg("calls", "20000"));
const OUT = arg("out", "bench/results/client-sdk.md");
const LOAD_AT_START = loadavg()[0]!.toFixed(2);

const gate = { index: "docs", embedding: "e5", reranker: "bge" };
const body = {
  ...gate,
  threshold: 0.42,
  calibration_id: "cal_0000000001",
  index_version: "v1",
  policy: { kind: "drop_rate", target: 0.3 },
  score_scale: "unbounded",
  expected_drop_rate: 0.3,
  fitted_at: "2026-01-01T00:00:00.000Z",
  activated_at: "2026-01-01T00:00:00.000Z",
};
const fakeFetch = (async (input: string | URL | Request) => {
  if (String(input).includes("/v1/observations")) return new Response("{}", { status: 202 });
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { etag: '"cal_0000000001"', "cache-control": "private, max-age=86400, stale-if-error=86400" },
  });
}) as typeof fetch;

interface Candidate {
  id: number;
  score: number;
}

async function main() {
  const rng = createRng(20260601);
  const candidates: Candidate[] = Array.from({ length: 100 }, (_, id) => ({ id, score: rng.next() }));

  const client = new ScoregateClient({ baseUrl: "https://scoregate.bench", token: "t", fetch: fakeFetch, observations: { timer: false } });
  await client.getThreshold(gate, { fallback: 0.1 });
  const check = await client.getThreshold(gate, { fallback: 0.1 });
  if (check.reason !== "cached") throw new Error(`expected a cached value, got ${check.reason}`);

  const memoryProvider = new InMemoryProvider({
    "rag.docs.threshold": { variants: { calibrated: 0.42 }, defaultVariant: "calibrated", disabled: false },
  });
  await OpenFeature.setProviderAndWait("in-memory", memoryProvider);
  const ofMemory = OpenFeature.getClient("in-memory");
  const scoregateProvider = new ScoregateProvider({ client, gates: { "rag.docs.threshold": gate } });
  await OpenFeature.setProviderAndWait("scoregate", scoregateProvider);
  const ofScoregate = OpenFeature.getClient("scoregate");

  let sink = 0;
  const cases: Record<string, () => Promise<void>> = {
    "OpenFeature InMemoryProvider getNumberValue (baseline)": async () => {
      sink += await ofMemory.getNumberValue("rag.docs.threshold", 0.1);
    },
    "client.getThreshold (cached)": async () => {
      sink += (await client.getThreshold(gate, { fallback: 0.1 })).threshold!;
    },
    "OpenFeature ScoregateProvider getNumberValue": async () => {
      sink += await ofScoregate.getNumberValue("rag.docs.threshold", 0.1);
    },
    "InMemoryProvider.resolveNumberEvaluation, no SDK (baseline)": async () => {
      sink += (await memoryProvider.resolveNumberEvaluation("rag.docs.threshold", 0.1, {})).value;
    },
    "ScoregateProvider.resolveNumberEvaluation, no SDK": async () => {
      sink += (await scoregateProvider.resolveNumberEvaluation("rag.docs.threshold", 0.1, {})).value;
    },
    "InMemoryProvider + hand-written filter, 100 candidates (baseline)": async () => {
      const t = await ofMemory.getNumberValue("rag.docs.threshold", 0.1);
      const kept = candidates.filter((c) => c.score >= t);
      sink += kept.length;
    },
    "client.gate(), 100 candidates, no report": async () => {
      sink += (await client.gate(candidates, { gate, score: (c) => c.score, fallback: 0.1, report: false })).kept.length;
    },
    "client.gate(), 100 candidates, observation queued": async () => {
      sink += (await client.gate(candidates, { gate, score: (c) => c.score, fallback: 0.1 })).kept.length;
    },
  };
  const names = Object.keys(cases);
  const perRound: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));

  // Warm-up: JIT every path.
  for (const n of names) for (let i = 0; i < CALLS; i++) await cases[n]!();
  for (let r = 0; r < ROUNDS; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]!);
    for (const n of order) {
      const fn = cases[n]!;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) await fn();
      perRound[n]!.push(Number(process.hrtime.bigint() - t0) / CALLS);
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const ns = Object.fromEntries(names.map((n) => [n, median(perRound[n]!)]));
  const [baseRead, , , baseDirect, , baseGate] = names;

  // Bundle sizes: the core alone for a neutral platform; each adapter with its framework external.
  const sizes: { name: string; entry: string; external: string[] }[] = [
    { name: "@scoregate/client (core)", entry: "packages/client/src/index.ts", external: [] },
    { name: "@scoregate/openfeature (with the client; SDK external)", entry: "packages/openfeature/src/index.ts", external: ["@openfeature/*"] },
    // The compressor and the postprocessor take the client as an argument and import it as a type only.
    { name: "@scoregate/langchain (its own code; @langchain/core external)", entry: "packages/langchain/src/index.ts", external: ["@langchain/*"] },
    { name: "@scoregate/llamaindex (its own code; type imports only)", entry: "packages/llamaindex/src/index.ts", external: ["@llamaindex/*"] },
  ];
  const sizeRows: string[] = [];
  for (const s of sizes) {
    const out = await build({
      entryPoints: [s.entry],
      bundle: true,
      minify: true,
      format: "esm",
      platform: "neutral",
      write: false,
      external: s.external,
      alias: { "@scoregate/client": "./packages/client/src" }, // the directory: subpaths (/shadow, /stream, /adapter) resolve to its modules
      logLevel: "silent",
    });
    const code = out.outputFiles[0]!.contents;
    sizeRows.push(`| ${s.name} | ${code.length.toLocaleString("en")} | ${gzipSync(code, { level: 9 }).length.toLocaleString("en")} |`);
  }

  const stats = client.observationStats();
  const fmt = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} µs` : `${x.toFixed(0)} ns`);
  const lines = [
    "# @scoregate/client hot path and bundle size",
    "",
    `- command: \`${COMMAND}\` (\`npm run bench:client\` runs the same)`,
    `- machine: nproc ${cpus().length}, CPU ${cpus()[0]?.model ?? "?"}, node ${process.version}, ${platform()} ${release()}; load average at start ${LOAD_AT_START}, at end ${loadavg()[0]!.toFixed(2)} (1 min)`,
    `- ${ROUNDS} rounds x ${CALLS} calls per case, case order rotated every round; figures are medians of the per-round means`,
    "- every call is awaited (all APIs here are async); the client's value is cached (max-age set long by the fake fetch)",
    "",
    "| case | per call | ratio to its baseline | rounds min-max |",
    "| --- | ---: | ---: | ---: |",
    ...names.map((n) => {
      const base = n.includes("100 candidates") ? baseGate! : n.includes("no SDK") ? baseDirect! : baseRead!;
      const range = `${fmt(Math.min(...perRound[n]!))}-${fmt(Math.max(...perRound[n]!))}`;
      return `| ${n} | ${fmt(ns[n]!)} | ${(ns[n]! / ns[base]!).toFixed(2)} | ${range} |`;
    }),
    "",
    `Observations queued by the last case: ${stats.sent.toLocaleString("en")} sent to the fake fetch, ${stats.droppedForMemory.toLocaleString("en")} dropped for memory, ${stats.queued.toLocaleString("en")} still queued.`,
    "",
    "Bundle size (esbuild, `--bundle --minify --format=esm --platform=neutral`, gzip level 9):",
    "",
    "| bundle | minified bytes | gzipped bytes |",
    "| --- | ---: | ---: |",
    ...sizeRows,
    "",
  ];
  const text = lines.join("\n");
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, text);
  console.log(text);
  if (sink === 42) console.log("");
  await OpenFeature.close();
}

await main();
