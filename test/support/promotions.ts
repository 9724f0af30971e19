/**
 * What the workerd tests of promotions and shadows share: a gate with two calibrations (v1 served, v2 stored) uploaded
 * through the API, the admin token's options, and the gate's activation log as D1 holds it.
 */
import { env } from "cloudflare:workers";
import { asQueries, callJson, spreadScores, TOKENS, uniqueGate } from "./worker";

export type Gate = ReturnType<typeof uniqueGate>;

/** The options of a call with the admin token (promotions, shadows and their overrides need it). */
export const admin = { token: TOKENS.admin };

/** Uploads a calibration of `gate` (4,000 spread scores shifted by `offset`, 20 % drop-rate policy). */
export const upload = async (gate: Gate, index_version: string, offset: number, activate: boolean | "auto" = "auto") =>
  (
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version, queries: asQueries(spreadScores(4000, offset)), policy: { kind: "drop_rate", target: 0.2 }, activate },
    })
  ).calibration;

/** The gate's log in D1 (its activations table), oldest first. */
export const gateLog = async (gateId: string) =>
  (
    await env.DB.prepare("SELECT seq, kind, event FROM activations WHERE gate_id = ? ORDER BY seq")
      .bind(gateId)
      .all<{ seq: number; kind: string; event: string }>()
  ).results;

/** A new gate labelled `label` serving v1, with v2 uploaded beside it and not served. */
export async function twoVersions(label: string) {
  const gate = uniqueGate(label);
  const v1 = await upload(gate, "v1", 0);
  const v2 = await upload(gate, "v2", 0.3, false);
  return { gate, v1, v2 };
}
