/**
 * The threshold cache: never blocks a caller once it holds a value, shares one request among concurrent callers,
 * revalidates with If-None-Match, follows the server's Cache-Control, backs off with jitter on failure and stops on a
 * refused token. Nothing runs at construction: the first call starts the work (workerd forbids timers, fetch and
 * randomness at module scope, where a client is usually created). docs/clients.md describes the behaviour.
 *
 * This class holds the cache and sends the requests; the parts live beside it: an entry's states and what each server
 * answer does to them (cache-entry.ts), the answers callers get (threshold-result.ts), the options and User-Agent
 * (client-options.ts), observation batching (observations.ts), HTTP details (http.ts). Snapshots and adding products to
 * the User-Agent are opt-in entries (snapshot.ts, adapter.ts) that reach this cache through `_internals`.
 */
// The contract modules imported here (limits, wire-types) import no zod: its schemas stay out of the bundle and zod
// out of the published types (docs/architecture.md, "How the contract travels with the clients").
// The per-query rule, bundled from the pure core: the server counts what a gate does with the very same code, so the
// client and the server's statistics cannot drift apart (fixtures/guarded-gate.json pins it for the Python client).
import { decideQuery, isScored, type QueryDecision } from "../../../src/stats/guard-rule";
import {
  type Announced,
  type Entry,
  evictOldest,
  gateKey,
  isFresh,
  isGateKey,
  isUsable,
  markFailed,
  markUncalibrated,
  newEntry,
  notModified,
  seqOf,
  take,
  wireGate,
} from "./cache-entry";
import { CLIENT_PRODUCT, type ResolvedOptions, resolveOptions } from "./client-options";
import { boundedFetch, clientError, describeFailure, handTo, parseRetryAfter, timeoutError, waitAtMost } from "./http";
import { ObservationReporter } from "./observations";
import { readThresholdResponse, type Served } from "./threshold-response";
import { fallbackResult, servedResult } from "./threshold-result";
import type {
  ClientError,
  ClientEvent,
  FlushResult,
  GateKey,
  GateOptions,
  GateResult,
  GetThresholdOptions,
  Observation,
  ObservationStats,
  ScoregateClientOptions,
  ThresholdResult,
} from "./types";

/**
 * Paths of GET /v1/threshold and POST /v1/observations: ROUTES in src/contract/routes.ts, whose runtime value would
 * bring the zod schemas into the bundle; tests keep them equal.
 */
export const THRESHOLD_PATH = "/v1/threshold";
export const OBSERVATIONS_PATH = "/v1/observations";

export class ScoregateClient {
  readonly #options: ResolvedOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<(event: ClientEvent) => void>();
  readonly #reporter: ObservationReporter;
  /** Set by a 401/403: the token is wrong, so no request is sent again (retrying forever helps nobody). */
  #authError: ClientError | undefined;
  #userAgent = CLIENT_PRODUCT;

