/**
 * The server's warnings in human output: the first lines after a summary's headline, so a warning is read before the
 * numbers (a typo in --embedding makes a new gate: a `new_gate` warning must not scroll by). The gates a warning
 * names in its details are shown as the flags that name them, and a warning worded for API callers gets the CLI's way
 * to act on it.
 */
import { prose } from "./format";
import { gateSuggestionLines } from "./suggest";

/** A warning as the server sends it: the contract's code and message, and details where a newer server adds them. */
export interface ServerWarning {
  code: string;
  message: string;
  details?: unknown;
}

/** What to do about a warning with this CLI, where the server's message speaks of the API. */
const CLI_ACTION: Readonly<Record<string, string>> = {
  flat_scores: "with this CLI: name the file's query column (--query-column NAME), or write one JSONL array per query",
  monitor_not_armed:
    "with this CLI: scoregate monitor shows each production test and whether it is armed (calibration_too_small until a larger upload is served)",
  new_gate: "if a name is mistyped, this upload made a new gate: check --index, --embedding and --reranker (scoregate gates lists the gates)",
};

/** One warning: `Warning (code): message`, then the gates its details name and what to do, indented. */
export function warningLines(warnings: readonly ServerWarning[]): string[] {
  return warnings.flatMap((w) => {
    const d = w.details;
    const similar = gateSuggestionLines(typeof d === "object" && d !== null ? (d as Record<string, unknown>).similar : undefined);
    const action = Object.hasOwn(CLI_ACTION, w.code) ? CLI_ACTION[w.code] : undefined;
    return [
      `Warning (${w.code}): ${prose(w.message)}`,
      ...(similar.length > 0 ? ["  gates with similar names, as flags:", ...similar.map((f) => `    ${f}`)] : []),
      ...(action === undefined ? [] : [`  ${action}`]),
    ];
  });
}
