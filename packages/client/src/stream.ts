/**
 * @scoregate/client/stream: the client with pushed changes. `new ScoregateClient({ ..., stream: true })` subscribes to
 * each gate it reads (GET /v1/events, Server-Sent Events over `fetch`, so it runs in Node 20+, browsers and, when
 * asked, Workers) and applies every pushed state to the same cache the ETag poller feeds, emitting the same
 * `calibration` events plus a `gate` event per change. A dead or refused stream falls back to polling and comes back
 * (after failures, as soon as a poll is answered: the server is up again).
 * A separate entry, so the core stays within its size budget for those who poll. docs/clients.md, "Pushed changes".
 */
import { confirm, type Entry, gateKey, markUncalibrated, seqOf, take, versionOf } from "./cache-entry";
import { ScoregateClient as CoreClient } from "./client";
import { checkNumber, MAX_TIMER_MS, optionError } from "./client-options";
import { GateStream, STREAM_DEFAULTS, type StreamState } from "./gate-stream";
import { readThresholdResponse } from "./threshold-response";
import type { ClientEvent, GateEvent, GateKey, GetThresholdOptions, ScoregateClientOptions, StreamOptions, ThresholdResult } from "./types";

export {
  GateStream,
  type GateStreamOptions,
  HISTORY_RESTARTED,
  type HistoryRestart,
  OVERDUE_MS,
  POLL_ANSWERED,
  STREAM_DEFAULTS,
  type StreamState,
} from "./gate-stream";
export * from "./index";
export { type SseFrame, SseParser } from "./sse-parser";
export type { StreamOptions } from "./types";

/** Path of the pushed changes of a gate named by index, embedding and reranker (ROUTES in src/contract/routes.ts). */
export const EVENTS_PATH = "/v1/events";

/** The events URL of a gate (its index, embedding and reranker). */
export function eventsUrl(baseUrl: string, gate: GateKey): string {
  const params = new URLSearchParams();
  if (gate.index !== undefined) params.set("index", gate.index);
  params.set("embedding", gate.embedding);
  params.set("reranker", gate.reranker);
  return `${baseUrl.replace(/\/+$/u, "")}${EVENTS_PATH}?${params}`;
}

/**
 * A gate's stream saw the server's event seq go back below the last event it applied (`lastSeq`; `headSeq` the
 * server's newest): the server's history restarted (a reset local state, or a restored database). The client has
 * dropped what it held as that history's state: the gate's value is `stale` until the server's current state arrives
 * (a snapshot over the stream, or the poll its next read starts), which is then served even though its seq is lower.
 */
export interface HistoryRestartedEvent {
  type: "history_restarted";
  gate: GateKey;
  lastSeq: number;
  headSeq: number;
}

/** What a listener of the streaming client hears: the core client's events, and `history_restarted`. */
export type StreamClientEvent = ClientEvent | HistoryRestartedEvent;

export interface StreamClientOptions extends ScoregateClientOptions {
  /**
   * Subscribe to each gate's pushed changes instead of polling it, falling back to polling when the stream fails
   * (default off). Gates pinned to an index version always poll (the server pushes a gate's current state).
   */
  stream?: boolean | StreamOptions;
}

/**
 * The SDK's client, plus pushed changes when `stream` is on: the first read of a gate opens its stream (at most
 * `maxGates` streams; further gates poll). While a gate's stream is healthy its value counts as fresh (`cached`) and
 * the poller stays idle; every event replaces the cached state at once.
 */
export class ScoregateClient extends CoreClient {
  readonly #streams = new Map<string, GateStream>();
  readonly #options: StreamOptions | undefined;
  readonly #base: StreamClientOptions;
  /** The polls already followed by a stream that polls (a poll joined by many reads is followed once). */
  readonly #polls = new WeakSet<Promise<void>>();
  /** The polls already watched for the lifetime they set (#keep). */
  readonly #kept = new WeakSet<Promise<void>>();
  /** Until when a gate's stream vouched for its entry (its last event or heartbeat plus the read timeout). */
  readonly #vouched = new WeakMap<Entry, number>();
  #closed = false;

