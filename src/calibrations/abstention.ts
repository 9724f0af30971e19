/**
 * Certified abstention of an upload (policy field `abstention`): fits `abstain_below` on the queries' top scores
 * (src/stats/abstention.ts) and builds the report. Abstention is query-level and composes with any candidate gate:
 * the drop-rate fit is unchanged (an observation reports what the candidate gate drops on every query).
 * docs/methods.md, "Guards and abstention".
 */
import type { AbstentionPolicy, AbstentionReport, StoredCalibration, Warning } from "../contract";
import { AppError, invalid } from "../platform/errors";
import { countText, percentText } from "../platform/format";
import { abstentionTradeoff, carriedRateSd, catchRate, fitAbstentionRate, fitFalseAbstention, splitTops, topScores } from "../stats/abstention";
import { clopperPearsonInterval } from "../stats/binomial-bound";
import { countAtOrBelow, countBelow, sortedCopy } from "../stats/order-statistics";
import { DROP_RATE_STRATA, dropStratumOf } from "../stats/per-query";
import { SMALL_REFERENCE_SD } from "./carry";

/** What an upload gives abstention to work with. */
export interface AbstentionInput {
  readonly scores: Float64Array;
  readonly offsets: Uint32Array;
  /** Relevance per candidate (1/0), or null without labels. */
  readonly relevant: Uint8Array | null;
  /** Explicit answerability per query (null entries follow the labels), or null. */
  readonly answerable: readonly (boolean | null)[] | null;
}

/** Per query 1 (answerable) or 0: the explicit flag, else "has a relevant candidate"; null when neither is known. */
function answerabilityOf(input: AbstentionInput): Uint8Array | null {
  const q = input.offsets.length - 1;
  const out = new Uint8Array(q);
  for (let i = 0; i < q; i++) {
    const explicit = input.answerable?.[i] ?? null;
    if (explicit !== null) {
      out[i] = explicit ? 1 : 0;
      continue;
    }
    if (input.relevant === null) return null;
    for (let j = input.offsets[i]!; j < input.offsets[i + 1]!; j++) if (input.relevant[j] === 1) out[i] = 1;
  }
  return out;
}

/** The fields every mode shares: the overall abstention rate of the calibration's queries at `abstainBelow`. */
function overall(tops: Float64Array, abstainBelow: number | null) {
  const q = tops.length;
  const below = abstainBelow === null ? 0 : countBelow(tops, abstainBelow);
  return { queries: q, below, in_sample_rate: below / q };
}

const NOT_LABELLED = {
  alpha: null,
  answerable_queries: null,
  unanswerable_queries: null,
  false_abstention_bound: null,
  expected_false_abstention: null,
  false_abstention_interval_95: null,
  catch_rate: null,
  catch_interval_95: null,
  tradeoff: null,
} as const;

/** A target abstention rate on ascending top scores: the drop-rate gate over queries (stats/abstention.ts). */
function rateReport(sortedTops: Float64Array, p: number, mode: "rate" | "carry", carry: AbstentionReport["carry"]): AbstentionReport {
  const fit = fitAbstentionRate(sortedTops, p);
  if (fit.kind === "too_few_queries") {
    throw new AppError(
      "too_few_scores",
      `abstention rate ${percentText(p)} needs at least ${countText(fit.minimumQueries)} queries (the rate is fitted on each query's top score); the upload has ${countText(fit.n)}`,
      { n: fit.n, target: p, minimum_n: fit.minimumQueries, unit: "queries" },
    );
  }
  if (fit.kind === "unreachable") {
    throw new AppError(
      "target_unreachable",
      `no abstain_below makes any query abstain: the ${fit.tiesAtMinimum} lowest top scores are tied, and a query whose top score equals abstain_below does not abstain; abstention rate ${percentText(p)} cannot be reached`,
      { n: fit.n, target: p, ties_at_minimum: fit.tiesAtMinimum, unit: "queries" },
    );
  }
  const o = overall(sortedTops, fit.abstainBelow);
  return {
    mode,
    abstain_below: fit.abstainBelow,
    queries: o.queries,
    k: fit.k,
    ties: fit.ties,
    expected_rate: fit.expectedRate,
    in_sample_rate: o.in_sample_rate,
    rate_interval_95: fit.interval95,
    target_rate: p,
    ...NOT_LABELLED,
    carry,
  };
}

