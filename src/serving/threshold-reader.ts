/**
 * The hot read path of GET /v1/threshold, in three tiers:
 *   1. the isolate cache (ISOLATE_CACHE_TTL_MS): no I/O at all, the common case at high request rates;
 *   2. the KV projection (edge-cached for KV_CACHE_TTL_SECONDS): no D1 query;
 *   3. D1, only when KV has no value (first read after a failed publish, or a gate that was never calibrated), and the
 *      answer is cached in the isolate (positive or negative) so D1 sees at most one query per gate per isolate per TTL;
 *      or when the caller proves (with the activation_seq in its ETag) that it has seen a newer activation than the
 *      isolate or KV copy: KV is eventually consistent, and an older copy must never be served as current to a client
 *      that already holds the newer one.
 * A gate without an active calibration gets `uncalibrated`, never another gate's threshold.
 */

import type { ActivationListener } from "../calibrations/activation";
import { gateTitle, similarGates } from "../calibrations/gate-names";
import { currentOf } from "../calibrations/store";
import type { ThresholdQuery, ThresholdResponse } from "../contract";
import { AppError } from "../platform/errors";
import { type JsonText, jsonText } from "../platform/http/json-text";
import { gateIdOf } from "../platform/ids";
import { IsolateCache } from "../platform/isolate-cache";
import {
  D1_READ_DEADLINE_MS,
  ISOLATE_CACHE_MAX_ENTRIES,
  ISOLATE_CACHE_TTL_MS,
  KV_READ_DEADLINE_MS,
  LAST_KNOWN_GOOD_MS,
  MAX_GATE_SUGGESTIONS,
  STORAGE_RETRY_AFTER_SECONDS,
} from "../platform/limits";
import { isSchemaError } from "../platform/readiness";
import type { ProjectedThreshold } from "./projection";
import { type ProjectionDeps, projectionOf, publishGate } from "./publish";

/** Reading a threshold through its tiers: storage, the clock, and work deferred past the response (KV repair). */
export interface ReaderDeps extends ProjectionDeps {
  readonly now: () => Date;
  readonly defer: (work: Promise<unknown>) => void;
}

/**
 * A cached answer: the projection (with its response body serialized once), or null for "uncalibrated" (negative
 * caching keeps misses off D1).
 */
export type CachedThreshold = {
  readonly value: ProjectedThreshold | null;
  readonly gateId: string;
  readonly body: JsonText<ThresholdResponse> | null;
  /** For "uncalibrated": the calibrated gates the caller may have meant (computed once per negative cache fill). */
  readonly suggestions?: readonly GateSuggestion[];
};

/**
 * A gate the caller may have meant; with `index_version`, a version of the very gate it asked for (the gate exists,
 * the version it named is not active).
 */
export interface GateSuggestion {
  readonly index: string;
  readonly embedding: string;
  readonly reranker: string;
  readonly index_version?: string;
}

const cached = (value: ProjectedThreshold | null, gateId: string, suggestions?: readonly GateSuggestion[]): CachedThreshold => ({
  value,
  gateId,
  body: value === null ? null : jsonText(value.threshold),
  ...(suggestions === undefined ? {} : { suggestions }),
});

/** Cache key of a query: NUL cannot occur in ids (control characters are rejected). */
export const cacheKeyOf = (q: ThresholdQuery): string => `${q.index}\u0000${q.embedding}\u0000${q.reranker}\u0000${q.index_version ?? ""}`;

/** Cache prefix of every entry of a gate (current and pinned), for invalidation after an activation. */
export const cachePrefixOf = (g: { index: string; embedding: string; reranker: string }): string =>
  `${g.index}\u0000${g.embedding}\u0000${g.reranker}\u0000`;

export interface ReadOutcome {
  readonly projection: ProjectedThreshold;
  /** JSON of projection.threshold, serialized once per cache fill. */
  readonly body: JsonText<ThresholdResponse>;
  /** Which tier answered: for the `X-Scoregate-Source` header and metrics; "stale" is the last-known-good copy. */
  readonly source: "isolate" | "kv" | "d1" | "stale";
}

/** A storage read that did not answer in time. */
class DeadlineExceeded extends Error {}

