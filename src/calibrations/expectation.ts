/**
 * What the drift monitor expects of production for a calibration: its drop-rate baseline, sizes, design effect,
 * tolerances and empty-context strata. Derived from the stored calibration; carried with the served threshold (the
 * KV projection) and with each observation batch, so the monitor needs no D1 read.
 */
import type { StoredCalibration } from "../contract";
import type { CalibrationExpectation, DropStratum } from "../stats/calibration-expectation";
import { dropRateLaw } from "../stats/calibration-margin";

/** What the drift monitor needs to know about the served calibration, carried along to avoid a D1 read. */
export interface Expectation {
  readonly n: number;
  /** The calibration's in-sample drop rate F_n(t-) (expectationOf below says why). */
  readonly expected_drop_rate: number;
  /**
   * The gate's conformal rank and the calibration scores tied at its threshold, for the exact law of its true drop rate
   * (calibrationExpectation below); absent in projections published before they were kept.
   */
  readonly k?: number;
  readonly ties_at_threshold?: number;
  readonly empty_context_rate: number | null;
  readonly n_queries: number | null;
  /** The calibration's design effect at its threshold (queries uploads; absent or 1 for flat scores). */
  readonly design_effect?: number;
  /** Per-calibration absolute tolerances of the drift band; absent or null: the server's defaults. */
  readonly drift_tolerance?: number | null;
  readonly empty_context_tolerance?: number | null;
  /** The empty-context rate per candidate-count stratum (queries uploads fitted since strata were kept). */
  readonly empty_context_strata?: readonly ExpectedStratum[] | null;
  /** Mean candidates per calibration query (queries uploads), shown next to production's. */
  readonly mean_candidates?: number | null;
  /**
   * A guarded gate's min_keep when at least 1: the empty-context rate and strata then count the queries where the
   * guard binds, and so does the monitor. Absent: 1 (queries left with nothing).
   */
  readonly empty_context_level?: number;
  /** The guards the gate applies (absent or null: none). */
  readonly guards?: { readonly min_keep: number; readonly max_keep: number | null } | null;
  /**
   * Guarded gates: per drop-rate stratum (stats/per-query.ts DROP_RATE_STRATA), the calibration's queries, candidates
   * a threshold decides and those of them dropped (the monitor conditions on them), and the design effect of that share
   * measured on the stratum's queries (null: not measurable; absent in projections of calibrations fitted before it).
   */
  readonly drop_rate_strata?:
    | readonly {
        readonly queries: number;
        readonly eligible: number;
        readonly dropped: number;
        readonly design_effect?: number | null;
        /** The stratum's queries with an eligible candidate (absent in projections of calibrations fitted before it). */
        readonly design_effect_queries?: number;
      }[]
    | null;
  /**
   * Abstaining gates: the share of calibration queries expected to abstain, the queries it rests on, and (rate and
   * carry modes) the rank and ties of abstain_below among their top scores for the exact law.
   */
  readonly abstention?: {
    readonly expected_rate: number;
    readonly queries: number;
    readonly k?: number;
    readonly below?: number;
    readonly ties?: number;
    /** Per drop-rate stratum: the calibration's queries and those that abstain (absent before they were kept). */
    readonly strata?: readonly { readonly queries: number; readonly abstained: number }[];
  } | null;
}

/** One stratum of the expectation; the optional fields are absent in projections published before they were kept. */
export interface ExpectedStratum {
  readonly rate: number;
  readonly queries: number;
  readonly effective_queries?: number;
  readonly extrapolated: boolean;
  readonly source?: "observed" | "hypergeometric";
  readonly empty?: number;
  readonly extrapolation_check?: "passed" | "failed" | "inconclusive" | "untested" | null;
}

/** The fields of a calibration its expectation is built from (a stored one, or one about to be: unarmed-tests.ts). */
export type ExpectationSource = Pick<
  StoredCalibration,
  | "n"
  | "in_sample_drop_rate"
  | "k"
  | "ties_at_threshold"
  | "per_query"
  | "n_queries"
  | "drift_tolerance"
  | "empty_context_tolerance"
  | "guards"
  | "abstention"
>;

/**
 * What the drift monitor compares production against: the in-sample drop rate F_n(t-), the rank k and the ties at
 * the threshold, from which the monitor centres the gate's true rate (k/(n+1) without ties; F_n(t-) with them, since
 * tied scores are kept and fresh traffic drops about F(t-): a 0-4 graded reranker at target 0.3 had k/(n+1) = 0.300
 * against F(t-) = 0.203) and takes its exact law (calibrationExpectation below).
 */
