/**
 * The slices of dependencies the serving feature needs: src/worker/wiring.ts builds them from `env`, unit tests from
 * the in-memory doubles of test/support/.
 */
import type { AlertDeps } from "../alerts/deps";
import type { CalibrationStore } from "../calibrations/store";
import type { ThresholdProjection } from "./projection";

/** Publishing and reconciling the KV projection: the system of record and the projection. */
export interface ProjectionDeps {
  readonly calibrations: CalibrationStore;
  readonly projection: ThresholdProjection;
}

/** Reading a threshold through its tiers: storage, the clock, and work deferred past the response (KV repair). */
export interface ReaderDeps extends ProjectionDeps {
  readonly now: () => Date;
  readonly defer: (work: Promise<unknown>) => void;
}

/** GET /v1/threshold: the reader, and the uncalibrated_request alert. */
export type ServingDeps = ReaderDeps & AlertDeps;
