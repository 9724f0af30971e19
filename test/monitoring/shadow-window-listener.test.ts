/**
 * The listener that ends a shadow window when its calibration leaves the gate's shadow set acts on the gate's state
 * now: a rerun of an old change's listeners (the cron tick reruns them while one fails) must not end the live window
 * of a calibration that is a shadow again.
 */
import { describe, expect, it } from "vitest";
import type { ActivationEvent } from "../../src/calibrations/activation";
import type { GateEventKind } from "../../src/contract";
import { endShadowOnChange } from "../../src/monitoring/shadow-window-listener";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";

function setup(shadowsNow: string[]) {
  const ended: string[] = [];
  const listener = endShadowOnChange(
    {
      monitor: {
        endShadow: async (_gate, calibrationId) => {
          ended.push(calibrationId);
          return true;
        },
      },
      calibrations: { gateState: async () => ({ heads: { shadows: shadowsNow.map((calibration_id) => ({ calibration_id })) } }) as never },
    },
    () => DEFAULT_DRIFT_CONFIG,
    () => new Date(Date.UTC(2026, 11, 5)),
  );
  const run = (kind: GateEventKind, calibration_id: string) =>
    listener.run({ event: { kind, gate_id: "g1", calibration_id } } as unknown as ActivationEvent);
  return { ended, run };
}

describe("endShadowOnChange", () => {
  it("ends the window of a calibration removed, activated or promoted, while it is outside the shadow set", async () => {
    const { ended, run } = setup([]);
    for (const kind of ["shadow_removed", "activation", "promotion_started", "promotion_completed"] as const) await run(kind, `cal_${kind}`);
    expect(ended).toEqual(["cal_shadow_removed", "cal_activation", "cal_promotion_started", "cal_promotion_completed"]);
  });

  it("a late rerun for a calibration that is a shadow again leaves its live window; other kinds never end one", async () => {
    const { ended, run } = setup(["cal_again"]);
    await run("shadow_removed", "cal_again");
    for (const kind of ["shadow_added", "shadow_changed", "promotion_step", "promotion_rolled_back"] as const) await run(kind, "cal_other");
    expect(ended).toEqual([]);
  });
});
