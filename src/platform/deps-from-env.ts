/**
 * Builds the per-request dependencies from `env`: storage implementations, the clock and randomness.
 * No module-level singletons hold bindings (docs/architecture.md#where-state-lives).
 */
import type { Env } from "./env";
import { KV_CACHE_TTL_SECONDS } from "./limits";
import type { AlertDeps, AppDeps, CoreDeps } from "./deps";
import { D1IdempotencyStore } from "./d1-idempotency-store";
import { DurableMonitorClient } from "../monitoring/monitor-client";
import { CloudflareObservationQueue, OBSERVATION_INGEST_MODES, type ObservationIngest } from "../monitoring/observation-queue";
import type { ConsumerDeps } from "../monitoring/queue-consumer";
import { DEFAULT_DRIFT_CONFIG, type DriftConfig } from "../stats/drift";
import { AppError } from "./errors";
import { isProduction } from "./auth";
import { D1AlertStore } from "../alerts/d1-store";
import { D1WebhookStore } from "../webhooks/d1-store";
import { cryptoRandomHex16 } from "./ids";
import { D1CalibrationStore } from "../calibrations/d1-store";
import { KvThresholdProjection } from "../serving/projection";

export function coreDeps(
  env: Env,
  waitUntil: (p: Promise<unknown>) => void,
  now: () => Date = () => new Date(),
  kvCacheTtlSeconds: number | null = KV_CACHE_TTL_SECONDS,
): CoreDeps {
  return {
    calibrations: new D1CalibrationStore(env.DB),
    projection: new KvThresholdProjection(env.THRESHOLDS, kvCacheTtlSeconds),
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

/** Core plus alerts and webhook delivery. */
export function alertDeps(
  env: Env,
  waitUntil: (p: Promise<unknown>) => void,
  now: () => Date = () => new Date(),
  kvCacheTtlSeconds: number | null = KV_CACHE_TTL_SECONDS,
): AlertDeps {
  return {
    ...coreDeps(env, waitUntil, now, kvCacheTtlSeconds),
    alerts: new D1AlertStore(env.DB),
    webhooks: new D1WebhookStore(env.DB),
    fetch: (input, init) => fetch(input, init),
    production: isProduction(env.ENVIRONMENT),
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
  };
}

/** The drift configuration from env (DRIFT_ALPHA, DRIFT_TOLERANCE), validated; defaults from stats/drift.ts. */
export function driftConfig(env: Env): DriftConfig {
  const read = (name: "DRIFT_ALPHA" | "DRIFT_TOLERANCE", fallback: number, ok: (x: number) => boolean): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") return fallback;
    const x = Number(raw);
    if (!ok(x)) throw new AppError("misconfigured", `${name}=${JSON.stringify(raw)} is not valid`);
    return x;
  };
  return {
    ...DEFAULT_DRIFT_CONFIG,
    alpha: read("DRIFT_ALPHA", DEFAULT_DRIFT_CONFIG.alpha, (x) => x > 0 && x < 0.5),
    tolerance: read("DRIFT_TOLERANCE", DEFAULT_DRIFT_CONFIG.tolerance, (x) => x >= 0 && x < 1),
  };
}

/**
 * The observation ingest mode from env (OBSERVATION_INGEST: "direct", the default when unset or empty, or "queue"),
 * validated: any other value, or "queue" without the OBSERVATIONS_QUEUE binding, is AppError misconfigured.
 */
export function observationIngest(env: Env): ObservationIngest {
  const raw = env.OBSERVATION_INGEST;
  const mode = raw === undefined || raw.trim() === "" ? "direct" : raw;
  if (mode === "direct") return { mode };
  if (mode === "queue") {
    if (env.OBSERVATIONS_QUEUE === undefined) {
      throw new AppError(
        "misconfigured",
        'OBSERVATION_INGEST is "queue" but the Worker has no OBSERVATIONS_QUEUE binding: declare it under [[queues.producers]] in wrangler.toml',
      );
    }
    return { mode, queue: new CloudflareObservationQueue(env.OBSERVATIONS_QUEUE) };
  }
  throw new AppError(
    "misconfigured",
    `OBSERVATION_INGEST=${JSON.stringify(raw)} is not valid: use ${OBSERVATION_INGEST_MODES.map((m) => JSON.stringify(m)).join(" or ")}`,
  );
}

/** What the observation queue's consumer needs: the gate monitors, the clock, the drift configuration, a logger. */
export function consumerDeps(env: Env, now: () => Date = () => new Date()): ConsumerDeps {
  let drift: DriftConfig | undefined;
  return {
    monitor: new DurableMonitorClient(env.GATE_MONITOR),
    now,
    get drift() {
      drift ??= driftConfig(env);
      return drift;
    },
    log: {
      warn: (message, fields) => console.warn(message, JSON.stringify(fields)),
      error: (message, fields) => console.error(message, JSON.stringify(fields)),
    },
  };
}

/** Everything a request may need: core, alerts, the gate monitors and the drift configuration. */
export function appDeps(env: Env, waitUntil: (p: Promise<unknown>) => void, now: () => Date = () => new Date()): AppDeps {
  let drift: DriftConfig | undefined;
  let ingest: ObservationIngest | undefined;
  return {
    ...alertDeps(env, waitUntil, now),
    monitor: new DurableMonitorClient(env.GATE_MONITOR),
    // Validated when first used, so a typo in DRIFT_* fails the drift endpoints loudly without taking serving down.
    get drift() {
      drift ??= driftConfig(env);
      return drift;
    },
    // Validated when first used, like drift: a typo in OBSERVATION_INGEST fails POST /v1/observations, nothing else.
    get ingest() {
      ingest ??= observationIngest(env);
      return ingest;
    },
    idempotency: new D1IdempotencyStore(env.DB),
  };
}
