/**
 * The guarded promotion's step state machine, pure: given a promotion's current state and one input (the running
 * step's evidence, its deadline, an admin override, or a manual activation of the gate) it says which transition to
 * record, or why none. The caller writes the transition conditionally on the promotion's `version` (a decision
 * computed against an older version is dropped), so replaying an input after a restart is harmless.
 *
 * States: running(i) -> completed | paused(i) | rolled_back | superseded; paused(i) -> running(i) (resume) |
 * running(i+1) / completed (advance) | rolled_back | superseded. The candidate's share is plan.steps[i] while running
 * or paused (a pause holds the split and stops advancing), 100 once completed, 0 after a rollback or a supersession.
 * Reaching a step of 100 % completes the promotion: it is an ordinary activation of the candidate, watched from then
 * on by the gate's drift detector (a straight plan, [100], completes at once: there is no control arm to compare with).
 */
import type { LiveDecisionKind, OnRegression, PromotionCause, PromotionPlan, PromotionState, PromotionStepKind } from "../contract";

export interface PromotionPosition {
  readonly state: PromotionState;
  /** Zero-based index of the current step in plan.steps. */
  readonly step: number;
  readonly version: number;
  readonly plan: PromotionPlan;
}

/** The running step's evidence, as the gate's monitor computed it (queries as the unit, anytime-valid). */
export interface StepEvidenceInput {
  readonly kind: "evidence";
  /** The step the evidence was gathered under (a late batch counts for its own step). */
  readonly step: number;
  readonly vsControl: LiveDecisionKind;
  readonly vsTarget: LiveDecisionKind;
  /** Whether the candidate's drift detector alarmed (drop rate or empty context) during the step. */
  readonly driftAlarm: boolean;
  readonly candidateQueries: number;
}

export type AdminAction = "pause" | "resume" | "advance" | "rollback";

export type PromotionInput =
  | StepEvidenceInput
  | { readonly kind: "deadline"; readonly step: number }
  | { readonly kind: "admin"; readonly action: AdminAction }
  | { readonly kind: "activation" };

export interface Transition {
  readonly kind: PromotionStepKind;
  readonly cause: PromotionCause;
  readonly state: PromotionState;
  readonly step: number;
  /** The candidate's share of keyed traffic after the transition, in percent. */
  readonly percent: number;
  /** The alert the transition raises (a stop on a regression or a timeout), or null. */
  readonly alert: "promotion_paused" | "promotion_rolled_back" | null;
}

/** Nothing to record, and why (`refused`: an admin action that does not apply in this state, answered with 409). */
export type NoTransition = { readonly kind: "none"; readonly why: "stale" | "waiting" | "closed"; readonly refused: boolean };

export const OPEN_STATES: readonly PromotionState[] = ["running", "paused"];

export const isOpen = (s: PromotionState): boolean => OPEN_STATES.includes(s);

/** The candidate's share (percent) of a promotion in `state` at `step`. */
export function percentOf(plan: PromotionPlan, state: PromotionState, step: number): number {
  switch (state) {
    case "running":
    case "paused":
      return plan.steps[step] ?? 0;
    case "completed":
      return 100;
    case "rolled_back":
    case "superseded":
      return 0;
    default: {
      const never: never = state;
      throw new TypeError(`percentOf: ${String(never)}`);
    }
  }
}

/** The first position of a promotion of `plan`: running its first step, or completed at once when that step is 100 %. */
export function startOf(plan: PromotionPlan): Transition {
  if (plan.steps.length === 0) throw new RangeError("startOf: a plan needs at least one step");
  const done = plan.steps[0] === 100;
  const state: PromotionState = done ? "completed" : "running";
  return { kind: done ? "completed" : "started", cause: "admin", state, step: 0, percent: percentOf(plan, state, 0), alert: null };
}

/**
 * Whether a promotion is a straight start left unfinished: running a step of 100 % (a position no transition leads to:
 * startOf and an advance complete instead), which only the request of a straight plan ([100]) leaves behind when it
 * dies between storing the promotion and writing its completion. It is completed as that request would have.
 */
