import type { GateEvent, PromotionArm, ThresholdResponse } from "../../../src/contract/wire-types";

export type {
  GateEvent,
  GateEventKind,
  GateEventPromotion,
  GateHeartbeat,
  ServedGate,
  ServedRollout,
  ServedShadow,
} from "../../../src/contract/wire-types";

/** A gate as GET /v1/threshold names it; `indexVersion` pins one version (blue/green indexes). */
export interface GateKey {
  index?: string;
  embedding: string;
  reranker: string;
  indexVersion?: string;
}

/**
 * Why a threshold is what it is:
 * - `calibrated`: the server answered during this call (only a caller that had nothing cached ever waits for that);
 * - `cached`: from memory, within the server's max-age;
 * - `stale`: from memory past max-age (a revalidation is under way, the server is failing, or it came from a
 *   restored snapshot and the server has not answered yet);
 * - `fallback`: no value yet (server down, slow, refusing the token, ...): the caller's fallback; `error` says why;
 * - `uncalibrated`: the server says the gate has no active calibration (404 `uncalibrated`): the caller's fallback.
 */
export type ThresholdReason = "calibrated" | "cached" | "stale" | "fallback" | "uncalibrated";

export type ClientErrorCode =
  | "timeout"
  | "network"
  | "unauthorized"
  | "forbidden"
  | "rate_limited"
  | "server_error"
  | "bad_request"
  | "uncalibrated"
  | "bad_response"
  | "aborted"
  | "closed";

export interface ClientError {
  code: ClientErrorCode;
  message: string;
  status?: number;
  retryAfterMs?: number;
}

/**
 * The per-query guards a calibration serves with its threshold (`guards` of GET /v1/threshold):
 * keep at least the top `minKeep` scored candidates of every query (all of a shorter one), and at most `maxKeep`.
 * `{ minKeep: 0, maxKeep: null }` is no guard: a fallback, an uncalibrated gate, or a server that serves none.
 */
export interface Guards {
  minKeep: number;
  maxKeep: number | null;
}

export interface ThresholdResult {
  /** Keep a candidate iff `score >= threshold`; null keeps everything. */
  threshold: number | null;
  /** Applied with the threshold by `gate()`; no guard for a fallback or an uncalibrated gate. */
  guards: Guards;
  /** A query whose top score is below this abstains; null (always for a fallback): never. */
  abstainBelow: number | null;
  /** The calibration that produced the threshold; null for `fallback` and `uncalibrated`. */
  calibrationId: string | null;
  indexVersion: string | null;
  expectedDropRate: number | null;
  reason: ThresholdReason;
  /** When the value was last confirmed by the server (epoch ms); null when it never was. */
  fetchedAt: number | null;
  /**
   * The last failure, when one explains the answer (a fallback, or a stale value while the server fails); for
   * `uncalibrated`, the server's 404 (code `uncalibrated`), whose message may name the gate meant ("did you mean
   * index=docs?").
   */
  error?: ClientError;
  /**
   * Only while the gate runs a guarded promotion: the promotion, its step and the arm this request was served
   * (`candidate` when the assignment key's bucket is below the rollout's share, `control` otherwise, `unassigned`
   * without a key). The threshold, calibration and index version above are the arm's: query the index version named.
   */
  promotion?: PromotionRef;
}

/** The arm of a promotion a request was served: assigned by the stable hash of its key (docs/clients.md). */
export type Arm = PromotionArm;

/** The promotion step and arm a request was served under; gate() reports it with the query's counts. */
export interface PromotionRef {
  id: string;
  step: number;
  arm: Arm;
}

