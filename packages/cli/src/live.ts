/**
 * Live decisions (a shadow's, a promotion step's) and a step's arm counts in words, one rule for `shadow`, `promote`
 * and `promotion`: drop rates in percent, changes and their 95 % confidence sequences in points, as calibrate prints a
 * rebuild's change.
 */
import { z } from "zod";
import { type LiveDecision, StepEvidence } from "../../../src/contract";
import { count, percent, pointInterval, points } from "./format";

/** "equivalent +0.3 points (95 %: -0.7 to +1.3 points)"; the decision alone before there is a change to show. */
export function liveDecisionText(d: LiveDecision): string {
  const change = d.change === null ? "" : ` ${points(100 * d.change)} points`;
  const interval = d.interval95 === null ? "" : ` (95 %: ${pointInterval(d.interval95)} points)`;
  return `${d.decision}${change}${interval}`;
}

const { candidate_queries, control_queries, candidate_drop_rate, control_drop_rate, vs_control, vs_target } = StepEvidence.shape;
/** A field read when it has the contract's shape and left out otherwise, so one odd field never hides the others. */
const lenient = <T extends z.ZodType>(t: T) => t.optional().catch(undefined);

/**
 * The numbers a promotion's transition records (src/promotions: the step's arms and decisions when the engine or an
 * override decided on evidence, the deadline of a timed-out step, the activation that superseded it), each optional:
 * a transition records only those it had.
 */
export const TransitionNumbers = z.object({
  candidate_queries: lenient(candidate_queries),
  control_queries: lenient(control_queries),
  candidate_drop_rate: lenient(candidate_drop_rate),
  control_drop_rate: lenient(control_drop_rate),
  vs_control: lenient(vs_control),
  vs_target: lenient(vs_target),
  drift_alarm: lenient(z.object({ kind: z.string() }).nullable()),
  max_step_hours: lenient(z.number()),
  activated: lenient(z.string()),
});
export type TransitionNumbers = z.infer<typeof TransitionNumbers>;

const rate = (r: number | null | undefined): string => (r === null || r === undefined ? "-" : percent(r));

/**
 * "candidate 240 queries (drop 21.3 %), control 2,100 (drop 20.8 %); vs control equivalent +0.5 points (95 %: ...),
 * vs target ...", from what `n` has; "" when it has none of it.
 */
export function armsText(n: TransitionNumbers): string {
  const arms = [
    n.candidate_queries === undefined ? null : `candidate ${count(n.candidate_queries)} queries (drop ${rate(n.candidate_drop_rate)})`,
    n.control_queries === undefined ? null : `control ${count(n.control_queries)} (drop ${rate(n.control_drop_rate)})`,
  ].filter((x) => x !== null);
  const decisions = [
    n.vs_control === undefined ? null : `vs control ${liveDecisionText(n.vs_control)}`,
    n.vs_target === undefined ? null : `vs target ${liveDecisionText(n.vs_target)}`,
    n.drift_alarm ? `drift alarm ${n.drift_alarm.kind}` : null,
  ].filter((x) => x !== null);
  return [arms.join(", "), decisions.join(", ")].filter((x) => x !== "").join("; ");
}
