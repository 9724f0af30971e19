/**
 * Builds reused while their inputs are unchanged, for the tests that run a built artifact (the local Worker's bundle,
 * bench/lib/worker.mjs; the CLI's bin with the SDK it imports, packages/cli/test/cli.live.test.ts): one `npm test`
 * builds each at most once, and a second run with the same sources builds nothing. Hand-written because the rule is a
 * few lines over node:crypto: a digest of the inputs' paths and contents, kept under node_modules/.cache (gone with a
 * fresh `npm ci`).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CACHE = join(ROOT, "node_modules", ".cache");

/** A digest of the files and directories (walked whole) named by `paths`, relative to the repository root. */
export function inputsDigest(paths) {
  const files = [];
  const walk = (path) => {
    if (!existsSync(join(ROOT, path))) return;
    if (!statSync(join(ROOT, path)).isDirectory()) {
      files.push(path);
      return;
    }
    for (const entry of readdirSync(join(ROOT, path), { withFileTypes: true })) walk(`${path}/${entry.name}`);
  };
  for (const path of paths) walk(path);
  const hash = createHash("sha256");
  for (const file of files.sort())
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(ROOT, file)))
      .update("\0");
  return hash.digest("hex").slice(0, 32);
}

/**
 * Runs `build()` unless the last build recorded under `name` had the same inputs and its outputs (paths relative to
 * the root) are still the files it wrote (same modification times: a build from other sources in between rewrites
 * them). Returns whether it built.
 */
export function buildOnce({ name, inputs, outputs, build }) {
  const stamp = join(CACHE, `scoregate-${name}`, "stamp.json");
  const digest = inputsDigest(inputs);
  const written = () => outputs.map((o) => (existsSync(join(ROOT, o)) ? statSync(join(ROOT, o)).mtimeMs : null));
  if (existsSync(stamp)) {
    const last = JSON.parse(readFileSync(stamp, "utf8"));
    if (last.digest === digest && JSON.stringify(last.outputs) === JSON.stringify(written()) && !written().includes(null)) return false;
  }
  build();
  mkdirSync(dirname(stamp), { recursive: true });
  // write then rename: a concurrent reader sees the whole stamp or none
  writeFileSync(`${stamp}.${process.pid}`, JSON.stringify({ digest, outputs: written() }));
  renameSync(`${stamp}.${process.pid}`, stamp);
  return true;
}
