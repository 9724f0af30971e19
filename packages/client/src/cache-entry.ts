/**
 * One gate's entry in the threshold cache and what each server answer does to it: the value and ETag held, the
 * lifetimes the server's Cache-Control granted, the failures behind the backoff. Each transition returns the event the
 * client announces for it (undefined: none); the client (client.ts) sends the requests and tells its listeners.
 */
// The contract modules imported here (limits, wire-types) import no zod: its schemas stay out of the bundle and zod
// out of the published types (docs/architecture.md, "How the contract travels with the clients").
import {
  DEFAULT_INDEX,
  THRESHOLD_MAX_AGE_SECONDS,
  THRESHOLD_STALE_IF_ERROR_SECONDS,
  THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS,
} from "../../../src/contract/limits";
import { type BackoffPolicy, backoffDelay, cacheSeconds } from "./http";
import type { Served } from "./threshold-response";
import type { ClientError, ClientEvent, GateKey } from "./types";

/** One gate in the cache: mutable, owned by the one client that holds it. */
export interface Entry {
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
  /**
   * The server's 404 `uncalibrated` error while the gate is uncalibrated: its message may say which gate was meant
   * ("did you mean index=docs?"); undefined for a pushed uncalibrated state or a snapshot's.
   */
  said?: ClientError | undefined;
  inflight?: { promise: Promise<void>; startedAt: number } | undefined;
  failures: number;
  nextAttemptAt: number;
  lastError?: ClientError;
}

/** A gate key's two required model names are strings (a JavaScript caller may pass anything). */
export const isGateKey = (g: GateKey | null | undefined): g is GateKey => typeof g?.embedding === "string" && typeof g.reranker === "string";

/**
 * A gate key as the wire names it (`index`, `embedding`, `reranker`, `index_version`, the optional ones when given): the
 * query of GET /v1/threshold and the target of an observation batch.
 */
export function wireGate(g: GateKey): Record<string, string> {
  const w: Record<string, string> = {};
  if (g.index !== undefined) w.index = g.index;
  w.embedding = g.embedding;
  w.reranker = g.reranker;
  const v = versionOf(g);
  if (v !== undefined) w.index_version = v;
  return w;
}

/**
 * The version a gate key pins: `indexVersion`, or `index_version` as the wire and the Python client spell it (a
 * JavaScript service reading a configuration shared with Python services; read as nothing, the gate would be served
 * unpinned: another index's threshold during a rebuild).
 */
export const versionOf = (g: GateKey): string | undefined => g.indexVersion ?? (g as { index_version?: string }).index_version;

/** The cache key of a gate (the stream entry keys its streams the same way). */
export function gateKey(g: GateKey): string {
  return JSON.stringify([g.index ?? DEFAULT_INDEX, g.embedding, g.reranker, versionOf(g) ?? null]);
}

