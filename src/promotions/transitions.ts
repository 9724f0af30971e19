/**
 * Applying a transition the state machine chose (an override, the step's decision on its evidence or deadline, a
 * supersession): written to D1 conditionally on the promotion's version, so a replay after a restart changes nothing
 * and a late decision loses to an override; then its event is appended to the gate's log (event-log.ts). A completion
 * activates the candidate only while the gate still serves the control, else the promotion is superseded.
 */
import { currentOf } from "../calibrations/store";
import type { Promotion, PromotionStepNumbers, PromotionStepRecord } from "../contract";
import type { PromotionDeps } from "./deps";
import { settleOrLeave } from "./event-log";
import { type Transition, transition } from "./state-machine";
import type { PromotionRow } from "./store";
import { view } from "./view";

/** The audit row of transition `t` of `row` (its id names the version it moves from: a replay inserts nothing). */
export function record(
  row: PromotionRow,
  t: Transition,
  actor: string,
  reason: string | null,
  at: string,
  numbers: PromotionStepNumbers,
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
 * Applies a transition to a promotion read at `row.version`: null when another transition won (nothing changed).
 * Completion activates the candidate; a stop on a regression or a timeout raises its alert. Once the transition is
 * written it stands: a failure after it (the log write) is logged and finished by the cron, not answered.
 */
export async function applyTransition(
  row: PromotionRow,
  t: Transition,
  actor: string,
  reason: string | null,
  numbers: PromotionStepNumbers,
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