  constructor(options: StreamClientOptions) {
    // The core client refuses `stream` (it would poll without a sign): it is this entry's.
    const { stream: _, ...core } = options;
    super(core);
    this.#base = options;
    const s = options.stream;
    // null, as undefined, is no stream; a string ("false" from an environment variable) would read as on: refused
    if (s != null && typeof s !== "boolean" && typeof s !== "object") optionError(`stream ${JSON.stringify(s)} is not true, false or stream options`);
    if (typeof s === "object" && s !== null) {
      // numbers as the core's options are checked: a NaN read timeout reconnected over and over without a word
      for (const [name, v, min, max] of [
        ["stream.maxGates", s.maxGates, 1, Infinity],
        ["stream.readTimeoutMs", s.readTimeoutMs, 1, MAX_TIMER_MS],
        ["stream.backoff.initialMs", s.backoff?.initialMs, 1, MAX_TIMER_MS],
        ["stream.backoff.maxMs", s.backoff?.maxMs, 1, MAX_TIMER_MS],
        ["stream.maxFailures", s.maxFailures, 1, Infinity],
        ["stream.failureWindowMs", s.failureWindowMs, 1, Infinity],
        ["stream.recoveryMs", s.recoveryMs, 1, MAX_TIMER_MS],
      ] as const)
        checkNumber(name, v, min, max);
    }
    const inWorkers = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === "Cloudflare-Workers";
    const on = s != null && s !== false && (!inWorkers || (s !== true && s.inWorkers === true));
    this.#options = on ? (s === true ? {} : s) : undefined;
  }

  override getThreshold(gate: GateKey, options: GetThresholdOptions): Promise<ThresholdResult> {
    const stream = this.#options !== undefined && versionOf(gate) === undefined ? this.#watch(gate, this.#options) : undefined;
    const answer = super.getThreshold(gate, options);
    if (stream !== undefined) this.#keep(gate, stream);
    if (stream?.state === "polling") this.#follow(gate, stream);
    return answer;
  }

  /**
   * The poll this read started or joined for a streamed gate: its answer, when no newer (by seq) than the last event
   * the stream applied, does not shorten the lifetime the stream gave the entry. A cold read's poll answered after the
   * stream's snapshot would otherwise take the HTTP max-age (5 s) instead of the read timeout, and the gate would poll
   * every 5 s, with the stream open, until the first heartbeat.
   */
  #keep(gate: GateKey, stream: GateStream): void {
    const entry = this._internals()[0].get(gateKey(gate));
    const poll = entry?.inflight?.promise;
    if (entry === undefined || poll === undefined || this.#kept.has(poll)) return;
    this.#kept.add(poll);
    poll.then(
      () => {
        const until = this.#vouched.get(entry) ?? 0;
        if (seqOf(entry.etag) <= (stream.last ?? -1) && entry.fetchedAt + entry.maxAgeMs < until) entry.maxAgeMs = until - entry.fetchedAt;
      },
      () => {},
    );
  }

  /**
   * The poll this read started or joined for a gate whose stream polls: once the server has answered it (a value, a
   * 304 or `uncalibrated`: not a failure), the stream is told, and after failures it tries again (GateStream.polled)
   * rather than after `recoveryMs`, so a server back from a restart is streamed again within about a poll.
   */
  #follow(gate: GateKey, stream: GateStream): void {
    const entry = this._internals()[0].get(gateKey(gate));
    const poll = entry?.inflight?.promise;
    if (entry === undefined || poll === undefined || this.#polls.has(poll)) return;
    this.#polls.add(poll);
    poll.then(
      () => {
        if (entry.lastError === undefined && this.authError === undefined) stream.polled();
      },
      () => {},
    );
  }

  /**
   * Listens to the core client's events and, from a gate's streams, `history_restarted`; returns the unsubscribe
   * function. A listener typed for the core's ClientEvent is accepted too (it hears `history_restarted` as an event
   * type it does not know, as any listener may when events are added).
   */
  override subscribe(listener: (event: ClientEvent) => void): () => void;
  override subscribe(listener: (event: StreamClientEvent) => void): () => void;
  override subscribe(listener: (event: ClientEvent) => void): () => void {
    return super.subscribe(listener);
  }

