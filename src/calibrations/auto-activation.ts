/**
 * Whether an upload is served: the rule behind `activate: "auto" | true | false` (docs/api.md, "Activation"). Pure:
 * calibrate.ts gives it what the fit and the shift report found against the gate's current calibration.
 *
 * "auto", the default, serves an upload only when serving it cannot silently hurt: the expected drop rate must be
 * within AUTO_ACTIVATE_MAX_TARGET_MISS of the target (3 scores at target 0.01 expect 25 %: they once replaced a
 * 1,000,000-score calibration), and then either the gate serves nothing yet or the rebuild decision is "equivalent"
 * and the upload drops what the served calibration drops, within the shift tolerance. The rebuild decision looks at
 * the served threshold on the new scores: an upload of the same scores with another target (a carry of the old
 * absolute 0.4 that drops 59 % where 22 % is served) passes it, and is a change of what the gate does that someone
 * should decide on ("drop_rate_changed"). A recall gate that keeps the served recall guarantee may move its drop rate:
 * its target is the guarantee. A "shifted", "inconclusive" or "drop_rate_changed" upload is stored for review and
 * promoted with POST /v1/calibrations/{id}/activate. While the gate has an open guarded promotion an upload that would
 * otherwise be served is stored too ("promotion_open"): serving it would end the promotion, which only an explicit
 * activation may do.
 */
import type { ActivateMode, ActivationOutcome, ActivationReason, Policy, ShiftReport, StoredCalibration, Warning } from "../contract";
import { AUTO_ACTIVATE_MAX_TARGET_MISS } from "../platform/limits";

export interface ActivationFacts {
  /** The upload's calibration id (named in the message). */
  readonly calibrationId: string;
  readonly activate: ActivateMode;
  readonly dryRun: boolean;
  /** The rebuild decision against the gate's current calibration; null when the gate serves nothing yet. */
  readonly decision: ShiftReport["decision"] | null;
  /** The gate served no calibration before this upload. */
  readonly first: boolean;
  /** The gate has an open (running or paused) guarded promotion: serving the upload would end it (superseded). */
  readonly promotionOpen?: boolean;
  /** The gate's id (named in the message of promotion_open). */
  readonly gateId?: string;
  readonly targetDropRate: number;
  readonly expectedDropRate: number;
  /**
   * The served calibration's expected drop rate and the tolerance of the rebuild decision, when the upload is compared
   * with the gate's current calibration and does not keep the same recall guarantee; null otherwise.
   */
  readonly served: { readonly expectedDropRate: number; readonly tolerance: number } | null;
}

const points = (rate: number): string => `${(100 * rate).toFixed(2)} points`;
const percent = (rate: number): string => `${(100 * rate).toFixed(2)} %`;

function reasonOf(f: ActivationFacts): ActivationReason {
  if (f.activate === true) return "requested";
  if (f.activate === false) return "not_requested";
  if (Math.abs(f.expectedDropRate - f.targetDropRate) > AUTO_ACTIVATE_MAX_TARGET_MISS) return "target_missed";
  if (f.first || f.decision === null) return "first_calibration";
  if (f.decision === "equivalent" && f.served !== null && Math.abs(f.expectedDropRate - f.served.expectedDropRate) > f.served.tolerance) {
    return "drop_rate_changed";
  }
  // Last: an upload that would be served now would supersede the rollout a team is watching step by step. One that
  // is not served anyway keeps its own reason (a shifted rebuild stays shifted).
  if (f.decision === "equivalent" && f.promotionOpen === true) return "promotion_open";
  return f.decision;
}

const SERVED: Record<ActivationReason, boolean> = {
  requested: true,
  first_calibration: true,
  equivalent: true,
  not_requested: false,
  shifted: false,
  inconclusive: false,
  target_missed: false,
  drop_rate_changed: false,
  promotion_open: false,
};

