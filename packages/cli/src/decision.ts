/**
 * The rebuild decision a pipeline exits on, read from the shift report of an upload.
 *
 * The server's report carries `decision` ("equivalent" | "shifted" | "inconclusive") and `change_interval_95`; `alert`
 * is true exactly when the decision is "shifted". Reports from servers that predate those fields are read by
 * `legacyDecision` below.
 */
import type { ActivationOutcome, ShiftReport } from "../../../src/contract";

export type Decision = "equivalent" | "shifted" | "inconclusive";

/** The shift report as the CLI reads it: the contract's fields plus the decision fields, optional while servers differ. */
export type ShiftWithDecision = ShiftReport & {
  decision?: Decision;
  change_interval_95?: [number, number];
};

export interface RebuildDecision {
  /** null: nothing to compare with (the gate had no calibration before). */
  decision: Decision | null;
  /** "server": the report's own decision; "legacy": derived by legacyDecision from alert and change_points. */
  source: "server" | "legacy" | null;
}

/** Exit codes of the CLI (docs/clients.md#exit-codes). */
export const EXIT = { ok: 0, failure: 1, usage: 2, shifted: 3, inconclusive: 4, targetMissed: 5, promotionOpen: 6 } as const;

/**
 * Fallback for servers whose shift report has no `decision` yet: alert -> shifted; no alert and a move within the
 * tolerance -> equivalent; no alert but a move beyond the tolerance (not significant) -> inconclusive.
 * Delete it once every server sends `decision`.
 */
export function legacyDecision(shift: Pick<ShiftReport, "alert" | "change_points" | "tolerance">): Decision {
  if (shift.alert) return "shifted";
  return Math.abs(shift.change_points) <= shift.tolerance * 100 ? "equivalent" : "inconclusive";
}

export function rebuildDecision(shift: ShiftWithDecision | null | undefined): RebuildDecision {
  if (shift === null || shift === undefined) return { decision: null, source: null };
  if (shift.decision === "equivalent" || shift.decision === "shifted" || shift.decision === "inconclusive")
    return { decision: shift.decision, source: "server" };
  return { decision: legacyDecision(shift), source: "legacy" };
}

/**
 * The exit code of an upload: 0 exactly when it is served (a dry run: would be), else why not: 3 shifted (or an
 * equivalent rebuild whose own drop rate moves beyond the tolerance from the served one's: drop_rate_changed),
 * 4 inconclusive, 5 its expected drop rate misses the target, 6 the gate has an open guarded promotion. A server that sends no `activation_outcome` served
 * every upload but a dry run: then the decision alone decides (exitCodeForDecision).
 */
export function exitCodeFor(outcome: ActivationOutcome | undefined, decision: Decision | null, strict: boolean): number {
  if (outcome === undefined) return exitCodeForDecision(decision, strict);
  if (outcome.would_activate) return EXIT.ok;
  switch (outcome.reason) {
    case "shifted":
    case "drop_rate_changed":
      return EXIT.shifted;
    case "inconclusive":
      return EXIT.inconclusive;
    case "target_missed":
      return EXIT.targetMissed;
    case "promotion_open":
      return EXIT.promotionOpen;
    case "not_requested":
      // the CLI never sends activate: false; the upload did what was asked
      return EXIT.ok;
    default:
      // a reason of a newer server: not served all the same, so never 0 (the Serving line prints the server's words)
      return EXIT.shifted;
  }
}

/** For servers without `activation_outcome`: 0 equivalent or nothing to compare; 3 shifted; 4 inconclusive with --strict, else 0 (the caller warns). */
export function exitCodeForDecision(decision: Decision | null, strict: boolean): number {
  if (decision === "shifted") return EXIT.shifted;
  if (decision === "inconclusive" && strict) return EXIT.inconclusive;
  return EXIT.ok;
}
