/**
 * The calibrations and serving slices over in-memory stores for unit tests of services: an injected clock you can
 * advance, counter-based ids, and deferred work (ctx.waitUntil in the Worker) collected so a test can await it.
 */
import type { ActivationDeps } from "../../src/calibrations/deps";
import type { ReaderDeps } from "../../src/serving/deps";
import { publishOnActivation } from "../../src/serving/publish";
import { MemoryCalibrationStore } from "./memory-calibration-store";
import { MemoryThresholdProjection } from "./memory-projection";

/** What memoryDeps builds: storing, activating and reading calibrations and thresholds. */
export type MemoryDeps = ActivationDeps & ReaderDeps;

/**
 * `store` and `projection` replace the in-memory doubles (a test's faulty or counting subclass). An activation
 * publishes to the projection, as the Worker's wiring does (src/worker/wiring.ts).
 */
export function memoryDeps<
  S extends MemoryCalibrationStore = MemoryCalibrationStore,
  P extends MemoryThresholdProjection = MemoryThresholdProjection,
>(options: { store?: S; projection?: P; startMs?: number } = {}) {
  let nowMs = options.startMs ?? Date.UTC(2026, 10, 24, 12, 0, 0);
  let ids = 0;
  const pending: Promise<unknown>[] = [];
  const calibrations = (options.store ?? new MemoryCalibrationStore()) as S;
  const projection = (options.projection ?? new MemoryThresholdProjection()) as P;
  const deps: MemoryDeps = {
    calibrations,
    projection,
    now: () => new Date(nowMs),
    random: () => (ids++).toString(16).padStart(16, "0"),
    defer: (p) => {
      pending.push(p);
    },
    activationListeners: [publishOnActivation({ calibrations, projection })],
  };
  return {
    deps,
    calibrations,
    projection,
    pending,
    advance: (ms: number) => {
      nowMs += ms;
    },
    /** Awaits and clears the deferred work. */
    flush: async () => {
      await Promise.all(pending.splice(0));
    },
  };
}