export interface GetThresholdOptions {
  /**
   * Used until a first answer arrives, and when the gate is uncalibrated; null keeps everything. Required: there is no
   * silent default. From JavaScript, an omitted fallback (or one that is not a number, NaN included) counts as null,
   * so a misconfigured call keeps every candidate instead of dropping them all; the result's `threshold` shows null.
   */
  fallback: number | null;
  /** Runs the background refresh past the response (Workers: `ctx.waitUntil.bind(ctx)`). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** Stop waiting when this aborts (the caller's request was cancelled); the shared request goes on for others. */
  signal?: AbortSignal;
  /**
   * Wait at most this long for a first answer (default: the client's `timeoutMs`, which also bounds it; a value that
   * is not a number from 0 is read as the default).
   */
  timeoutMs?: number;
  /**
   * A stable key of who asks (a user or session id): during a guarded promotion it decides the arm, the same key
   * always the same arm (MurmurHash3 of the promotion's salt and the key, docs/clients.md). Without one a request
   * is served the control arm and reported `unassigned`.
   */
  assignmentKey?: string;
}

export interface GateOptions<T> extends GetThresholdOptions {
  gate: GateKey;
  /**
   * The reranker score of a candidate. Anything but a number, or NaN, leaves the candidate unscored: null, undefined,
   * and a numeric string such as "0.9" (never coerced: return `Number(x)` when the scores arrive as strings). A
   * function that throws leaves its candidate unscored too. Infinity is a score.
   */
  score: (candidate: T) => number | null | undefined;
  /**
   * Unscored candidates are kept (default) or dropped when the gate drops anything (a threshold or a `maxKeep`); they
   * take no rank and do not count towards `minKeep`, a `maxKeep` caps them too (they fill, in input order, only the
   * room the scored ones leave), and they are counted in `unscored` either way.
   */
  unscored?: "keep" | "drop";
  /** Report the query's counts through `report()` (default true; only when a calibration produced the threshold). */
  report?: boolean;
  /** Also send the scores as the batch's production score sample (default false). */
  reportScores?: boolean;
  /**
   * The `getThreshold()` answer the query was retrieved under (its `indexVersion` chose the index): gate() applies and
   * reports it (its threshold, guards, calibration and promotion arm) instead of reading the threshold again, so a
   * promotion step (or a rollback) between the two cannot gate the query, and count it as evidence, under the other
   * arm than the one that retrieved it. `gate`, `fallback`, `assignmentKey` and `timeoutMs` are then not read for the
   * threshold. Anything else (a gate() result, an object without `guards`) answers the fallback with `bad_request`.
   */
  served?: ThresholdResult;
}

/**
 * What `gate()` answers: the candidates kept and dropped, and the answer they were gated by. `abstain` narrows it:
 * `if (r.abstain) noAnswer(r.abstainReason)` reads a string.
 */
export type GateResult<T> = GateOutcome<T> &
  (
    | {
        /**
         * True when the query abstains: its top score is below the calibration's `abstainBelow`, so the corpus most
         * likely holds no good answer and nothing is kept (say so instead of answering from noise). Never for a fallback.
         */
        abstain: true;
        /** Why the query abstained (its top score and the cutoff). */
        abstainReason: string;
      }
    | { abstain: false; abstainReason?: undefined }
  );

/** The fields of every `gate()` answer, abstaining or not ({@link GateResult}). */
export interface GateOutcome<T> {
  /** The candidates kept, in their input order; empty when the query abstains. */
  kept: T[];
  /** Every other candidate, in their input order: all of them when the query abstains. */
  dropped: T[];
  /** The query's highest score; null when no candidate has one. */
  topScore: number | null;
  threshold: number | null;
  guards: Guards;
  abstainBelow: number | null;
  calibrationId: string | null;
  reason: ThresholdReason;
  indexVersion: string | null;
  unscored: number;
  error?: ClientError;
  /** During a guarded promotion: the promotion, step and arm this query was served (and reported) under. */
  promotion?: PromotionRef;
}

