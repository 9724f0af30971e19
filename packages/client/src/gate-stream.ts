/**
 * One gate's subscription to GET /v1/events (the stream client, stream.ts, opens one per gate it reads; the CLI's
 * `watch` uses one directly): in order and exactly once, with gap and dead-connection detection, backoff, and failover
 * to polling and back.
 */
import { type BackoffPolicy, backoffDelay, parseRetryAfter, serverWords, startTimer } from "./http";
import { type SseFrame, SseParser } from "./sse-parser";
import type { GateEvent, StreamOptions } from "./types";

/** The defaults of StreamOptions (docs/clients.md has the table and where each value comes from). */
export const STREAM_DEFAULTS = {
  maxGates: 20,
  readTimeoutMs: 45_000,
  backoff: { initialMs: 1000, maxMs: 30_000 },
  /** A connection that stayed up this long resets the backoff. */
  resetAfterMs: 60_000,
  maxFailures: 5,
  failureWindowMs: 60_000,
  recoveryMs: 300_000,
} as const;

/** HTTP statuses that switch a stream to polling at once (the route is missing, refused for now, or unsupported). */
const FALLBACK_STATUSES = new Set([404, 429, 501]);

/**
 * How late a stream's own timer (its retry, or its read deadline) must be before `check()` takes it for lost and does
 * its work. Node and browsers run timers on time, give or take a busy event loop; a Cloudflare Worker drops the timers
 * of a request that has ended, so there only a later read of the gate moves the stream on.
 */
export const OVERDUE_MS = 1_000;

/**
 * The reason a stream reconnects after the server's history went back (GateStream's `onRestart`): not a failure, so
 * it is neither counted nor backed off.
 */
export const HISTORY_RESTARTED = "the server's event history restarted";

/**
 * The reason a stream polling after `maxFailures` failures tries the stream again before `recoveryMs` is up
 * (GateStream.polled): the server answered a poll of its gate, so it is up again.
 */
export const POLL_ANSWERED = "the server answered a poll: trying the stream again";

/**
 * The server's event history went back below the stream's last event: `lastSeq` the seq the stream had applied,
 * `headSeq` the server's newest (a snapshot's seq, or a heartbeat's `head_seq`).
 */
export interface HistoryRestart {
  lastSeq: number;
  headSeq: number;
}

/** Where a gate's stream is: connected, waiting to reconnect, polling after a failover, or stopped. */
export type StreamState = "open" | "reconnecting" | "polling" | "stopped";

export interface GateStreamOptions extends StreamOptions {
  /** The events URL of the gate, without a resume point. */
  url: string;
  headers: () => Record<string, string>;
  fetch: typeof fetch;
  now?: () => number;
  random?: () => number;
  /** Resume after this seq (sent as Last-Event-ID); default none: the server starts with a snapshot. */
  after?: number | null;
  /** An event to apply, in order, each exactly once; `snapshot` when the server sent the full state instead. */
  onEvent: (event: GateEvent, snapshot: boolean) => void;
  /**
   * The server's event history restarted (its seq went back: a reset local state, or a restored database): the stream
   * has dropped its position and takes the server's current state, a `snapshot` event next (docs/api.md, "When the
   * seq goes back").
   */
  onRestart?: (restart: HistoryRestart) => void;
  /** A heartbeat of a healthy stream, with the gate's newest seq. */
  onHeartbeat?: (headSeq: number) => void;
  /** Every change of state, with why (`reconnecting`: the failure; `open`: the seq it resumed after, if any). */
  onState?: (state: StreamState, detail: { status?: number; reason: string; after: number | null }) => void;
}