/** With labels: false abstention on answerable queries at most alpha (split conformal), and what it catches. */
function falseAbstentionReport(tops: Float64Array, answerable: Uint8Array, alpha: number): AbstentionReport {
  const split = splitTops(tops, answerable);
  const fit = fitFalseAbstention(split.answerable, alpha);
  if (fit.kind === "too_few_answerable") {
    throw new AppError(
      "too_few_answerable_queries",
      `false abstention at most ${percentText(alpha)} needs at least ${fit.minimumQueries} answerable queries (k = floor((n+1) alpha) >= 1); the upload has ${fit.n} answerable and ${split.unanswerable.length} unanswerable`,
      { answerable_queries: fit.n, unanswerable_queries: split.unanswerable.length, minimum_queries: fit.minimumQueries, alpha },
    );
  }
  const sorted = sortedCopy(tops);
  const o = overall(sorted, fit.abstainBelow);
  const caught = catchRate(split.unanswerable, fit.abstainBelow);
  return {
    mode: "false_abstention",
    abstain_below: fit.abstainBelow,
    queries: o.queries,
    k: fit.k,
    ties: countAtOrBelow(sorted, fit.abstainBelow) - o.below,
    // The overall rate depends on the mix of answerable queries, which production may change: its interval is the
    // exact binomial one of the calibration's share, the monitor's expectation the same share (monitoring/window.ts).
    expected_rate: o.in_sample_rate,
    in_sample_rate: o.in_sample_rate,
    rate_interval_95: clopperPearsonInterval(o.below, o.queries),
    target_rate: null,
    alpha,
    answerable_queries: fit.n,
    unanswerable_queries: split.unanswerable.length,
    false_abstention_bound: fit.falseAbstentionBound,
    expected_false_abstention: fit.expectedFalseAbstention,
    false_abstention_interval_95: fit.interval95,
    catch_rate: caught.rate,
    catch_interval_95: caught.interval95,
    tradeoff: abstentionTradeoff(split, [alpha]).map((r) => ({
      alpha: r.alpha,
      abstain_below: r.abstainBelow,
      false_abstention_bound: r.falseAbstentionBound,
      catch_rate: r.catchRate,
      catch_interval_95: r.catchInterval95,
      abstention_rate: r.abstentionRate,
    })),
    carry: null,
  };
}

/** What an upload's abstention resolves to: its report (null: the calibration never abstains) and its warnings. */
export interface ResolvedAbstention {
  readonly report: AbstentionReport | null;
  readonly warnings: readonly Warning[];
}

/** The reference calibration's abstention when it abstains (abstain_below set), else null. */
function abstentionOf(reference: StoredCalibration | null): AbstentionReport | null {
  const a = reference?.abstention ?? null;
  return a !== null && a.abstain_below !== null ? a : null;
}

/** `{"rate": 0}`: never abstain. It needs no queries, so it is how a carry of flat scores drops its reference's abstention. */
const neverAbstains = (p: AbstentionPolicy): boolean => typeof p === "object" && "rate" in p && p.rate === 0;

/**
 * The abstention of an upload. `reference` is the carry policy's reference calibration (null for inline reference
 * scores or other kinds). A carry that states no abstention keeps its reference's the way it keeps its guards: as
 * `"carry"` (the reference's abstention rate refitted on the new top scores); `{"rate": 0}` says "none". A carried
 * rate from a reference certified with `{"alpha"}` warns that the false-abstention guarantee does not carry.
 * 422s: abstention without queries (an inherited one included, naming the way out), `{alpha}` without labels or
 * answerable flags, too few (answerable) queries, `"carry"` from a reference without abstention.
 */
export function resolveAbstention(
  policy: AbstentionPolicy | undefined,
  input: AbstentionInput | null,
  reference: StoredCalibration | null,
): ResolvedAbstention {
  const inherited = policy === undefined ? abstentionOf(reference) : null;
  const effective: AbstentionPolicy | undefined = inherited !== null ? "carry" : policy;
  const unused = answerableUnused(effective, input);
  if (effective === undefined) return { report: null, warnings: unused };
  if (input === null) {
    if (neverAbstains(effective)) return { report: null, warnings: [] };
    if (inherited !== null) {
      throw invalid(
        `this carry inherits the reference calibration's abstention (abstain_below ${inherited.abstain_below}: ${percentText(inherited.in_sample_rate)} of its queries abstained), which is judged on each query's top score: upload queries (or float32 with candidates_per_query), or state "abstention": {"rate": 0} to carry without abstention`,
        [{ path: "policy.reference", message: "an abstaining reference needs queries (or abstention: {rate: 0})" }],
      );
    }
    throw invalid("abstention is judged on each query's top score: upload queries (or float32 with candidates_per_query)", [
      { path: "policy.abstention", message: "needs queries" },
    ]);
  }
  const tops = topScores(input.scores, input.offsets);
  const report = resolveReport(effective, input, tops, reference);
  return {
    report: { ...report, by_candidates: abstentionByCandidates(tops, input.offsets, report.abstain_below) },
    warnings: [...unused, ...(report.carry === null ? [] : carryWarnings(report, abstentionOf(reference)))],
  };
}