export interface Observation {
  /**
   * The calibration whose threshold was applied (preferred: the counts belong to it), or leave it out and name the
   * gate. Null, a fallback result's id, is not sent: counts made at the caller's fallback would reach the live
   * calibration's drift monitor and promotion evidence (`report_ignored`).
   */
  calibrationId?: string | null;
  gate?: GateKey;
  candidates: number;
  /** What the gate dropped (with guards: the guarded gate, whether or not the query abstained). */
  dropped: number;
  /**
   * For a guarded or abstaining gate: the scored candidates strictly below the threshold (what the threshold alone
   * would drop, so the server sees where a guard binds). With it the query is sent as
   * `[candidates, dropped, below, abstained]`; without it as `[candidates, dropped]`, which every server accepts.
   */
  below?: number;
  /**
   * Whether the query abstained (default false). An abstention without `below` is sent as
   * `[candidates, dropped, dropped, 1]`: `below` is `dropped`, exact for a gate without guards.
   */
  abstained?: boolean;
  /**
   * Candidates passed without a score (a reranker that failed for them, a wrong score key, scores sent as strings).
   * When above 0, `candidates`, `dropped` and `below` count the scored candidates only and the query is sent as
   * `[candidates, dropped, below, abstained, unscored]` (`below` defaulting to `dropped`).
   */
  unscored?: number;
  scores?: readonly number[];
  /** The promotion step and arm the query was served under (`promotion` of the threshold result). */
  promotion?: PromotionRef;
  /** `shadow`: a mirrored query gated by the shadow calibration `calibrationId`; never what was served. */
  role?: "shadow";
}

export interface ShadowOptions<T> {
  gate: GateKey;
  /** The reranker score of a mirrored candidate; anything but a number, or NaN (a numeric string too), is unscored. */
  score: (candidate: T) => number | null | undefined;
  /** The query's stable key: a shadow takes the queries whose key hashes below its sample rate. */
  key: string;
  /** Only shadows of this index version (the version the mirrored candidates came from); default every shadow. */
  indexVersion?: string;
  waitUntil?: (promise: Promise<unknown>) => void;
}

export interface ObservationStats {
  /** Queries waiting to be sent (queued or in a batch awaiting retry). */
  queued: number;
  /** Queries accepted by the server (duplicates included: the server counts them once). */
  sent: number;
  /** Queries dropped to keep memory bounded (oldest first). */
  droppedForMemory: number;
  /** Queries the server refused (4xx other than 429): retrying would not help. */
  rejected: number;
  /** Reports ignored after close(), or invalid (negative counts, dropped > candidates, too many candidates, no gate). */
  ignored: number;
  /** The last failed send's error, kept after later sends succeed (a record, not a status: `queued` draining is). */
  lastError?: ClientError;
}

export interface FlushResult {
  sentBatches: number;
  failedBatches: number;
  stats: ObservationStats;
}

/**
 * A saved cache, to bootstrap a cold start (JSON-serializable: save it to a file or KV): `snapshot(client)` and
 * `restore(client, snapshot)` from `@scoregate/client/snapshot`.
 */
export interface Snapshot {
  version: 1;
  savedAt: number;
  entries: SnapshotEntry[];
}

export interface SnapshotEntry {
  gate: GateKey;
  response: ThresholdResponse;
  etag: string | null;
  fetchedAt: number;
}

