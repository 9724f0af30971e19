/**
 * What the workerd tests of promotions and shadows share: a gate with two calibrations (v1 served, v2 stored) uploaded
 * through the API, the admin token's options, and the gate's activation log as D1 holds it.
 */
import { env } from "cloudflare:workers";
import { overridePromotion } from "../../src/promotions/service";
import type { appDeps } from "../../src/worker/wiring";
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

/**
 * A long past in the gate's log: `rows` rate-change rows of `calibrationId`, ten days old, written by hand (rows from
 * before the log kept events read the same way: rebuilt from the row and its calibration), for a log longer than one
 * read.
 */
export async function writeLongPast(gateId: string, calibrationId: string, rows: number): Promise<void> {
  const past = new Date(Date.now() - 10 * 24 * 3600 * 1000).toISOString();
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?4 - 1)
     INSERT INTO activations (id, gate_id, index_version, calibration_id, previous_calibration_id, activated_at, actor, reason, kind)
     SELECT 'act_past_' || ?1 || '_' || i, ?1, 'v1', ?2, NULL, strftime('%Y-%m-%dT%H:%M:%fZ', ?3, '+' || i || ' seconds'), 'test', NULL,
       'shadow_changed' FROM n`,
  )
    .bind(gateId, calibrationId, past, rows)
    .run();
}

/** A new gate labelled `label` serving v1, with v2 uploaded beside it and not served. */
export async function twoVersions(label: string) {
  const gate = uniqueGate(label);
  const v1 = await upload(gate, "v1", 0);
  const v2 = await upload(gate, "v2", 0.3, false);
  return { gate, v1, v2 };
}

/**
 * Advances promotion `id` (to its completion, for a plan whose next step is 100 %) through `base`, the Worker's
 * wiring, killed right after the promotion's row is written: its next read of the gate never returns, as when the
 * request dies between the completion and the candidate's activation. Resolves once the row is written.
 */
export async function advanceDyingAfterTransition(id: string, base: ReturnType<typeof appDeps>): Promise<void> {
  let written = false;
  const promotions = Object.create(base.promotions) as typeof base.promotions;
  promotions.transition = async (...args) => {
    written = await base.promotions.transition(...args);
    return written;
  };
  const calibrations = Object.create(base.calibrations) as typeof base.calibrations;
  calibrations.gateState = (gateId) => (written ? new Promise(() => {}) : base.calibrations.gateState(gateId));
  void overridePromotion(id, "advance", "alice", null, { ...base, promotions, calibrations });
  for (let i = 0; i < 2000 && !written; i++) await new Promise((r) => setTimeout(r, 1));
  if (!written) throw new Error("the advance never wrote the promotion's row");
}