/**
 * One gate's subscription: connects, applies events in order exactly once (drops `seq <= last`, treats
 * `prev_seq !== last` as a gap and reconnects with Last-Event-ID so the server replays or sends a snapshot), applies a
 * snapshot whatever its seq and takes the server's seq going back (a snapshot or a heartbeat's `head_seq` below the
 * last seq) for a restarted history (`onRestart`: it forgets its position and takes the current state), detects
 * a dead connection by `readTimeoutMs` without a byte, reconnects with exponential backoff and jitter, and switches
 * to polling (state `polling`) on 404/429/501 or after `maxFailures` failures within `failureWindowMs`, trying the
 * stream again every `recoveryMs`. After a fall back on failures, a poll the server answered brings the stream back
 * sooner (`polled()`: one try; each failed try doubles the wait before the next, up to `recoveryMs`). A 401/403 stops
 * it (`stopped`). Never throws into the caller, a listener's error included.
 *
 * Its deadlines do not rely on `fetch` honouring the abort signal: the request and every read are raced against it,
 * so a request or body that ignores the signal cannot hold the stream in `reconnecting` or `open`. At most one
 * connection or pending retry exists at a time.
 */
export class GateStream {
  readonly #o: GateStreamOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #backoff: BackoffPolicy;
  #last: number | null;
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #failures: number[] = [];
  #consecutive = 0;
  /**
   * Since a fall back to polling on failures, until a connection stays up `resetAfterMs`: a try from polling, which a
   * failure sends back to polling at once (not after `maxFailures` more), so a stream that keeps failing while polls
   * succeed (a proxy that cuts it) is not reconnected over and over.
   */
  #trial = false;
  /** Failed tries from polling in a row: the wait before the next doubles with each, up to `recoveryMs`. */
  #tries = 0;
  /** While polling after failures: from when a poll the server answered brings a try (infinity: not before the timer). */
  #tryFrom = Number.POSITIVE_INFINITY;
  #openedAt = 0;
  #closed = false;
  #started = false;
  #state: StreamState | undefined;
  /** The connection whose end was asked for by reconnect() (not a failure). */
  #requested: AbortController | undefined;
  /** When the pending timer (retry, or read deadline) is due; check() acts on it once it is OVERDUE_MS late. */
  #dueAt = Number.POSITIVE_INFINITY;

