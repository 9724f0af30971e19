/**
 * What a client is configured with: its options with their defaults, and what it calls itself in `User-Agent`. A
 * wrong value here is a programmer error and throws TypeError at once, unlike every call on the hot path.
 */

// package.json is read at build time: the bundler inlines this one field, so the code names the version it ships as.
import { version } from "../package.json";
import type { BackoffPolicy } from "./http";
import type { ScoregateClientOptions } from "./types";

const DEFAULT_TIMEOUT_MS = 2000;

/** The longest delay setTimeout keeps (2^31 - 1 ms, about 24.8 days): a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The TypeError of an option that cannot work: a programmer error, thrown at construction. */
export function optionError(problem: string): never {
  throw new TypeError(`ScoregateClient: ${problem}`);
}

/** Throws (optionError) unless `v` is null or undefined (the default) or a number from `min` to `max`; never coerced. */
export function checkNumber(name: string, v: unknown, min: number, max: number): void {
  if (v != null && !(typeof v === "number" && v >= min && v <= max))
    optionError(
      `${name} ${typeof v === "string" ? JSON.stringify(v) : v} is not a number ${max < Infinity ? `from ${min} to ${max}` : `of at least ${min}`}`,
    );
}
/**
 * `http://` or `https://`, a host, and no whitespace (once trimmed: a URL read from a file ends with a newline): what
 * every request's URL is built on (a regex: cheaper than parsing a URL). "http://local host" would fail every request.
 */
const ABSOLUTE_HTTP_URL = /^https?:\/\/[^\s/?#]\S*$/iu;

/** ScoregateClientOptions with every default applied (docs/clients.md has the table). */
export interface ResolvedOptions {
  /** Without trailing slashes. */
  readonly baseUrl: string;
  readonly token: string;
  /** Undefined: the global fetch, looked up at call time. */
  readonly fetch: typeof fetch | undefined;
  readonly timeoutMs: number;
  readonly now: () => number;
  readonly random: () => number;
  readonly backoff: BackoffPolicy;
  readonly maxStaleMs: number | undefined;
  readonly waitUntil: ((p: Promise<unknown>) => void) | undefined;
  readonly maxGates: number;
}

/**
 * Checks the required options and applies the defaults. TypeError without a token (or one with a control or non-ASCII
 * character inside; surrounding whitespace is trimmed), or for a baseUrl that is not an
 * absolute http: or https: URL: `localhost:8787` parses as a URL whose scheme is `localhost:`, and every request would
 * then fail as if the server were down, so a configuration error would look like an outage.
 */
export function resolveOptions(options: ScoregateClientOptions): ResolvedOptions {
  // `new ScoregateClient()` from JavaScript: no options is an empty set, refused for its baseUrl below
  options = Object(options);
  const baseUrl = typeof options.baseUrl === "string" ? options.baseUrl.trim() : options.baseUrl;
  if (typeof baseUrl !== "string" || !ABSOLUTE_HTTP_URL.test(baseUrl))
    optionError(`baseUrl ${JSON.stringify(baseUrl)} is not an HTTP URL such as "http://localhost:8787"`);
  // Options of other entries, which this constructor would ignore from JavaScript (TypeScript refuses them): a service
  // would lose its cold-start protection, or poll, without a sign.
  const other = options as { bootstrap?: unknown; stream?: unknown };
  if ("bootstrap" in other) optionError("bootstrap is now restore(client, snapshot) of @scoregate/client/snapshot");
  if (other.stream) optionError("stream needs the ScoregateClient of @scoregate/client/stream");
  // a token read from a file ends with a newline: trimmed; one with a control or non-ASCII character inside would make
  // every request's headers throw, an outage in appearance: refused here (the Python client does the same)
  const token = typeof options.token === "string" ? options.token.trim() : "";
  if (!/^[ -~]+$/u.test(token)) optionError("token is required (printable ASCII)");
  // Infinity ("never time out") or a value past the timers' 32-bit range would fire at once and fail every request as a
  // timeout, an outage in appearance; NaN or a negative one likewise
  const timeoutMs = Number(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  if (!(timeoutMs >= 1 && timeoutMs <= MAX_TIMER_MS)) optionError(`timeoutMs ${timeoutMs} is not a number of ms from 1 to ${MAX_TIMER_MS}`);
  // null, as undefined, is the default (a config file's `"fetch": null`)
  if (options.fetch != null && typeof options.fetch !== "function") optionError("fetch must be a function (default: the global fetch)");
  if (options.waitUntil != null && typeof options.waitUntil !== "function")
    optionError("waitUntil must be a function (Workers: ctx.waitUntil.bind(ctx))");
  // a string from an environment variable ("false") would read as true: the timer would run where none may
  const timer = options.observations?.timer;
  if (timer != null && typeof timer !== "boolean") optionError("observations.timer must be true or false");
  // The other numbers, not coerced: from configuration (an environment variable passed without Number()), a string
  // flush interval would concatenate into a 1 ms timer spin, a NaN backoff send on every read, maxGates 0 cache nothing
  const { backoff: b, observations: o } = options;
  for (const [name, v, min, max] of [
    ["backoff.initialMs", b?.initialMs, 1, MAX_TIMER_MS],
    ["backoff.maxMs", b?.maxMs, 1, MAX_TIMER_MS],
    ["maxStaleMs", options.maxStaleMs, 0, Infinity],
    ["maxGates", options.maxGates, 1, Infinity],
    ["observations.flushIntervalMs", o?.flushIntervalMs, 1, MAX_TIMER_MS],
    ["observations.batchSize", o?.batchSize, 1, Infinity],
    ["observations.maxQueued", o?.maxQueued, 1, Infinity],
    ["observations.maxScores", o?.maxScores, 0, Infinity],
  ] as const)
    checkNumber(name, v, min, max);
  return {
    baseUrl: baseUrl.replace(/\/+$/u, ""),
    token,
    fetch: options.fetch,
    timeoutMs,
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
    backoff: { initialMs: options.backoff?.initialMs ?? 1000, maxMs: options.backoff?.maxMs ?? 60_000 },
    maxStaleMs: options.maxStaleMs,
    waitUntil: options.waitUntil,
    maxGates: options.maxGates ?? 1000,
  };
}

/** What this package calls itself in `User-Agent`: `scoregate-client/<version>`. */
export const CLIENT_PRODUCT = `scoregate-client/${version}`;
