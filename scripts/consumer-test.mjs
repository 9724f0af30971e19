#!/usr/bin/env node
/**
 * `npm run test:consumers` (after `npm run build`; .ci/run runs both): every package installed from its packed
 * tarball, and used, outside this repository.
 *
 * 1. `npm pack` every package into a temporary folder under os.tmpdir().
 * 2. Scratch projects there, with no path back into the repository (no workspace, no link, no node_modules/.bin of
 *    it on PATH, no npm_* variables): "newest" installs the tarballs with each adapter's framework at the newest
 *    version its peer range allows, "lowest" at the lowest; a copy of examples/rag-service installs the SDK and the
 *    LangChain.js adapter from the tarballs as a user would.
 * 3. A local scoregate answers them (bench/lib/worker.mjs: the Worker built by wrangler, run in workerd).
 * 4. The checks: the CLI from its tarball (`npx scoregate --help`, `calibrate` of CSV files and its exit codes); plain
 *    Node ESM and CommonJS consumers of the SDK on the machine's Node 20 (the engines floor) and the newest Node here;
 *    strict tsc consumers (nodenext and bundler) naming every public export; a consumer Worker bundled by
 *    `wrangler deploy --dry-run` and run in workerd; a browser bundle by esbuild; each adapter inside its framework at
 *    both ends of its peer range; the RAG service example, which must keep answering with its last known threshold
 *    once scoregate is stopped.
 * Tools that consumers do not import (tsc, wrangler, esbuild, the newest Node binary) run from the repository's
 * node_modules against the scratch folders; everything a consumer imports resolves inside its scratch project.
 *
 * Prints one line per check, then a summary with the artifact sizes; exits 1 if any check failed or was skipped.
 * `--keep` keeps the temporary folder for a look after a failure.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { startWorker, wranglerConfig } from "../bench/lib/worker.mjs";
import { compareVersions, csv, exportedNames, installLineProblems, runConsumerWorker, symlinksUnder } from "./lib/consumer-checks.mjs";
import { Checks, expectExit, findNodes, nodeBinDir, run, scratchEnv } from "./lib/consumer-harness.mjs";
import { startRagService } from "./lib/consumer-rag.mjs";
import { publishedPackages, ROOT } from "./lib/packages.mjs";

const FIXTURES = join(ROOT, "scripts", "consumer-test");
/** The gate the consumers read; the CLI check calibrates it first. */
const GATE = { index: "consumer", embedding: "e5-consumer", reranker: "bge-consumer" };
const bin = (...p) => join(ROOT, "node_modules", ...p);

const keep = process.argv.includes("--keep");
const started = performance.now();
const checks = new Checks();
const tmp = mkdtempSync(join(tmpdir(), "scoregate-consumers-"));
const dirs = { tarballs: join(tmp, "tarballs"), newest: join(tmp, "newest"), lowest: join(tmp, "lowest"), rag: join(tmp, "rag-service") };
let worker;
let rag;
const facts = { nodes: [], frameworks: {}, packed: [], browserGzip: null };

