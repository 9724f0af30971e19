/**
 * The hot read path of GET /v1/threshold, in three tiers:
 *   1. the isolate cache (ISOLATE_CACHE_TTL_MS): no I/O at all, the common case at high request rates;
 *   2. the KV projection (edge-cached for KV_CACHE_TTL_SECONDS): no D1 query;
 *   3. D1, only when KV has no value (first read after a failed publish, or a gate that was never calibrated), and the
 *      answer is cached in the isolate (positive or negative) so D1 sees at most one query per gate per isolate per TTL.
 * A gate without an active calibration gets `uncalibrated`, never another gate's threshold.
 */
import { AppError } from "../platform/errors";
import type { ThresholdQuery } from "../contract";
import { currentOf } from "../calibrations/store";
import type { ProjectedThreshold } from "./projection";
import type { CoreDeps } from "../platform/deps";
import { gateIdOf } from "../platform/ids";
import type { IsolateCache } from "./isolate-cache";
import { projectionOf, publishGate } from "./publish";

/**
 * A cached answer: the projection (with its response body serialized once), or null for "uncalibrated" (negative
 * caching keeps misses off D1).
 */
export type CachedThreshold = {
  readonly value: ProjectedThreshold | null;
  readonly gateId: string;
  readonly body: string | null;
  /** For "uncalibrated": the calibrated gates the caller may have meant (computed once per negative cache fill). */
  readonly suggestions?: readonly GateSuggestion[];
};

export interface GateSuggestion {
  readonly index: string;
  readonly embedding: string;
  readonly reranker: string;
}

/** Gates suggested in an uncalibrated 404. */
export const MAX_GATE_SUGGESTIONS = 5;

const cached = (value: ProjectedThreshold | null, gateId: string, suggestions?: readonly GateSuggestion[]): CachedThreshold => ({
  value,
  gateId,
  body: value === null ? null : JSON.stringify(value.threshold),
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
  readonly body: string;
  /** Which tier answered: for the `X-Scoregate-Source` header and metrics. */
  readonly source: "isolate" | "kv" | "d1";
}

function uncalibratedMessage(q: ThresholdQuery, suggestions: readonly GateSuggestion[]): string {
  const gate = `${q.index} / ${q.embedding} / ${q.reranker}${q.index === "default" ? ' (index defaults to "default" when omitted)' : ""}`;
  const base =
    q.index_version === undefined
      ? `the gate ${gate} has no active calibration`
      : `index_version ${JSON.stringify(q.index_version)} of the gate ${gate} has no active calibration`;
  const sameModels = suggestions.filter((s) => s.embedding === q.embedding && s.reranker === q.reranker);
  if (sameModels.length > 0) return `${base}; did you mean ${sameModels.map((s) => `index=${s.index}`).join(" or ")}? (see details.suggestions)`;
  if (suggestions.length > 0) return `${base}; calibrated gates with similar names are in details.suggestions`;
  return `${base}: upload one with POST /v1/calibrations`;
}

export class UncalibratedError extends AppError {
  constructor(
    readonly gateId: string,
    q: ThresholdQuery,
    suggestions: readonly GateSuggestion[] = [],
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

export async function readThreshold(q: ThresholdQuery, cache: IsolateCache<CachedThreshold>, deps: CoreDeps): Promise<ReadOutcome> {
  const key = cacheKeyOf(q);
  const nowMs = deps.now().getTime();
  const hit = cache.get(key, nowMs);
  if (hit !== undefined) {
    if (hit.value === null) throw new UncalibratedError(hit.gateId, q, hit.suggestions);
    return { projection: hit.value, body: hit.body!, source: "isolate" };
  }
  const gateId = await gateIdOf(q);
  const version = q.index_version ?? null;
  const fromKv = await deps.projection.get(gateId, version);
  if (fromKv !== null) {
    const entry = cached(fromKv, gateId);
    cache.set(key, entry, nowMs);
    return { projection: fromKv, body: entry.body!, source: "kv" };
  }
  const rows = await deps.calibrations.activeRows(gateId);
  const row = version === null ? currentOf(rows) : (rows.find((r) => r.index_version === version) ?? null);
  const [gate, record] = row ? await Promise.all([deps.calibrations.gate(gateId), deps.calibrations.get(row.calibration_id)]) : [null, null];
  if (row === null || gate === null || record === null) {
    const suggestions = (await deps.calibrations.calibratedNeighbours(q, MAX_GATE_SUGGESTIONS)).map((g) => ({
      index: g.index,
      embedding: g.embedding,
      reranker: g.reranker,
    }));
    cache.set(key, cached(null, gateId, suggestions), nowMs);
    throw new UncalibratedError(gateId, q, suggestions);
  }
  const projection = projectionOf(gate, row, record);
  const entry = cached(projection, gateId);
  cache.set(key, entry, nowMs);
  // KV was missing a value D1 has: repair it after responding.
  deps.defer(publishGate(gateId, version === null ? [] : [version], deps));
  return { projection, body: entry.body!, source: "d1" };
}
