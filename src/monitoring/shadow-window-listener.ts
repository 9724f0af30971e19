/**
 * A calibration that leaves its gate's shadow set ends its shadow window (an activation listener, wired once in
 * src/worker/wiring.ts): removed from the set, activated, or made a promotion's candidate. Without it the old stint's
 * window (its counts, its alarm) stayed until its day ended: listed as the shadow's `drift` after the shadow was added
 * again, and exported as `role="shadow"` by /metrics and GET /v1/monitor for a calibration no longer in shadow. An
 * added shadow ends one too (left behind by an earlier stint whose end failed). Idempotent: a retry by the cron tick
 * (pending listeners) finds no window.
 */
import type { ActivationListener } from "../calibrations/activation";
import type { GateEventKind } from "../contract";
import type { DriftConfig } from "../stats/drift-config";
import type { MonitorClient } from "./monitor-contract";

const ENDS_SHADOW: ReadonlySet<GateEventKind> = new Set<GateEventKind>([
  "shadow_added",
  "shadow_removed",
  "activation",
  "promotion_started",
  "promotion_completed",
]);

export const endShadowOnChange = (monitor: Pick<MonitorClient, "endShadow">, drift: () => DriftConfig, now: () => Date): ActivationListener => ({
  failure: "ending the shadow window of a calibration that left the shadow set failed; the cron tick runs it again",
  run: async ({ event }) => {
    if (!ENDS_SHADOW.has(event.kind)) return;
    await monitor.endShadow(event.gate_id, event.calibration_id, now().getTime(), drift());
  },
});
