/**
 * A recall calibration's guarantee in words, for the summary of `calibrate --recall`: what a fresh query is promised
 * (the server's `recall.coverage_bound`), where this fitted gate's coverage lies (`coverage_interval_95`, tie-aware),
 * what it did on its own labelled queries (in sample, pooled) and what other targets would cost (the tradeoff table).
 * Every number goes through ./format.
 */
import type { CoverageNotion, RecallReport } from "../../../src/contract";
import { count, num as number, percent, reachableTarget } from "./format";

/** What each coverage notion promises a fresh query, with the bound in it. */
function promise(coverage: CoverageNotion, bound: string): string {
  switch (coverage) {
    case "any_relevant":
      return `at least one relevant candidate kept for at least ${bound} of fresh queries`;
    case "all_relevant":
      return `every relevant candidate kept for at least ${bound} of fresh queries`;
    case "candidates":
      return `at least ${bound} of a fresh query's relevant candidates kept, on average over queries`;
    default:
      return ((x: never) => String(x))(coverage);
  }
}

/** The tradeoff rows at most this many, the policy's own target always among them. */
export const TRADEOFF_ROWS = 6;

/**
 * The recall lines: the guarantee (bound, target, notion, the labelled queries it rests on), this gate's coverage
 * with its 95 % interval, in sample and pooled, the ties at the threshold, and the drop rate other targets imply.
 * `maxKeep` is the calibration's cap (`guards.max_keep`), named where it puts a target out of reach.
 */
export function recallLines(r: RecallReport, maxKeep: number | null = null): string[] {
  const rule = r.rule === "rank_floor" ? `rank ${count(r.k)} of ${count(r.n)}` : "risk control";
  const lines = [
    `  recall      guaranteed: ${promise(r.coverage, percent(r.coverage_bound))} (target ${percent(r.target)}, ${r.coverage}; ${count(r.n)} labelled queries, ${rule})`,
  ];
  const [lo, hi] = r.coverage_interval_95;
  const centre = r.expected_coverage === undefined ? "" : `expected ${percent(r.expected_coverage)} `;
  const pooled = r.pooled_relevant_kept === undefined ? "" : `; ${percent(r.pooled_relevant_kept)} of all relevant candidates kept (pooled)`;
  lines.push(
    `              this gate: coverage ${centre}(95 %: ${percent(lo)} to ${percent(hi)}), in sample ${percent(r.in_sample_coverage)}${pooled}`,
  );
  // the rank rules' statistics tied at the threshold (one is no tie); the expected coverage and interval allow for them
  if (r.rule === "rank_floor" && r.ties_at_threshold !== undefined && r.ties_at_threshold > 1)
    lines.push(
      `              ${count(r.ties_at_threshold)} labelled queries tie at the threshold: a gate keeps scores equal to it, so it covers more than its rank says`,
    );
  const rows = tradeoffRows(r);
  if (rows.length > 0)
    lines.push(
      `  tradeoff    recall ${rows.map((t) => `${percent(t.target)} ${t.drop_rate === null ? unfitText(t, maxKeep) : `drops ${percent(t.drop_rate)} at ${number(t.threshold)}`}`).join(", ")}`,
    );
  return lines;
}

/** The tradeoff rows around the policy's target: its neighbours first, then the others, in target order. */
function tradeoffRows(r: RecallReport): RecallReport["tradeoff"] {
  const at = r.tradeoff.findIndex((t) => t.target === r.target);
  if (r.tradeoff.length <= TRADEOFF_ROWS || at < 0) return r.tradeoff.slice(0, TRADEOFF_ROWS);
  const start = Math.min(Math.max(0, at - Math.floor(TRADEOFF_ROWS / 2)), r.tradeoff.length - TRADEOFF_ROWS);
  return r.tradeoff.slice(start, start + TRADEOFF_ROWS);
}

/**
 * Why a tradeoff row has no threshold, in the words of the 422 a fit at its target gets: too few labelled queries (and
 * how many it needs), or a cap that loses too many queries whatever their number (and the highest target it allows).
 */
function unfitText(t: RecallReport["tradeoff"][number], maxKeep: number | null): string {
  const cap = maxKeep === null ? "max_keep" : `max_keep ${count(maxKeep)}`;
  switch (t.unfit_reason) {
    case "too_few_labelled_queries":
      return typeof t.minimum_queries === "number" ? `needs ${count(t.minimum_queries)} labelled queries` : "needs more queries";
    case "target_unreachable":
      return `out of reach with ${cap} (${typeof t.highest_target === "number" ? `highest target ${reachableTarget(t.highest_target)}` : "no target reachable"})`;
    case null:
    case undefined:
      // a server before the reason was kept: without a cap, too few queries is the only cause
      return maxKeep === null ? "needs more queries" : `needs more queries or a higher ${cap}`;
    default:
      return ((x: never) => String(x))(t.unfit_reason);
  }
}