export type ClientEvent =
  | { type: "calibration"; gate: GateKey; calibrationId: string; previousCalibrationId: string | null; threshold: number | null }
  | { type: "uncalibrated"; gate: GateKey; error?: ClientError }
  | { type: "error"; gate: GateKey | null; error: ClientError }
  /** The server answered again after failures, whatever it answered (before the `calibration` or `uncalibrated` event its answer brings). */
  | { type: "recovered"; gate: GateKey }
  /**
   * A `report()` that was ignored (counted in `observationStats().ignored`) and why: `closed` (after `close()`),
   * `token refused` (a 401 or 403 stopped reporting), `calibrationId null: a fallback's counts` (a result's null id:
   * the counts were made at the caller's fallback; leave `calibrationId` out to report under the gate),
   * `no calibrationId or gate`, `counts: whole numbers, dropped and below <= candidates` (counts that are not whole
   * numbers from 0, or dropped or below above candidates), or `over 10000 candidates` (candidates and unscored above
   * MAX_CANDIDATES_PER_QUERY: the server takes no such query; `gate()` answers it but does not report it).
   */
  | { type: "report_ignored"; reason: string }
  /**
   * A change pushed over the gate's stream (`stream` option): the event as the server sent it. `snapshot`: the gate's current state, sent when the stream connects
   * or cannot replay what it missed; its event is the last change, which may be long past, not one made just now.
   */
  | { type: "gate"; gate: GateKey; event: GateEvent; snapshot: boolean };

export interface ScoregateClientOptions {
  /**
   * The Worker's origin as an absolute http: or https: URL, e.g. `https://scoregate.example.workers.dev` or
   * `http://localhost:8787` (not `localhost:8787`, which would parse as a URL of scheme `localhost:`): anything else
   * throws TypeError here, so a configuration error never looks like an outage.
   */
  baseUrl: string;
  /** A read-scope token. */
  token: string;
  /** Defaults to the global fetch, looked up at call time (never at module scope). */
  fetch?: typeof fetch;
  /**
   * Hard bound of every request, and how long a caller with nothing cached waits (default 2,000 ms): from 1 to
   * 2,147,483,647 ms (the timers' range; TypeError otherwise).
   */
  timeoutMs?: number;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
  /** Jitter source in [0, 1), for tests (default Math.random, called lazily). */
  random?: () => number;
  /** Backoff after failures: first delay and cap (defaults 1,000 ms and 60,000 ms), with jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * How long a stale value may still be served when refreshing fails, overriding the server's `stale-if-error`
   * (default: the server's, 86,400 s). Past it the value is dropped and callers get their fallback.
   */
  maxStaleMs?: number;
  /** Default waitUntil for background work (Workers: pass it per call instead, the ctx changes per request). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** Most gates kept in memory (default 1,000); the least recently used goes first. */
  maxGates?: number;
  observations?: {
    /**
     * Most queries held in memory, queued or awaiting retry (default 10,000), besides the batch being sent; the
     * oldest are dropped and counted.
     */
    maxQueued?: number;
    /** Most queries per batch (default 1,000; at most MAX_OBSERVATION_QUERIES, 10,000). */
    batchSize?: number;
    /** A batch is sent when it is this old (default 5,000 ms) or full. */
    flushIntervalMs?: number;
    /** Most sample scores held per pending batch (default 2,000). */
    maxScores?: number;
    /**
     * Flush due batches on a timer (Node, browsers: default true). In Workers set false and pass `waitUntil`: due
     * batches are then sent from `report()` calls, and `ctx.waitUntil(client.flush())` sends the rest.
     */
    timer?: boolean;
  };
}

/** Tuning of pushed changes; every field has a default (docs/clients.md, "Pushed changes"). */
export interface StreamOptions {
  /** Most gates streamed at once (default 20); further gates poll. */
  maxGates?: number;
  /** A stream that delivers no byte (not even a heartbeat) for this long is dead (default 45,000 ms: 3 heartbeats). */
  readTimeoutMs?: number;
  /** Reconnect delay: first and cap (defaults 1,000 and 30,000 ms), doubling, with 50 % jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Failures within `failureWindowMs` (default 5 within 60,000 ms) that switch the gate to polling. */
  maxFailures?: number;
  failureWindowMs?: number;
  /** While polling after a failover, try the stream again at the latest after this long (default 300,000 ms); sooner once a poll is answered. */
  recoveryMs?: number;
  /** Run in Cloudflare Workers too (default false: no connection outlives a request there, so Workers poll). */
  inWorkers?: boolean;
}
