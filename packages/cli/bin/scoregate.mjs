#!/usr/bin/env node
/**
 * The `scoregate` bin. The CLI is TypeScript that imports the API contract (src/contract, extensionless imports),
 * which Node cannot run from a node_modules path, so this plain-JS launcher bundles src/cli.ts with esbuild (a dev
 * dependency of the repository) into node_modules/.cache/scoregate-cli/ on first run, and again whenever a source
 * file of the bundle is newer than it or `npm ci` reinstalled the dependencies. The bundle is written to a temporary
 * name and renamed, so concurrent first runs never see half a file.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The nearest node_modules above the package that holds esbuild (the repository root's). */
function findNodeModules() {
  let dir = pkgDir;
  for (;;) {
    const nm = join(dir, "node_modules");
    if (existsSync(join(nm, "esbuild", "package.json"))) return nm;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
};

function isFresh(bundle, manifestPath, lockfile) {
  if (!existsSync(bundle) || !existsSync(manifestPath)) return false;
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch {
    return false;
  }
  const built = mtime(bundle);
  if (manifest.lockfileMtime !== mtime(lockfile)) return false;
  // npm writes package files with a fixed old mtime, so node_modules inputs are covered by the lockfile check above
  return manifest.inputs.every((p) => mtime(p) <= built);
}

async function bundlePath() {
  const nm = findNodeModules();
  if (nm === null) {
    process.stderr.write("scoregate: esbuild is not installed: run `npm ci` at the repository root first\n");
    process.exit(1);
  }
  const cacheDir = join(nm, ".cache", "scoregate-cli");
  const bundle = join(cacheDir, "cli.mjs");
  const manifestPath = join(cacheDir, "inputs.json");
  const lockfile = join(nm, ".package-lock.json");
  if (isFresh(bundle, manifestPath, lockfile)) return bundle;
  const { build } = await import(pathToFileURL(join(nm, "esbuild", "lib", "main.js")).href);
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${bundle}.${process.pid}.tmp`;
  const result = await build({
    entryPoints: [join(pkgDir, "src", "cli.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: tmp,
    metafile: true,
    logLevel: "error",
    absWorkingDir: pkgDir,
  });
  const inputs = Object.keys(result.metafile.inputs)
    .map((p) => resolve(pkgDir, p))
    .filter((p) => !p.includes(`${"/"}node_modules${"/"}`));
  renameSync(tmp, bundle);
  const manifestTmp = `${manifestPath}.${process.pid}.tmp`;
  writeFileSync(manifestTmp, JSON.stringify({ lockfileMtime: mtime(lockfile), inputs }));
  renameSync(manifestTmp, manifestPath);
  return bundle;
}

await import(pathToFileURL(await bundlePath()).href);
