/**
 * The threshold cache: never blocks a caller once it holds a value, shares one request among concurrent callers,
 * revalidates with If-None-Match, follows the server's Cache-Control, backs off with jitter on failure and stops on a
 * refused token. Nothing runs at construction: the first call starts the work (workerd forbids timers, fetch and
 * randomness at module scope, where a client is usually created). docs/clients.md describes the behaviour.
 */
// The contract modules imported here (limits, wire-types) import no zod: its schemas stay out of the bundle and zod
// out of the published types (docs/architecture.md, "How the contract travels with the clients").
import { THRESHOLD_MAX_AGE_SECONDS, THRESHOLD_STALE_IF_ERROR_SECONDS, THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS } from "../../../src/contract/limits";
// The per-query rule, bundled from the pure core: the server counts what a gate does with the very same code, so the
// client and the server's statistics cannot drift apart (fixtures/guarded-gate.json pins it for the Python client).
import { decideQuery, isScored, type QueryDecision } from "../../../src/stats/guard-rule";
import { BASIS_POINTS, bucketOf } from "./assignment";
import type { ServedGate } from "../../../src/contract/wire-types";
import { readThresholdResponse, type Served } from "./threshold-response";
import { type BackoffPolicy, backoffDelay, boundedFetch, clientError, describeFailure, parseCacheControl, parseRetryAfter, startTimer } from "./http";
import { ObservationReporter } from "./observations";
import type {
  ClientError,
  ClientEvent,
  FlushResult,
  GateKey,
  GateOptions,
  GateResult,
  GateEvent,
  GetThresholdOptions,
  Observation,
  ObservationStats,
  PromotionRef,
  ScoregateClientOptions,
  ShadowOptions,
  Snapshot,
  ThresholdResult,
} from "./types";
// package.json is read at build time: the bundler inlines this one field, so the code names the version it ships as.
import { version } from "../package.json";

/**
 * Paths of GET /v1/threshold and POST /v1/observations: ROUTES in src/contract/routes.ts, whose runtime value would
 * bring the zod schemas into the bundle; tests keep them equal.
 */
export const THRESHOLD_PATH = "/v1/threshold";
export const OBSERVATIONS_PATH = "/v1/observations";

interface Entry {
  gate: GateKey;
  value?: Served | undefined;
  etag: string | null;
  /** When the server last confirmed the value (or the uncalibrated answer). */
  fetchedAt: number;
  maxAgeMs: number;
  staleIfErrorMs: number;
  /** Served from a snapshot until the server answers: always `stale`, never `cached`. */
  bootstrapped: boolean;
  uncalibrated: boolean;
  inflight?: { promise: Promise<void>; startedAt: number } | undefined;
  failures: number;
  nextAttemptAt: number;
  lastError?: ClientError;
}

const DEFAULT_TIMEOUT_MS = 2000;