/** Answerable flags only certify `{"alpha"}` abstention: sent with any other (or none), they are unused and it says so. */
function answerableUnused(effective: AbstentionPolicy | undefined, input: AbstentionInput | null): Warning[] {
  if (!input?.answerable?.some((a) => a !== null)) return [];
  if (typeof effective === "object" && "alpha" in effective) return [];
  return [
    {
      code: "answerable_unused",
      message: `the upload's answerable flags were not used: they certify abstention with "abstention": {"alpha": a} (at most the share a of answerable queries abstain), and this policy ${effective === undefined ? "has no abstention" : `abstains by ${typeof effective === "object" ? "rate" : "carry"}`}`,
    },
  ];
}

/**
 * A carried abstention rate's warnings: its sd above 1 point, and a reference certified with `{"alpha"}` whose
 * guarantee is not carried (only its overall rate is: the share of answerable queries below the new abstain_below
 * is unknown without labels for the new version).
 */
function carryWarnings(report: AbstentionReport, reference: AbstentionReport | null): Warning[] {
  const carry = report.carry!;
  const out: Warning[] = [];
  if (reference?.mode === "false_abstention" && reference.alpha !== null) {
    out.push({
      code: "false_abstention_not_guaranteed",
      message: `the reference's abstain_below ${carry.reference_abstain_below} was certified so that at most ${percentText(reference.alpha)} of answerable queries abstain; a carry keeps its overall abstention rate (${percentText(carry.reference_rate)} of its ${countText(carry.reference_queries)} queries), not that guarantee: how many answerable queries abstain after the upgrade is unknown. Only labels for the new version can restore it: upload relevance labels or answerable flags with "abstention": {"alpha": ${reference.alpha}}`,
    });
  }
  if (carry.carried_rate_sd > SMALL_REFERENCE_SD) {
    out.push({
      code: "small_reference",
      message: `the carried abstention rate has sd ${(100 * carry.carried_rate_sd).toFixed(2)} points from the reference's ${countText(carry.reference_queries)} and this upload's ${countText(report.queries)} queries`,
    });
  }
  return out;
}

/**
 * The calibration's queries and abstentions per drop-rate stratum (stats/per-query.ts DROP_RATE_STRATA): what the
 * production monitor expects of queries of each size (a query's top score is the largest of its candidates' and
 * rises with their number, so the pooled rate moves with production's mix of query sizes while the gate does not).
 */
function abstentionByCandidates(
  tops: Float64Array,
  offsets: Uint32Array,
  abstainBelow: number | null,
): NonNullable<AbstentionReport["by_candidates"]> {
  const strata = DROP_RATE_STRATA.map((lo, b) => {
    const next = DROP_RATE_STRATA[b + 1];
    return { min_candidates: lo, max_candidates: next === undefined ? null : next - 1, queries: 0, abstained: 0 };
  });
  for (const [i, top] of tops.entries()) {
    const st = strata[dropStratumOf(offsets[i + 1]! - offsets[i]!)]!;
    st.queries++;
    if (abstainBelow !== null && top < abstainBelow) st.abstained++;
  }
  return strata;
}

function resolveReport(policy: AbstentionPolicy, input: AbstentionInput, tops: Float64Array, reference: StoredCalibration | null): AbstentionReport {
  if (policy === "carry") {
    const ref = reference?.abstention ?? null;
    if (reference === null || ref === null || ref === undefined) {
      throw invalid('abstention "carry" needs a carry policy whose reference calibration abstains (it has abstain_below)', [
        { path: "policy.abstention", message: "the reference has no abstention to carry" },
      ]);
    }
    const p = ref.in_sample_rate;
    const carry = {
      reference_calibration_id: reference.id,
      reference_abstain_below: ref.abstain_below,
      reference_rate: p,
      reference_queries: ref.queries,
      carried_rate_sd: carriedRateSd(p, ref.queries, tops.length),
    };
    return rateReport(sortedCopy(tops), p, "carry", carry);
  }
  if ("rate" in policy) return rateReport(sortedCopy(tops), policy.rate, "rate", null);
  const answerable = answerabilityOf(input);
  if (answerable === null) {
    throw invalid('abstention {"alpha"} needs to know which queries are answerable: upload relevance labels, or "answerable" per query', [
      { path: "policy.abstention", message: "needs labels or answerable flags" },
    ]);
  }
  return falseAbstentionReport(tops, answerable, policy.alpha);
}
