/**
 * The shift report a calibration is read with: what is true now, not only what its upload answered. A calibration
 * stored without being served says `alert: false, not_alerted: "not_activated"`, which was right at upload; once an
 * activation of it raised the rebuild_shift alert (or counted a repeat on the open one), the calibration is read with
 * the report that alerted, `alert: true` and the alert's id. The stored record is never rewritten: the upload's
 * answer (and its idempotent replay's top-level `shift`) stays what it was, and a calibration whose activations
 * raised nothing (a rollback, an activation that found nothing to alert, one never activated) is read as stored.
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

/** The shift a calibration is read with, given the alert its activation raised (undefined: none). */
export function servedShift(c: StoredCalibration, raised: RaisedShiftAlert | undefined): ShiftReport | null {
  if (raised === undefined) return c.shift;
  const report = raised.shift ?? c.shift;
  if (report === null) return null;
  return { ...report, alert: true, not_alerted: null, alert_id: raised.alert_id };
}
