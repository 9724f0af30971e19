/**
 * The local worker for the CLI tests: bench/lib/worker.mjs builds the Worker with `wrangler deploy --dry-run` and runs
 * it in workerd through Miniflare with local D1/KV/DO and ENVIRONMENT=development (tokens dev-read, dev-calibrate,
 * dev-admin), on 127.0.0.1:<random port>.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll } from "vitest";

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, "..", "..", "..", "..");

export interface LocalWorker {
  url: URL;
  close(): Promise<void>;
}

interface Harness {
  startWorker(opts?: { log?: number }): Promise<LocalWorker>;
}
interface BuildCache {
  buildOnce(o: { name: string; inputs: string[]; outputs: string[]; build: () => void }): boolean;
}

// bench/lib/*.mjs are plain JS without declarations; their shapes are stated once here
const HARNESS = "../../../../bench/lib/worker.mjs";
const BUILD_CACHE = "../../../../bench/lib/build-cache.mjs";

/** What `npm run build:cli` reads (the SDK and the CLI, with the modules of src/ they bundle) and writes. */
const CLI_BUILD = {
  inputs: ["src", "package-lock.json", "tsconfig.base.json", "tsdown.config.ts", "packages/tsdown.shared.ts"].concat(
    ["client", "cli"].flatMap((p) => ["src", "package.json", "tsconfig.json", "tsdown.config.ts"].map((f) => `packages/${p}/${f}`)),
  ),
  outputs: ["packages/cli/dist/cli.js", "packages/client/dist/index.js", "packages/client/dist/index.d.ts"],
};

/** Runs `build` (npm run build:cli) unless the bin and the SDK were last built from the same sources. */
export async function buildCliOnce(build: () => void): Promise<void> {
  const cache = (await import(/* @vite-ignore */ new URL(BUILD_CACHE, import.meta.url).href)) as BuildCache;
  cache.buildOnce({ name: "cli", ...CLI_BUILD, build });
}

export async function startLocalWorker(): Promise<LocalWorker> {
  const h = (await import(/* @vite-ignore */ new URL(HARNESS, import.meta.url).href)) as Harness;
  return h.startWorker();
}

/**
 * A live test file's local worker and scratch folder, set up by its beforeAll and removed by its afterAll. With `bin`
 * (a file that runs the built bin or the SDK's dist in a child process) the bin is built first from the current
 * sources, as `npm run build:cli` builds it, unless a build from the same sources exists: the child-process tests run
 * what this checkout would publish. A file that runs the CLI in-process only (its source, through the tsconfig paths)
 * does not wait for that build (on a fresh clone, 8 s of a run of 75). `worker` is usable once the hooks ran; `env`
 * points the CLI at it with a dev token.
 */
export function liveFixture(prefix: string, { bin = false }: { bin?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let started: LocalWorker | undefined;
  beforeAll(async () => {
    if (bin)
      await buildCliOnce(() => {
        const build = spawnSync("npm", ["run", "--silent", "build:cli"], { cwd: ROOT, encoding: "utf8" });
        if (build.status !== 0) throw new Error(`npm run build:cli failed:\n${build.stdout}\n${build.stderr}`);
      });
    started = await startLocalWorker();
  }, 180_000);
  afterAll(async () => {
    await started?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const worker = (): LocalWorker => {
    if (started === undefined) throw new Error("liveFixture: the worker starts in beforeAll");
    return started;
  };
  const env = (token = "dev-calibrate") => ({ SCOREGATE_URL: worker().url.origin, SCOREGATE_TOKEN: token });
  return { dir, worker, env };
}
