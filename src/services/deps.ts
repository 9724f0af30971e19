import type { CalibrationStore } from "../storage/calibration-store";
import type { ThresholdProjection } from "../storage/threshold-projection";

/** What the core services need, built per request from `env` (app.ts) or from memory stores (unit tests). */
export interface CoreDeps {
  readonly calibrations: CalibrationStore;
  readonly projection: ThresholdProjection;
  /** The injected clock. */
  readonly now: () => Date;
  /** 16 random hex characters (ids). */
  readonly random: () => string;
  /** Runs work after the response (ctx.waitUntil in the Worker; awaited inline in tests). */
  readonly defer: (work: Promise<unknown>) => void;
}
