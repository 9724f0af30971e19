/**
 * The rebuild_shift alert follows activations: an activation whose shift report alerts raises it; an activation that
 * rolls back to the calibration that was served before the open alert's shift resolves it, with a note naming the
 * activation (and raises nothing, though the rollback's own shift report alerts too: the incident is over, not new).
 * Only a change of the gate's current calibration counts (CALIBRATION_CHANGE_KINDS): a promotion's start, step or
 * shadow names its candidate too, but serves it to a share of traffic at most, so it neither ends nor starts an
 * incident. A second shifting activation while the alert is unresolved counts on it and is sent as `alert.repeated`
 * (a new change pages as the first did). An activation listener (src/calibrations/activation.ts), wired in src/worker/wiring.ts. Run once more for
 * the same activation (src/calibrations/pending-listeners.ts), it changes nothing: the alert it opened is not counted
 * again, and one it resolved stays resolved.
 */
import type { ActivationListener } from "../calibrations/activation";
import { isCalibrationChange, type ShiftAlertDetails } from "../contract";
import type { AlertDeps } from "./deps";
import { raiseAlert, resolveAlert } from "./lifecycle";
import { alertPayload } from "./payload";

export function shiftAlertListener(deps: AlertDeps): ActivationListener {
  return {
    failure: "updating the rebuild_shift alert failed",
    warning: { code: "alert_not_raised", message: "the rebuild_shift alert could not be stored or resolved; check GET /v1/alerts" },
    run: async ({ calibration: c, shift, activation, event }) => {
      if (!isCalibrationChange(event.kind)) return;
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
      if (open !== undefined && open.status !== "resolved") {
        // Its own alert, opened when its listeners ran before, or its own repeat counted then: not a repeat again.
        if (open.details.activation_id === activation.id) return;
        const [latest] = await deps.alerts.occurrences(open.id, 1);
        if (latest?.details.activation_id === activation.id) return;
      }
      const summary = `index_version ${c.index_version} is now served: ${shift.reason}`;
      const calibrationIds = [shift.previous_calibration_id, c.id];
      const { alert, opened } = await raiseAlert(
        {
          gate_id: c.gate_id,
          gate: { index: c.index, embedding: c.embedding, reranker: c.reranker },
          kind: "rebuild_shift",
          summary,
          details: { shift, index_version: c.index_version, threshold: c.threshold, activation_id: activation.id } satisfies ShiftAlertDetails,
          calibration_ids: calibrationIds,
        },
        deps,
      );
      if (opened) return;
      // A second shifting activation while the gate's alert is unresolved (acknowledged, say) is a new change, not a
      // repeated reading: said to the webhooks as alert.repeated, once per activation, so it pages as the first did.
      const at = deps.now().toISOString();
      await deps.alerts.notify(alert.id, at, {
        id: `msg_${alert.id}_repeated_${activation.id}`,
        type: "alert.repeated",
        payload: alertPayload(alert, "repeated", at, deps.publicUrl, { summary, calibration_ids: calibrationIds }),
      });
      deps.deliverWebhooks();
    },
  };
}