/** What this package calls itself in `User-Agent`: `scoregate-client/<version>`. */
const CLIENT_PRODUCT = `scoregate-client/${version}`;
/** An HTTP product (RFC 9110, section 10.1.5): a token, optionally `/` and a version token. */
const PRODUCT = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\/[!#$%&'*+.^_`|~0-9A-Za-z-]+)?$/u;

export class ScoregateClient {
  readonly #baseUrl: string;
  readonly #token: string;
  readonly #fetch: typeof fetch | undefined;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #backoff: BackoffPolicy;
  readonly #maxStaleMs: number | undefined;
  readonly #waitUntil: ((p: Promise<unknown>) => void) | undefined;
  readonly #maxGates: number;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<(event: ClientEvent) => void>();
  readonly #reporter: ObservationReporter;
  /** Set by a 401/403: the token is wrong, so no request is sent again (retrying forever helps nobody). */
  #authError: ClientError | undefined;
  #userAgent = CLIENT_PRODUCT;

  constructor(options: ScoregateClientOptions) {
    if (typeof options.baseUrl !== "string" || options.baseUrl === "") throw new TypeError("ScoregateClient: baseUrl is required");
    if (typeof options.token !== "string" || options.token === "") throw new TypeError("ScoregateClient: token is required");
    this.#baseUrl = options.baseUrl.replace(/\/+$/u, "");
    this.#token = options.token;
    this.#fetch = options.fetch;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#backoff = { initialMs: options.backoff?.initialMs ?? 1000, maxMs: options.backoff?.maxMs ?? 60_000 };
    this.#maxStaleMs = options.maxStaleMs;
    this.#waitUntil = options.waitUntil;
    this.#maxGates = options.maxGates ?? 1000;
    if (options.bootstrap !== undefined) this.restore(options.bootstrap);
    this.#reporter = new ObservationReporter({
      send: (body) => this.#send("POST", OBSERVATIONS_PATH, body),
      now: this.#now,
      random: () => this.#random(),
      backoff: this.#backoff,
      isStopped: () => this.#authError,
      onAuthError: (e) => this.#stopOnAuth(null, e),
      ...(options.observations === undefined ? {} : { options: options.observations }),
    });
  }

  /**
   * The threshold of a gate, never throwing. With a value in memory it answers at once (refreshing in the background
   * when the value is past max-age); with none it waits for the server at most `timeoutMs` and otherwise answers
   * the fallback.
   */
  async getThreshold(gate: GateKey, options: GetThresholdOptions): Promise<ThresholdResult> {
    const key = gateKey(gate);
    const now = this.#now();
    let entry = this.#entries.get(key);
    if (entry !== undefined) {
      // Least recently used order: re-insert on every read.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    const fresh =
      entry !== undefined && (entry.value !== undefined || entry.uncalibrated) && !entry.bootstrapped && now - entry.fetchedAt < entry.maxAgeMs;
    const k = options.assignmentKey;
    if (entry !== undefined && fresh) return this.#answer(entry, options.fallback, true, k);
    if (entry !== undefined && this.#usable(entry, now)) {
      this.#refreshInBackground(entry, now, options.waitUntil);
      return this.#answer(entry, options.fallback, false, k);
    }
    if (entry === undefined) {
      entry = this.#newEntry(gate, now);
      this.#entries.set(key, entry);
      this.#evict();
    } else if (entry.value !== undefined && !entry.bootstrapped) {
      // Past stale-if-error: the value is too old to serve.
      entry.value = undefined;
      entry.etag = null;
    }
    const started = this.#startRefresh(entry, now);
    if (started === undefined) return fallbackResult(options.fallback, entry.uncalibrated, this.#authError ?? entry.lastError);
    const settled = await waitAtMost(started, options.timeoutMs ?? this.#timeoutMs, options.signal);
    if (!settled) {
      const why = options.signal?.aborted
        ? clientError("aborted", "the caller stopped waiting")
        : clientError("timeout", `no answer within ${options.timeoutMs ?? this.#timeoutMs} ms`);
      return fallbackResult(options.fallback, false, why);
    }
    if (entry.value !== undefined && !entry.uncalibrated && entry.lastError === undefined && !entry.bootstrapped)
      return { ...this.#answer(entry, options.fallback, true, k), reason: "calibrated" };
    if (entry.uncalibrated && entry.lastError === undefined) return fallbackResult(options.fallback, true, undefined, entry.fetchedAt);
    return fallbackResult(options.fallback, false, this.#authError ?? entry.lastError);
  }

  /**
   * Applies the gate as src/stats/guard-rule.ts states it: keeps `score >= threshold` (null keeps everything) within
   * the served guards (at least the top `minKeep`, at most `maxKeep`), and withholds every candidate when the query's
   * top score is below `abstainBelow` (`abstain: true`, with the reason). Reports the query's counts when a
   * calibration produced the threshold. Returns which calibration decided, so the caller can log it.
   */
  async gate<T>(candidates: readonly T[], options: GateOptions<T>): Promise<GateResult<T>> {
    const t = await this.getThreshold(options.gate, options);
    const policy = { threshold: t.threshold, minKeep: t.guards.minKeep, maxKeep: t.guards.maxKeep, abstainBelow: t.abstainBelow };
    const values = candidates.map(options.score);
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
      this.report(observation, options.waitUntil === undefined ? {} : { waitUntil: options.waitUntil });
    }
    const result: GateResult<T> = {
      kept: candidates.filter((_, i) => d.kept[i]),
      dropped: candidates.filter((_, i) => !d.kept[i]),
      abstain: d.abstain,
      topScore: d.topScore,
      threshold: t.threshold,
      guards: t.guards,
      abstainBelow: t.abstainBelow,
      calibrationId: t.calibrationId,
      reason: t.reason,
      indexVersion: t.indexVersion,
      unscored: d.unscored,
    };
    if (d.abstain) result.abstainReason = `top score ${d.topScore} is below abstain_below ${t.abstainBelow}`;
    if (t.error !== undefined) result.error = t.error;
    if (t.promotion !== undefined) result.promotion = t.promotion;
    return result;
  }

  /**
   * Shadow evaluation of one mirrored query: for each shadow calibration of the gate whose sample takes this key
   * (its bucket, salted with the shadow's calibration id, is below the shadow's `sample_rate`), applies the shadow's
   * gate to the mirrored candidates and reports the counts with `role: "shadow"`. Changes nothing that is served;
   * never throws. Returns the calibration ids the query was reported for.
   */
  async shadow<T>(candidates: readonly T[], options: ShadowOptions<T>): Promise<string[]> {
    await this.getThreshold(options.gate, { fallback: null, ...(options.waitUntil === undefined ? {} : { waitUntil: options.waitUntil }) });
    const shadows = this.#entries.get(gateKey(options.gate))?.value?.shadows ?? [];
    const values = candidates.map(options.score);
    const reported: string[] = [];
    for (const s of shadows) {
      if ((options.indexVersion ?? s.index_version) !== s.index_version || bucketOf(s.calibration_id, options.key) >= s.sample_rate * BASIS_POINTS)
        continue;
      const g = s.guards;
      const o = countsOf(
        s.calibration_id,
        candidates.length,
        decideQuery(values, policyOf(s), "keep"),
        g.min_keep > 0 || g.max_keep !== null || s.abstain_below !== null,
      );
      o.role = "shadow";
      this.report(o, options.waitUntil === undefined ? {} : { waitUntil: options.waitUntil });
      reported.push(s.calibration_id);
    }
    return reported;
  }

  /** Queues one query's counts for POST /v1/observations (batched; never throws, never waits). */
  report(observation: Observation, options: { waitUntil?: (p: Promise<unknown>) => void } = {}): void {
    this.#reporter.report(observation, options.waitUntil ?? this.#waitUntil);
  }

  /** Sends every queued observation now (one attempt per batch; failures stay queued). */
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
   * Names an integration in the `User-Agent` of every request, in front of what is there
   * (`scoregate-langchain/0.1.0 scoregate-client/0.1.0`), so the server's logs tell which integration called. The
   * adapters add themselves; an application may add its own (`my-rag/2.3`). Adding a product twice changes nothing.
   * Throws TypeError for a value that is not an HTTP product (`name` or `name/version`, token characters only).
   */
  addUserAgentProduct(product: string): void {
    if (typeof product !== "string" || !PRODUCT.test(product))
      throw new TypeError(`ScoregateClient: ${JSON.stringify(product)} is not an HTTP product such as "my-service/1.2"`);
    if (!this.#userAgent.split(" ").includes(product)) this.#userAgent = `${product} ${this.#userAgent}`;
  }

  /** The `User-Agent` this client sends: its integrations' products, then `scoregate-client/<version>`. */
  get userAgent(): string {
    return this.#userAgent;
  }

  /** The cache as a JSON-serializable snapshot (values the server answered, with their ETags). */
  snapshot(): Snapshot {
    const entries: Snapshot["entries"] = [];
    for (const e of this.#entries.values()) {
      if (e.value !== undefined) entries.push({ gate: { ...e.gate }, response: e.value, etag: e.etag, fetchedAt: e.fetchedAt });
    }
    return { version: 1, savedAt: this.#now(), entries };
  }

  /**
   * Loads a snapshot. Its values are served as `stale` until the server answers (the first call revalidates with
   * the saved ETag), and never replace a value the server already gave this client.
   */
  restore(snapshot: Snapshot): void {
    if (snapshot?.version !== 1 || !Array.isArray(snapshot.entries)) return;
    for (const s of snapshot.entries) {
      const response = readThresholdResponse(s?.response);
      if (response === undefined || typeof s.gate?.embedding !== "string" || typeof s.gate.reranker !== "string") continue;
      const key = gateKey(s.gate);
      const existing = this.#entries.get(key);
      if (existing !== undefined && !existing.bootstrapped && (existing.value !== undefined || existing.uncalibrated)) continue;
      const e = existing ?? this.#newEntry(s.gate, typeof s.fetchedAt === "number" ? s.fetchedAt : 0);
      e.value = response;
      e.etag = typeof s.etag === "string" ? s.etag : null;
      e.fetchedAt = typeof s.fetchedAt === "number" ? s.fetchedAt : 0;
      e.bootstrapped = true;
      this.#entries.set(key, e);
    }
    this.#evict();
  }

  // -------------------------------------------------------------------------------------------------------------

  #newEntry(gate: GateKey, now: number): Entry {
    return {
      gate: { ...gate },
      etag: null,
      fetchedAt: now,
      maxAgeMs: THRESHOLD_MAX_AGE_SECONDS * 1000,
      staleIfErrorMs: Math.max(THRESHOLD_STALE_IF_ERROR_SECONDS, THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS) * 1000,
      bootstrapped: false,
      uncalibrated: false,
      failures: 0,
      nextAttemptAt: 0,
    };
  }

  #evict(): void {
    while (this.#entries.size > this.#maxGates) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  /** Can this entry answer without waiting? A bootstrapped value can until the server answers. */
  #usable(entry: Entry, now: number): boolean {
    if (entry.uncalibrated) return true;
    if (entry.value === undefined) return false;
    if (entry.bootstrapped) return true;
    return now - entry.fetchedAt < entry.maxAgeMs + (this.#maxStaleMs ?? entry.staleIfErrorMs);
  }

  /** The served answer; during a promotion the arm's, chosen by the key's bucket under the rollout's salt. */
  #answer(entry: Entry, fallback: number | null, fresh: boolean, key?: string): ThresholdResult {
    if (entry.uncalibrated) return fallbackResult(fallback, true, undefined, entry.fetchedAt);
    const v = entry.value!;
    const r = v.rollout;
    let promotion: PromotionRef | undefined;
    let g: ServedGate = v;
    if (r !== null) {
      const candidate = key !== undefined && bucketOf(r.salt, key) < r.percent_bp;
      if (candidate) g = r.candidate;
      promotion = { id: r.promotion_id, step: r.step, arm: key === undefined ? "unassigned" : candidate ? "candidate" : "control" };
    }
    const result: ThresholdResult = {
      threshold: g.threshold,
      guards: { minKeep: g.guards.min_keep, maxKeep: g.guards.max_keep },
      abstainBelow: g.abstain_below,
      calibrationId: g.calibration_id,
      indexVersion: g.index_version,
      expectedDropRate: g.expected_drop_rate,
      reason: fresh ? "cached" : "stale",
      fetchedAt: entry.fetchedAt,
    };
    if (promotion !== undefined) result.promotion = promotion;
    const error = this.#authError ?? entry.lastError;
    if (!fresh && error !== undefined) result.error = error;
    return result;
  }

  #refreshInBackground(entry: Entry, now: number, waitUntil: GetThresholdOptions["waitUntil"]): void {
    const promise = this.#startRefresh(entry, now);
    if (promise !== undefined) (waitUntil ?? this.#waitUntil)?.(promise);
  }

  /**
   * Starts a request for the entry unless one is running (single flight), the token was refused, or a backoff is in
   * force. A request older than its own timeout is considered lost (its initiator was cancelled and its timer will
   * never fire, as in workerd) and a new one replaces it.
   */
  #startRefresh(entry: Entry, now: number): Promise<void> | undefined {
    if (this.#authError !== undefined) return undefined;
    if (entry.inflight !== undefined && now - entry.inflight.startedAt <= this.#timeoutMs + 1000) return entry.inflight.promise;
    if (entry.inflight === undefined && now < entry.nextAttemptAt) return undefined;
    const inflight = { promise: Promise.resolve(), startedAt: now };
    inflight.promise = this.#revalidate(entry).finally(() => {
      if (entry.inflight === inflight) entry.inflight = undefined;
    });
    entry.inflight = inflight;
    return inflight.promise;
  }

  async #revalidate(entry: Entry): Promise<void> {
    const g = entry.gate;
    const params = new URLSearchParams();
    if (g.index !== undefined) params.set("index", g.index);
    params.set("embedding", g.embedding);
    params.set("reranker", g.reranker);
    if (g.indexVersion !== undefined) params.set("index_version", g.indexVersion);
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, accept: "application/json", "user-agent": this.#userAgent };
    if (entry.etag !== null && entry.value !== undefined) headers["if-none-match"] = entry.etag;
    const fetchFn = this.#fetch ?? globalThis.fetch;
    const outcome = await boundedFetch(fetchFn, `${this.#baseUrl}${THRESHOLD_PATH}?${params}`, { method: "GET", headers }, this.#timeoutMs);
    const now = this.#now();
    if (outcome.kind === "failed") return this.#fail(entry, outcome.error, now);
    const { response, body } = outcome;
    const retryAfter = parseRetryAfter(response.headers.get("retry-after"), now);
    if (response.status === 200) {
      const value = readThresholdResponse(body);
      if (value === undefined) return this.#fail(entry, clientError("bad_response", "200 without a valid threshold body"), now);
      return this.#take(entry, value, response.headers.get("etag"), response, now);
    }
    if (response.status === 304 && entry.value !== undefined) {
      const wasFailing = entry.lastError !== undefined;
      const fromSnapshot = entry.bootstrapped;
      this.#confirmed(entry, response, now);
      if (fromSnapshot)
        this.#emit({
          type: "calibration",
          gate: entry.gate,
          calibrationId: entry.value.calibration_id,
          previousCalibrationId: entry.value.calibration_id,
          threshold: entry.value.threshold,
        });
      else if (wasFailing) this.#emit({ type: "recovered", gate: entry.gate });
      return;
    }
    const failure = describeFailure(response.status, body, retryAfter);
    if (failure.code === "uncalibrated") return this.#uncalibrated(entry, response, now);
    if (failure.code === "unauthorized" || failure.code === "forbidden") return this.#stopOnAuth(entry, failure);
    return this.#fail(entry, failure, now);
  }

  /** A new value, from a 200 or a pushed event: keep it, announce a changed calibration (or a recovery). */
  #take(entry: Entry, value: Served, etag: string | null, response: Response | null, now: number): void {
    const previous = entry.value?.calibration_id ?? null;
    const wasFailing = entry.lastError !== undefined;
    entry.value = value;
    entry.etag = etag;
    entry.uncalibrated = false;
    this.#confirmed(entry, response, now);
    if (previous !== value.calibration_id)
      this.#emit({
        type: "calibration",
        gate: entry.gate,
        calibrationId: value.calibration_id,
        previousCalibrationId: previous,
        threshold: value.threshold,
      });
    else if (wasFailing) this.#emit({ type: "recovered", gate: entry.gate });
  }

  /**
   * The door of the `@scoregate/client/stream` client into this cache (not for applications). A pushed event's full
   * state replaces the gate's entry as a 200 with its ETag would (an event older than the entry's ETag is ignored),
   * then the event is announced; `event` null only confirms the entry (a heartbeat). Either way the entry counts as
   * fresh for `maxAgeMs` (the stream's read timeout); `null, 0` marks it stale, so the next read polls (the stream
   * failed over to polling).
   * @internal
   */
  _pushed(gate: GateKey, event: GateEvent | null, maxAgeMs: number): void {
    const entry = this.#entries.get(gateKey(gate));
    if (entry === undefined || (event !== null && event.seq < Number(/(\d+)"$/u.exec(entry.etag ?? "")?.[1] ?? 0))) return;
    const now = this.#now();
    if (event === null) {
      if (maxAgeMs > 0) this.#confirmed(entry, null, now);
    } else if (event.served === null) this.#uncalibrated(entry, null, now);
    else {
      const value = readThresholdResponse(event.served);
      if (value === undefined) return;
      this.#take(entry, value, `"${value.calibration_id}.${event.seq}"`, null, now);
    }
    if (event !== null) this.#emit({ type: "gate", gate: entry.gate, event });
    entry.maxAgeMs = maxAgeMs;
  }

  /** The server says the gate serves nothing (404 `uncalibrated`, or a pushed event without a served state). */
  #uncalibrated(entry: Entry, response: Response | null, now: number): void {
    const was = entry.uncalibrated;
    entry.value = undefined;
    entry.etag = null;
    entry.uncalibrated = true;
    this.#confirmed(entry, response, now);
    if (!was) this.#emit({ type: "uncalibrated", gate: entry.gate });
  }

  /** A server answer (200, 304, 404 uncalibrated, a pushed event): reset the failure state, take the lifetimes sent. */
  #confirmed(entry: Entry, response: Response | null, now: number): void {
    const cc = parseCacheControl(response?.headers.get("cache-control") ?? null);
    entry.fetchedAt = now;
    entry.maxAgeMs = cc.maxAgeMs ?? THRESHOLD_MAX_AGE_SECONDS * 1000;
    const swr = cc.staleWhileRevalidateMs ?? THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS * 1000;
    const sie = cc.staleIfErrorMs ?? THRESHOLD_STALE_IF_ERROR_SECONDS * 1000;
    entry.staleIfErrorMs = Math.max(swr, sie);
    entry.bootstrapped = false;
    entry.failures = 0;
    entry.nextAttemptAt = 0;
    delete entry.lastError;
  }

  #fail(entry: Entry, error: ClientError, now: number): void {
    entry.failures += 1;
    entry.lastError = error;
    entry.nextAttemptAt = now + backoffDelay(this.#backoff, entry.failures, this.#random, error.retryAfterMs);
    if (entry.failures === 1) this.#emit({ type: "error", gate: entry.gate, error });
  }

  #stopOnAuth(entry: Entry | null, error: ClientError): void {
    if (entry !== null) entry.lastError = error;
    if (this.#authError !== undefined) return;
    this.#authError = error;
    this.#emit({ type: "error", gate: entry?.gate ?? null, error });
  }

  #emit(event: ClientEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch {
        // A listener's bug must not break the cache.
      }
    }
  }

  /** POST with the token and the client's timeout (observations). */
  #send(method: string, path: string, body: unknown) {
    const fetchFn = this.#fetch ?? globalThis.fetch;
    return boundedFetch(
      fetchFn,
      `${this.#baseUrl}${path}`,
      {
        method,
        headers: { authorization: `Bearer ${this.#token}`, "content-type": "application/json", "user-agent": this.#userAgent },
        body: JSON.stringify(body),
      },
      this.#timeoutMs,
    );
  }
}