  /** Also closes every stream; a gate read after it polls and opens none. */
  override close() {
    this.#closed = true;
    for (const s of this.#streams.values()) s.close();
    return super.close();
  }

  /** The state of each open stream, by gate (for health checks and tests). */
  streams(): { gate: GateKey; state: StreamState | undefined; last: number | null }[] {
    return [...this.#streams.entries()].map(([k, s]) => ({ gate: gateOf(k), state: s.state, last: s.last }));
  }

  /**
   * Drops every open stream; each reconnects after the first backoff delay and resumes after its last event. Not a
   * failure (GateStream.reconnect): asked for as often as you like, it never switches a gate to polling.
   */
  reconnect(): void {
    for (const s of this.#streams.values()) s.reconnect();
  }

  /** Opens the gate's stream on its first read (within `maxGates`); returns it, or undefined when the gate polls. */
  #watch(gate: GateKey, options: StreamOptions): GateStream | undefined {
    if (this.#closed) return undefined;
    const key = gateKey(gate);
    const existing = this.#streams.get(key);
    // a read is what moves a stream on where its timers were dropped (a Worker's ended request): GateStream.check
    if (existing !== undefined) {
      existing.check();
      return existing;
    }
    if (this.#streams.size >= (options.maxGates ?? STREAM_DEFAULTS.maxGates)) return undefined;
    const readTimeoutMs = options.readTimeoutMs ?? STREAM_DEFAULTS.readTimeoutMs;
    const b = this.#base;
    // After a restarted history, until the new state arrives: heartbeats do not confirm the old value, and the new
    // history's first event (its snapshot) replaces it whatever its seq.
    let resync = false;
    const stream = new GateStream({
      ...options,
      url: eventsUrl(b.baseUrl, gate),
      headers: () => ({ authorization: `Bearer ${b.token}`, "user-agent": this.userAgent }),
      fetch: (input, init) => (b.fetch ?? globalThis.fetch)(input, init),
      ...(b.now === undefined ? {} : { now: b.now }),
      ...(b.random === undefined ? {} : { random: b.random }),
      onEvent: (event, snapshot) => {
        this.#pushed(gate, event, readTimeoutMs, resync, snapshot);
        resync = false;
      },
      onHeartbeat: (head) => {
        // until the entry holds a state of the new history (a snapshot, or a poll's answer), it is not confirmed
        if (resync && seqOf(this._internals()[0].get(key)?.etag) > head) return;
        resync = false;
        this.#pushed(gate, null, readTimeoutMs);
      },
      onRestart: ({ lastSeq, headSeq }) => {
        resync = true;
        // stale at once: a read meanwhile polls the server, whose answer is taken even with a lower seq
        this.#pushed(gate, null, 0);
        const event: HistoryRestartedEvent = { type: "history_restarted", gate: { ...gate }, lastSeq, headSeq };
        // the core's emit passes an event to its listeners as it is; this entry's listeners are typed to take it
        this._internals()[2](event as unknown as ClientEvent);
      },
      onState: (state) => {
        // a failed-over gate is polled from its next read on
        if (state === "polling" || state === "stopped") this.#pushed(gate, null, 0);
      },
    });
    this.#streams.set(key, stream);
    stream.start();
    return stream;
  }

  /** pushed(), and until when the stream vouched for the entry (none after `null, 0`: it polls now). */
  #pushed(gate: GateKey, event: GateEvent | null, maxAgeMs: number, restarted = false, snapshot = false): void {
    const entry = pushed(this, gate, event, maxAgeMs, restarted, snapshot);
    if (entry !== undefined) this.#vouched.set(entry, maxAgeMs > 0 ? entry.fetchedAt + maxAgeMs : 0);
  }
}

/**
 * A pushed event applied to the client's cache. Its full state replaces the gate's entry as a 200 with its ETag would
 * (an event older than the entry's ETag is ignored), then the event is announced; `event` null only confirms the entry
 * (a heartbeat). Either way the entry counts as fresh for `maxAgeMs` (the stream's read timeout); `null, 0` marks it
 * stale, so the next read polls (the stream failed over to polling, or its history restarted). `restarted`: the first
 * event of a restarted history, taken even when its seq is below the entry's ETag (that seq was the old history's).
 * `snapshot`: the server's current state sent at connect (its last change, perhaps long ago), not a change just pushed.
 * Returns the entry whose lifetime it set (undefined: nothing applied).
 */
function pushed(
  client: CoreClient,
  gate: GateKey,
  event: GateEvent | null,
  maxAgeMs: number,
  restarted = false,
  snapshot = false,
): Entry | undefined {
  const [entries, options, emit] = client._internals();
  const entry = entries.get(gateKey(gate));
  if (entry === undefined || (event !== null && !restarted && event.seq < seqOf(entry.etag))) return undefined;
  const now = options.now();
  if (event === null) {
    if (maxAgeMs > 0) emit(confirm(entry, null, now));
  } else if (event.served === null) {
    emit(markUncalibrated(entry, null, now));
    // its seq kept as an ETag, so an older poll answer cannot undo it and the next poll tells the server what it saw
    entry.etag = `"${event.calibration_id}.${event.seq}"`;
  } else {
    const value = readThresholdResponse(event.served);
    if (value === undefined) return undefined;
    emit(take(entry, value, `"${value.calibration_id}.${event.seq}"`, null, now));
  }
  if (event !== null) emit({ type: "gate", gate: entry.gate, event, snapshot });
  entry.maxAgeMs = maxAgeMs;
  return entry;
}

function gateOf(key: string): GateKey {
  const [index, embedding, reranker] = JSON.parse(key) as [string, string, string];
  return { index, embedding, reranker };
}
