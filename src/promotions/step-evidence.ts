/**
 * The running step's automatic decision from the gate's live evidence (arm-evidence.ts): the state machine says
 * whether to advance, stop on a regression (a `shifted` decision, or the candidate arm's drift alarm) or wait, and
 * whether the step ran past its plan's `max_step_hours` without a decision (then it pauses: a timeout is no evidence
 * of a regression, so it never rolls back whatever `on_regression` says; an admin resumes, advances or rolls back).
 * The step's clock starts when the promotion entered `running` at this step (its start, an advance or a resume: the
 * row's `updated_at`, as only those transitions lead to `running`).
 *
 * Two callers, one function: the batch that was just counted (its observe answer carries the step's arms, so no
 * second monitor call), and the cron (src/worker/scheduled.ts, every minute with the trigger's time as the clock),
 * which re-decides every running step from the monitor's evidence. The cron is what enforces the deadline on a step
 * that gets no batch, and what applies a decision whose D1 write failed after its batch was counted. Every write is
 * conditional on the promotion's version (transitions.ts applyTransition), so a decision made twice lands once.
 */
import type { BatchPromotion, EvidenceStepNumbers } from "../contract";
import type { ArmEvidence } from "../monitoring/monitor-contract";
import { PROMOTIONS_PER_TICK } from "../platform/limits";
import { armsOf, decisionNumbers, stepEvidence } from "./arm-evidence";
import type { PromotionDeps } from "./deps";
import { repairPromotionLog } from "./event-log";
import { reconcilePausedAlerts } from "./paused-alert";
import { finishStart } from "./service";
import { isOpen, transition, unfinishedStart } from "./state-machine";
import type { PromotionRow } from "./store";
import { applyTransition } from "./transitions";

/** When the running step of `row` times out (epoch ms): max_step_hours after it entered `running`. */
export const stepDeadline = (row: Pick<PromotionRow, "updated_at" | "plan">): number =>
  Date.parse(row.updated_at) + row.plan.max_step_hours * 3600 * 1000;

/** What deciding one step did. */
export type StepOutcome = "waiting" | "decided" | "timed_out" | "lost";

/**
 * Decides the running step of `row` on its arms' evidence, then on its deadline: `decided` or `timed_out` when a
 * transition was written, `lost` when another transition won the version first (nothing changed), `waiting` otherwise.
 */
export async function decideStep(row: PromotionRow, arms: ArmEvidence, deps: PromotionDeps): Promise<StepOutcome> {
  if (row.state !== "running") return "waiting";
  // A straight start whose request died before its completion: no control arm will ever decide it, so it completes.
  if (unfinishedStart(row)) return (await finishStart(row, deps)) === null ? "lost" : "decided";
  const candidate = await deps.calibrations.get(row.candidate_calibration_id);
  if (candidate === null) return "waiting";
  const { view, input } = stepEvidence(row, arms, candidate);
  const numbers = decisionNumbers(view);
  const onEvidence = transition(row, input);
  if (onEvidence.kind !== "none") return (await applyTransition(row, onEvidence, "promotion", null, numbers, deps)) === null ? "lost" : "decided";
  const deadline = stepDeadline(row);
  if (deps.now().getTime() < deadline) return "waiting";
  const t = transition(row, { kind: "deadline", step: row.step });
  if (t.kind === "none") return "waiting";
  const reason = `step ${row.step + 1} of ${row.plan.steps.length} (${t.percent} %) reached no decision within max_step_hours = ${row.plan.max_step_hours}`;
  const timed: EvidenceStepNumbers = {
    ...numbers,
    max_step_hours: row.plan.max_step_hours,
    step_since: row.updated_at,
    deadline: new Date(deadline).toISOString(),
  };
  return (await applyTransition(row, t, "promotion", reason, timed, deps)) === null ? "lost" : "timed_out";
}

/**
 * Decides the step an arm batch was counted for, when its promotion is still open at that step. `arms`: the step's
 * arms from the batch's observe answer (read from the monitor when absent).
 */
export async function decideStepFromEvidence(p: BatchPromotion, deps: PromotionDeps, arms?: ArmEvidence): Promise<void> {
  const row = await deps.promotions.get(p.id);
  if (row === null || !isOpen(row.state) || row.step !== p.step) return;
  await decideStep(row, arms ?? armsOf(row, await deps.monitor.evidence(row.gate_id)), deps);
}

/**
 * What one sweep did, by outcome, and what threw (logged; the next tick tries again): the promotions whose decision
 * failed and the audit rows whose log event could not be written.
 */
export interface PromotionSweep {
  /** Audit rows whose event the sweep wrote to the gate's log (their transition's own write had failed). */
  readonly repaired: number;
  /** promotion_paused alerts resolved because no promotion of their gate is paused any more (paused-alert.ts). */
  readonly alerts_resolved: number;
  readonly checked: number;
  readonly decided: number;
  readonly timed_out: number;
  readonly failed: string[];
}

/**
 * The cron's pass: first the transitions written without their log event (event-log.ts repairPromotionLog), so a
 * rollback stops serving its candidate within a tick; then the running promotions (at most PROMOTIONS_PER_TICK, the
 * longest-waiting step first); then the promotion_paused alerts whose pause is over (paused-alert.ts
 * reconcilePausedAlerts), last, so an alerts store that fails never keeps a step from being decided.
 */
export async function sweepPromotions(deps: PromotionDeps): Promise<PromotionSweep> {
  const repair = await repairPromotionLog(deps);
  const rows = await deps.promotions.running(PROMOTIONS_PER_TICK);
  let decided = 0;
  let timedOut = 0;
  const failed: string[] = [...repair.failed];
  for (const row of rows) {
    try {
      const outcome = await decideStep(row, armsOf(row, await deps.monitor.evidence(row.gate_id)), deps);
      if (outcome === "decided") decided++;
      if (outcome === "timed_out") timedOut++;
    } catch (e) {
      failed.push(row.id);
      console.error(`deciding promotion ${row.id} failed; the next tick tries again`, e);
    }
  }
  const alerts = await reconcilePausedAlerts(deps);
  failed.push(...alerts.failed);
  return { repaired: repair.repaired, alerts_resolved: alerts.resolved, checked: rows.length, decided, timed_out: timedOut, failed };
}
