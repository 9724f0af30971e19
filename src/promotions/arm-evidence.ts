/**
 * A promotion step's live evidence from its arms' counts: the candidate arm against the control arm of the same step
 * and against its own calibration's target (monitoring/live-decision.ts, anytime-valid, queries as the unit; for a
 * guarded calibration, the target for the arm's own query sizes), with the
 * candidate arm's drift detector for the step (monitoring/gate-monitor/live-evidence.ts). The step's automatic
 * decision (step-evidence.ts) and the promotion's `evidence` field (view.ts) both read it, so what a reader sees is
 * what the decision saw.
 */
import { expectationOf } from "../calibrations/expectation";
import type { ArmDrift, DecisionNumbers, DriftAlarmNumbers, StepEvidence, StoredCalibration } from "../contract";
import { liveDecision, liveSide, targetSide } from "../monitoring/live-decision";
import type { ArmEvidence, LiveSums } from "../monitoring/monitor-contract";
import { armKey } from "../monitoring/monitor-contract";
import type { StepEvidenceInput } from "./state-machine";
import type { PromotionRow } from "./store";

/** The step's arms, picked from a gate's evidence by key. */
export function armsOf(row: Pick<PromotionRow, "id" | "step">, evidence: Readonly<Record<string, LiveSums>>): ArmEvidence {
  return { candidate: evidence[armKey(row.id, row.step, "candidate")] ?? null, control: evidence[armKey(row.id, row.step, "control")] ?? null };
}

/** The step's evidence as the API shows it, and as the state machine's input. */
export function stepEvidence(
  row: Pick<PromotionRow, "step" | "plan">,
  arms: ArmEvidence,
  candidate: StoredCalibration,
): { view: StepEvidence; input: StepEvidenceInput } {
  const cand = arms.candidate ? liveSide(arms.candidate.sums) : null;
  const ctl = arms.control ? liveSide(arms.control.sums) : null;
  const { tolerance, min_queries } = row.plan;
  const vsControl = liveDecision(ctl, cand, tolerance, min_queries);
  // A guarded candidate's target is taken for the arm's own query sizes (live-decision.ts targetSide).
  const vsTarget = liveDecision(targetSide(expectationOf(candidate), arms.candidate), cand, tolerance, min_queries);
  const drift = arms.candidate?.drift ?? null;
  return {
    view: {
      step: row.step,
      candidate_queries: arms.candidate?.sums.queries ?? 0,
      control_queries: arms.control?.sums.queries ?? 0,
      candidate_drop_rate: cand?.rate ?? null,
      control_drop_rate: ctl?.rate ?? null,
      vs_control: vsControl,
      vs_target: vsTarget,
      candidate_drift: drift,
    },
    input: {
      kind: "evidence",
      step: row.step,
      vsControl: vsControl.decision,
      vsTarget: vsTarget.decision,
      driftAlarm: drift?.alarm != null,
      candidateQueries: cand?.queries ?? 0,
    },
  };
}

/** The numbers an automatic transition records in its audit row, its log event and its alert. */
export function decisionNumbers(view: StepEvidence): DecisionNumbers {
  return {
    vs_control: view.vs_control,
    vs_target: view.vs_target,
    candidate_queries: view.candidate_queries,
    control_queries: view.control_queries,
    candidate_drop_rate: view.candidate_drop_rate,
    control_drop_rate: view.control_drop_rate,
    drift_alarm: alarmNumbers(view.candidate_drift),
  };
}

/** The alarm of the candidate's drift detector with the numbers of the test that fired (drop rate, empty context, abstention). */
function alarmNumbers(drift: ArmDrift | null): DriftAlarmNumbers | null {
  if (drift?.alarm == null) return null;
  const k = drift.alarm.kind;
  const t = k === "empty_context" ? drift.window.empty_context : k === "abstention_drift" ? drift.window.abstention : drift.window.drop_rate;
  return {
    ...drift.alarm,
    observed: t?.observed ?? null,
    expected: t?.expected ?? null,
    band: t?.band ?? null,
    log_evidence: t?.log_evidence ?? null,
    log_threshold: drift.window.log_threshold,
    queries: k === "abstention_drift" ? (drift.window.abstention_queries ?? 0) : drift.window.queries,
  };
}
