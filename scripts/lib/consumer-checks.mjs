/**
 * The pieces of scripts/consumer-test.mjs that are not the flow of checks: test data, what the published
 * declarations export, links out of a scratch project, the documented install lines, and running a consumer Worker.
 */
import { lstatSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { mulberry32, wranglerConfig } from "../../bench/lib/worker.mjs";
import { waitFor } from "./consumer-harness.mjs";
import { ROOT } from "./packages.mjs";

/** Numeric comparison of release versions (x.y.z). */
export function compareVersions(a, b) {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

/** A CSV of seeded reranker-like scores: 100 queries of 20 candidates, logistic of a per-query offset, shifted by `shift`. */
export function csv(seed, shift) {
  const rng = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const rows = ["query_id,doc_id,score"];
  for (let q = 0; q < 100; q++) {
    const offset = 0.7 * normal() + shift;
    for (let d = 0; d < 20; d++) rows.push(`q${q},d${d},${1 / (1 + Math.exp(-(offset + normal() - 0.5)))}`);
  }
  return `${rows.join("\n")}\n`;
}

/** The names a declaration entry exports (its closing `export { a, type B, c as d }`). */
export function exportedNames(dts) {
  const statements = [...dts.matchAll(/^export \{([^}]*)\};?$/gmu)];
  return statements.flatMap((m) =>
    m[1]
      .split(",")
      .map((s) => s.trim().replace(/^type\s+/u, ""))
      .filter(Boolean)
      .map((s) => s.split(/\s+as\s+/u).at(-1)),
  );
}

/** Every symbolic link under a node_modules folder (its packages and scoped packages). */
export function symlinksUnder(nodeModules) {
  const links = [];
  for (const entry of readdirSync(nodeModules)) {
    const p = join(nodeModules, entry);
    if (lstatSync(p).isSymbolicLink()) links.push(p);
    else if (entry.startsWith("@")) for (const sub of readdirSync(p)) if (lstatSync(join(p, sub)).isSymbolicLink()) links.push(join(p, sub));
  }
  return links;
}

/** Runs the consumer Worker's bundle in workerd (Miniflare) with `vars` and returns the JSON of one request. */
export async function runConsumerWorker(contents, vars, stateDir) {
  const { Log, LogLevel, Miniflare } = await import("miniflare");
  const state = mkdtempSync(join(stateDir, "miniflare-"));
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    log: new Log(LogLevel.WARN),
    enableDevRegistry: false,
    telemetry: { enabled: false },
    cf: false,
    logRequests: false,
    resourcePersistencePath: join(state, "state"),
    resourceTmpPath: join(state, "tmp"),
    workers: [
      {
        config: {
          name: "scoregate-consumer",
          compatibilityDate: wranglerConfig().compatibilityDate,
          manifest: { mainModule: "index.js", modulesRoot: state, modules: { "index.js": { type: "esm", contents } } },
          env: Object.fromEntries(Object.entries(vars).map(([k, value]) => [k, { type: "text", value }])),
        },
        dev: { rootPath: state, unsafeRegisterWorker: false },
      },
    ],
  });
  try {
    const url = await mf.ready;
    const res = await waitFor(async () => fetch(url), "the consumer Worker");
    if (!res.ok) throw new Error(`the consumer Worker answered ${res.status}: ${await res.text()}`);
    return await res.json();
  } finally {
    await mf.dispose();
  }
}

/**
 * What is wrong with the `npm install` lines of `files`: a package this test does not install, an adapter without its
 * framework peer on the same line, a published package with no line. A tarball path counts as its package when its
 * file name is the one `npm pack` writes for the package's current version (`scoregate-client-0.1.0.tgz`), so the
 * pack-and-install lines cannot go stale at a version bump.
 */
export function installLineProblems(packages, files) {
  const packed = new Set(packages.map((p) => p.name));
  const tarballs = new Map(packages.map((p) => [`${p.name.replace(/^@/u, "").replace("/", "-")}-${p.version}.tgz`, p.name]));
  const asPackage = (t) => (t.endsWith(".tgz") ? (tarballs.get(t.split("/").pop()) ?? t) : t);
  const peers = new Map(packages.map((p) => [p.name, Object.keys(p.manifest.peerDependencies ?? {})]));
  const frameworks = new Set([...peers.values()].flat());
  const problems = [];
  for (const file of files) {
    const lines = readFileSync(join(ROOT, file), "utf8").match(/^npm install [^#\n]*/gmu) ?? [];
    const named = new Set();
    for (const line of lines) {
      const names = line
        .split(/\s+/u)
        .slice(2)
        .filter((t) => t !== "" && !t.startsWith("-"))
        .map(asPackage);
      for (const n of names) {
        named.add(n);
        if (!packed.has(n) && !frameworks.has(n)) problems.push(`${file}: "${line.trim()}" installs ${n}, which this test does not`);
        for (const peer of peers.get(n) ?? []) if (!names.includes(peer)) problems.push(`${file}: "${line.trim()}" lacks ${n}'s peer ${peer}`);
      }
    }
    for (const n of packed) if (!named.has(n)) problems.push(`${file} has no install line for ${n}`);
  }
  return problems;
}
