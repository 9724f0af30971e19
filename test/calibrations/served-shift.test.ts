/**
 * The shift a calibration is read with (src/calibrations/served-shift.ts), over the in-memory stores: stored without
 * being served it says "not_activated"; once its activation raised the rebuild_shift alert it says so, with the
 * alert's id; the stored record is not rewritten.
 */
import { describe, expect, it } from "vitest";
import { activate } from "../../src/calibrations/activation";
import { calibrate } from "../../src/calibrations/calibrate";
import { getCalibration, history } from "../../src/calibrations/registry";
import { CalibrationMeta } from "../../src/contract";
import { memoryDeps } from "../support/memory-deps";

const GATE = { index: "docs", embedding: "e5", reranker: "bge" };
/** 5,000 scores in queries of 20 (clustering measured, so a 15-point move is decided), `offset` lower or higher. */
const input = (version: string, offset: number) => {
  const scores = Float64Array.from({ length: 5000 }, (_, i) => offset + (((i + 1) * 0.6180339887498949) % 1));
  const offsets = Uint32Array.from({ length: 251 }, (_, q) => q * 20);
  const meta = CalibrationMeta.parse({ ...GATE, index_version: version, policy: { kind: "drop_rate", target: 0.2 } });
  return { meta, scores, offsets };
};

describe("servedShift over the in-memory stores", () => {
  it("a shifted upload stored without serving is read with the alert its activation raised", async () => {
    const m = memoryDeps();
    const v1 = await calibrate(input("v1", 0), "alice", m.deps);
    const v2 = await calibrate(input("v2", -0.15), "alice", m.deps);
    expect(v2.outcome).toMatchObject({ activated: false, reason: "shifted" });
    expect((await getCalibration(v2.calibration.id, m.deps)).shift).toMatchObject({ alert: false, not_alerted: "not_activated" });

    await activate(v2.calibration.id, "bob", "reviewed", m.deps);
    const [alert] = await m.alerts.list({ gate_id: v2.calibration.gate_id, kind: "rebuild_shift", limit: 10 });
    expect(alert!.calibration_ids).toEqual([v1.calibration.id, v2.calibration.id]);
    const read = await getCalibration(v2.calibration.id, m.deps);
    expect(read.shift).toMatchObject({ decision: "shifted", alert: true, not_alerted: null, alert_id: alert!.id });
    const page = await history(GATE, 10, undefined, m.deps);
    expect(page.calibrations.find((c) => c.id === v2.calibration.id)!.shift).toEqual(read.shift);
    // the record keeps what the upload answered
    expect((await m.calibrations.get(v2.calibration.id))!.shift).toMatchObject({ alert: false, not_alerted: "not_activated" });
    expect((await getCalibration(v1.calibration.id, m.deps)).shift).toBeNull();
  });
});
