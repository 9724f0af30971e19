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

// bench/lib/worker.mjs is plain JS without declarations; its shape is stated once here
const HARNESS = "../../../../bench/lib/worker.mjs";

export async function startLocalWorker(): Promise<LocalWorker> {
  const h = (await import(/* @vite-ignore */ new URL(HARNESS, import.meta.url).href)) as Harness;
  return h.startWorker();
}
