/**
 * The rebuild_shift alert follows activations: an activation whose shift report alerts raises it; an activation that
 * rolls back to the calibration that was served before the open alert's shift resolves it, with a note naming the
 * activation (and raises nothing, though the rollback's own shift report alerts too: the incident is over, not new).
 */
import type { Activation, ShiftReport, StoredCalibration } from "../contract";
import { raiseAlert, resolveAlert } from "./lifecycle";
import type { AlertDeps } from "./deps";
import type { ShiftListener } from "../calibrations/calibrate";

export function shiftAlertListener(deps: AlertDeps): ShiftListener {
  return async (c: StoredCalibration, shift: ShiftReport | null, activation: Activation) => {
    const [open] = await deps.alerts.list({ gate_id: c.gate_id, kind: "rebuild_shift", status: undefined, limit: 1 });
    // calibration_ids of a rebuild_shift alert are [the calibration served before, the one that shifted].
    if (open !== undefined && open.status !== "resolved" && open.calibration_ids[0] === c.id) {
      await resolveAlert(
        open.id,
        activation.actor,
        `resolved by activation ${activation.id}: ${c.id} (index_version ${c.index_version}), which was served before the shift, is current again`,
        deps,
      );
      return;
    }
    if (!shift?.alert) return;
    await raiseAlert(
      {
        gate_id: c.gate_id,
        gate: { index: c.index, embedding: c.embedding, reranker: c.reranker },
        kind: "rebuild_shift",
        summary: `index_version ${c.index_version} is now served: ${shift.reason}`,
        details: { shift, index_version: c.index_version, threshold: c.threshold, activation_id: activation.id },
        calibration_ids: [shift.previous_calibration_id, c.id],
      },
      deps,
    );
  };
}
