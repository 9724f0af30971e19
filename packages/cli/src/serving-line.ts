/**
 * The summary's `Serving:` line in the CLI's words. The server's `activation_outcome.message` is written for API
 * callers ("activate is \"auto\"", "POST /v1/calibrations/{id}/activate", "upload with activate: true"), none of which
 * a CLI user types; `--json` still carries it unchanged.
 */
import { AUTO_ACTIVATE_MAX_TARGET_MISS, type ActivationOutcome, type ActivationReason } from "../../../src/contract";
import { percent, pointWidth, prose } from "./format";

interface Fitted {
  id: string;
  expected_drop_rate: number;
  target_drop_rate: number;
}

const KEEPS = "the gate keeps serving its current calibration";

/** Why an upload is served or not, for the reasons `scoregate calibrate` can meet (it uploads with activate "auto"). */
function because(reason: ActivationReason, cal: Fitted): string | null {
  switch (reason) {
    case "first_calibration":
      return "the gate served no calibration before";
    case "equivalent":
      return "the rebuild decision is equivalent: the previous threshold's drop rate stayed within the tolerance";
    case "shifted":
      return `the rebuild shifted the gate (the Shift lines above), so ${KEEPS}`;
    case "inconclusive":
      return `the rebuild decision is inconclusive (too little data to show the drop rate stayed within the tolerance), so ${KEEPS}`;
    case "drop_rate_changed":
      return `it would drop ${percent(cal.expected_drop_rate)} of candidates, beyond the tolerance from what the served calibration drops, so ${KEEPS}`;
    case "target_missed":
      return `its expected drop rate ${percent(cal.expected_drop_rate)} misses the target ${percent(cal.target_drop_rate)} by more than ${pointWidth(AUTO_ACTIVATE_MAX_TARGET_MISS)} points (too few or too tied scores for this target)`;
    default:
      // activate true or false: never sent by the CLI
      return null;
  }
}

export function servingLine(outcome: ActivationOutcome, cal: Fitted): string {
  const cause = because(outcome.reason, cal);
  if (cause === null) return `Serving: ${prose(outcome.message)}`;
  if (outcome.dry_run)
    return `Serving: dry run, nothing stored; this upload would be ${outcome.would_activate ? "served" : "stored but not served"}: ${cause}`;
  return outcome.activated ? `Serving: served: ${cause}` : `Serving: stored, not served: ${cause}. scoregate activate ${cal.id} serves it`;
}
