/** Raises a `rebuild_shift` alert when an activated calibration's shift report alerts. */
import type { ShiftReport, StoredCalibration } from "../contract";
import { raiseAlert } from "./lifecycle";
import type { AlertDeps } from "../platform/deps";
import type { ShiftListener } from "../calibrations/calibrate";

export function shiftAlertListener(deps: AlertDeps): ShiftListener {
  return async (c: StoredCalibration, shift: ShiftReport) => {
    await raiseAlert(
      {
        gate_id: c.gate_id,
        gate: { index: c.index, embedding: c.embedding, reranker: c.reranker },
        kind: "rebuild_shift",
        summary: `index_version ${c.index_version} is now served: ${shift.reason}`,
        details: { shift, index_version: c.index_version, threshold: c.threshold },
        calibration_ids: [shift.previous_calibration_id, c.id],
      },
      deps,
    );
  };
}