function why(reason: ActivationReason, f: ActivationFacts): string {
  switch (reason) {
    case "requested":
      // an explicit activation overrides an open promotion (supersedeOnActivation): said, as POST .../activate says it
      return f.promotionOpen === true
        ? `activate is true; this ends the gate's open guarded promotion (it becomes "superseded", GET /v1/gates/${f.gateId ?? "{gate_id}"}/promotions shows it)`
        : "activate is true";
    case "first_calibration":
      return "the gate served no calibration before";
    case "equivalent":
      return "the rebuild decision is equivalent: the previous threshold's drop rate stayed within the tolerance";
    case "not_requested":
      return "activate is false";
    case "shifted":
      return 'the rebuild decision is shifted (see shift.reason) and activate is "auto": the gate keeps serving its current calibration';
    case "inconclusive":
      return 'the rebuild decision is inconclusive (too little data to show the drop rate stayed within the tolerance) and activate is "auto": the gate keeps serving its current calibration';
    case "drop_rate_changed": {
      const s = f.served!;
      return `the upload would drop ${percent(f.expectedDropRate)} of candidates where the served calibration drops ${percent(s.expectedDropRate)} (${points(Math.abs(f.expectedDropRate - s.expectedDropRate))}, beyond the ${points(s.tolerance)} tolerance) and activate is "auto": a change of what the gate drops is served only when asked for (activate: true)`;
    }
    case "promotion_open":
      return `the gate has an open guarded promotion and activate is "auto": serving this upload would end it (superseded), so it is stored for after the promotion (GET /v1/gates/${f.gateId ?? "{gate_id}"}/promotions shows it; finish or roll it back first)`;
    case "target_missed":
      return `the expected drop rate ${percent(f.expectedDropRate)} misses the target ${percent(f.targetDropRate)} by ${points(Math.abs(f.expectedDropRate - f.targetDropRate))}, more than the ${points(AUTO_ACTIVATE_MAX_TARGET_MISS)} activate "auto" accepts (too few or too tied scores for this target)`;
    default: {
      const never: never = reason;
      throw new TypeError(`unknown activation reason ${String(never)}`);
    }
  }
}

/** What an upload does to what is served, and the sentence that says why. */
export function activationOutcome(f: ActivationFacts): ActivationOutcome {
  const reason = reasonOf(f);
  const served = SERVED[reason];
  const cause = why(reason, f);
  let message: string;
  if (f.dryRun) {
    message = `dry run: nothing was stored, activated or raised; without dry_run this upload ${served ? "would be served" : "would be stored but not served"}: ${cause}`;
  } else if (served) {
    message = `served: ${cause}`;
  } else {
    message = `stored, not served: ${cause}. Promote it with POST /v1/calibrations/${f.calibrationId}/activate${reason === "not_requested" ? "" : ", or upload with activate: true"}`;
  }
  return { activate: f.activate, dry_run: f.dryRun, activated: served && !f.dryRun, would_activate: served, reason, message };
}

/** A recall upload that states the served calibration's recall target and coverage: its drop rate may move. */
export function keepsRecallGuarantee(
  served: Pick<StoredCalibration, "policy"> | null,
  policy: Pick<Policy, "kind"> & Partial<{ target: number; coverage: string }>,
): boolean {
  return (
    served !== null &&
    policy.kind === "recall" &&
    served.policy.kind === "recall" &&
    served.policy.target === policy.target &&
    served.policy.coverage === policy.coverage
  );
}

/**
 * What an explicit activation (POST /v1/calibrations/{id}/activate) says when it changes what the gate drops beyond
 * the tolerance: the rebuild decision asks whether the served threshold means the same on the new scores, so it can
 * say "equivalent" while the activated calibration, fitted to another target or carried at another threshold, drops
 * three times as much. An explicit activation is not refused (activate "auto" would have stored it for review:
 * drop_rate_changed); it says so. null when the drop rate stays within the tolerance or the recall guarantee is kept.
 */
export function dropRateChangeWarning(served: StoredCalibration, next: StoredCalibration, tolerance: number): Warning | null {
  const moved = Math.abs(next.expected_drop_rate - served.expected_drop_rate);
  if (moved <= tolerance || keepsRecallGuarantee(served, next.policy)) return null;
  return {
    code: "drop_rate_changed",
    message: `this activation changes what the gate drops: ${served.id} dropped ${percent(served.expected_drop_rate)} of candidates, ${next.id} drops ${percent(next.expected_drop_rate)} (${points(moved)}, beyond the ${points(tolerance)} tolerance). The rebuild decision compares the served threshold on the new scores, not what the gate drops`,
  };
}
