/**
 * What one isolate (one instance of this Worker) remembers between requests, all in this one file. Plain values only,
 * never bindings: a binding belongs to its request's `env`, and workerd forbids sharing I/O objects across requests.
 * Each value is safe to lose at any moment (a new isolate starts empty) and bounded in size.
 */
import { newUncalibratedMemory } from "../alerts/uncalibrated-alert";
import { LoginThrottle } from "../dashboard/login-throttle";
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

/**
 * A new isolate's memory, empty: `isolate` below is one, and the test setups (test/support/setup-*-file.ts) give each
 * test file another, as a new isolate would have.
 */
export const newIsolateMemory = () => ({
  /**
   * The threshold read path's tiers in memory (src/serving/threshold-reader.ts): each gate's threshold for
   * ISOLATE_CACHE_TTL_MS, and the last one served for LAST_KNOWN_GOOD_MS (answered, marked stale, only when KV and D1
   * both fail). At most ISOLATE_CACHE_MAX_ENTRIES entries each.
   */
  thresholds: newThresholdCaches(),
  /** The minute this isolate last recorded each (gate, token) asking for an uncalibrated gate (alerts/uncalibrated-alert.ts). */
  uncalibratedAlerts: newUncalibratedMemory(),
  /** The configured token digests and the tokens already verified (src/platform/auth-middleware.ts). */
  tokens: new TokenCache(),
  /** Failed dashboard sign-ins per client address (src/dashboard/login-throttle.ts), at most LOGIN_THROTTLE_MAX_ADDRESSES. */
  loginThrottle: new LoginThrottle(),
  /** D1 databases found migrated (src/platform/readiness.ts): migrations are never rolled back. */
  migrated: new WeakSet<D1Database>(),
  /** The OpenAPI document (src/reference/openapi.ts): it depends only on the contract. */
  openApiDocument: kept(openApiDocument),
});

export const isolate = newIsolateMemory();
