/**
 * Builds the per-request dependencies from `env`: storage implementations, the clock and randomness.
 * No module-level singletons hold bindings (STYLE.md #6).
 */
import type { Env } from "./app-env";
import { KV_CACHE_TTL_SECONDS } from "./limits";
import type { CoreDeps } from "./services/deps";
import { cryptoRandomHex16 } from "./services/ids";
import { D1CalibrationStore } from "./storage/d1-calibration-store";
import { KvThresholdProjection } from "./storage/threshold-projection";

export function coreDeps(env: Env, waitUntil: (p: Promise<unknown>) => void, now: () => Date = () => new Date()): CoreDeps {
  return {
    calibrations: new D1CalibrationStore(env.DB),
    projection: new KvThresholdProjection(env.THRESHOLDS, KV_CACHE_TTL_SECONDS),
    now,
    random: cryptoRandomHex16,
    defer: (p) =>
      waitUntil(
        p.catch((e: unknown) => {
          console.error("deferred work failed", e);
        }),
      ),
  };
}