try {
  const packages = publishedPackages();
  const unbuilt = packages.filter((p) => !existsSync(join(p.dir, "dist")));
  if (unbuilt.length > 0) throw new Error(`not built: ${unbuilt.map((p) => p.name).join(", ")}: run \`npm run build\` first`);

  // ---- Node binaries: the engines floor (Node 20) and the newest available -------------------------------------
  const floor = Math.max(...packages.map((p) => Number(/(\d+)/u.exec(p.manifest.engines?.node ?? "")?.[1])));
  const nodes = await findNodes();
  const oldest = nodes.find((n) => n.major === floor);
  const newest = nodes.at(-1);
  facts.nodes = [oldest, newest].filter(Boolean).map((n) => n.version);
  await checks.check(`Node ${floor} (the engines floor) and a newer Node are available`, async () => {
    if (!oldest) throw new Error(`no Node ${floor} found (on PATH: ${nodes.map((n) => `${n.version} ${n.bin}`).join(", ")})`);
    if (newest.major <= floor) throw new Error(`the newest Node here is ${newest.version}`);
    return `${oldest.version} (${oldest.bin}), ${newest.version} (${newest.bin})`;
  });
  const nodeDirs = new Map(nodes.map((n) => [n, nodeBinDir(join(tmp, "bin"), n)]));
  const env = (node, extra) => scratchEnv(nodeDirs.get(node), extra);
  const npm = (dir, args) => run("npm", args, { cwd: dir, env: env(oldest ?? newest) });

  // ---- Pack, pick framework versions, install; start scoregate meanwhile -----------------------------------------
  const tarballs = await checks.check("npm pack every package", async () => {
    mkdirSync(dirs.tarballs);
    const r = expectExit(await npm(ROOT, ["pack", "--workspaces", "--pack-destination", dirs.tarballs, "--json", "--loglevel=error"]), 0, "npm pack");
    facts.packed = JSON.parse(r.stdout);
    return new Map(facts.packed.map((p) => [p.name, join(dirs.tarballs, p.filename)]));
  });
  const ranges = await checks.check(
    "framework versions at both ends of each peer range",
    async () => {
      const out = { lowest: [], newest: [] };
      for (const p of packages)
        for (const [name, range] of Object.entries(p.manifest.peerDependencies ?? {})) {
          if (name.startsWith("@scoregate/")) continue;
          const r = expectExit(await npm(tmp, ["view", `${name}@${range}`, "version", "--json"]), 0, `npm view ${name}@${range}`);
          const versions = [JSON.parse(r.stdout)].flat().filter((v) => !v.includes("-"));
          versions.sort(compareVersions);
          facts.frameworks[name] = { range, lowest: versions[0], newest: versions.at(-1) };
          out.lowest.push(`${name}@${versions[0]}`);
          out.newest.push(`${name}@${versions.at(-1)}`);
        }
      return { ...out, detail: `lowest ${out.lowest.join(" ")}; newest ${out.newest.join(" ")}` };
    },
    { needs: ["npm pack every package"] },
  );
  const scratch = async (dir, specs) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), `${JSON.stringify({ name: "scoregate-consumer", private: true, type: "module" }, null, 2)}\n`);
    cpSync(FIXTURES, dir, { recursive: true });
    expectExit(await npm(dir, ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", ...specs]), 0, "npm install");
    return `${specs.filter((s) => !s.endsWith(".tgz")).join(", ")}`;
  };
  const installing = (async () => {
    if (!tarballs || !ranges) return;
    // @types/node for the TypeScript consumer: @openfeature/server-sdk's declarations use Node's types
    const nodeTypes = `@types/node@${newest.major}`;
    await checks.check("install the tarballs with the newest frameworks", () =>
      scratch(dirs.newest, [...tarballs.values(), ...ranges.newest, nodeTypes]),
    );
    await checks.check("install the tarballs with the lowest frameworks", () => scratch(dirs.lowest, [...tarballs.values(), ...ranges.lowest]));
    await checks.check("install examples/rag-service from the tarballs", async () => {
      cpSync(join(ROOT, "examples", "rag-service"), dirs.rag, { recursive: true, filter: (src) => !src.includes("node_modules") });
      const specs = [tarballs.get("@scoregate/client"), tarballs.get("@scoregate/langchain")];
      expectExit(await npm(dirs.rag, ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", ...specs]), 0, "npm install");
    });
  })();
  worker = await checks.check("start a local scoregate (workerd)", () => startWorker());
  await installing;
  const url = worker?.url.origin;

  await checks.check(
    "what the scratch projects import resolves inside them",
    async () => {
      for (const dir of [dirs.newest, dirs.lowest, dirs.rag]) {
        for (const link of symlinksUnder(join(dir, "node_modules")))
          if (realpathSync(link).startsWith(ROOT)) throw new Error(`${link} links into the repository`);
        const names = dir === dirs.rag ? ["@scoregate/client", "@scoregate/langchain"] : packages.filter((p) => p.hasTypes).map((p) => p.name);
        const script = `for (const n of ${JSON.stringify(names)}) console.log(import.meta.resolve(n));`;
        const r = expectExit(await run(newest.bin, ["--input-type=module", "-e", script], { cwd: dir, env: env(newest) }), 0, "import.meta.resolve");
        for (const line of r.stdout.trim().split("\n"))
          if (!line.startsWith(`file://${realpathSync(dir)}/node_modules/`)) throw new Error(`resolved outside ${dir}: ${line}`);
      }
    },
    {
      needs: [
        "install the tarballs with the newest frameworks",
        "install the tarballs with the lowest frameworks",
        "install examples/rag-service from the tarballs",
      ],
    },
  );

  await checks.check("the install lines of README.md and docs/clients.md name what this test installs", () => {
    const problems = installLineProblems(packages, ["README.md", join("docs", "clients.md")]);
    if (problems.length > 0) throw new Error(problems.join("\n"));
  });

  // ---- The CLI from its tarball ----------------------------------------------------------------------------------
  const ready = ["install the tarballs with the newest frameworks", "start a local scoregate (workerd)"];
  const scoregate = (node, args, token = "dev-calibrate") =>
    run("npx", ["--no-install", "scoregate", ...args], { cwd: dirs.newest, env: env(node, { SCOREGATE_URL: url, SCOREGATE_TOKEN: token }) });
  for (const node of [oldest, newest])
    await checks.check(
      `npx scoregate --help, calibrate --help and --version (Node ${node?.major})`,
      async () => {
        const help = expectExit(await scoregate(node, ["--help"]), 0, "--help");
        if (!help.stdout.includes("scoregate COMMAND --help")) throw new Error(`unexpected --help:\n${help.stdout}`);
        const calibrateHelp = expectExit(await scoregate(node, ["calibrate", "--help"]), 0, "calibrate --help");
        if (!calibrateHelp.stdout.includes("scoregate calibrate FILE")) throw new Error(`unexpected calibrate --help:\n${calibrateHelp.stdout}`);
        const version = expectExit(await scoregate(node, ["--version"]), 0, "--version").stdout.trim();
        if (version !== packages.find((p) => p.name === "@scoregate/cli").version) throw new Error(`--version printed ${version}`);
      },
      { needs: ready },
    );
  const calibration = await checks.check(
    `npx scoregate calibrate scores.csv exits 0, first calibration (Node ${oldest?.major})`,
    async () => {
      writeFileSync(join(dirs.newest, "scores.csv"), csv(1, 0));
      const r = expectExit(
        await scoregate(oldest, ["calibrate", "scores.csv", ...gateFlags(GATE), "--index-version", "v1", "--target", "0.2", "--json"]),
        0,
        "calibrate",
      );
      const out = JSON.parse(r.stdout);
      return {
        id: out.calibration.id,
        threshold: out.calibration.threshold,
        detail: `${out.calibration.id}, threshold ${out.calibration.threshold}`,
      };
    },
    { needs: ready },
  );
  await checks.check(
    `npx scoregate calibrate of shifted scores --carry --dry-run exits 3 (Node ${newest.major})`,
    async () => {
      writeFileSync(join(dirs.newest, "shifted.csv"), csv(2, 1.2));
      const r = expectExit(
        await scoregate(newest, ["calibrate", "shifted.csv", ...gateFlags(GATE), "--index-version", "v2", "--carry", "--dry-run", "--json"]),
        3,
        "calibrate",
      );
      if (JSON.parse(r.stdout).decision !== "shifted") throw new Error(`decision ${JSON.parse(r.stdout).decision}`);
    },
    { needs: [`npx scoregate calibrate scores.csv exits 0, first calibration (Node ${oldest?.major})`] },
  );
  await checks.check(
    "npx scoregate calibrate of a bad CSV exits 2 and names the line",
    async () => {
      writeFileSync(join(dirs.newest, "bad.csv"), "query_id,score\nq1,0.5\nq1,oops\n");
      const r = expectExit(
        await scoregate(oldest, ["calibrate", "bad.csv", ...gateFlags(GATE), "--index-version", "v3", "--target", "0.2"]),
        2,
        "calibrate",
      );
      if (!r.stderr.includes("line 3")) throw new Error(`stderr does not name line 3:\n${r.stderr}`);
    },
    { needs: ready },
  );

  // ---- The SDK: plain Node ESM and CommonJS on both Nodes --------------------------------------------------------
  const calibrated = `npx scoregate calibrate scores.csv exits 0, first calibration (Node ${oldest?.major})`;
  const expect = () => ({
    SCOREGATE_URL: url,
    GATE: JSON.stringify(GATE),
    EXPECT_THRESHOLD: String(calibration.threshold),
    EXPECT_CALIBRATION: calibration.id,
  });
  for (const node of [oldest, newest]) {
    await checks.check(
      `Node ${node?.major} ESM: getThreshold, gate, report, close, snapshots`,
      async () =>
        JSON.parse(expectExit(await run(node.bin, ["client.mjs"], { cwd: dirs.newest, env: env(node, expect()) }), 0, "client.mjs").stdout).userAgent,
      { needs: [calibrated] },
    );
    await checks.check(
      `Node ${node?.major} CommonJS: require() of every package`,
      async () => void expectExit(await run(node.bin, ["require.cjs"], { cwd: dirs.newest, env: env(node) }), 0, "require.cjs"),
      { needs: ready },
    );
  }

  // ---- Types -----------------------------------------------------------------------------------------------------
  // skipLibCheck is off so that the packages' declarations are checked under the consumer's strict options too; the
  // errors tsc then finds in other libraries' declarations (a framework's own, or its dependencies') are listed, not
  // failed on: only consumer.ts and node_modules/@scoregate/ count.
  for (const config of ["nodenext", "bundler"])
    await checks.check(
      `tsc --strict consumer, moduleResolution ${config}`,
      async () => {
        const tsc = [bin("typescript", "bin", "tsc"), "-p", `tsconfig.${config}.json`, "--pretty", "false"];
        const r = await run(newest.bin, tsc, { cwd: dirs.newest, env: env(newest) });
        const errors = r.stdout.split("\n").filter((l) => /: error TS\d+:/u.test(l));
        const ours = errors.filter((l) => l.startsWith("consumer.ts") || l.includes("node_modules/@scoregate/"));
        if (ours.length > 0 || (r.status !== 0 && errors.length === 0))
          throw new Error(`tsc exit ${r.status}\n${ours.join("\n") || r.stdout + r.stderr}`);
        const others = [...new Set(errors.map((l) => /node_modules\/((?:@[^/]+\/)?[^/]+)/u.exec(l)?.[1] ?? l))];
        return others.length === 0 ? "" : `none in ours; ${errors.length} in other libraries' declarations (${others.join(", ")})`;
      },
      { needs: ["install the tarballs with the newest frameworks"] },
    );
  await checks.check(
    "the TypeScript consumer names every export of every declaration entry",
    async () => {
      const consumer = readFileSync(join(dirs.newest, "consumer.ts"), "utf8");
      const missing = [];
      for (const p of packages.filter((x) => x.hasTypes))
        for (const [entry, conditions] of Object.entries(p.manifest.exports)) {
          if (typeof conditions !== "object") continue;
          const dts = readFileSync(join(dirs.newest, "node_modules", p.name, conditions.types), "utf8");
          for (const name of exportedNames(dts))
            if (!new RegExp(`\\b${name}\\b`, "u").test(consumer)) missing.push(`${p.name}${entry.slice(1)}: ${name}`);
        }
      if (missing.length > 0) throw new Error(`consumer.ts does not use: ${missing.join(", ")}`);
    },
    { needs: ["install the tarballs with the newest frameworks"] },
  );

  // ---- A consumer Worker and a browser bundle --------------------------------------------------------------------
  const workerBundle = await checks.check(
    "consumer Worker: wrangler deploy --dry-run bundles the SDK",
    async () => {
      const dir = join(dirs.newest, "worker");
      const { compatibilityDate } = wranglerConfig();
      writeFileSync(join(dir, "wrangler.toml"), `name = "scoregate-consumer"\nmain = "index.js"\ncompatibility_date = "${compatibilityDate}"\n`);
      expectExit(
        await run(newest.bin, [bin("wrangler", "bin", "wrangler.js"), "deploy", "--dry-run", "--outdir", "out"], {
          cwd: dir,
          env: env(newest, { CI: "true", WRANGLER_SEND_METRICS: "false" }),
        }),
        0,
        "wrangler deploy --dry-run",
      );
      const bundle = readFileSync(join(dir, "out", "index.js"), "utf8");
      if (!bundle.includes("scoregate-client/")) throw new Error("the bundle does not contain the SDK");
      return { bundle, detail: `${bundle.length.toLocaleString("en")} bytes` };
    },
    { needs: ["install the tarballs with the newest frameworks"] },
  );
  await checks.check(
    "consumer Worker runs in workerd: gate() against scoregate",
    async () => {
      const vars = { SCOREGATE_URL: url, GATE: JSON.stringify(GATE), EXPECT_THRESHOLD: String(calibration.threshold) };
      const body = await runConsumerWorker(workerBundle.bundle, vars, tmp);
      const kept = [0.9, 0.1, calibration.threshold].filter((s) => s >= calibration.threshold);
      if (body.reason !== "calibrated" || body.threshold !== calibration.threshold || JSON.stringify(body.kept) !== JSON.stringify(kept))
        throw new Error(`unexpected answer ${JSON.stringify(body)}`);
    },
    { needs: ["consumer Worker: wrangler deploy --dry-run bundles the SDK", calibrated] },
  );
  await checks.check(
    "browser bundle: esbuild --platform=browser, no Node built-ins",
    async () => {
      const out = join(dirs.newest, "out", "browser.js");
      const args = ["browser.mjs", "--bundle", "--minify", "--platform=browser", "--format=esm", `--outfile=${out}`, "--log-level=warning"];
      expectExit(await run(bin(".bin", "esbuild"), args, { cwd: dirs.newest, env: env(newest) }), 0, "esbuild");
      const code = readFileSync(out);
      if (/\bnode:|\brequire\(|\bprocess\.|\bBuffer\b/u.test(code.toString("utf8"))) throw new Error("the browser bundle mentions a Node built-in");
      facts.browserGzip = gzipSync(code, { level: 9 }).length;
      return `${code.length.toLocaleString("en")} bytes minified, ${facts.browserGzip.toLocaleString("en")} gzipped`;
    },
    { needs: ["install the tarballs with the newest frameworks"] },
  );

  // ---- Adapters in their frameworks, both ends of the peer ranges ------------------------------------------------
  for (const [which, dir] of [
    ["newest", dirs.newest],
    ["lowest", dirs.lowest],
  ])
    for (const node of [oldest, newest])
      await checks.check(
        `adapters in their frameworks, ${which} versions (Node ${node?.major})`,
        async () => void expectExit(await run(node.bin, ["adapters.mjs"], { cwd: dir, env: env(node, expect()) }), 0, "adapters.mjs"),
        { needs: [`install the tarballs with the ${which} frameworks`, calibrated] },
      );

  // ---- The RAG service example, then scoregate stopped -----------------------------------------------------------
  const ragReady = ["install examples/rag-service from the tarballs", ...ready];
  rag = await checks.check(
    "rag-service: calibrated by the CLI, serves gated searches, reports observations",
    async () => {
      const scores = expectExit(await run(newest.bin, ["calibration-scores.mjs"], { cwd: dirs.rag, env: env(newest) }), 0, "calibration-scores.mjs");
      writeFileSync(join(dirs.rag, "scores.csv"), scores.stdout);
      const flags = ["--index", "rag-example", "--embedding", "stub-embedding-v1", "--reranker", "stub-reranker-v1", "--index-version", "v1"];
      const r = expectExit(
        await scoregate(newest, ["calibrate", join(dirs.rag, "scores.csv"), ...flags, "--target", "0.5", "--json"]),
        0,
        "calibrate",
      );
      const cal = JSON.parse(r.stdout).calibration;
      return startRagService({
        node: newest,
        dir: dirs.rag,
        env: env(newest, { SCOREGATE_URL: url, SCOREGATE_TOKEN: "dev-read", PORT: "0" }),
        calibration: cal,
      });
    },
    { needs: ragReady },
  );
  await checks.check("scoregate stopped", async () => {
    await worker?.close();
    worker = undefined;
  });
  await checks.check("rag-service keeps serving with its last known threshold (stale), then flushes and exits", async () => rag.afterOutage(), {
    needs: ["rag-service: calibrated by the CLI, serves gated searches, reports observations", "scoregate stopped"],
  });
  await checks.check(
    "npx scoregate threshold exits 1 when scoregate is unreachable",
    async () => {
      const r = expectExit(await scoregate(oldest, ["threshold", ...gateFlags(GATE)], "dev-read"), 1, "threshold");
      if (!r.stderr.includes("could not reach")) throw new Error(`stderr: ${r.stderr}`);
    },
    { needs: [...ready, "scoregate stopped"] },
  );
} catch (e) {
  await checks.check("consumer test setup", () => {
    throw e;
  });
} finally {
  await rag?.stop?.();
  await worker?.close?.();
  if (!keep) rmSync(tmp, { recursive: true, force: true });
}

console.log(`\n${checks.summary()}`);
console.log(`\nNode: ${facts.nodes.join(", ")}`);
for (const [name, f] of Object.entries(facts.frameworks)) console.log(`${name} ${f.range}: ${f.lowest} (lowest), ${f.newest} (newest)`);
if (facts.packed.length > 0) {
  console.log("\n| package | tarball (gzip) | unpacked | files |\n| --- | ---: | ---: | ---: |");
  for (const p of facts.packed)
    console.log(`| ${p.name} | ${(p.size / 1000).toFixed(1)} kB | ${(p.unpackedSize / 1000).toFixed(1)} kB | ${p.entryCount} |`);
}
if (facts.browserGzip !== null)
  console.log(`\nbrowser bundle of the SDK (esbuild, minified, gzip -9): ${facts.browserGzip.toLocaleString("en")} bytes`);
const seconds = (performance.now() - started) / 1000;
const failed = checks.failed;
console.log(
  `\nconsumers: ${failed.length === 0 ? "every check passed" : `${failed.length} failed or skipped: ${failed.map((f) => f.name).join("; ")}`} (${seconds.toFixed(0)} s)${keep ? `\nkept ${tmp}` : ""}`,
);
process.exit(failed.length === 0 ? 0 : 1);

function gateFlags(g) {
  return ["--index", g.index, "--embedding", g.embedding, "--reranker", g.reranker];
}