  constructor(options: GateStreamOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#backoff = {
      initialMs: options.backoff?.initialMs ?? STREAM_DEFAULTS.backoff.initialMs,
      maxMs: options.backoff?.maxMs ?? STREAM_DEFAULTS.backoff.maxMs,
    };
    this.#last = options.after ?? null;
  }

  /** The seq of the last event applied (null before the first). */
  get last(): number | null {
    return this.#last;
  }

  get state(): StreamState | undefined {
    return this.#state;
  }

  /** Opens the connection (once; later calls do nothing). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    void this.#connect();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#retry);
    this.#dueAt = Number.POSITIVE_INFINITY;
    this.#controller?.abort(new Error("closed"));
    this.#set("stopped", { reason: "closed" });
  }

  /** Drops the connection as a failure would (a test's forced disconnect, or a gap): it reconnects with backoff. */
  drop(reason = "dropped"): void {
    this.#controller?.abort(new Error(reason));
  }

  /**
   * Drops the open connection to resume after the last event, as asked (a config reload, a test): not a failure, so it
   * neither counts toward `maxFailures` nor grows the backoff; the new connection waits the first backoff delay (half
   * to all of `backoff.initialMs`, so many clients asked at once do not reconnect at once). A stream already
   * reconnecting or polling keeps its schedule; a connection being opened is opened again.
   */
  reconnect(): void {
    const c = this.#controller;
    if (c === undefined || c.signal.aborted || this.#closed) return;
    this.#requested = c;
    c.abort(new Error("reconnect requested"));
  }

  /**
   * The server answered a poll of the gate (the stream client calls this after each answered poll while the gate
   * polls). A stream polling since `maxFailures` failures takes it for the server being up again and tries the stream
   * after the first backoff delay (half to all of `backoff.initialMs`, so a fleet polling a restarted server does not
   * reconnect at once), instead of waiting out `recoveryMs`: once, and after a failed try only when the wait before the
   * next is up (`backoff.initialMs` doubling with each failed try, up to `recoveryMs`, and never before a
   * `Retry-After`). Does nothing otherwise (open, reconnecting, a try under way, or polling on a 404, 429 or 501,
   * which keeps its `recoveryMs` or `Retry-After`). Returns whether a try was set.
   */
  polled(): boolean {
    if (this.#closed || this.#state !== "polling" || this.#retry === undefined || this.#now() < this.#tryFrom) return false;
    this.#tryFrom = Number.POSITIVE_INFINITY;
    this.#set("reconnecting", { reason: POLL_ANSWERED });
    this.#schedule(backoffDelay(this.#backoff, 1, this.#random));
    return true;
  }

  /**
   * Does now what a lost timer should have done: a retry OVERDUE_MS past due connects, a connection silent OVERDUE_MS
   * past `readTimeoutMs` is given up (and reconnects). Cheap and a no-op while the timers run (Node, browsers); the
   * client calls it on each read of the gate, which is what moves a stream on in a Worker, where the timers of a
   * request that has ended never fire.
   */
  check(): void {
    if (this.#closed || !this.#started || this.#now() < this.#dueAt + OVERDUE_MS) return;
    this.#dueAt = Number.POSITIVE_INFINITY;
    const c = this.#controller;
    if (this.#retry !== undefined) {
      clearTimeout(this.#retry);
      this.#retry = undefined;
      void this.#connect();
    } else if (c !== undefined && !c.signal.aborted) {
      c.abort(new Error(`no byte within ${this.#o.readTimeoutMs ?? STREAM_DEFAULTS.readTimeoutMs} ms`));
    }
  }

  #set(state: StreamState, detail: { status?: number; reason: string }): void {
    this.#state = state;
    try {
      this.#o.onState?.(state, { ...detail, after: this.#last });
    } catch {
      // A listener's bug must not stop the stream (a throw here would leave it reconnecting with no retry armed).
    }
  }

  #arm(controller: AbortController): void {
    clearTimeout(this.#timer);
    const ms = this.#o.readTimeoutMs ?? STREAM_DEFAULTS.readTimeoutMs;
    this.#dueAt = this.#now() + ms;
    this.#timer = startTimer(() => controller.abort(new Error(`no byte within ${ms} ms`)), ms);
  }

  /** Runs `connect` after `ms` as the one pending retry. */
  #schedule(ms: number): void {
    clearTimeout(this.#retry);
    this.#dueAt = this.#now() + ms;
    this.#retry = startTimer(() => {
      this.#retry = undefined;
      void this.#connect();
    }, ms);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const controller = new AbortController();
    this.#controller = controller;
    const aborted = abortion(controller.signal);
    const headers: Record<string, string> = { ...this.#o.headers(), accept: "text/event-stream", "cache-control": "no-store" };
    if (this.#last !== null) headers["last-event-id"] = String(this.#last);
    this.#arm(controller);
    let outcome: { status?: number; reason: string; retryAfterMs?: number | undefined };
    try {
      const pending = this.#o.fetch(this.#o.url, { headers, signal: controller.signal });
      // an answer that comes after the deadline is nobody's: free its connection
      aborted.catch(() =>
        pending.then(
          (r) => r.body?.cancel().catch(() => {}),
          () => {},
        ),
      );
      const response = await Promise.race([pending, aborted]);
      if (response.status === 401 || response.status === 403) {
        await response.body?.cancel();
        clearTimeout(this.#timer);
        this.#closed = true;
        this.#set("stopped", { status: response.status, reason: `${response.status}: the token is refused` });
        return;
      }
      const type = response.headers.get("content-type") ?? "";
      if (response.status !== 200 || !type.startsWith("text/event-stream") || response.body === null) {
        // the server's own words (a 404 says whether the gate or the route is missing), within the read deadline
        let said = "";
        if (type.includes("json")) said = await Promise.race([serverMessage(response), aborted]);
        else await response.body?.cancel();
        const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), this.#now());
        if (FALLBACK_STATUSES.has(response.status)) {
          clearTimeout(this.#timer);
          if (this.#closed) return;
          return this.#fallback({ status: response.status, reason: `${response.status}${said}: polling instead` }, retryAfterMs);
        }
        outcome = { status: response.status, reason: `${response.status} ${type || "without a content type"}`, retryAfterMs };
      } else outcome = await this.#read(response.body, controller, aborted);
    } catch (e) {
      outcome = { reason: errorText(controller.signal.reason ?? e) };
    }
    clearTimeout(this.#timer);
    this.#dueAt = Number.POSITIVE_INFINITY;
    if (this.#closed) return;
    this.#failed(outcome, this.#requested === controller);
  }

  /** Reads frames until the stream ends or is aborted; resolves with why it ended. */
  async #read(body: ReadableStream<Uint8Array>, controller: AbortController, aborted: Promise<never>): Promise<{ reason: string }> {
    this.#openedAt = this.#now();
    this.#set("open", { reason: this.#last === null ? "connected" : `resumed after ${this.#last}` });
    const decoder = new TextDecoder();
    let gap: string | undefined;
    const parser = new SseParser(
      (frame) => {
        if (gap === undefined) gap = this.#frame(frame);
        if (gap !== undefined) controller.abort(new Error(gap));
      },
      (ms) => {
        this.#backoff.initialMs = Math.max(ms, 1);
      },
    );
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await Promise.race([reader.read(), aborted]);
        if (done) return { reason: "the server closed the stream" };
        this.#arm(controller);
        parser.push(decoder.decode(value, { stream: true }));
      }
    } catch (e) {
      return { reason: errorText(controller.signal.reason ?? e) };
    } finally {
      // cancelling settles a read still pending (a body that ignores the signal) and frees the connection
      if (controller.signal.aborted) reader.cancel(controller.signal.reason).catch(() => {});
      try {
        reader.releaseLock();
      } catch {
        // a runtime that refuses to release a reader with a pending read: the cancel above ends it
      }
    }
  }

  /** Applies one frame; returns why the stream must be resumed (a gap), or undefined. */
  #frame(frame: SseFrame): string | undefined {
    let data: Partial<GateEvent> & { head_seq?: number };
    try {
      data = JSON.parse(frame.data) as typeof data;
    } catch {
      return `unreadable ${frame.event} frame`;
    }
    if (frame.event === "heartbeat") {
      const head = data.head_seq;
      if (typeof head === "number" && head > (this.#last ?? 0)) return `gap: the gate is at ${head}, this stream at ${this.#last ?? 0}`;
      if (typeof head === "number" && this.#last !== null && head < this.#last) {
        // a new history: reconnecting without Last-Event-ID makes the server send its current state as a snapshot
        const lastSeq = this.#last;
        this.#last = null;
        this.#restarted({ lastSeq, headSeq: head });
        return `${HISTORY_RESTARTED}: the gate is at ${head}, this stream was at ${lastSeq}`;
      }
      this.#o.onHeartbeat?.(head ?? 0);
      return undefined;
    }
    if (frame.event !== "gate" && frame.event !== "snapshot") return undefined;
    if (data.v !== 1 || typeof data.seq !== "number" || typeof data.prev_seq !== "number") return `unknown event version ${String(data.v)}`;
    const snapshot = frame.event === "snapshot";
    // a snapshot is the server's whole state: applied whatever its seq; one below the last seq starts a new history
    if (snapshot && this.#last !== null && data.seq < this.#last) this.#restarted({ lastSeq: this.#last, headSeq: data.seq });
    else if (this.#last !== null && data.seq <= this.#last && !snapshot) return undefined;
    if (!snapshot && this.#last !== null && data.prev_seq !== this.#last)
      return `gap: event ${data.seq} follows ${data.prev_seq}, this stream is at ${this.#last}`;
    this.#last = data.seq;
    this.#o.onEvent(data as GateEvent, snapshot);
    return undefined;
  }

  #restarted(restart: HistoryRestart): void {
    try {
      this.#o.onRestart?.(restart);
    } catch {
      // a listener's bug must not stop the stream
    }
  }

  #failed(outcome: { status?: number; reason: string; retryAfterMs?: number | undefined }, requested: boolean): void {
    const now = this.#now();
    if (this.#openedAt > 0 && now - this.#openedAt >= STREAM_DEFAULTS.resetAfterMs) {
      this.#consecutive = 0;
      this.#failures = [];
      this.#trial = false;
      this.#tries = 0;
    }
    this.#openedAt = 0;
    if (requested) {
      // asked for, not a failure: neither counted nor backed off beyond the first delay
      this.#set("reconnecting", outcome);
      this.#schedule(backoffDelay(this.#backoff, 1, this.#random));
      return;
    }
    if (outcome.reason.startsWith(HISTORY_RESTARTED)) {
      // the connection is fine, the position was not: fetch the new history's state at once, as no failure
      this.#set("reconnecting", outcome);
      this.#schedule(0);
      return;
    }
    // A gap is resumed at once: the connection is fine, only an event is missing.
    const gap = outcome.reason.startsWith("gap");
    if (this.#trial && !gap) {
      // a try from polling failed: back to polling, the next try waits twice as long
      this.#tries += 1;
      this.#fallback(outcome, outcome.retryAfterMs, true);
      return;
    }
    const windowMs = this.#o.failureWindowMs ?? STREAM_DEFAULTS.failureWindowMs;
    this.#failures = this.#failures.filter((t) => now - t < windowMs);
    this.#failures.push(now);
    if (this.#failures.length >= (this.#o.maxFailures ?? STREAM_DEFAULTS.maxFailures)) {
      this.#fallback(outcome, outcome.retryAfterMs, true);
      return;
    }
    this.#consecutive += 1;
    const delay = gap ? 0 : backoffDelay(this.#backoff, this.#consecutive, this.#random, outcome.retryAfterMs);
    this.#set("reconnecting", outcome);
    this.#schedule(delay);
  }

  /**
   * Polls, and tries the stream again after `recoveryMs` (or `Retry-After`, when later). `failed`: on failures (not a
   * 404, 429 or 501): a poll the server answers may bring the try sooner (polled()), and the try is a trial.
   */
  #fallback(outcome: { status?: number; reason: string }, retryAfterMs: number | undefined, failed = false): void {
    this.#failures = [];
    this.#consecutive = 0;
    const recoveryMs = this.#o.recoveryMs ?? STREAM_DEFAULTS.recoveryMs;
    this.#tryFrom = Number.POSITIVE_INFINITY;
    if (failed) {
      this.#trial = true;
      const wait = this.#tries === 0 ? 0 : Math.min(recoveryMs, this.#backoff.initialMs * 2 ** (this.#tries - 1));
      this.#tryFrom = this.#now() + Math.max(wait, retryAfterMs ?? 0);
    }
    this.#set("polling", outcome);
    this.#schedule(Math.max(retryAfterMs ?? 0, recoveryMs));
  }
}

/** " not_found: no gate ... did you mean ...?" from a JSON error body; "" for any other body. */
async function serverMessage(response: Response): Promise<string> {
  try {
    const [code, message] = serverWords(await response.json());
    const said = code === undefined ? "" : ` ${code}`;
    return message === undefined ? said : `${said}: ${message}`;
  } catch {
    return "";
  }
}

/** An error's message, with its cause's code when it has one (Node's `fetch failed` says why only there: ECONNREFUSED). */
function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e.cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? `${e.message} (${code})` : e.message;
}

/** A promise that rejects with the signal's reason when it aborts, to race against what might ignore the signal. */
function abortion(signal: AbortSignal): Promise<never> {
  const p = new Promise<never>((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  p.catch(() => {}); // only ever raced: its rejection alone is not an error
  return p;
}
