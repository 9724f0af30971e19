/**
 * Guarded promotions: start one, apply a transition the state machine chose (an override now; the monitor's decisions
 * through the same function), read them. The state of record is D1 (store.ts); each transition is written
 * conditionally on the promotion's version and then appended to the gate's activation log (one event per transition,
 * pushed to subscribers), so a replay after a restart changes nothing and a late decision loses to an override.
 *
 * The log write is a second step, so it is made repairable: the event of an audit row is written under an id derived
 * from that row (`logIdOf`: a retry or a repair finds the row instead of writing a second one), what it serves (the
 * split) is read from the promotion's current row (a late write of an older transition serves the newer state), and the
 * audit row's `seq` is set last, after the event and its alert. A row left without its seq (the Worker died, D1 failed,
 * the gate's log was too busy) is finished by the cron (`repairPromotionLog`, every minute).
 */
import { type ActivationEvent, activate, commitActivation } from "../calibrations/activation";
import { gateEventBody, servedGate, servedThreshold, withHeads, withSeq } from "../calibrations/gate-event";
import { currentOf } from "../calibrations/store";
import type {
  Activation,
  GateEventKind,
  GateEventPromotion,
  Promotion,
  PromotionCause,
  PromotionPlan,
  PromotionPlanBody,
  PromotionStepKind,
  PromotionStepRecord,
  ServedRollout,
  StepEvidence,
  StoredCalibration,
} from "../contract";
import { promotionPrefix, shadowPrefixes } from "../monitoring/gate-monitor/live-evidence";
import { sha256Hex } from "../platform/digest";
import { AppError } from "../platform/errors";
import { newId } from "../platform/ids";
import { DEFAULT_SHIFT_TOLERANCE, PROMOTIONS_PER_TICK } from "../platform/limits";
import { armsOf, decisionNumbers, stepEvidence } from "./arm-evidence";
import type { PromotionDeps } from "./deps";
import { type AdminAction, alertOf, isOpen, percentOf, STATE_AFTER, startOf, type Transition, transition, unfinishedStart } from "./state-machine";
import type { PromotionRow } from "./store";

const EVENT_KIND = {
  started: "promotion_started",
  advanced: "promotion_step",
  paused: "promotion_paused",
  resumed: "promotion_resumed",
  rolled_back: "promotion_rolled_back",
  completed: "promotion_completed",
  superseded: "promotion_superseded",
} as const satisfies Record<PromotionStepKind, GateEventKind>;

/** The promotion as the API shows it: an open one with its step's live numbers (a closed one's evidence is deleted). */
async function view(row: PromotionRow, deps: PromotionDeps): Promise<Promotion> {
  const [steps, evidence] = await Promise.all([deps.promotions.steps(row.id), isOpen(row.state) ? liveEvidence(row, deps) : null]);
  return { ...row, percent: percentOf(row.plan, row.state, row.step), evidence, steps };
}

/** The step's live numbers; null (logged) when the gate's monitor cannot answer: a transition already written stands. */
async function liveEvidence(row: PromotionRow, deps: PromotionDeps): Promise<StepEvidence | null> {
  try {
    const [evidence, candidate] = await Promise.all([deps.monitor.evidence(row.gate_id), deps.calibrations.get(row.candidate_calibration_id)]);
    return candidate === null ? null : stepEvidence(row, armsOf(row, evidence), candidate).view;
  } catch (e) {
    console.error(`reading the live evidence of promotion ${row.id} failed; answered without it`, e);
    return null;
  }
}

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

