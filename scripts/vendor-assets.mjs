#!/usr/bin/env node
// Fills public/vendor/ (the Worker's static assets, [assets] in wrangler.toml) from node_modules, so the API
// reference at /docs loads its script from the Worker itself and never from a CDN. Run by postinstall, npm start,
// the tests (vitest.config.ts) and deploy:dry (bench/lib/worker.mjs reads the folder it fills); the copies are not
// committed (.gitignore). Idempotent: copies only when the source is newer or the size differs.
import { copyFileSync, existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ASSETS_DIR = join(ROOT, "public");

/** [source in node_modules, destination under public/] */
const FILES = [["node_modules/@scalar/api-reference/dist/browser/standalone.js", "vendor/scalar/standalone.js"]];

export function vendorAssets() {
  for (const [from, to] of FILES) {
    const src = join(ROOT, from);
    const dst = join(ASSETS_DIR, to);
    if (!existsSync(src)) throw new Error(`vendor-assets: ${from} is missing; run npm ci`);
    const s = statSync(src);
    if (existsSync(dst)) {
      const d = statSync(dst);
      if (d.size === s.size && d.mtimeMs >= s.mtimeMs) continue;
    }
    mkdirSync(dirname(dst), { recursive: true });
    copyFileSync(src, dst);
  }
  return ASSETS_DIR;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) vendorAssets();