export const unfinishedStart = (p: Pick<PromotionPosition, "state" | "step" | "plan">): boolean =>
  p.state === "running" && p.plan.steps[p.step] === 100;

/**
 * The alert a transition of `kind` for `cause` raises: a stop on a regression or a timeout (never an admin's, an
 * advance's or a supersession's). Read again from an audit row when its log event is repaired (event-log.ts).
 */
export function alertOf(kind: PromotionStepKind, cause: PromotionCause): Transition["alert"] {
  if (cause === "admin" || cause === "equivalent" || cause === "activation") return null;
  return kind === "paused" ? "promotion_paused" : kind === "rolled_back" ? "promotion_rolled_back" : null;
}

/** The state a promotion is in after a transition of `kind` (every kind leads to one state). */
export const STATE_AFTER = {
  started: "running",
  advanced: "running",
  paused: "paused",
  resumed: "running",
  rolled_back: "rolled_back",
  completed: "completed",
  superseded: "superseded",
} as const satisfies Record<PromotionStepKind, PromotionState>;

function move(p: PromotionPosition, kind: PromotionStepKind, cause: PromotionCause, state: PromotionState, step: number): Transition {
  return { kind, cause, state, step, percent: percentOf(p.plan, state, step), alert: alertOf(kind, cause) };
}

/** The next step, or completion when it is the last (100 %). */
function advance(p: PromotionPosition, cause: PromotionCause): Transition {
  const next = p.step + 1;
  if (next >= p.plan.steps.length - 1 || p.plan.steps[next] === 100)
    return move(p, "completed", cause, "completed", Math.min(next, p.plan.steps.length - 1));
  return move(p, "advanced", cause, "running", next);
}

function regression(p: PromotionPosition, cause: PromotionCause, onRegression: OnRegression): Transition {
  return onRegression === "pause" ? move(p, "paused", cause, "paused", p.step) : move(p, "rolled_back", cause, "rolled_back", p.step);
}

const none = (why: NoTransition["why"], refused = false): NoTransition => ({ kind: "none", why, refused });

/**
 * The transition an input causes. Evidence: a drift alarm on the candidate, or `shifted` against the control arm or
 * against the candidate's own target, stops the promotion as the plan says (pause or rollback, with an alert);
 * `equivalent` against control with at least min_queries candidate queries advances it; anything else waits.
 */
export function transition(p: PromotionPosition, input: PromotionInput): Transition | NoTransition {
  if (!isOpen(p.state)) return none("closed", input.kind === "admin");
  switch (input.kind) {
    case "activation":
      return move(p, "superseded", "activation", "superseded", p.step);
    case "deadline":
      if (p.state !== "running" || input.step !== p.step) return none("stale");
      return move(p, "paused", "inconclusive_timeout", "paused", p.step);
    case "evidence": {
      if (p.state !== "running" || input.step !== p.step) return none("stale");
      if (input.driftAlarm) return regression(p, "drift_alarm", p.plan.on_regression);
      if (input.vsControl === "shifted") return regression(p, "shifted_vs_control", p.plan.on_regression);
      if (input.vsTarget === "shifted") return regression(p, "shifted_vs_target", p.plan.on_regression);
      if (input.vsControl === "equivalent" && input.candidateQueries >= p.plan.min_queries) return advance(p, "equivalent");
      return none("waiting");
    }
    case "admin":
      switch (input.action) {
        case "pause":
          return p.state === "running" ? move(p, "paused", "admin", "paused", p.step) : none("stale", true);
        case "resume":
          return p.state === "paused" ? move(p, "resumed", "admin", "running", p.step) : none("stale", true);
        case "advance":
          return advance(p, "admin");
        case "rollback":
          return move(p, "rolled_back", "admin", "rolled_back", p.step);
        default: {
          const never: never = input.action;
          throw new TypeError(`transition: admin action ${String(never)}`);
        }
      }
    default: {
      const never: never = input;
      throw new TypeError(`transition: ${JSON.stringify(never)}`);
    }
  }
}
