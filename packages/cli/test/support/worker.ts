/**
 * The local worker for the CLI tests: bench/lib/worker.mjs builds the Worker with `wrangler deploy --dry-run` and runs
 * it in workerd through Miniflare with local D1/KV/DO and ENVIRONMENT=development (tokens dev-read, dev-calibrate,
 * dev-admin), on 127.0.0.1:<random port>.
 */
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