/** The activation seq an ETag `"<calibration id>.<seq>"` names (a pushed event's seq), 0 when it names none. */
export const seqOf = (etag: string | null | undefined): number => Number(/\.(\d+)"$/u.exec(etag ?? "")?.[1] ?? 0);

/** An entry with nothing from the server yet, with the contract's default lifetimes (what `confirm` sets without a header). */
export function newEntry(gate: GateKey, now: number): Entry {
  const entry = { gate: { ...gate }, etag: null, uncalibrated: false } as Entry;
  confirm(entry, null, now);
  return entry;
}

/** Within max-age of the server's last answer, which a bootstrapped value has not had yet: answered as `cached`. */
export function isFresh(entry: Entry, now: number): boolean {
  return (entry.value !== undefined || entry.uncalibrated) && !entry.bootstrapped && now - entry.fetchedAt < entry.maxAgeMs;
}

/** Can this entry answer without waiting? A bootstrapped value can until the server answers. */
export function isUsable(entry: Entry, now: number, maxStaleMs: number | undefined): boolean {
  return (
    entry.uncalibrated ||
    (entry.value !== undefined && (entry.bootstrapped || now - entry.fetchedAt < entry.maxAgeMs + (maxStaleMs ?? entry.staleIfErrorMs)))
  );
}

/** Least recently used first out: drops the oldest entries (the Map's first keys) until at most `maxGates` remain. */
export function evictOldest(entries: Map<string, Entry>, maxGates: number): void {
  while (entries.size > maxGates) entries.delete(entries.keys().next().value as string);
}

/**
 * What a transition announces: nothing, an event, or two in order (a recovery, then what the answer changed).
 */
export type Announced = ClientEvent | undefined | readonly (ClientEvent | undefined)[];

/**
 * A server answer (200, 304, 404 uncalibrated, a pushed event): reset the failure state, take the lifetimes sent.
 * Answers the `recovered` event when the entry was failing: the server answers again, whatever it says.
 */
export function confirm(entry: Entry, response: Response | null, now: number): ClientEvent | undefined {
  const recovered = entry.lastError && ({ type: "recovered", gate: entry.gate } as const);
  const cc = cacheSeconds(response?.headers.get("cache-control"));
  entry.fetchedAt = now;
  entry.maxAgeMs = (cc.get("max-age") ?? THRESHOLD_MAX_AGE_SECONDS) * 1000;
  // A stale value is served while either window allows: the longer of the two.
  entry.staleIfErrorMs =
    Math.max(
      cc.get("stale-while-revalidate") ?? THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS,
      cc.get("stale-if-error") ?? THRESHOLD_STALE_IF_ERROR_SECONDS,
    ) * 1000;
  entry.bootstrapped = false;
  entry.failures = 0;
  entry.nextAttemptAt = 0;
  delete entry.lastError;
  return recovered;
}

/** A new value, from a 200 or a pushed event: keep it, announce a changed calibration (or a recovery). */
export function take(entry: Entry, value: Served, etag: string | null, response: Response | null, now: number): Announced {
  const previous = entry.value?.calibration_id ?? null;
  entry.value = value;
  entry.etag = etag;
  entry.uncalibrated = false;
  return confirmed(entry, response, now, previous !== value.calibration_id, previous);
}

/**
 * A 304 for the entry's value (held, with the ETag the request sent): the server confirms it. A value from a snapshot
 * is announced as the gate's calibration (the server's first word on it), a recovery from failures as such.
 */
export function notModified(entry: Entry, response: Response, now: number): Announced {
  return confirmed(entry, response, now, entry.bootstrapped, entry.value!.calibration_id);
}

/**
 * Confirms the entry's value (already in place) and says what changed: a recovery when the entry was failing, then its
 * calibration when `announce` (with the one it replaced).
 */
function confirmed(entry: Entry, response: Response | null, now: number, announce: boolean, previousCalibrationId: string | null): Announced {
  const recovered = confirm(entry, response, now);
  const value = entry.value!;
  return [
    recovered,
    announce
      ? { type: "calibration", gate: entry.gate, calibrationId: value.calibration_id, previousCalibrationId, threshold: value.threshold }
      : undefined,
  ];
}

/**
 * The server says the gate serves nothing (404 `uncalibrated` with its error, or a pushed event without a served
 * state): the error is kept for the answers and told with the event, so a typo in a gate key does not run on the
 * fallback without a word.
 */
export function markUncalibrated(entry: Entry, response: Response | null, now: number, error?: ClientError): Announced {
  const was = entry.uncalibrated;
  entry.value = undefined;
  entry.etag = null;
  entry.uncalibrated = true;
  entry.said = error;
  return [confirm(entry, response, now), was ? undefined : { type: "uncalibrated", gate: entry.gate, ...(error && { error }) }];
}

/** A failed request: the next attempt waits for the backoff (and Retry-After); the first failure in a row is announced. */
export function markFailed(entry: Entry, error: ClientError, now: number, backoff: BackoffPolicy, random: () => number): ClientEvent | undefined {
  entry.failures++;
  entry.lastError = error;
  entry.nextAttemptAt = now + backoffDelay(backoff, entry.failures, random, error.retryAfterMs);
  return entry.failures === 1 ? { type: "error", gate: entry.gate, error } : undefined;
}
