/**
 * The summary's `Serving:` line in the CLI's words. The server's `activation_outcome.message` is written for API
 * callers ("activate is \"auto\"", "POST /v1/calibrations/{id}/activate", "upload with activate: true"), none of which
 * a CLI user types; `--json` still carries it unchanged.
 */
import { type ActivationOutcome, type ActivationReason, AUTO_ACTIVATE_MAX_TARGET_MISS, type ShiftReport } from "../../../src/contract";
import { percent, pointWidth, prose } from "./format";

interface Fitted {
  id: string;
  gate_id: string;
  expected_drop_rate: number;
  target_drop_rate: number;
}

const KEEPS = "the gate keeps serving its current calibration";

/**
 * What the served calibration drops, when the answer says: the shift's previous calibration is the served one when it
 * was compared with the gate's current calibration (the server decides drop_rate_changed against that same expected
 * drop rate and tolerance: src/calibrations/calibrate.ts); against a carry reference the gate served nothing.
 */
type Served = Pick<ShiftReport, "compared_with" | "previous_expected_drop_rate" | "tolerance">;

function dropRateChanged(cal: Fitted, shift: Served | null): string {
  if (shift === null || shift.compared_with !== "gate_current")
    return `it would drop ${percent(cal.expected_drop_rate)} of candidates, beyond the tolerance from what the served calibration drops, so ${KEEPS}`;
  const moved = Math.abs(cal.expected_drop_rate - shift.previous_expected_drop_rate);
  return `it would drop ${percent(cal.expected_drop_rate)} of candidates where the served calibration drops ${percent(shift.previous_expected_drop_rate)} (${pointWidth(moved)} points, beyond the ${pointWidth(shift.tolerance)}-point tolerance), so ${KEEPS}`;
}

/** Why an upload is served or not, for the reasons `scoregate calibrate` can meet (it uploads with activate "auto"). */
function because(reason: ActivationReason, cal: Fitted, shift: Served | null): string | null {
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
      return dropRateChanged(cal, shift);
    case "promotion_open":
      return `the gate has an open guarded promotion, which serving this upload would end, so ${KEEPS} (GET /v1/gates/${cal.gate_id}/promotions lists it: let it finish or roll it back first; activating now ends it)`;
    case "target_missed":
      return `its expected drop rate ${percent(cal.expected_drop_rate)} misses the target ${percent(cal.target_drop_rate)} by more than ${pointWidth(AUTO_ACTIVATE_MAX_TARGET_MISS)} points (too few or too tied scores for this target)`;
    default:
      // activate true or false: never sent by the CLI
      return null;
  }
}

/** The `Serving:` line; `shift` is the upload's shift report (null: none, or a server that sends none). */
export function servingLine(outcome: ActivationOutcome, cal: Fitted, shift: Served | null): string {
  const cause = because(outcome.reason, cal, shift);
  if (cause === null) return `Serving: ${prose(outcome.message)}`;
  if (outcome.dry_run)
    return `Serving: dry run, nothing stored; this upload would be ${outcome.would_activate ? "served" : "stored but not served"}: ${cause}`;
  return outcome.activated ? `Serving: served: ${cause}` : `Serving: stored, not served: ${cause}. scoregate activate ${cal.id} serves it`;
}