/** `work`, or a rejection after `ms` (the timer is cleared either way). */
async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineExceeded(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** 503 with Retry-After: neither KV nor D1 answered and this isolate has never served the gate. */
export const storageUnavailable = (): AppError =>
  new AppError(
    "storage_unavailable",
    `the threshold store is not answering and this location has no copy of this gate yet: retry in ${STORAGE_RETRY_AFTER_SECONDS} s (keep using your last-known-good or fallback threshold)`,
    {
      retry_after_seconds: STORAGE_RETRY_AFTER_SECONDS,
    },
  );

/**
 * "did you mean index=docs or embedding=intfloat/e5-large-v2?" (or, for a version of a gate that exists, "its active
 * versions: did you mean index_version=green?"), or null without suggestions: the uncalibrated 404's words, and the
 * uncalibrated_request alert's (alerts/uncalibrated-alert.ts), so the service's 404 and on-call's page agree.
 */
export function didYouMean(q: ThresholdQuery, suggestions: readonly GateSuggestion[]): string | null {
  const versions = suggestions.flatMap((s) => (s.index_version === undefined ? [] : [s.index_version]));
  if (versions.length > 0) return `its active versions: did you mean ${versions.map((v) => `index_version=${v}`).join(" or ")}?`;
  // Each suggestion by the names it changes ("embedding=intfloat/e5-large-v2" for a mistyped model, "index=docs" for a
  // left-out index), so the fix reads in the message without opening details.
  if (suggestions.length > 0) return `did you mean ${suggestions.map((s) => differingNames(q, s)).join(" or ")}?`;
  return null;
}

function uncalibratedMessage(q: ThresholdQuery, suggestions: readonly GateSuggestion[]): string {
  const gate = gateTitle(q);
  const base =
    q.index_version === undefined
      ? `the gate ${gate} has no active calibration`
      : `index_version ${JSON.stringify(q.index_version)} of the gate ${gate} has no active calibration`;
  const guess = didYouMean(q, suggestions);
  return guess === null ? `${base}: upload one with POST /v1/calibrations` : `${base}; ${guess} (see details.suggestions)`;
}

function differingNames(q: ThresholdQuery, s: GateSuggestion): string {
  return (["index", "embedding", "reranker"] as const)
    .filter((k) => s[k] !== q[k])
    .map((k) => `${k}=${s[k]}`)
    .join(" ");
}

export class UncalibratedError extends AppError {
  constructor(
    readonly gateId: string,
    q: ThresholdQuery,
    /** What the caller may have meant (details.suggestions): the uncalibrated_request alert names them too. */
    readonly suggestions: readonly GateSuggestion[] = [],
  ) {
    super("uncalibrated", uncalibratedMessage(q, suggestions), {
      gate_id: gateId,
      index: q.index,
      embedding: q.embedding,
      reranker: q.reranker,
      index_version: q.index_version ?? null,
      suggestions,
    });
  }
}

/**
 * Reads the threshold of `q`. Storage faults degrade instead of failing: a KV read that throws or hangs past
 * KV_READ_DEADLINE_MS falls through to D1; when D1 fails too, the isolate's last-known-good copy (`lastKnownGood`,
 * positive answers only) is served marked "stale"; only when nothing is known is it a 503 storage_unavailable.
 *
 * `seenSeq`: the highest activation_seq the caller proves it has seen for this query (threshold-etag.ts), or null.
 * An isolate or KV copy older than that is skipped for D1, whose answer is served (and cached, and KV repaired) even
 * when it is older still (after a D1 Time Travel restore, or a made-up ETag: D1 is the record). When D1 fails then,
 * only a last-known-good copy at least that new is served; otherwise 503 storage_unavailable, so the caller keeps the
 * newer value it has. A made-up sequence number costs one D1 read per request, as a made-up gate name does.
 */
export async function readThreshold(
  q: ThresholdQuery,
  cache: IsolateCache<CachedThreshold>,
  deps: ReaderDeps,
  lastKnownGood: IsolateCache<CachedThreshold> | null = null,
  seenSeq: number | null = null,
): Promise<ReadOutcome> {
  const key = cacheKeyOf(q);
  const nowMs = deps.now().getTime();
  const olderThanSeen = (value: ProjectedThreshold | null): boolean => seenSeq !== null && (value?.activation_seq ?? 0) < seenSeq;
  const hit = cache.get(key, nowMs);
  if (hit !== undefined && !olderThanSeen(hit.value)) {
    if (hit.value === null) throw new UncalibratedError(hit.gateId, q, hit.suggestions);
    return { projection: hit.value, body: hit.body!, source: "isolate" };
  }
  const gateId = await gateIdOf(q);
  const version = q.index_version ?? null;
  const remember = (entry: CachedThreshold): void => {
    cache.set(key, entry, nowMs);
    if (entry.value !== null) lastKnownGood?.set(key, entry, nowMs);
  };
  let fromKv: ProjectedThreshold | null = null;
  try {
    fromKv = await withDeadline(deps.projection.get(gateId, version), KV_READ_DEADLINE_MS);
  } catch (e) {
    console.error("KV read of the threshold projection failed; reading D1", e);
  }
  if (fromKv !== null && !olderThanSeen(fromKv)) {
    const entry = cached(fromKv, gateId);
    remember(entry);
    return { projection: fromKv, body: entry.body!, source: "kv" };
  }
  try {
    return await withDeadline(readFromD1(q, gateId, version, remember, deps), D1_READ_DEADLINE_MS);
  } catch (e) {
    if (e instanceof AppError || isSchemaError(e)) throw e;
    console.error("D1 read of the threshold failed", e);
    const known = lastKnownGood?.get(key, nowMs);
    if (known?.value && !olderThanSeen(known.value)) return { projection: known.value, body: known.body!, source: "stale" };
    throw storageUnavailable();
  }
}

async function readFromD1(
  q: ThresholdQuery,
  gateId: string,
  version: string | null,
  remember: (entry: CachedThreshold) => void,
  deps: ReaderDeps,
): Promise<ReadOutcome> {
  const state = await deps.calibrations.gateState(gateId);
  const rows = state.rows;
  const row = version === null ? currentOf(rows) : (rows.find((r) => r.index_version === version) ?? null);
  const [gate, record] = row ? await Promise.all([deps.calibrations.gate(gateId), deps.calibrations.get(row.calibration_id)]) : [null, null];
  if (row === null || gate === null || record === null) {
    // The gate exists but not the version asked for: its own active versions, current first. Otherwise gates nearby.
    const suggestions: GateSuggestion[] =
      row === null && rows.length > 0
        ? [...rows]
            .sort((a, b) => b.activation_seq - a.activation_seq)
            .slice(0, MAX_GATE_SUGGESTIONS)
            .map((r) => ({ index: q.index, embedding: q.embedding, reranker: q.reranker, index_version: r.index_version }))
        : await similarGates(q, deps.calibrations);
    remember(cached(null, gateId, suggestions));
    throw new UncalibratedError(gateId, q, suggestions);
  }
  const projection = projectionOf(gate, row, record, version === null ? state : null);
  const entry = cached(projection, gateId);
  remember(entry);
  // KV was missing a value D1 has: repair it after responding.
  deps.defer(publishGate(gateId, version === null ? [] : [version], deps));
  return { projection, body: entry.body!, source: "d1" };
}

/** What one isolate remembers of thresholds (src/worker/isolate.ts holds the one instance): values only, no bindings. */
export interface ThresholdCaches {
  /** The isolate tier of the read path: an entry lives ISOLATE_CACHE_TTL_MS. */
  readonly current: IsolateCache<CachedThreshold>;
  /** The last threshold served per gate, kept LAST_KNOWN_GOOD_MS: answered (marked stale) only when KV and D1 both fail. */
  readonly lastKnownGood: IsolateCache<CachedThreshold>;
}

export const newThresholdCaches = (): ThresholdCaches => ({
  current: new IsolateCache<CachedThreshold>(ISOLATE_CACHE_MAX_ENTRIES, ISOLATE_CACHE_TTL_MS),
  lastKnownGood: new IsolateCache<CachedThreshold>(ISOLATE_CACHE_MAX_ENTRIES, LAST_KNOWN_GOOD_MS),
});

export interface ReadOptions {
  /** The highest activation_seq the caller proves it has seen (threshold-etag.ts), or null. */
  readonly seenSeq?: number | null;
  /**
   * When KV and D1 both fail, answer from the last-known-good copy, marked "stale": GET /v1/threshold does (its
   * callers keep working on a threshold they were already served); resolving an observation batch does not.
   */
  readonly lastKnownGood?: boolean;
}

/**
 * The read path as a service over the isolate's caches: built per request from the request's storage (src/worker/
 * wiring.ts), so whoever reads a threshold or activates a gate reaches the same caches through its dependencies.
 */
export class ThresholdReader {
  constructor(
    private readonly caches: ThresholdCaches,
    private readonly deps: ReaderDeps,
  ) {}

  read(q: ThresholdQuery, options: ReadOptions = {}): Promise<ReadOutcome> {
    return readThreshold(q, this.caches.current, this.deps, options.lastKnownGood ? this.caches.lastKnownGood : null, options.seenSeq ?? null);
  }

  /** Forgets this isolate's copies of a gate (current and pinned), after an activation here. */
  invalidate(gate: { index: string; embedding: string; reranker: string }): void {
    this.caches.current.invalidatePrefix(cachePrefixOf(gate));
  }

  /**
   * An activation listener (wired in src/worker/wiring.ts, after the publish): the activating isolate forgets its
   * copies at once; other isolates' expire within ISOLATE_CACHE_TTL_MS.
   */
  readonly invalidateOnActivation: ActivationListener = {
    failure: "forgetting this isolate's copies of the threshold failed",
    run: ({ calibration }) => this.invalidate(calibration),
  };
}
