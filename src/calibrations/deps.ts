/**
 * The slice of dependencies the calibrations feature needs: src/worker/wiring.ts builds it from `env`, unit tests from
 * the in-memory doubles of test/support/.
 */
import type { AlertDeps } from "../alerts/deps";
import type { IdempotencyStore } from "../platform/idempotency-store";
import type { ThresholdProjection } from "../serving/projection";
import type { ThresholdReader } from "../serving/threshold-reader";
import type { CalibrationStore } from "./store";

export interface CalibrationDeps {
  readonly calibrations: CalibrationStore;
  /** The KV projection an activation publishes to. */
  readonly projection: ThresholdProjection;
  /** The injected clock. */
  readonly now: () => Date;
  /** 16 random hex characters (ids). */
  readonly random: () => string;
  /** Idempotency keys of uploads. */
  readonly idempotency: IdempotencyStore;
}

/** Reading calibrations, gates and history. */
export type RegistryDeps = Pick<CalibrationDeps, "calibrations">;

/** Storing and activating calibrations (calibrate.ts, activate.ts). */
export type ActivationDeps = Pick<CalibrationDeps, "calibrations" | "projection" | "now" | "random">;

/** The routes: the services above, the rebuild_shift alert and the isolate's threshold copies an activation replaces. */
export type CalibrationRouteDeps = CalibrationDeps & AlertDeps & { readonly thresholds: Pick<ThresholdReader, "invalidate"> };
