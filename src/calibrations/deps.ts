/**
 * The slice of dependencies the calibrations feature needs: src/worker/wiring.ts builds it from `env`, unit tests from
 * the in-memory doubles of test/support/. Activating needs the narrower ActivationDeps (activation.ts).
 */
import type { IdempotencyStore } from "../platform/idempotency-store";
import type { ActivationDeps } from "./activation";

export type { ActivationDeps } from "./activation";

export interface CalibrationDeps extends ActivationDeps {
  /** Idempotency keys of uploads. */
  readonly idempotency: IdempotencyStore;
}

/** Reading calibrations (with the alert their activation raised), gates and history. */
export type RegistryDeps = Pick<CalibrationDeps, "calibrations" | "alerts">;
