/**
 * The summary's `Serving:` line in the CLI's words. The server's `activation_outcome.message` is written for API
 * callers ("activate is \"auto\"", "POST /v1/calibrations/{id}/activate", "upload with activate: true"), none of which
 * a CLI user types; `--json` still carries it unchanged.
 */
import { type ActivationOutcome, type ActivationReason, AUTO_ACTIVATE_MAX_TARGET_MISS, type ShiftReport } from "../../../src/contract";
import { percent, pointWidth, prose } from "./format";
import { gateFlagWords } from "./suggest";

interface Fitted {
  id: string;
  gate_id: string;
  index: string;
  embedding: string;
  reranker: string;
  expected_drop_rate: number;
  target_drop_rate: number;
}

const KEEPS = "the gate keeps serving its current calibration";

/**
 * The command that prints the gate's open promotion: by its candidate calibration when the CLI found it (`scoregate
 * promotion` takes the calibration it promotes), else the gate's threshold, whose rollout names the candidate.
 */
export function promotionCommand(cal: Pick<Fitted, "index" | "embedding" | "reranker">, openCandidate: string | null): string {
  if (openCandidate !== null) return `scoregate promotion ${openCandidate} prints it`;
  return `scoregate threshold ${gateFlagWords(cal)} names its candidate, scoregate promotion CANDIDATE prints it`;
}

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
function because(reason: ActivationReason, cal: Fitted, shift: Served | null, openCandidate: string | null): string | null {
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
      return `the gate has an open guarded promotion, which serving this upload would end, so ${KEEPS} (${promotionCommand(cal, openCandidate)}: let it finish or roll it back first)`;
    case "target_missed":
      return `its expected drop rate ${percent(cal.expected_drop_rate)} misses the target ${percent(cal.target_drop_rate)} by more than ${pointWidth(AUTO_ACTIVATE_MAX_TARGET_MISS)} points (too few or too tied scores for this target)`;
    default:
      // activate true or false: never sent by the CLI
      return null;
  }
}

/**
 * The `Serving:` line; `shift` is the upload's shift report (null: none, or a server that sends none); `openCandidate`
 * the candidate calibration of the gate's open promotion when the reason is promotion_open and the CLI found it.
 */
export function servingLine(outcome: ActivationOutcome, cal: Fitted, shift: Served | null, openCandidate: string | null = null): string {
  const cause = because(outcome.reason, cal, shift, openCandidate);
  if (cause === null) return `Serving: ${prose(outcome.message)}`;
  if (outcome.dry_run)
    return `Serving: dry run, nothing stored; this upload would be ${outcome.would_activate ? "served" : "stored but not served"}: ${cause}`;
  if (outcome.activated) return `Serving: served: ${cause}`;
  // a manual activation supersedes the open promotion (docs/api.md, "Promotions")
  return outcome.reason === "promotion_open"
    ? `Serving: stored, not served: ${cause}. scoregate activate ${cal.id} would serve it now and end the promotion`
    : `Serving: stored, not served: ${cause}. scoregate activate ${cal.id} serves it`;
}
