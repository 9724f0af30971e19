/**
 * The `distribution` column of D1's calibrations (src/calibrations/distribution-codec.ts): written as base64 text, and
 * rows stored as BLOBs (every row before this encoding) still read the same, by the store and by what an upload
 * compares against (the rebuild shift, computed from the previous calibration's stored summary).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { D1CalibrationStore } from "../../src/calibrations/d1-store";
import { encodeDistribution } from "../../src/calibrations/distribution-codec";
import type { Distribution } from "../../src/stats/distribution";
import { asQueries, callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const store = new D1CalibrationStore(env.DB);
type Plain = { n: number; values: number[]; below: number[]; atOrBelow: number[]; guarded: { floor: number; eligible: Plain | null } | undefined };
const plain = (d: Distribution | null): Plain | null =>
  d && {
    n: d.n,
    values: [...d.values],
    below: [...d.below],
    atOrBelow: [...d.atOrBelow],
    guarded: d.guarded && { floor: d.guarded.floor, eligible: d.guarded.eligible && plain(d.guarded.eligible) },
  };
const columnType = async (id: string) =>
  (await env.DB.prepare("SELECT typeof(distribution) AS t FROM calibrations WHERE id = ?").bind(id).first<{ t: string }>())!.t;

/** 4,000 scores in queries of 20, optionally guarded (min_keep 3: a version 2 summary with its eligible scores). */
const upload = async (gate: ReturnType<typeof uniqueGate>, index_version: string, offset: number, guarded: boolean) =>
  callJson("POST", "/v1/calibrations", 201, {
    token: TOKENS.calibrate,
    json: {
      ...gate,
      index_version,
      queries: asQueries(spreadScores(4000, offset)),
      policy: { kind: "drop_rate", target: 0.2, ...(guarded ? { min_keep: 3 } : {}) },
      activate: true,
    },
  });

describe("stored distributions", () => {
  for (const guarded of [false, true]) {
    it(`${guarded ? "a guarded" : "a bare"} calibration's summary is stored as text; the same bytes stored as a BLOB read the same`, async () => {
      const gate = uniqueGate(guarded ? "dist-guarded" : "dist-bare");
      const { calibration } = await upload(gate, "v1", 0, guarded);
      expect(await columnType(calibration.id)).toBe("text");
      const asText = await store.distribution(calibration.id);
      expect(asText!.values.length).toBeGreaterThan(1000);
      expect(asText!.guarded === undefined).toBe(!guarded);
      if (guarded) expect(asText!.guarded!.eligible!.n).toBeGreaterThan(0);

      await env.DB.prepare("UPDATE calibrations SET distribution = ? WHERE id = ?").bind(encodeDistribution(asText!), calibration.id).run();
      expect(await columnType(calibration.id)).toBe("blob");
      expect(plain(await store.distribution(calibration.id))).toEqual(plain(asText));
    });
  }

  it("an upload after a calibration stored as a BLOB reports the same rebuild shift as after one stored as text", async () => {
    const shiftAfter = async (label: string, asBlob: boolean) => {
      const gate = uniqueGate(label);
      const { calibration } = await upload(gate, "v1", 0, false);
      if (asBlob) {
        const bytes = encodeDistribution((await store.distribution(calibration.id))!);
        await env.DB.prepare("UPDATE calibrations SET distribution = ? WHERE id = ?").bind(bytes, calibration.id).run();
        expect(await columnType(calibration.id)).toBe("blob");
      }
      const { shift } = await upload(gate, "v2", 0.1, false);
      expect(shift!.previous_calibration_id).toBe(calibration.id);
      const { previous_calibration_id: _, previous_gate_id: __, alert_id: ___, ...numbers } = shift as Record<string, unknown>;
      return numbers;
    };
    const fromText = await shiftAfter("dist-shift-text", false);
    expect(fromText).toMatchObject({ decision: "shifted" });
    expect(await shiftAfter("dist-shift-blob", true)).toEqual(fromText);
  });
});
