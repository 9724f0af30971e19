/**
 * The published packages of this repository: every workspace folder under packages/ whose package.json is not private,
 * with what the packaging scripts need to know about it. Shared by scripts/lint-packages.mjs and
 * scripts/consumer-test.mjs, so a new package is picked up by both.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** @returns {{ dir: string, name: string, version: string, manifest: any, hasTypes: boolean }[]} */
export function publishedPackages() {
  const base = join(ROOT, "packages");
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(base, d.name, "package.json")))
    .map((d) => {
      const dir = join(base, d.name);
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      // a package with a `types` condition in its exports publishes declarations (the CLI is a command only)
      const hasTypes = JSON.stringify(manifest.exports ?? {}).includes('"types"');
      return { dir, name: manifest.name, version: manifest.version, manifest, hasTypes };
    })
    .filter((p) => p.manifest.private !== true)
    .sort((a, b) => a.name.localeCompare(b.name));
}