function record(
  row: PromotionRow,
  t: Transition,
  actor: string,
  reason: string | null,
  at: string,
  numbers: Record<string, unknown>,
): PromotionStepRecord {
  return {
    id: `${row.id}:${row.version + 1}:${t.kind}`,
    kind: t.kind,
    cause: t.cause,
    step: t.step,
    percent: t.percent,
    seq: null,
    at,
    actor,
    reason,
    numbers,
  };
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
 * evidence of a promotion that closed, then its seq (last: a row with a seq is done). Idempotent: run again after a
 * failure anywhere, it writes no second event; the alert is at least once (a repeat only counts an occurrence more on
 * the open alert).
 */
async function settle(promotionId: string, rec: PromotionStepRecord, latest: boolean, deps: PromotionDeps): Promise<void> {
  const row = await deps.promotions.get(promotionId);
  if (row === null) throw new TypeError(`promotion ${promotionId} does not exist`);
  const seq = await logRecord(row, rec, deps);
  const alert = latest ? alertOf(rec.kind, rec.cause) : null;
  if (alert !== null) await deps.promotionStopped(await view(row, deps), { ...rec, seq }, alert);
  if (!isOpen(row.state)) await forgetEvidence(row.gate_id, [promotionPrefix(row.id), ...shadowPrefixes(row.candidate_calibration_id)], deps);
  await deps.promotions.setSeq(rec.id, seq);
}

/** settle, in a request: a failure is logged, not answered (the transition stands, and the cron finishes it). */
async function settleOrLeave(promotionId: string, rec: PromotionStepRecord, deps: PromotionDeps): Promise<void> {
  try {
    await settle(promotionId, rec, true, deps);
  } catch (e) {
    console.error(`logging ${rec.kind} of promotion ${promotionId} failed; the cron writes its event`, e);
  }
}

/**
 * Applies a transition to a promotion read at `row.version`: null when another transition won (nothing changed).
 * Completion activates the candidate; a stop on a regression or a timeout raises its alert. Once the transition is
 * written it stands: a failure after it (the log write) is logged and finished by the cron, not answered.
 */
export async function applyTransition(
  row: PromotionRow,
  t: Transition,
  actor: string,
  reason: string | null,
  numbers: Record<string, unknown>,
  deps: PromotionDeps,
): Promise<Promotion | null> {
  const at = deps.now().toISOString();
  const rec = record(row, t, actor, reason, at, numbers);
  // A completion is written only while the gate still serves the control: after another activation (whose supersede
  // listener has not run yet, or failed), the candidate was never served to everyone, and the promotion is superseded.
  const whileServing = t.kind === "completed" ? row.control_calibration_id : undefined;
  if (!(await deps.promotions.transition(row.id, row.version, { state: t.state, step: t.step, updated_at: at }, rec, whileServing))) {
    return whileServing === undefined ? null : supersedeInstead(row, deps);
  }
  await settleOrLeave(row.id, rec, deps);
  return view((await deps.promotions.get(row.id))!, deps);
}

/**
 * A completion refused because the gate no longer serves the control: the promotion is superseded, as the activation's
 * listener (supersedeOnActivation) would have recorded it. Null when the promotion changed since instead (its version
 * moved on: another transition won), as any lost transition answers.
 */
async function supersedeInstead(row: PromotionRow, deps: PromotionDeps): Promise<Promotion | null> {
  const [now, state] = await Promise.all([deps.promotions.get(row.id), deps.calibrations.gateState(row.gate_id)]);
  const active = currentOf(state.rows);
  if (now === null || now.version !== row.version || active === null || active.calibration_id === row.control_calibration_id) return null;
  const t = transition(now, { kind: "activation" });
  if (t.kind === "none") return null;
  return applyTransition(now, t, "promotion", `calibration ${active.calibration_id} was activated`, { activated: active.calibration_id }, deps);
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

/** POST /v1/calibrations/{id}/promote. */
export async function startPromotion(calibrationId: string, body: PromotionPlanBody, actor: string, deps: PromotionDeps): Promise<Promotion> {
  const candidate = await deps.calibrations.get(calibrationId);
  if (candidate === null) throw new AppError("not_found", `calibration ${calibrationId} does not exist`);
  const current = currentOf((await deps.calibrations.gateState(candidate.gate_id)).rows);
  if (current === null) throw new AppError("conflict", "the gate serves no calibration yet: activate one before promoting another against it");
  if (current.calibration_id === candidate.id)
    throw new AppError("conflict", `calibration ${candidate.id} is already the gate's current calibration`);
  const plan: PromotionPlan = {
    steps: body.steps,
    min_queries: body.min_queries,
    on_regression: body.on_regression,
    tolerance: body.tolerance ?? candidate.shift_tolerance ?? DEFAULT_SHIFT_TOLERANCE,
    max_step_hours: body.max_step_hours,
  };
  const now = deps.now();
  const at = now.toISOString();
  const first = startOf(plan);
  const row: PromotionRow = {
    id: newId("prm", now, deps.random()),
    gate_id: candidate.gate_id,
    candidate_calibration_id: candidate.id,
    control_calibration_id: current.calibration_id,
    plan,
    state: "running",
    step: 0,
    version: 1,
    started_at: at,
    updated_at: at,
    actor,
  };
  const started = { ...first, kind: "started" as const, state: "running" as const, percent: percentOf(plan, "running", 0) };
  const rec: PromotionStepRecord = { ...record({ ...row, version: 0 }, started, actor, body.reason ?? null, at, { plan }) };
  const created = await deps.promotions.create(row, rec);
  if (created === "open_exists") throw new AppError("conflict", "the gate already has an open promotion: pause, roll back or finish it first");
  // Another calibration was activated after the control was read: a promotion against it could never decide (its
  // control batches would be refused), so none is stored; started again, it runs against the calibration now served.
  if (created === "control_replaced")
    throw new AppError(
      "conflict",
      `the gate's current calibration changed from ${current.calibration_id} while this promotion was started; nothing was changed: retry`,
    );
  await settleOrLeave(row.id, rec, deps);
  // A straight plan ([100]) completes at once: the candidate is activated and watched by the gate's drift detector.
  if (first.kind === "completed") return (await applyTransition(row, first, actor, body.reason ?? null, { plan }, deps)) ?? view(row, deps);
  return view((await deps.promotions.get(row.id))!, deps);
}

/**
 * Completes a straight promotion whose start died before its completion was written (state-machine.ts
 * unfinishedStart), as startPromotion would have: the same transition (the same audit row id, so the start's own
 * request, were it still alive, and this one land once), by the admin who started it, with the start's reason.
 * Null when another transition won (nothing changed).
 */
export async function finishStart(row: PromotionRow, deps: PromotionDeps): Promise<Promotion | null> {
  const first = startOf(row.plan);
  if (first.kind !== "completed" || !unfinishedStart(row)) throw new TypeError(`promotion ${row.id} is not an unfinished straight start`);
  const started = (await deps.promotions.steps(row.id)).find((s) => s.kind === "started");
  return applyTransition(row, first, row.actor, started?.reason ?? null, { plan: row.plan }, deps);
}

/** The causes of a pause on the step's evidence: resumed with that evidence, the step would decide the same at once. */
const REGRESSION_CAUSES: readonly PromotionCause[] = ["drift_alarm", "shifted_vs_control", "shifted_vs_target"];

/**
 * Before resuming a step paused on a regression (the candidate's drift alarm, a `shifted` decision), its arms' evidence
 * is deleted: the step starts fresh evidence, both arms together so they still cover the same traffic. Kept, the alarm
 * (the step's first, never unsaid) or the decision would pause it again at the next batch or cron tick, and resume could
 * only mean "wait a minute". An admin resumes after removing the cause ("index fixed"): the queries before it say
 * nothing about the candidate after it, and a regression that persists alarms again on new queries (the step's test
 * restarts as a new anytime-valid test). A pause by an admin or on a timeout keeps the evidence: it is not against the
 * candidate, and the step goes on gathering it. Done before the transition: a failure refuses the resume (nothing
 * changed, retry); batches counted in between are after the admin's decision and belong in the fresh evidence.
 */
async function freshEvidenceOnResume(row: PromotionRow, deps: PromotionDeps): Promise<void> {
  const pause = (await deps.promotions.steps(row.id)).at(-1);
  if (pause === undefined || pause.kind !== "paused" || !REGRESSION_CAUSES.includes(pause.cause)) return;
  try {
    await deps.monitor.forgetEvidence(row.gate_id, [`${promotionPrefix(row.id)}${row.step}:`]);
  } catch (e) {
    console.error(`deleting the evidence of step ${row.step} of promotion ${row.id} failed; not resumed`, e);
    throw new AppError("storage_unavailable", `the step's evidence could not be reset, so promotion ${row.id} was not resumed: retry`);
  }
}

/** POST /v1/promotions/{id}/{pause|resume|advance|rollback}. */
export async function overridePromotion(
  id: string,
  action: AdminAction,
  actor: string,
  reason: string | null,
  deps: PromotionDeps,
): Promise<Promotion> {
  const row = await deps.promotions.get(id);
  if (row === null) throw new AppError("not_found", `promotion ${id} does not exist`);
  const t = transition(row, { kind: "admin", action });
  if (t.kind === "none") throw new AppError("conflict", `promotion ${id} is ${row.state}: it cannot ${action}`);
  if (t.kind === "resumed") await freshEvidenceOnResume(row, deps);
  // The step's evidence at the moment of the override, recorded as an automatic decision records it (null, and left
  // out, when the gate's monitor cannot answer: the override does not wait on it).
  const evidence = await liveEvidence(row, deps);
  const numbers = { override: action, ...(evidence === null ? {} : decisionNumbers(evidence)) };
  const applied = await applyTransition(row, t, actor, reason, numbers, deps);
  if (applied === null) throw new AppError("conflict", `promotion ${id} changed while this ${action} was applied: read it and retry`);
  return applied;
}

export async function getPromotion(id: string, deps: PromotionDeps): Promise<Promotion> {
  const row = await deps.promotions.get(id);
  if (row === null) throw new AppError("not_found", `promotion ${id} does not exist`);
  return view(row, deps);
}

/** The gate's promotions, newest first (cursor: the offset in base 36). */
export async function listPromotions(gateId: string, limit: number, cursor: string | undefined, deps: PromotionDeps) {
  if ((await deps.calibrations.gate(gateId)) === null) throw new AppError("not_found", `gate ${gateId} does not exist`);
  const page = await deps.promotions.list(gateId, limit, cursor === undefined ? null : Number.parseInt(cursor, 36));
  return {
    gate_id: gateId,
    promotions: await Promise.all(page.rows.map((r) => view(r, deps))),
    next_cursor: page.next === null ? null : page.next.toString(36),
  };
}

/**
 * A manual activation of the gate supersedes its open promotion (a listener wired in src/worker/). Run late for an
 * activation whose request died (src/calibrations/pending-listeners.ts), it must not end a promotion started after
 * it: such a promotion's control is the activated calibration (a promotion is started against the gate's current
 * one), while one open before it has the calibration it replaced. Only re-activating the current calibration leaves
 * the two apart by nothing; it supersedes, as it always did.
 */
export async function supersedeOnActivation(activation: Activation, deps: PromotionDeps): Promise<void> {
  const { gate_id: gateId, calibration_id: calibrationId } = activation;
  const row = await deps.promotions.open(gateId);
  if (row === null) return;
  if (row.control_calibration_id === calibrationId && activation.previous_calibration_id !== calibrationId) return;
  const t = transition(row, { kind: "activation" });
  if (t.kind === "none") return;
  await applyTransition(row, t, "promotion", `calibration ${calibrationId} was activated`, { activated: calibrationId }, deps);
}
