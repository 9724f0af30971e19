#!/usr/bin/env node
/**
 * `npm run lint:packages` (after `npm run build`): lints what each package would publish, as packed by `npm pack`.
 * - publint --strict: package.json fields, the exports map (types first), files that exist in the tarball;
 * - are-the-types-wrong (attw --pack, profile esm-only): the declarations resolve like the JavaScript for node16 and
 *   bundler consumers (packages without declarations, the CLI, are skipped). The packages are ESM only: CommonJS
 *   consumers on Node 20.19+ load them with require() (require of ESM), which scripts/consumer-test.mjs checks;
 * - size-limit (.size-limit.json): the client core, minified and gzipped, under its budget;
 * - `npm publish --dry-run` of every workspace package, the release procedure's check (docs/releasing.md), with
 *   `--offline` and a throwaway cache under the system temp dir: it packs and validates each manifest without the
 *   registry or a login, and without touching the user's npm cache. One npm process for all packages (about 3 s).
 * Prints one line per check and exits 1 if any failed, after printing that tool's report.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publishedPackages, ROOT } from "./lib/packages.mjs";

const bin = (name) => join(ROOT, "node_modules", ".bin", name);
const failures = [];

function check(label, cmd, args, cwd) {
  const started = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" } });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (r.status === 0) {
    console.log(`ok    ${label} (${seconds} s)`);
    return r.stdout;
  }
  console.log(`FAIL  ${label} (exit ${r.status})\n${r.stdout}${r.stderr}`);
  failures.push(label);
  return r.stdout;
}

for (const p of publishedPackages()) {
  if (!existsSync(join(p.dir, "dist"))) {
    console.log(`FAIL  ${p.name}: no dist/ (run \`npm run build\` first)`);
    failures.push(`${p.name} build`);
    continue;
  }
  check(`publint ${p.name}`, bin("publint"), ["run", "--strict", "."], p.dir);
  if (p.hasTypes) check(`attw ${p.name}`, bin("attw"), ["--pack", ".", "--profile", "esm-only", "--format", "table-flipped"], p.dir);
}
const cache = mkdtempSync(join(tmpdir(), "scoregate-publish-cache-"));
try {
  const out = check(
    "npm publish --dry-run --workspaces",
    "npm",
    ["publish", "--dry-run", "--workspaces", "--offline", "--cache", cache, "--loglevel=error"],
    ROOT,
  );
  for (const p of publishedPackages()) {
    if (!out.includes(`+ ${p.name}@${p.version}`)) {
      console.log(`FAIL  npm publish --dry-run did not list ${p.name}@${p.version}\n${out}`);
      failures.push(`publish dry-run ${p.name}`);
    }
  }
} finally {
  rmSync(cache, { recursive: true, force: true });
}
const size = check("size-limit (.size-limit.json)", bin("size-limit"), [], ROOT);
const measured = /Size:\s+(.+)$/mu.exec(size)?.[1];
if (measured) console.log(`      client core: ${measured}`);

console.log(failures.length === 0 ? "packages: every check passed" : `packages: ${failures.length} failed: ${failures.join(", ")}`);
process.exit(failures.length === 0 ? 0 : 1);