/**
 * One query's counts for the calibration that gated it: the candidate gate's drops, before abstention (the drop-rate
 * monitor keeps watching the threshold). A guarded or abstaining calibration is also watched on where its guards bind
 * and how often queries abstain; a plain one gets the pair every server accepts.
 */
function countsOf(calibrationId: string, candidates: number, d: QueryDecision, guarded: boolean): Observation {
  const o: Observation = { calibrationId, candidates, dropped: d.dropped };
  if (guarded) {
    o.below = d.below;
    o.abstained = d.abstain;
  }
  return o;
}

/** The gate a served calibration states, as the per-query rule takes it. */
const policyOf = (g: ServedGate) => ({
  threshold: g.threshold,
  minKeep: g.guards.min_keep,
  maxKeep: g.guards.max_keep,
  abstainBelow: g.abstain_below,
});

/** The cache key of a gate (exported for the stream entry, which keys its streams the same way). */
export function gateKey(g: GateKey): string {
  return JSON.stringify([g.index ?? "default", g.embedding, g.reranker, g.indexVersion ?? null]);
}

function fallbackResult(fallback: number | null, uncalibrated: boolean, error?: ClientError, fetchedAt: number | null = null): ThresholdResult {
  const result: ThresholdResult = {
    threshold: fallback,
    guards: { minKeep: 0, maxKeep: null },
    abstainBelow: null,
    calibrationId: null,
    indexVersion: null,
    expectedDropRate: null,
    reason: uncalibrated ? "uncalibrated" : "fallback",
    fetchedAt: uncalibrated ? fetchedAt : null,
  };
  if (error !== undefined) result.error = error;
  return result;
}

/**
 * Waits for a shared request, but never longer than this caller's own deadline or signal. The deadline is the
 * caller's own timer: if the request's initiator was cancelled, its promise may never settle, and its timers with it.
 */
function waitAtMost(promise: Promise<void>, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    let onAbort: (() => void) | undefined;
    const done = (settled: boolean) => {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
      resolve(settled);
    };
    const timer = startTimer(() => done(false), ms);
    if (signal !== undefined) {
      onAbort = () => done(false);
      signal.addEventListener("abort", onAbort, { once: true });
    }
    promise.then(
      () => done(true),
      () => done(true),
    );
  });
}
