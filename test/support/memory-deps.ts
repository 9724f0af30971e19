/**
 * The calibrations and serving slices over in-memory stores for unit tests of services: an injected clock you can
 * advance, counter-based ids, and deferred work (ctx.waitUntil in the Worker) collected so a test can await it.
 */
import type { AlertDeps } from "../../src/alerts/deps";
import { shiftAlertListener } from "../../src/alerts/shift-alert";
import type { ActivationDeps, CalibrationDeps } from "../../src/calibrations/deps";
import type { ReaderDeps } from "../../src/serving/deps";
import { publishOnActivation } from "../../src/serving/publish";
import { MemoryAlertStore } from "./memory-alert-store";
import { MemoryCalibrationStore } from "./memory-calibration-store";
import { MemoryThresholdProjection } from "./memory-projection";

/** What memoryDeps builds: storing, activating and reading calibrations (with their alerts) and thresholds. */
export type MemoryDeps = ActivationDeps & ReaderDeps & Pick<CalibrationDeps, "alerts">;

/**
 * `store` and `projection` replace the in-memory doubles (a test's faulty or counting subclass). An activation
 * publishes to the projection and raises or resolves the rebuild_shift alert in `alerts`, as the Worker's wiring does
 * (src/worker/wiring.ts); the listeners with no in-memory double (the isolate's copies, the hubs, promotions) are
 * covered through the wiring by the workerd tests.
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
  const now = (): Date => new Date(nowMs);
  const random = (): string => (ids++).toString(16).padStart(16, "0");
  const defer = (p: Promise<unknown>): void => {
    pending.push(p);
  };
  const alerts = new MemoryAlertStore();
  const alertDeps: AlertDeps = { alerts, now, random, defer, deliverWebhooks: () => {}, publicUrl: null };
  const deps: MemoryDeps = {
    calibrations,
    projection,
    now,
    random,
    defer,
    alerts,
    activationListeners: [publishOnActivation({ calibrations, projection }), shiftAlertListener(alertDeps)],
  };
  return {
    deps,
    calibrations,
    projection,
    /** The rebuild_shift alerts the activations raised (webhook events stay in its outbox, never sent). */
    alerts,
    /** The alerts feature's slice over the same store and clock (its events are asserted in the outbox, never sent). */
    alertDeps,
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
