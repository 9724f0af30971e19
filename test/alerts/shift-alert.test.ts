/**
 * The rebuild_shift alert across more than one shifting activation (src/alerts/shift-alert.ts): a second shift while
 * the gate's alert is unresolved counts on it and is said to the webhooks as alert.repeated, once per activation,
 * also when the activation's listeners run again (a change whose listeners were owed after a crash).
 */
import { describe, expect, it } from "vitest";
import v1Body from "../../fixtures/walkthrough/v1.json";
import v2Body from "../../fixtures/walkthrough/v2.json";
import { shiftAlertListener } from "../../src/alerts/shift-alert";
import type { ActivationEvent } from "../../src/calibrations/activation";
import { calibrate } from "../../src/calibrations/calibrate";
import { CalibrationMeta } from "../../src/contract";
import { flattenQueries } from "../../src/stats/per-query";
import { memoryDeps } from "../support/memory-deps";

type Body = { queries: number[][] } & Record<string, unknown>;

describe("rebuild_shift across two shifting activations", () => {
  it("counts the second on the open alert, says it once as alert.repeated, and a rerun of its listeners changes nothing", async () => {
    const s = memoryDeps();
    const seen: ActivationEvent[] = [];
    (s.deps.activationListeners as unknown as { run: (e: ActivationEvent) => void; failure: string }[]).push({
      run: (e) => {
        seen.push(e);
      },
      failure: "capture",
    });
    const upload = async (body: Body) => {
      const { queries, ...meta } = body;
      return (await calibrate({ meta: CalibrationMeta.parse(meta), ...flattenQueries(queries) }, "alice", s.deps)).calibration;
    };
    const v1 = await upload(v1Body as Body);
    const v2 = await upload(v2Body as Body);
    const v3 = await upload({ ...(v1Body as Body), index_version: "v3", policy: { kind: "drop_rate", target: 0.22 }, activate: true });
    const [alert] = await s.alerts.list({ kind: "rebuild_shift", limit: 10 });
    expect(alert).toMatchObject({ status: "open", occurrences: 2, calibration_ids: [v1.id, v2.id] });
    const repeated = s.alerts.events.filter((e) => e.type === "alert.repeated");
    expect(repeated.map((e) => e.id)).toEqual([`msg_${alert!.id}_repeated_${seen.at(-1)!.activation.id}`]);
    expect(JSON.parse(repeated[0]!.payload).repeat).toEqual({
      summary: expect.stringMatching(/^index_version v3 is now served: /u),
      calibration_ids: [v2.id, v3.id],
    });
    // v3's activation's listeners run again: the alert is not counted again, and nothing more is sent
    await shiftAlertListener(s.alertDeps).run(seen.at(-1)!);
    expect((await s.alerts.get(alert!.id))!.occurrences).toBe(2);
    expect(s.alerts.events.filter((e) => e.type === "alert.repeated")).toHaveLength(1);
    expect(s.alerts.events.map((e) => e.type)).toEqual(["alert.opened", "alert.repeated"]);
  });
});
