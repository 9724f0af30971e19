/**
 * Guards and abstention in words, for the summaries of `calibrate` (what the server fitted) and `threshold` (what is
 * served). Every number goes through ./format.
 */
import type { z } from "zod";
import type { AbstentionReport, Guards, GuardsReport, Labels, PerQuery } from "../../../src/contract";
import { count, fixed, num as number, percent } from "./format";

/** "keep at least 3, at most 10 candidates per query" ("keep at least 1 candidate per query"), or null for no guard. */
export function keepWords({ min_keep: min, max_keep: max }: Guards): string | null {
  const keep = [min > 0 ? `at least ${count(min)}` : null, max !== null ? `at most ${count(max)}` : null].filter((x) => x !== null);
  if (keep.length === 0) return null;
  return `keep ${keep.join(", ")} candidate${(max ?? min) === 1 ? "" : "s"} per query`;
}

/**
 * The guards of a calibration as fitted: what they keep, how often each binds on the calibration's queries, and what
 * the threshold alone would drop (the guarded rate is the summary's expected drop rate).
 */
export function guardsLines(g: GuardsReport): string[] {
  const keep = keepWords(g);
  if (keep === null) return ["  guards      none"];
  const binds = [
    g.min_keep > 0 ? `min_keep binds on ${percent(g.min_keep_binding_rate)} of queries` : null,
    g.max_keep !== null
      ? `max_keep ${g.min_keep > 0 ? "on" : "binds on"} ${percent(g.max_keep_binding_rate)}${g.min_keep > 0 ? "" : " of queries"}`
      : null,
  ].filter((x) => x !== null);
  return [
    `  guards      ${keep}: ${binds.join(", ")}`,
    `              the bare threshold (score >= threshold alone) would drop ${percent(g.bare_drop_rate)}`,
  ];
}

/** What a labelled upload's labels say at the fitted threshold (in sample): queries with a relevant candidate and what is kept. */
export function labelsLine(l: Labels): string {
  const c = l.coverage_at_threshold;
  const a = l.coverage_with_abstention;
  // with abstention, a query that abstains keeps nothing: the figures that count it are the ones a user gets
  const kept =
    a == null
      ? `the gate keeps one for ${percent(c.any_relevant)} of them, all for ${percent(c.all_relevant)}`
      : `the gate keeps one for ${percent(a.any_relevant)} of them, all for ${percent(a.all_relevant)}, counting the queries that abstain (without abstention: ${percent(c.any_relevant)}, ${percent(c.all_relevant)})`;
  return `  labels      ${count(l.labelled_queries)} of ${count(l.queries)} queries have a relevant candidate; ${kept}`;
}

/** The fitted abstention cutoff with the share of queries expected to abstain, and what its mode adds. */
export function abstentionLine(a: AbstentionReport): string {
  const [lo, hi] = a.rate_interval_95;
  const head =
    a.abstain_below === null
      ? "  abstention  no query abstains (rate 0)"
      : `  abstention  a query keeps nothing when its top score is below ${number(a.abstain_below)}: expected ${percent(a.expected_rate)} of queries (95 %: ${percent(lo)} to ${percent(hi)})`;
  switch (a.mode) {
    case "rate":
      return `${head}, target ${percent(a.target_rate)}`;
    case "carry":
      return a.carry === null
        ? `${head}, carried ${percent(a.target_rate)}`
        : `${head}, carried ${percent(a.carry.reference_rate)} from ${a.carry.reference_calibration_id} (${count(a.carry.reference_queries)} queries)`;
    case "false_abstention": {
      const caught =
        a.catch_rate === null
          ? ""
          : `, catches ${percent(a.catch_rate)} of unanswerable queries${a.catch_interval_95 ? ` (95 %: ${percent(a.catch_interval_95[0])} to ${percent(a.catch_interval_95[1])})` : ""}`;
      return `${head}; answerable queries abstain with probability at most ${percent(a.false_abstention_bound)} (alpha ${percent(a.alpha)})${caught}`;
    }
    default:
      return ((x: never) => String(x))(a.mode);
  }
}

type Stratum = NonNullable<z.infer<typeof PerQuery>["empty_context_by_candidates"]>[number];

/**
 * Whether a stratum's rate is a prediction rather than a count: extrapolated from longer queries (hypergeometric) with
 * none of the calibration's own queries of that size (`own_queries` 0; absent, with `source`, on calibrations fitted
 * before they were kept, whose strata are all extrapolated).
 */
const predicted = (s: Stratum): boolean => s.source !== "observed" && (s.own_queries ?? 0) === 0;

/**
 * The per-query line and its short-query strata. With min_keep = L >= 1 (`empty_context_level`) a gate is never
 * empty: the server's `empty_context_rate` and strata then count the queries where the threshold alone keeps fewer
 * than min(L, candidates), that is where the guard binds, and they are named so.
 */
export function perQueryLines(pq: z.infer<typeof PerQuery>, minKeep: number): string[] {
  const level = pq.empty_context_level ?? (minKeep > 0 ? minKeep : undefined);
  const empty =
    level === undefined
      ? `${percent(pq.empty_context_rate)} left empty`
      : `min_keep binds on ${percent(pq.empty_context_rate)} (the threshold alone keeps fewer than min(${level}, candidates); never empty)`;
  const lines = [
    `  per query   ${fixed(pq.mean_candidates, 1)} candidates, ${fixed(pq.mean_kept, 1)} kept, ${empty}, design effect ${fixed(pq.design_effect, 2)}`,
  ];
  const short = pq.empty_context_by_candidates?.filter((s) => s.min_candidates <= 3 && !s.extrapolated) ?? [];
  if (short.length > 0) {
    const guessed = short.map(predicted);
    const all = guessed.every(Boolean);
    // all predicted from a file without a query this short: said once; else each predicted rate is marked
    const rates = short.map((s, i) => `${percent(s.rate)}${guessed[i] && !all ? " (predicted)" : ""}`).join(" / ");
    const note = all
      ? short.every((s) => s.own_queries === 0)
        ? ` (predicted from longer queries: the file has no query this short)`
        : " (predicted from longer queries)"
      : "";
    lines.push(
      `  ${level === undefined ? "left empty " : "guard binds"} at ${short.map((s) => s.min_candidates).join(" / ")} ${short.length === 1 && short[0]!.min_candidates === 1 ? "candidate" : "candidates"} a query: ${rates}${note}`,
    );
  }
  return lines;
}
