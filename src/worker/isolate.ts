/**
 * What one isolate (one instance of this Worker) remembers between requests, all in this one file. Plain values only,
 * never bindings: a binding belongs to its request's `env`, and workerd forbids sharing I/O objects across requests.
 * Each value is safe to lose at any moment (a new isolate starts empty) and bounded in size.
 */
import { newUncalibratedMemory } from "../alerts/uncalibrated-alert";
import { TokenCache } from "../platform/auth-middleware";
import { openApiDocument } from "../reference/openapi";
import { newThresholdCaches } from "../serving/threshold-reader";

/** Computes `make()` on first use and keeps the value for the isolate's lifetime. */
function kept<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

export const isolate = {
  /**
   * The threshold read path's tiers in memory (src/serving/threshold-reader.ts): each gate's threshold for
   * ISOLATE_CACHE_TTL_MS, and the last one served for LAST_KNOWN_GOOD_MS (answered, marked stale, only when KV and D1
   * both fail). At most ISOLATE_CACHE_MAX_ENTRIES entries each.
   */
  thresholds: newThresholdCaches(),
  /** Gates whose uncalibrated_request alert this isolate raised in the last UNCALIBRATED_ALERT_INTERVAL_MS. */
  uncalibratedAlerts: newUncalibratedMemory(),
  /** The configured token digests and the tokens already verified (src/platform/auth-middleware.ts). */
  tokens: new TokenCache(),
  /** D1 databases found migrated (src/platform/readiness.ts): migrations are never rolled back. */
  migrated: new WeakSet<D1Database>(),
  /** The OpenAPI document (src/reference/openapi.ts): it depends only on the contract. */
  openApiDocument: kept(openApiDocument),
};
