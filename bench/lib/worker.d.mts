// Types of the shared harness (worker.mjs) for TypeScript callers (the browser tests in test/dashboard/).
import type { Miniflare } from "miniflare";

export interface StartedWorker {
  readonly mf: Miniflare;
  readonly url: URL;
  readonly workerdPid: number | null;
  readonly tmp: string;
  readonly buildMs: number;
  close(): Promise<void>;
}

export declare const ROOT: string;
export declare const BUILD_COMMAND: string;
export declare function machineInfo(): {
  nproc: string;
  cpu: string;
  node: string;
  workerd: string;
  miniflare: string;
  wrangler: string;
};
export declare function startWorker(options?: {
  log?: number;
  ingest?: "direct" | "queue";
  inspector?: boolean;
  v8Flags?: readonly string[];
  onRuntimeLine?: ((line: string) => void) | null;
  stateDir?: string | null;
  migrate?: boolean;
  entryWrapper?: string | null;
}): Promise<StartedWorker>;
