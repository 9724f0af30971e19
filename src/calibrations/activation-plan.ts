/**
 * What an activation would change, computed against the gate's state before anything is written: the calibration
 * and what its activation needs, its shift against the calibration it replaces (from the kept distributions), and the
 * warnings it gives (a drop rate that moves beyond the tolerance, an open promotion it ends). activation.ts writes it;
 * a dry run (previewActivation) answers it; registry.ts reads a stored calibration's shift with it. No write here.
 */
import type { Activation, ShiftReport, StoredCalibration, Warning } from "../contract";
import { AppError } from "../platform/errors";
import { DEFAULT_SHIFT_TOLERANCE } from "../platform/limits";
import type { Distribution } from "../stats/distribution";
import { MIN_CLUSTER_QUERIES } from "../stats/per-query";
import { dropRateChangeWarning } from "./auto-activation";
import { rebuildShift } from "./rebuild-shift";
import { type RaisedShiftAlerts, servedShift } from "./served-shift";
import { type CalibrationStore, currentOf, type GateState } from "./store";

/** What planning an activation reads (the narrow slice of activation.ts's ActivationDeps): calibrations, raised shift alerts. */
export interface PlanDeps {
  readonly calibrations: CalibrationStore;
  /** The rebuild_shift alerts activations raised: whether an activation rolls one back (served-shift.ts). */
  readonly alerts: RaisedShiftAlerts;
}

/** What activating a calibration would change, computed against the gate's state: its shift and warnings. */
export interface ActivationPlan {
  readonly shift: ShiftReport | null;
  readonly warnings: Warning[];
  readonly previousCalibrationId: string | null;
}

/** A stored calibration with what its activation needs: its kept distribution and its gate's names. */
export async function loadForActivation(calibrationId: string, deps: PlanDeps) {
  const calibration = await deps.calibrations.get(calibrationId);
  if (calibration === null) throw new AppError("not_found", `calibration ${calibrationId} does not exist`);
  const [distribution, gate] = await Promise.all([deps.calibrations.distribution(calibration.id), deps.calibrations.gate(calibration.gate_id)]);
  if (gate === null) throw new TypeError(`calibration ${calibration.id} names gate ${calibration.gate_id}, which does not exist`);
  return { calibration, distribution, gate };
}

/**
 * The shift of `calibration` against `previousId`, the gate's current calibration its activation replaces, as that
 * activation computes it, from the kept distributions (only they are left of the new scores); `lastActivation` is the
 * activation that made `previousId` current (undefined: unknown, then it is no rollback). Also what a calibration
 * stored without being served, and activated later, is read with (registry.ts). No write.
 */
