/**
 * A promotion transition's event in the gate's activation log (one event per transition, pushed to subscribers; a
 * completion's is the candidate's activation itself), written after the transition (transitions.ts) and made
 * repairable, since the two writes cannot be one: the event of an audit row is written under an id derived from that
 * row (`logIdOf`: a retry or a repair finds the row instead of writing a second one), what it serves (the split) is
 * read from the promotion's current row (a late write of an older transition serves the newer state), and the audit
 * row's `seq` is set last, after the event and its alert. A row left without its seq (the Worker died, D1 failed, the
 * gate's log was too busy) is finished by the cron (`repairPromotionLog`, every minute).
 */
import { type ActivationEvent, activate, commitActivation } from "../calibrations/activation";
import { gateEventBody, servedGate, servedThreshold, withHeads, withSeq } from "../calibrations/gate-event";
import { currentOf } from "../calibrations/store";
import type {
  Activation,
  GateEventKind,
  GateEventPromotion,
  PromotionStepKind,
  PromotionStepRecord,
  ServedRollout,
  StoredCalibration,
} from "../contract";
import { promotionPrefix, shadowPrefixes } from "../monitoring/monitor-contract";
import { sha256Hex } from "../platform/digest";
import { newId } from "../platform/ids";
import { PROMOTIONS_PER_TICK } from "../platform/limits";
import type { PromotionDeps } from "./deps";
import { endsPause, resolvePausedAlert } from "./paused-alert";
import { alertOf, isOpen, percentOf, STATE_AFTER } from "./state-machine";
import type { PromotionRow } from "./store";
import { view } from "./view";

const EVENT_KIND = {
  started: "promotion_started",
  advanced: "promotion_step",
  paused: "promotion_paused",
  resumed: "promotion_resumed",
  rolled_back: "promotion_rolled_back",
  completed: "promotion_completed",
  superseded: "promotion_superseded",
} as const satisfies Record<PromotionStepKind, GateEventKind>;

/**
 * Deletes the live evidence of a promotion that closed (its arms, and the candidate's stints in shadow, which it left
 * when the promotion started). A failure is logged, not thrown: the transition stands, and the monitor forgets rows
 * idle for EVIDENCE_IDLE_RETENTION_MS anyway.
 */
async function forgetEvidence(gateId: string, prefixes: readonly string[], deps: PromotionDeps): Promise<void> {
  try {
    await deps.monitor.forgetEvidence(gateId, prefixes);
  } catch (e) {
    console.error(`deleting the evidence ${prefixes.join(", ")} of gate ${gateId} failed; it expires when idle`, e);
  }
}

/**
 * The split served while the promotion is in its current state: the step's share while it is open (a pause keeps it),
 * none once it ended. Always from the promotion's current row, never from the transition being logged.
 */
function rolloutOf(current: PromotionRow, candidate: StoredCalibration): ServedRollout | null {
  if (current.state !== "running" && current.state !== "paused") return null;
  return {
    promotion_id: current.id,
    step: current.step,
    percent_bp: Math.round(percentOf(current.plan, current.state, current.step) * 100),
    salt: current.id,
    state: current.state,
    candidate: servedGate(candidate),
  };
}

/** The promotion as an audit row's event states it: the transition it records. */
const promotionOf = (id: string, rec: PromotionStepRecord): GateEventPromotion => ({
  id,
  state: STATE_AFTER[rec.kind],
  step: rec.step,
  percent: rec.percent,
});

/** The numbers behind the transition's event: its cause and what decided it. */
const detailsOf = (rec: PromotionStepRecord): Record<string, unknown> => ({ cause: rec.cause, ...rec.numbers });

/**
 * The id of the activation-log row an audit row's event is written under: derived from the audit row (its time, and
 * a hash of its id where other rows have random bits), so whoever writes it, the request or the cron's repair, writes
 * it once; a second writer finds it (PromotionStore.loggedSeq) or fails on its primary key.
 */
export const logIdOf = async (rec: Pick<PromotionStepRecord, "id" | "at">): Promise<string> =>
  newId("act", new Date(rec.at), await sha256Hex(rec.id, 8));

/**
 * Appends an audit row's event to the gate's log (not for completion: that is the candidate's activation), serving
 * the split of the promotion's current row, re-read on every attempt. A supersession's event follows the activation
 * that superseded it, and carries what that activation serves.
 */
async function appendEvent(promotionId: string, rec: PromotionStepRecord, logId: string, deps: PromotionDeps): Promise<number> {
  const row = await deps.promotions.get(promotionId);
  if (row === null) throw new TypeError(`promotion ${promotionId} does not exist`);
  const [promoted, gate] = await Promise.all([deps.calibrations.get(row.candidate_calibration_id), deps.calibrations.gate(row.gate_id)]);
  if (promoted === null || gate === null) throw new TypeError(`promotion ${row.id} names a calibration or gate that does not exist`);
  return commitActivation(row.gate_id, deps, async ({ rows, headSeq, heads }) => {
    // Read after the head: a transition committed since was either logged before this head (this attempt serves its
    // state) or will be logged after this row (and serve its own, newer, state).
    const current = (await deps.promotions.get(row.id)) ?? row;
    const active = currentOf(rows);
    const control = active ? await deps.calibrations.get(active.calibration_id) : null;
    // The candidate leaves the shadow set when its promotion starts (a shadow is fine as a candidate).
    const shadows = heads.shadows.filter((s) => s.calibration_id !== promoted.id);
    const activation: Activation = {
      id: logId,
      gate_id: row.gate_id,
      index_version: promoted.index_version,
      calibration_id: promoted.id,
      previous_calibration_id: active?.calibration_id ?? null,
      activated_at: rec.at,
      actor: rec.actor,
      reason: rec.reason,
    };
    const event = gateEventBody({
      gateId: row.gate_id,
      kind: EVENT_KIND[rec.kind],
      prevSeq: headSeq,
      at: rec.at,
      actor: rec.actor,
      reason: rec.reason,
      calibrationId: promoted.id,
      served:
        control && active ? withHeads(servedThreshold(gate, control, active.activated_at), { rollout: rolloutOf(current, promoted), shadows }) : null,
      promotion: promotionOf(row.id, rec),
      details: detailsOf(rec),
    });
    const written = await deps.calibrations.append({ activation, event }, headSeq);
    if (written === null) return null;
    const activated: ActivationEvent = { calibration: promoted, shift: null, activation, event: withSeq(event, written) };
    return { result: written, activated, warnings: [] };
  });
}

