/**
 * POST /v1/calibrations/{id}/activate: promote or roll back. Appends an activation (who, when, what it replaced),
 * never overwrites one, then republishes the projection from D1.
 */
import { AppError } from "../platform/errors";
import type { Activation, ShiftReport, StoredCalibration, Warning } from "../contract";
import { currentOf, currentSeqOf } from "./store";
import type { ActivationDeps } from "./deps";
import { newId } from "../platform/ids";
import { rebuildShift } from "./rebuild-shift";
import { afterActivation, type ShiftListener, tooManyConcurrentActivations } from "./calibrate";
import { DEFAULT_SHIFT_TOLERANCE, MAX_ACTIVATION_ATTEMPTS } from "../platform/limits";

export interface ActivationResult {
  readonly activation: Activation;
  readonly calibration: StoredCalibration;
  /** The shift of this calibration against the calibration it replaces as the gate's current one. */
  readonly shift: ShiftReport | null;
  readonly warnings: Warning[];
}

export async function activate(
  calibrationId: string,
  actor: string,
  reason: string | null,
  deps: ActivationDeps,
  onShiftAlert: ShiftListener | null = null,
): Promise<ActivationResult> {
  const calibration = await deps.calibrations.get(calibrationId);
  if (calibration === null) throw new AppError("not_found", `calibration ${calibrationId} does not exist`);
  const now = deps.now();
  const activationId = newId("act", now, deps.random());
  const distribution = await deps.calibrations.distribution(calibration.id);

  // Written only if the gate's current calibration is still the one read here (a conditional write): concurrent
  // activations of one gate line up, each recording the one activated just before it and its shift against that one.
  for (let attempt = 1; ; attempt++) {
    const rows = await deps.calibrations.activeRows(calibration.gate_id);
    const previousRow = currentOf(rows);
    let shift: ShiftReport | null = null;
    if (previousRow !== null && previousRow.calibration_id !== calibration.id) {
      const [previous, previousDistribution] = await Promise.all([
        deps.calibrations.get(previousRow.calibration_id),
        deps.calibrations.distribution(previousRow.calibration_id),
      ]);
      if (previous && previousDistribution && distribution) {
        // Only the kept distribution is left of the new scores: evaluate the previous threshold on it.
        shift = rebuildShift({
          previous,
          previousDistribution,
          sorted: null,
          distribution,
          byQuery: null,
          newDesignEffect: calibration.per_query?.design_effect ?? 1,
          tolerance: calibration.shift_tolerance ?? DEFAULT_SHIFT_TOLERANCE,
          comparedWith: "gate_current",
        });
      }
    }

    const activation: Activation = {
      id: activationId,
      gate_id: calibration.gate_id,
      index_version: calibration.index_version,
      calibration_id: calibration.id,
      previous_calibration_id: previousRow?.calibration_id ?? null,
      activated_at: deps.now().toISOString(),
      actor,
      reason,
    };
    if (!(await deps.calibrations.activate(activation, currentSeqOf(rows)))) {
      if (attempt >= MAX_ACTIVATION_ATTEMPTS) throw tooManyConcurrentActivations();
      continue;
    }
    const warnings: Warning[] = [];
    await afterActivation(calibration, shift, deps, onShiftAlert, warnings, activation);
    return { activation, calibration, shift, warnings };
  }
}