  constructor(options: ScoregateClientOptions) {
    this.#options = resolveOptions(options);
    this.#reporter = new ObservationReporter({
      ...this.#options,
      send: (body) => this.#send(OBSERVATIONS_PATH, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
      isStopped: () => this.#authError,
      onAuthError: (e) => this.#stopOnAuth(null, e),
      onIgnored: (reason) => this.#emit({ type: "report_ignored", reason }),
      options: options.observations,
    });
  }

  /**
   * The threshold of a gate, never throwing. With a value in memory it answers at once (refreshing in the background
   * when the value is past max-age); with none it waits for the server at most `timeoutMs` and otherwise answers
   * the fallback.
   */
  async getThreshold(gate: GateKey, options: GetThresholdOptions): Promise<ThresholdResult> {
    // JavaScript callers can omit the options: no fallback, so null (docs/clients.md, "Failure behaviour").
    options ??= {} as GetThresholdOptions;
    // Nor may a gate without its two model names throw, or be sent as "undefined" and refused on every call.
    if (!isGateKey(gate)) return fallbackResult(options.fallback, clientError("bad_request", "the gate needs embedding and reranker strings"));
    const [entry, fresh, started] = this.#read(gate, options.waitUntil);
    if (fresh !== undefined) return servedResult(entry, options, fresh ? "cached" : "stale", this.#authError);
    // A caller's own wait: at most the request's timeout, which ends the request it waits for anyway (a larger value,
    // Infinity included, would overflow the timer and fire at once); anything but a number from 0 is that timeout.
    // (null, false, "" and [] compare as 0 and "300" as 300: only a number counts)
    const own = options.timeoutMs;
    const waitMs = typeof own === "number" && own >= 0 ? Math.min(own, this.#options.timeoutMs) : this.#options.timeoutMs;
    if (started !== undefined) {
      if (!(await waitAtMost(started, waitMs, options.signal)))
        return fallbackResult(
          options.fallback,
          options.signal?.aborted ? clientError("aborted", "the caller stopped waiting") : timeoutError(waitMs),
        );
      // The request this call waited for answered (a value, or the gate is uncalibrated) without a failure.
      if (entry.lastError === undefined && (entry.uncalibrated || (entry.value !== undefined && !entry.bootstrapped)))
        return servedResult(entry, options, "calibrated", this.#authError);
    }
    // Nothing usable and no request may be sent now (backoff, refused token), or the request failed.
    return fallbackResult(options.fallback, this.#authError ?? entry.lastError);
  }

  /**
   * Applies the gate as src/stats/guard-rule.ts states it: keeps `score >= threshold` (null keeps everything) within
   * the served guards (at least the top `minKeep`, at most `maxKeep`), and withholds every candidate when the query's
   * top score is below `abstainBelow` (`abstain: true`, with the reason). Reports the query's counts when a
   * calibration produced the threshold. Returns which calibration decided, so the caller can log it.
   */
  async gate<T>(candidates: readonly T[], options: GateOptions<T>): Promise<GateResult<T>> {
    // JavaScript callers can omit the options: the gate is then missing, so nothing is dropped nor reported.
    options ??= {} as GateOptions<T>;
    // Nor may candidates that are not an array (a reranker wrapper's null on its own failure): none, and why; nor a
    // score that is not a function (the Python client's `score="score"`), which would keep every candidate unscored.
    // `served`: a getThreshold() answer, not a gate() result nor anything else (null: none), as the Python client's
    const s = options.served;
    const bad = !Array.isArray(candidates)
      ? `candidates must be an array (got ${typeOf(candidates)})`
      : typeof options.score !== "function"
        ? `score must be a function (c) => number (got ${typeOf(options.score)})`
        : s != null && !(s.guards && !("kept" in s))
          ? "served must be the answer of getThreshold()"
          : "";
    if (!Array.isArray(candidates)) candidates = [];
    const t = bad ? fallbackResult(options.fallback, clientError("bad_request", bad)) : (s ?? (await this.getThreshold(options.gate, options)));
    const policy = { ...t.guards, threshold: t.threshold, abstainBelow: t.abstainBelow };
    const values = scoresOf(candidates, options.score);
    const d = decideQuery(values, policy, options.unscored ?? "keep");
    if (options.report !== false && t.calibrationId !== null && candidates.length > 0) {
      const observation = countsOf(
        t.calibrationId,
        candidates.length,
        d,
        t.guards.minKeep > 0 || t.guards.maxKeep !== null || t.abstainBelow !== null,
      );
      observation.gate = options.gate;
      const scores = options.reportScores === true ? values.filter(isScored) : [];
      if (scores.length > 0) observation.scores = scores;
      if (t.promotion !== undefined) observation.promotion = t.promotion;
      this.report(observation, options);
    }
    // The threshold answer's fields (its error and promotion when it has them) but the two a gate result does not carry.
    const { expectedDropRate: _rate, fetchedAt: _at, ...served } = t;
    const result = {
      ...served,
      kept: candidates.filter((_, i) => d.kept[i]),
      dropped: candidates.filter((_, i) => !d.kept[i]),
      topScore: d.topScore,
      unscored: d.unscored,
    };
    return d.abstain
      ? { ...result, abstain: true, abstainReason: `top score ${d.topScore} is below abstain_below ${t.abstainBelow}` }
      : { ...result, abstain: false };
  }

  /**
   * The door of `@scoregate/client/shadow` into this cache (not for applications): reads the gate's entry as
   * `getThreshold` does (touched as most recently used; a stale value starts its revalidation) and answers the served
   * body while it is usable, else undefined, handing a request it had to start to `waitUntil`.
   * @internal
   */
  _served(gate: GateKey, waitUntil?: GetThresholdOptions["waitUntil"]): Served | undefined {
    const [entry, fresh, started] = this.#read(gate, waitUntil);
    this.#handOff(started, waitUntil);
    return fresh === undefined ? undefined : entry.value;
  }

  /** Queues one query's counts for POST /v1/observations (batched; never throws, never waits). */
  report(observation: Observation, options: { waitUntil?: (p: Promise<unknown>) => void } = {}): void {
    this.#reporter.report(observation, options?.waitUntil ?? this.#options.waitUntil);
  }

  /** Sends every queued observation now (one attempt per batch, up to a timeout, a slow failure or a second unanswered batch in a row; failures stay queued). */
  flush(): Promise<FlushResult> {
    return this.#reporter.flush();
  }

  /** Flushes, stops the timers and any stream; later reports are ignored and counted. */
  close(): Promise<FlushResult> {
    return this.#reporter.close();
  }

  observationStats(): ObservationStats {
    return this.#reporter.stats();
  }

  /** Listens to calibration changes, uncalibrated answers, errors and recoveries; returns the unsubscribe function. */
  subscribe(listener: (event: ClientEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The refused-token error once a 401/403 stopped the client, else undefined. */
  get authError(): ClientError | undefined {
    return this.#authError;
  }

  /**
   * The `User-Agent` this client sends: its integrations' products (`addUserAgentProduct` of `@scoregate/client/adapter`),
   * then `scoregate-client/<version>`.
   */
  get userAgent(): string {
    return this.#userAgent;
  }

  /**
   * The one door of the other entries into this client (not for applications): its cache (least recently used first),
   * its resolved options (the clock, `maxGates`), its listeners, and its `User-Agent`. `@scoregate/client/snapshot`
   * reads and fills the cache, `@scoregate/client/stream` applies a pushed event to an entry with cache-entry.ts's
   * transitions and announces them (as #revalidate does for a 200), and `addUserAgentProduct`
   * (`@scoregate/client/adapter`, which checks the product) sets the `User-Agent`.
   * @internal
   */
  _internals(): [Map<string, Entry>, ResolvedOptions, emit: (events: Announced) => void, setUserAgent: (ua: string) => void] {
    return [
      this.#entries,
      this.#options,
      (e) => this.#emit(e),
      (ua) => {
        this.#userAgent = ua;
      },
    ];
  }

  // -------------------------------------------------------------------------------------------------------------

  /**
   * A read of the gate's entry, touched as most recently used: `fresh` true answers `cached`, false `stale` (its
   * revalidation then runs in the background); undefined: nothing usable, and `started` is the request to wait for
   * (undefined: none may be sent now).
   */
  #read(gate: GateKey, waitUntil: GetThresholdOptions["waitUntil"]): [Entry, boolean | undefined, Promise<void> | undefined] {
    const key = gateKey(gate);
    const now = this.#options.now();
    let entry = this.#entries.get(key);
    if (entry !== undefined) {
      // Least recently used order: re-insert on every read.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      if (isFresh(entry, now)) return [entry, true, undefined];
      if (isUsable(entry, now, this.#options.maxStaleMs)) {
        this.#handOff(this.#startRefresh(entry, now), waitUntil);
        return [entry, false, undefined];
      }
      if (entry.value !== undefined && !entry.bootstrapped) {
        // Past stale-if-error: the value is too old to serve.
        entry.value = undefined;
        entry.etag = null;
      }
    } else {
      entry = newEntry(gate, now);
      this.#entries.set(key, entry);
      evictOldest(this.#entries, this.#options.maxGates);
    }
    return [entry, undefined, this.#startRefresh(entry, now)];
  }

  /** Hands a request that started in the background (if any) to the call's `waitUntil`, else the client's. */
  #handOff(request: Promise<void> | undefined, waitUntil: GetThresholdOptions["waitUntil"]): void {
    if (request !== undefined) handTo(waitUntil ?? this.#options.waitUntil, request);
  }

  /**
   * Starts a request for the entry unless one is running (single flight), the token was refused, or a backoff is in
   * force. A request older than its own timeout is considered lost (its initiator was cancelled and its timer will
   * never fire, as in workerd) and a new one replaces it.
   */
  #startRefresh(entry: Entry, now: number): Promise<void> | undefined {
    if (this.#authError !== undefined) return undefined;
    if (entry.inflight !== undefined && now - entry.inflight.startedAt <= this.#options.timeoutMs + 1000) return entry.inflight.promise;
    if (entry.inflight === undefined && now < entry.nextAttemptAt) return undefined;
    const inflight = { promise: Promise.resolve(), startedAt: now };
    inflight.promise = this.#revalidate(entry).finally(() => {
      if (entry.inflight === inflight) entry.inflight = undefined;
    });
    entry.inflight = inflight;
    return inflight.promise;
  }

  async #revalidate(entry: Entry): Promise<void> {
    const params = new URLSearchParams(wireGate(entry.gate));
    const headers: Record<string, string> = { accept: "application/json" };
    // A pushed uncalibrated state has an ETag too (its seq): sent, so the server reads its record for a client ahead
    // of its copies.
    const sent = entry.etag;
    if (sent !== null) headers["if-none-match"] = sent;
    const outcome = await this.#send(`${THRESHOLD_PATH}?${params}`, { method: "GET", headers });
    const now = this.#options.now();
    if (outcome.kind === "failed") return this.#fail(entry, outcome.error, now);
    const { response, body } = outcome;
    const retryAfter = parseRetryAfter(response.headers.get("retry-after"), now);
    // A newer state arrived while this request was out (a pushed event): an answer older than it (a lagging replica)
    // is dropped, and the held state keeps its lifetimes. The next request sends the newer ETag, which the server
    // answers from its record. A value from a snapshot is not the server's word to this client: it never outranks one.
    const held = seqOf(entry.etag);
    const etag = response.headers.get("etag");
    const older = !entry.bootstrapped && held > seqOf(sent) && seqOf(etag) < held;
    if (response.status === 200) {
      const value = readThresholdResponse(body);
      if (value === undefined) return this.#fail(entry, clientError("bad_response", "200 without a valid threshold body", 200), now);
      return older ? undefined : this.#emit(take(entry, value, etag, response, now));
    }
    // A 304 vouches for the ETag sent only: for one no longer held (a newer state was pushed meanwhile) it confirms
    // nothing and renews nothing.
    if (response.status === 304 && (sent !== entry.etag || entry.value))
      return sent === entry.etag ? this.#emit(notModified(entry, response, now)) : undefined;
    const failure = describeFailure(response.status, body, retryAfter);
    if (failure.code === "uncalibrated") return older ? undefined : this.#emit(markUncalibrated(entry, response, now, failure));
    if (failure.code === "unauthorized" || failure.code === "forbidden") return this.#stopOnAuth(entry, failure);
    return this.#fail(entry, failure, now);
  }

  #fail(entry: Entry, error: ClientError, now: number): void {
    this.#emit(markFailed(entry, error, now, this.#options.backoff, this.#options.random));
  }

  #stopOnAuth(entry: Entry | null, error: ClientError): void {
    if (entry !== null) entry.lastError = error;
    if (this.#authError !== undefined) return;
    this.#authError = error;
    this.#emit({ type: "error", gate: entry?.gate ?? null, error });
  }

  /** Tells every listener (nothing when a transition had nothing to announce). */
  #emit(events: Announced): void {
    for (const event of [events].flat())
      if (event)
        for (const l of this.#listeners) {
          try {
            l(event);
          } catch {
            // A listener's bug must not break the cache.
          }
        }
  }

  /** A request to the server with the token, the client's `User-Agent` and its timeout. */
  #send(path: string, init: { method: string; headers: Record<string, string>; body?: string }) {
    const { token, baseUrl, timeoutMs } = this.#options;
    const headers = { ...init.headers, authorization: `Bearer ${token}`, "user-agent": this.#userAgent };
    return boundedFetch(this.#options.fetch ?? globalThis.fetch, `${baseUrl}${path}`, { ...init, headers }, timeoutMs);
  }
}

/** What a JavaScript value is, for a message: its type, or null. */
const typeOf = (v: unknown): string => (v === null ? "null" : typeof v);

/** Each candidate's score; a score function that throws leaves its candidate unscored (the hot path never throws). */
export const scoresOf = <T>(candidates: readonly T[], score: (c: T) => number | null | undefined) =>
  candidates.map((c) => {
    try {
      return score(c);
    } catch {
      return undefined; // unscored
    }
  });

/**
 * One query's counts for the calibration that gated it: the candidate gate's drops, before abstention (the drop-rate
 * monitor keeps watching the threshold). A guarded or abstaining calibration is also watched on where its guards bind
 * and how often queries abstain; a plain one gets the pair every server accepts. Candidates without a score are counted
 * apart (`unscored`, then the 5-element form): the other counts are then of the scored candidates only, whatever the
 * unscored mode did with the rest, so a reranker outage does not read as a fall of the drop rate. Without a guard,
 * `below` is the scored drops and the query never abstains.
 */
export function countsOf(calibrationId: string, candidates: number, d: QueryDecision, guarded: boolean): Observation {
  const u = d.unscored;
  // Without unscored candidates the scored drops are all the drops.
  const o: Observation = { calibrationId, candidates: candidates - u, dropped: d.droppedScored };
  if (guarded || u > 0) {
    o.below = d.below;
    o.abstained = d.abstain;
  }
  if (u > 0) o.unscored = u;
  return o;
}
