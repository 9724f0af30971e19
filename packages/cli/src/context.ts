/** What every command gets: the process's streams and environment, the parsed flags, and the server's API. */
import type { Readable } from "node:stream";
import type { Values } from "./args";
import type { Api } from "./http";

export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
  stdin?: Readable;
  fetch?: typeof fetch;
  /** Waits before an upload is retried (tests: at once). */
  sleep?: (ms: number) => Promise<void>;
  /** The waits between watch's reconnects (tests: a few ms; the bin: from 1 s up to WATCH_MAX_BACKOFF_MS). */
  watchBackoff?: { initialMs: number; maxMs: number };
  /** The wait after a 429 before watch tries the stream again (tests: a few ms; the bin: WATCH_RETRY_MS or the server's Retry-After). */
  watchRetryMs?: number;
  /** Ends a long-running command (watch) with exit 0: the bin aborts it on SIGINT and SIGTERM. */
  signal?: AbortSignal;
}

export interface Ctx {
  io: Io;
  v: Values;
  positionals: string[];
  /** The server's API (a usage error when no token or a bad URL is configured). */
  api: () => Api;
  json: boolean;
  out: (s: string) => void;
  warn: (s: string) => void;
}