export async function activationShift(
  calibration: StoredCalibration,
  distribution: Distribution | null,
  previousId: string,
  lastActivation: Activation | undefined,
  deps: PlanDeps,
): Promise<{ readonly previous: StoredCalibration | null; readonly shift: ShiftReport | null }> {
  const [previous, previousDistribution, raised] = await Promise.all([
    deps.calibrations.get(previousId),
    deps.calibrations.distribution(previousId),
    deps.alerts.shiftAlertsRaisedBy(calibration.gate_id, [previousId]),
  ]);
  if (previous === null || previousDistribution === null || distribution === null) return { previous, shift: null };
  // A rollback activates the calibration the current one replaced (the activation that made it current says which)
  // after the current one's own shift report against it alerted: it undoes that incident (shift-alert.ts resolves it).
  // Promoting the replacement again is not one: it alerts as the first promotion did. The current one's report is
  // the one it is read with (served-shift.ts): one stored without being served alerted when it was activated.
  const previousShift = servedShift(previous, raised.get(previous.id));
  const rollback =
    lastActivation?.calibration_id === previousId &&
    lastActivation.previous_calibration_id === calibration.id &&
    previousShift?.previous_calibration_id === calibration.id &&
    previousShift.alert;
  // The upload measured the new side per query at this previous calibration's threshold: the same comparison again
  // reuses it, so the activation gives the upload's numbers (the kept distribution cannot measure the new scores'
  // clustering at another threshold than their own).
  const upload = calibration.shift;
  const measured =
    upload?.new_side && upload.previous_calibration_id === previous.id && upload.previous_threshold === previous.threshold
      ? {
          dropRate: upload.drop_rate_at_previous_threshold,
          designEffect: upload.new_side.design_effect,
          degreesOfFreedom: upload.new_side.degrees_of_freedom,
          guarded: upload.new_side.guarded,
        }
      : undefined;
  const shift = rebuildShift({
    previous,
    previousDistribution,
    sorted: null,
    distribution,
    byQuery: null,
    ...(measured ? { measured } : {}),
    // a calibration of one query measured no clustering: read as flat (rebuild-shift.ts)
    ...(calibration.per_query && (calibration.n_queries ?? 0) >= MIN_CLUSTER_QUERIES
      ? {
          newDesignEffect: calibration.per_query.design_effect,
          ...(calibration.interval_degrees_of_freedom != null ? { newDegreesOfFreedom: calibration.interval_degrees_of_freedom } : {}),
        }
      : {}),
    tolerance: calibration.shift_tolerance ?? DEFAULT_SHIFT_TOLERANCE,
    comparedWith: "gate_current",
    rollback,
  });
  return { previous, shift };
}

/**
 * The shift of `calibration` against the gate's current one (recomputed from the kept distributions) and the
 * warnings of the change, against `state`. No write.
 */
export async function planActivation(
  calibration: StoredCalibration,
  distribution: Distribution | null,
  { rows }: Pick<GateState, "rows">,
  deps: PlanDeps,
): Promise<ActivationPlan> {
  const previousRow = currentOf(rows);
  if (previousRow === null || previousRow.calibration_id === calibration.id) {
    return { shift: null, warnings: [], previousCalibrationId: previousRow?.calibration_id ?? null };
  }
  const [latest] = await deps.calibrations.activations(calibration.gate_id, 1);
  const { previous, shift } = await activationShift(
    calibration,
    distribution,
    previousRow.calibration_id,
    latest?.id === previousRow.activation_id ? latest : undefined,
    deps,
  );
  const warnings: Warning[] = [];
  const moved = previous && dropRateChangeWarning(previous, calibration, calibration.shift_tolerance ?? DEFAULT_SHIFT_TOLERANCE);
  if (moved) warnings.push(moved);
  return { shift, warnings, previousCalibrationId: previousRow.calibration_id };
}

/**
 * What an explicit activation says when the gate has an open (running or paused) guarded promotion: the activation
 * ends it (`superseded`, src/promotions/service.ts supersedeOnActivation) and serves this calibration to all traffic.
 * Not refused: only an explicit activation overrides a promotion (an upload's auto activation stores the upload
 * instead, "promotion_open"), but it must not do so unsaid. The promotion's own completion says nothing of it.
 */
export function promotionSupersededWarning(gateId: string, promotionId: string | null): Warning {
  // The id is read with the gate's state; null only when the promotion closed between the two reads of one answer.
  const which = promotionId === null ? "" : ` ${promotionId}`;
  const act =
    promotionId === null
      ? `GET /v1/gates/${gateId}/promotions shows it; to end it on its evidence instead, advance or roll it back (POST /v1/promotions/{id}/advance or /rollback)`
      : `GET /v1/promotions/${promotionId} shows it; to end it on its evidence instead, advance or roll it back (POST /v1/promotions/${promotionId}/advance or /rollback; scoregate promote ${promotionId} --advance or --rollback)`;
  return {
    code: "promotion_superseded",
    message: `this activation ends the gate's open guarded promotion${which}: it becomes "superseded", and this calibration is served to all traffic. ${act}`,
  };
}
