/**
 * Guarded promotions, the operations the API and the wiring call: start one (and finish a straight start whose request
 * died), override one (pause, resume, advance, roll back), read them, and supersede a gate's open promotion when
 * another calibration is activated. The state of record is D1 (store.ts); every change is a transition applied
 * through transitions.ts (conditional on the promotion's version) and logged through event-log.ts; the monitor's
 * decisions on a step's evidence go through the same function (step-evidence.ts).
 */
import { refuseWhileCompleting } from "../calibrations/activation";
import { currentOf } from "../calibrations/store";
import {
  type Activation,
  MAX_ABSOLUTE_TOLERANCE,
  type Promotion,
  type PromotionCause,
  type PromotionPlan,
  type PromotionPlanBody,
  type PromotionStepNumbers,
  type PromotionStepRecord,
} from "../contract";
import { promotionPrefix } from "../monitoring/monitor-contract";
import { AppError } from "../platform/errors";
import { shownId } from "../platform/format";
import { cursorOf, seqOfCursor } from "../platform/http/cursor";
import { newId } from "../platform/ids";
import { DEFAULT_SHIFT_TOLERANCE } from "../platform/limits";
import { decisionNumbers } from "./arm-evidence";
import type { PromotionDeps } from "./deps";
import { settleOrLeave } from "./event-log";
import { type AdminAction, percentOf, startOf, transition, unfinishedStart } from "./state-machine";
import type { PromotionRow } from "./store";
import { applyTransition, record } from "./transitions";
import { liveEvidence, view } from "./view";

/**
 * POST /v1/calibrations/{id}/promote. `request`: the digest of a keyed request (idempotent.ts), recorded in the start's
 * audit row so that its retry finds this promotion.
 */
export async function startPromotion(
  calibrationId: string,
  body: PromotionPlanBody,
  actor: string,
  deps: PromotionDeps,
  request: string | null = null,
): Promise<Promotion> {
  const candidate = await deps.calibrations.get(calibrationId);
  if (candidate === null) throw new AppError("not_found", `calibration ${calibrationId} does not exist`);
  const state = await deps.calibrations.gateState(candidate.gate_id);
  // Not while another promotion's completion is being applied: its candidate is about to replace the control this one
  // would be started against (the store refuses such an insert too, below).
  await refuseWhileCompleting(deps, candidate.gate_id, null, "it then starts against the candidate");
  const current = currentOf(state.rows);
  if (current === null) throw new AppError("conflict", "the gate serves no calibration yet: activate one before promoting another against it");
  if (current.calibration_id === candidate.id)
    throw new AppError("conflict", `calibration ${candidate.id} is already the gate's current calibration`);
  const tolerance = body.tolerance ?? candidate.shift_tolerance ?? DEFAULT_SHIFT_TOLERANCE;
  // An inherited shift_tolerance (uploads take [0, 1]) outside the plan's range (0, MAX_ABSOLUTE_TOLERANCE]: at 0 no
  // step could ever be `equivalent` (it would only time out), above the range it would pass any candidate. Refused, as
  // the same value given as `tolerance` is.
  if (!(tolerance > 0 && tolerance <= MAX_ABSOLUTE_TOLERANCE))
    throw new AppError(
      "invalid_input",
      `calibration ${candidate.id}'s shift_tolerance ${tolerance} cannot decide a promotion step: give the plan a tolerance in (0, ${MAX_ABSOLUTE_TOLERANCE}]`,
      [{ path: "tolerance", message: `is required: the candidate's shift_tolerance ${tolerance} is outside (0, ${MAX_ABSOLUTE_TOLERANCE}]` }],
    );
  const plan: PromotionPlan = {
    steps: body.steps,
    min_queries: body.min_queries,
    on_regression: body.on_regression,
    tolerance,
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
  const numbers: PromotionStepNumbers = request === null ? { plan } : { plan, request };
  const rec: PromotionStepRecord = { ...record({ ...row, version: 0 }, started, actor, body.reason ?? null, at, numbers) };
  const created = await deps.promotions.create(row, rec);
  if (created === "open_exists") {
    // named when it can be read (it may have closed since the write was refused: then the message stands alone)
    const open = await deps.promotions.open(candidate.gate_id);
    throw new AppError(
      "conflict",
      `the gate already has an open promotion${open ? ` (${open.id}, ${open.state}, of ${open.candidate_calibration_id})` : ""}: roll back or finish it first (a paused promotion is still open)`,
      open ? { promotion_id: open.id } : undefined,
    );
  }
  // Another calibration was activated after the control was read: a promotion against it could never decide (its
  // control batches would be refused), so none is stored; started again, it runs against the calibration now served.
  if (created === "control_replaced") {
    // refused by the store: the control replaced, or another promotion's completion written since the read
    await refuseWhileCompleting(deps, candidate.gate_id, null, "it then starts against the candidate");
    throw new AppError(
      "conflict",
      `the gate's current calibration changed from ${current.calibration_id} while this promotion was started; nothing was changed: retry`,
    );
  }
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

/**
 * POST /v1/promotions/{id}/{pause|resume|advance|rollback}. `request`: the digest of a keyed request (idempotent.ts),
 * recorded in the override's audit row so that its retry finds it.
 */
export async function overridePromotion(
  id: string,
  action: AdminAction,
  actor: string,
  reason: string | null,
  deps: PromotionDeps,
  request: string | null = null,
): Promise<Promotion> {
  const row = await deps.promotions.get(id);
  if (row === null) throw new AppError("not_found", `promotion ${shownId(id)} does not exist`);
  const t = transition(row, { kind: "admin", action });
  if (t.kind === "none") throw new AppError("conflict", `promotion ${id} is ${row.state}: it cannot ${action === "rollback" ? "roll back" : action}`);
  if (t.kind === "resumed") await freshEvidenceOnResume(row, deps);
  // The step's evidence at the moment of the override, recorded as an automatic decision records it (null, and left
  // out, when the gate's monitor cannot answer: the override does not wait on it).
  const evidence = await liveEvidence(row, deps);
  const numbers: PromotionStepNumbers = {
    override: action,
    ...(request === null ? {} : { request }),
    ...(evidence === null ? {} : decisionNumbers(evidence)),
  };
  const applied = await applyTransition(row, t, actor, reason, numbers, deps);
  if (applied === null) throw new AppError("conflict", `promotion ${id} changed while this ${action} was applied: read it and retry`);
  return applied;
}

export async function getPromotion(id: string, deps: PromotionDeps): Promise<Promotion> {
  const row = await deps.promotions.get(id);
  if (row === null) throw new AppError("not_found", `promotion ${shownId(id)} does not exist`);
  return view(row, deps);
}

/** The gate's promotions, newest first (cursor: the order the page's last promotion was started in, checked as every listing's cursor is). */
export async function listPromotions(gateId: string, limit: number, cursor: string | undefined, deps: PromotionDeps) {
  if ((await deps.calibrations.gate(gateId)) === null) throw new AppError("not_found", `gate ${shownId(gateId)} does not exist`);
  const page = await deps.promotions.list(gateId, limit, seqOfCursor(cursor, "promotions", gateId));
  return {
    gate_id: gateId,
    promotions: await Promise.all(page.rows.map((r) => view(r, deps))),
    next_cursor: page.next === null ? null : cursorOf(page.next, "promotions", gateId),
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