/**
 * Writes the completion's event: the candidate's activation (the one activation operation: head, active row,
 * listeners), logged as promotion_completed with the promotion it closes. Only while the gate still serves the
 * control arm: when another activation replaced it since (a completion repaired late), that activation stands, and the
 * audit row is linked to it (it ended the promotion in effect).
 */
async function appendCompletion(row: PromotionRow, rec: PromotionStepRecord, logId: string, deps: PromotionDeps): Promise<number> {
  const active = currentOf((await deps.calibrations.gateState(row.gate_id)).rows);
  if (active !== null && active.calibration_id !== row.control_calibration_id) return active.activation_seq;
  const { seq } = await activate(row.candidate_calibration_id, rec.actor, rec.reason ?? `promotion ${row.id} completed`, deps, {
    kind: EVENT_KIND.completed,
    promotion: promotionOf(row.id, rec),
    details: detailsOf(rec),
    activationId: logId,
  });
  return seq;
}

/** The seq of an audit row's event: found when it was written already, else written now (once, whoever writes). */
async function logRecord(row: PromotionRow, rec: PromotionStepRecord, deps: PromotionDeps): Promise<number> {
  const logId = await logIdOf(rec);
  const found = await deps.promotions.loggedSeq(logId);
  if (found !== null) return found;
  try {
    return rec.kind === "completed" ? await appendCompletion(row, rec, logId, deps) : await appendEvent(row.id, rec, logId, deps);
  } catch (e) {
    // Another writer (the request and the cron at once) wrote it first: the row's primary key refused the second.
    const raced = await deps.promotions.loggedSeq(logId);
    if (raced !== null) return raced;
    throw e;
  }
}

/**
 * Finishes an audit row whose transition is written: its event in the gate's log, its alert (a stop on a regression
 * or a timeout; only while the promotion is still in the state it records: a pause resumed since alerts no more), the
 * resolution of the gate's promotion_paused alert once its pause is over (a resume, an advance or the promotion's end:
 * paused-alert.ts), the evidence of a promotion that closed, then its seq (last: a row with a seq is done). Idempotent:
 * run again after a failure anywhere, it writes no second event; the alert is at least once (a repeat only counts an
 * occurrence more on the open alert), and a resolved alert stays as it was resolved.
 */
async function settle(promotionId: string, rec: PromotionStepRecord, latest: boolean, deps: PromotionDeps): Promise<void> {
  const row = await deps.promotions.get(promotionId);
  if (row === null) throw new TypeError(`promotion ${promotionId} does not exist`);
  const seq = await logRecord(row, rec, deps);
  const alert = latest ? alertOf(rec.kind, rec.cause) : null;
  if (alert !== null) await deps.promotionStopped(await view(row, deps), { ...rec, seq }, alert);
  if (latest && endsPause(rec.kind)) await resolvePausedAlert(row, rec, deps);
  if (!isOpen(row.state)) await forgetEvidence(row.gate_id, [promotionPrefix(row.id), ...shadowPrefixes(row.candidate_calibration_id)], deps);
  await deps.promotions.setSeq(rec.id, seq);
}

/** settle, in a request: a failure is logged, not answered (the transition stands, and the cron finishes it). */
export async function settleOrLeave(promotionId: string, rec: PromotionStepRecord, deps: PromotionDeps): Promise<void> {
  try {
    await settle(promotionId, rec, true, deps);
  } catch (e) {
    console.error(`logging ${rec.kind} of promotion ${promotionId} failed; the cron writes its event`, e);
  }
}

/** What one repair pass did: audit rows given their event, and those that failed again (logged; the next tick retries). */
export interface LogRepair {
  readonly repaired: number;
  readonly failed: string[];
}

/**
 * The cron's repair: every audit row still without its log event (at most PROMOTIONS_PER_TICK, oldest first) gets
 * it, built from its promotion's current row: a rollback stops serving the candidate and raises its alert, a completion
 * activates the candidate, a pause or an advance serves the promotion's current split.
 */
export async function repairPromotionLog(deps: PromotionDeps): Promise<LogRepair> {
  let repaired = 0;
  const failed: string[] = [];
  for (const { record: rec, promotion, latest } of await deps.promotions.unlogged(PROMOTIONS_PER_TICK)) {
    try {
      await settle(promotion.id, rec, latest, deps);
      repaired++;
    } catch (e) {
      failed.push(rec.id);
      console.error(`repairing the log event of ${rec.id} failed; the next tick tries again`, e);
    }
  }
  return { repaired, failed };
}