export function expectationOf(c: ExpectationSource): Expectation {
  return {
    n: c.n,
    expected_drop_rate: c.in_sample_drop_rate,
    k: c.k,
    ties_at_threshold: c.ties_at_threshold,
    empty_context_rate: c.per_query?.empty_context_rate ?? null,
    n_queries: c.n_queries,
    design_effect: c.per_query?.design_effect ?? 1,
    drift_tolerance: c.drift_tolerance ?? null,
    empty_context_tolerance: c.empty_context_tolerance ?? null,
    mean_candidates: c.per_query?.mean_candidates ?? null,
    ...(c.per_query?.empty_context_level !== undefined ? { empty_context_level: c.per_query.empty_context_level } : {}),
    guards: c.guards ? { min_keep: c.guards.min_keep, max_keep: c.guards.max_keep } : null,
    drop_rate_strata:
      c.per_query?.drop_rate_by_candidates?.map(({ queries, eligible, eligible_dropped, design_effect, design_effect_queries }) => ({
        queries,
        eligible,
        dropped: eligible_dropped,
        ...(design_effect !== undefined ? { design_effect } : {}),
        ...(design_effect_queries !== undefined ? { design_effect_queries } : {}),
      })) ?? null,
    abstention: abstentionExpectation(c) ?? null,
    empty_context_strata:
      c.per_query?.empty_context_by_candidates?.map((st) => ({
        rate: st.rate,
        queries: st.queries,
        effective_queries: st.effective_queries,
        extrapolated: st.extrapolated,
        ...(st.source !== undefined ? { source: st.source } : {}),
        ...(st.empty !== undefined ? { empty: st.empty } : {}),
        ...(st.extrapolation_check !== undefined ? { extrapolation_check: st.extrapolation_check } : {}),
      })) ?? null,
  };
}

/**
 * What the monitor expects of an abstaining calibration: for a fitted rate (modes "rate", "carry") the rank of
 * abstain_below among the Q top scores, so the exact law of the rate is known (calibration-margin.ts); for a
 * false-abstention fit the calibration's own share over Q queries (its law at that mean), since the overall rate
 * depends on the share of answerable queries.
 */
function abstentionExpectation(c: ExpectationSource): NonNullable<Expectation["abstention"]> | null {
  const a = c.abstention;
  if (!a || a.abstain_below === null) return null;
  const base = {
    expected_rate: a.expected_rate,
    queries: a.queries,
    ...(a.by_candidates ? { strata: a.by_candidates.map(({ queries, abstained }) => ({ queries, abstained })) } : {}),
  };
  if (a.mode === "false_abstention") return base;
  return { ...base, k: a.k, below: Math.round(a.in_sample_rate * a.queries), ties: a.ties };
}

/**
 * A guarded calibration's drop-rate strata as the monitor's statistics read them (stats/calibration-expectation.ts
 * DropStratum); null without them. A stratum's design effect and its queries are carried only where the projection has them.
 */
export function dropStrataOf(e: Expectation): DropStratum[] | null {
  return (
    e.drop_rate_strata?.map(({ queries, eligible, dropped, design_effect, design_effect_queries }) => ({
      queries,
      eligible,
      dropped,
      ...(design_effect !== undefined ? { designEffect: design_effect } : {}),
      ...(design_effect_queries !== undefined ? { designEffectQueries: design_effect_queries } : {}),
    })) ?? null
  );
}

/**
 * What the detector compares against, from the served calibration's expectation. With the calibration's rank and ties
 * (published since exact margins) the drop rate is centred at k/(n+1) without ties and at F_n(t-) with them, with the
 * exact law of calibration-margin.ts; an older expectation keeps its in-sample rate and the Beta law at that mean.
 */
export function calibrationExpectation(e: Expectation): CalibrationExpectation {
  const known = e.k !== undefined && e.ties_at_threshold !== undefined;
  const tied = (e.ties_at_threshold ?? 0) >= 2;
  const below = Math.round(e.expected_drop_rate * e.n);
  return {
    expectedDropRate: known && !tied ? e.k! / (e.n + 1) : e.expected_drop_rate,
    ...(known ? { dropRateLaw: dropRateLaw(e.n, e.k!, below, e.ties_at_threshold!) } : {}),
    n: e.n,
    designEffect: e.design_effect ?? 1,
    emptyContextRate: e.empty_context_rate,
    nQueries: e.n_queries,
    emptyContextStrata:
      e.empty_context_strata?.map((st) => ({
        rate: st.rate,
        queries: st.queries,
        extrapolated: st.extrapolated,
        ...(st.effective_queries !== undefined ? { effectiveQueries: st.effective_queries } : {}),
        ...(st.source !== undefined ? { source: st.source } : {}),
        ...(st.empty !== undefined ? { empty: st.empty } : {}),
        ...(st.extrapolation_check !== undefined ? { extrapolationCheck: st.extrapolation_check } : {}),
      })) ?? null,
    ...(e.empty_context_level !== undefined ? { emptyContextLevel: e.empty_context_level } : {}),
    ...(e.drift_tolerance != null ? { tolerance: e.drift_tolerance } : {}),
    ...(e.empty_context_tolerance != null ? { emptyContextTolerance: e.empty_context_tolerance } : {}),
    dropRateStrata: dropStrataOf(e),
    abstention: abstentionOf(e.abstention),
  };
}

/** The abstention rate's expectation: the exact law from its rank and ties when the calibration kept them. */
function abstentionOf(a: Expectation["abstention"]): NonNullable<CalibrationExpectation["abstention"]> | null {
  if (!a || a.queries < 1) return null;
  const exact = a.k !== undefined && a.below !== undefined && a.ties !== undefined && a.k >= 1 && a.k <= a.queries;
  return {
    expectedRate: a.expected_rate,
    queries: a.queries,
    ...(exact ? { law: dropRateLaw(a.queries, a.k!, a.below!, a.ties!) } : {}),
    // Absent in projections published before the strata were kept: the pooled rate is tested (drift-bands.ts).
    ...(a.strata ? { strata: a.strata } : {}),
  };
}
