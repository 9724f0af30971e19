/**
 * The running step's automatic decision from the gate's live evidence: after an arm batch is counted, the candidate
 * arm of its step is compared with the control arm of the same step and with its own calibration's target
 * (monitoring/live-decision.ts, anytime-valid), and the state machine says whether to advance, stop on a regression
 * or wait; the transition is written like an override's (conditional on the promotion's version, so a late or
 * replayed decision changes nothing). Not yet: the candidate's drift alarm as evidence (always false here), the
 * `max_step_hours` deadline, and the monitor-side outbox that would retry a decision lost to a failed D1 write
 * (until then the next arm batch decides again).
 */
import { expectationOf } from "../calibrations/expectation";
import type { BatchPromotion } from "../contract";
import { armKey } from "../monitoring/gate-monitor/live-evidence";
import { liveDecision, liveSide, targetSide } from "../monitoring/live-decision";
import type { PromotionDeps } from "./deps";
import { applyTransition } from "./service";
import { isOpen, transition } from "./state-machine";

/** Decides the step an arm batch was counted for, when its promotion is still open at that step. */
export async function decideStepFromEvidence(p: BatchPromotion, deps: PromotionDeps): Promise<void> {
  const row = await deps.promotions.get(p.id);
  if (row === null || !isOpen(row.state) || row.step !== p.step) return;
  const [evidence, candidate] = await Promise.all([deps.monitor.evidence(row.gate_id), deps.calibrations.get(row.candidate_calibration_id)]);
  if (candidate === null) return;
  const side = (arm: "candidate" | "control") => {
    const e = evidence[armKey(row.id, row.step, arm)];
    return e === undefined ? null : liveSide(e.sums);
  };
  const cand = side("candidate");
  const { tolerance, min_queries } = row.plan;
  const vsControl = liveDecision(side("control"), cand, tolerance, min_queries);
  const vsTarget = liveDecision(targetSide(expectationOf(candidate)), cand, tolerance, min_queries);
  const t = transition(row, {
    kind: "evidence",
    step: row.step,
    vsControl: vsControl.decision,
    vsTarget: vsTarget.decision,
    driftAlarm: false,
    candidateQueries: cand?.queries ?? 0,
  });
  if (t.kind === "none") return;
  await applyTransition(row, t, "promotion", null, { vs_control: vsControl, vs_target: vsTarget }, deps);
}
