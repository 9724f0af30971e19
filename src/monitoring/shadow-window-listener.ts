/**
 * A calibration that leaves its gate's shadow set ends its shadow window (an activation listener, wired once in
 * src/worker/wiring.ts): removed from the set, activated, or made a promotion's candidate. Without it the old stint's
 * window (its counts, its alarm) stayed until its day ended: listed as the shadow's `drift` after the shadow was added
 * again, and exported as `role="shadow"` by /metrics and GET /v1/monitor for a calibration no longer in shadow.
 *
 * It acts on the gate's state now, not on the event alone: a listener may run again much later (the cron tick reruns a
 * change's listeners while any of them fails), and by then the calibration may be a shadow again, with a live window
 * of its new stint that must stay. So the window ends only while the calibration is outside the gate's shadow set.
 */
import type { ActivationListener } from "../calibrations/activation";
import type { CalibrationStore } from "../calibrations/store";
import type { GateEventKind } from "../contract";
import type { DriftConfig } from "../stats/drift-config";
import type { MonitorClient } from "./monitor-contract";

const LEAVES_SHADOW_SET: ReadonlySet<GateEventKind> = new Set<GateEventKind>([
  "shadow_removed",
  "activation",
  "promotion_started",
  "promotion_completed",
]);

export const endShadowOnChange = (
  deps: { readonly monitor: Pick<MonitorClient, "endShadow">; readonly calibrations: Pick<CalibrationStore, "gateState"> },
  drift: () => DriftConfig,
  now: () => Date,
): ActivationListener => ({
  failure: "ending the shadow window of a calibration that left the shadow set failed; the cron tick runs it again",
  run: async ({ event }) => {
    if (!LEAVES_SHADOW_SET.has(event.kind)) return;
    const { heads } = await deps.calibrations.gateState(event.gate_id);
    if (heads.shadows.some((s) => s.calibration_id === event.calibration_id)) return;
    await deps.monitor.endShadow(event.gate_id, event.calibration_id, now().getTime(), drift());
  },
});
