/**
 * HTTP details shared by the threshold cache and the observation reporter: Cache-Control and Retry-After parsing,
 * backoff with jitter, timers that never keep a Node process alive, a bounded wait for a shared request, and one
 * bounded fetch.
 */
import type { ErrorResponse } from "../../../src/contract/wire-types";
import type { ClientError, ClientErrorCode } from "./types";

/**
 * Hands background work to a `waitUntil`. One that is not a function is left out, and one that throws (Workers'
 * `ctx.waitUntil` passed without `.bind(ctx)`: "Illegal invocation") is too: the work runs on its own, as without a
 * `waitUntil`, instead of the call that started it throwing on the hot path.
 */
export function handTo(waitUntil: unknown, work: Promise<unknown>): void {
  try {
    if (typeof waitUntil === "function") waitUntil(work);
  } catch {}
}

/**
 * The `Cache-Control` directives that carry a finite, non-negative number of seconds, by lower-cased name (a later
 * directive of the same name wins); the others, and malformed values, are left out.
 */
export function cacheSeconds(header: string | null | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (header ?? "").split(",")) {
    const [name, value] = part.split("=", 2);
    const seconds = value === undefined ? Number.NaN : Number(value.trim().replace(/^"|"$/gu, ""));
    if (Number.isFinite(seconds) && seconds >= 0) out.set(name!.trim().toLowerCase(), seconds);
  }
  return out;
}

/** `Retry-After` as a delay in ms (delta-seconds or an HTTP date), at most MAX_RETRY_AFTER_MS; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  const ms = /^\d+$/u.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  return Number.isNaN(ms) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/**
 * The longest wait a server's `Retry-After` imposes (10 minutes; the Python client's MAX_RETRY_AFTER_SECONDS): a far-off
 * value, from a proxy or a clock set wrong, would otherwise stop a client's requests for as long, its cached thresholds
 * running out meanwhile. scoregate itself asks for seconds (a 429's 30 s, a 409's 1 s).
 */
export const MAX_RETRY_AFTER_MS = 600_000;

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/**
 * Delay before the next attempt after `failures` consecutive failures: exponential, capped, with "equal jitter" (half
 * fixed, half random) so that many processes failing together do not retry together; never below Retry-After.
 */
export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number, retryAfterMs?: number): number {
  const exp = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, failures - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, retryAfterMs);
}

/** setTimeout that does not keep a Node process alive (unref exists only in Node; browsers and workerd return ids). */
export function startTimer(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
  const t = setTimeout(fn, ms);
  (t as { unref?: () => void }).unref?.();
  return t;
}

/**
 * Waits for a shared request, but never longer than this caller's own deadline or signal. The deadline is the
 * caller's own timer: if the request's initiator was cancelled, its promise may never settle, and its timers with it.
 */
export function waitAtMost(promise: Promise<void>, ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    if (signal?.aborted) return resolve(false);
    const done = (settled: boolean) => {
      clearTimeout(timer);
      // Removing a listener that was never added changes nothing.
      signal?.removeEventListener("abort", stop);
      resolve(settled);
    };
    const stop = () => done(false);
    const settle = () => done(true);
    const timer = startTimer(stop, ms);
    signal?.addEventListener("abort", stop, { once: true });
    promise.then(settle, settle);
  });
}

export function clientError(code: ClientErrorCode, message: string, status?: number, retryAfterMs?: number): ClientError {
  const e: ClientError = { code, message };
  if (status !== undefined) e.status = status;
  if (retryAfterMs !== undefined) e.retryAfterMs = retryAfterMs;
  return e;
}

/** No answer within the deadline: what a request that timed out and a caller that stopped waiting both say. */
export const timeoutError = (ms: number): ClientError => clientError("timeout", `no answer within ${ms} ms`);

export type Outcome = { kind: "response"; response: Response; body: unknown } | { kind: "failed"; error: ClientError };

/**
 * One request with a hard deadline. The deadline both aborts the request and settles the race on its own, so a
 * `fetch` that ignores its signal cannot hold the caller. The body is read inside the deadline as well.
 */
export async function boundedFetch(fetchFn: typeof fetch, url: string, init: RequestInit, timeoutMs: number): Promise<Outcome> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<Outcome>((resolve) => {
    timer = startTimer(() => {
      controller.abort();
      resolve({ kind: "failed", error: timeoutError(timeoutMs) });
    }, timeoutMs);
  });
  const attempt = (async (): Promise<Outcome> => {
    try {
      const response = await fetchFn(url, { ...init, signal: controller.signal });
      const text = response.status === 304 || response.status === 204 ? "" : await response.text();
      let body: unknown = null;
      if (text !== "") {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      return { kind: "response", response, body };
    } catch (e) {
      // Node's fetch says "fetch failed" and keeps why in its cause (ECONNREFUSED, ENOTFOUND, a certificate's code;
      // without a code, its message: "bad port" for a port fetch refuses, such as 9 or 6000)
      const c = (e as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
      const cause = c?.code ?? c?.message;
      return {
        kind: "failed",
        error: clientError(
          "network",
          `request failed: ${e instanceof Error ? e.message : String(e)}${typeof cause === "string" ? ` (${cause})` : ""}`,
        ),
      };
    }
  })();
  try {
    return await Promise.race([attempt, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The code and message of the server's error envelope (`{"error": {"code", "message"}}`), each when it is a string. */
export function serverWords(body: unknown): [code: string | undefined, message: string | undefined] {
  const e = (body as Partial<ErrorResponse> | null)?.error;
  // a pointer into the envelope's details (" (see details.suggestions)") is for curl: no client error carries them
  return [
    typeof e?.code === "string" ? e.code : undefined,
    typeof e?.message === "string" ? e.message.replace(/ \(see details\.\w+\)/u, "") : undefined,
  ];
}

/** What a non-2xx answer means for the client, with the server's own message when it sent the error envelope. */
export function describeFailure(status: number, body: unknown, retryAfterMs: number | undefined): ClientError {
  const [serverCode, serverMessage] = serverWords(body);
  const said = serverMessage === undefined ? "" : `: ${serverMessage}`;
  if (status === 401) return clientError("unauthorized", `401 unauthorized${said} (check the token; refreshing stopped)`, status);
  if (status === 403) return clientError("forbidden", `403 forbidden${said} (the token lacks the scope; refreshing stopped)`, status);
  if (status === 429) return clientError("rate_limited", `429 rate limited${said}`, status, retryAfterMs);
  if (status === 404 && serverCode === "uncalibrated") return clientError("uncalibrated", `404 uncalibrated${said}`, status);
  if (status >= 500) return clientError("server_error", `${status} ${serverCode ?? "server error"}${said}`, status, retryAfterMs);
  return clientError("bad_request", `${status} ${serverCode ?? "refused"}${said}`, status, retryAfterMs);
}
