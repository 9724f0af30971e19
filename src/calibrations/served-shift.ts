/**
 * The shift report a calibration is read with: what is true now, not only what its upload answered. A calibration
 * stored without being served says `alert: false, not_alerted: "not_activated"`, which was right at upload; once an
 * activation of it raised the rebuild_shift alert (or counted a repeat on the open one), the calibration is read with
 * the report that alerted, `alert: true` and the alert's id; once activated without an alert (the gate's current
 * calibration had changed, or it was a rollback), with the report its activation made. The stored record is never
 * rewritten: the upload's answer (and its idempotent replay's top-level `shift`) stays what it was, and a calibration
 * never activated since it was stored, or served by its upload, is read as stored.
 */
import type { ShiftReport, StoredCalibration } from "../contract";

/** The latest rebuild_shift alert occurrence an activation of a calibration raised: the alert and its report. */
export interface RaisedShiftAlert {
  readonly alert_id: string;
  /** The report the activation's listener raised it with (null only if the occurrence lacks one). */
  readonly shift: ShiftReport | null;
}

/**
 * What the calibrations feature reads of the rebuild_shift alerts (the alerts feature's store implements it): for
 * each of `calibrationIds` of the gate whose activation raised or repeated one, the latest such occurrence (the
 * calibrations an occurrence names are [the one served before, the one that shifted]: the second is looked up).
 */
export interface RaisedShiftAlerts {
  shiftAlertsRaisedBy(gateId: string, calibrationIds: readonly string[]): Promise<ReadonlyMap<string, RaisedShiftAlert>>;
}

/**
 * The shift a calibration is read with, given the alert its activation raised (undefined: none) and, for one whose
 * stored report says "not_activated", the report of its latest activation if it has been activated since (undefined:
 * it has not, or its activation is not known: the stored report stands).
 */
export function servedShift(
  c: StoredCalibration,
  raised: RaisedShiftAlert | undefined,
  activated?: { readonly shift: ShiftReport | null },
): ShiftReport | null {
  if (raised !== undefined) {
    const report = raised.shift ?? c.shift;
    return report === null ? null : { ...report, alert: true, not_alerted: null, alert_id: raised.alert_id };
  }
  return activated !== undefined && wasNotActivated(c) ? activated.shift : c.shift;
}

/** The stored report says the upload was not served: once it is activated, that is no longer what is true. */
export const wasNotActivated = (c: StoredCalibration): boolean => c.shift?.not_alerted === "not_activated";
