/**
 * What a calibration predicts for production, as the drift tests (drift-bands.ts, drift.ts) read it: the centre and
 * exact law of the gate's drop rate, the calibration's size and design effect, its empty-context rate per
 * candidate-count stratum, a guarded gate's drop-rate strata and an abstaining gate's abstention rate. Pure data.
 */
import type { RateLaw } from "./calibration-margin";
import type { ExtrapolationCheck } from "./empty-context";

/** What the calibration predicts. */
export interface CalibrationExpectation {
  /** Where the gate's true drop rate is centred: k/(n+1) without ties at the threshold, F_n(t-) with them. */
  readonly expectedDropRate: number;
  /**
   * The exact law of the gate's true drop rate (calibration-margin.ts dropRateLaw); absent for calibrations published
   * before it was kept, whose margin uses the Beta law at their mean (lawAtMean).
   */
  readonly dropRateLaw?: RateLaw;
  /** Calibration sample size in candidates (for sd_cal). */
  readonly n: number;
  /** The calibration's design effect at its threshold when it was uploaded as queries (1 otherwise). */
  readonly designEffect?: number;
  /** The calibration's empty-context rate and query count, when it was uploaded as queries. */
  readonly emptyContextRate: number | null;
  readonly nQueries: number | null;
  /**
   * The calibration's empty-context rate per candidate-count stratum, aligned with EMPTY_CONTEXT_STRATA
   * (empty-context.ts); absent for calibrations fitted before strata were kept (then every production query is
   * compared with emptyContextRate).
   */
  readonly emptyContextStrata?: readonly CalibrationStratum[] | null;
  /**
   * A guarded gate's min_keep when at least 2: the strata then count where the guard binds (fewer than min(L, m) kept),
   * and only strata measured on the calibration's own queries are tested (drift-bands.ts). Absent: 1.
   */
  readonly emptyContextLevel?: number;
  /** Per-calibration tolerances (absolute, rate units) that override the config's. */
  readonly tolerance?: number;
  readonly emptyContextTolerance?: number;
  /**
   * Guarded gates: per drop-rate stratum (aligned with per-query.ts DROP_RATE_STRATA) the calibration's candidates a
   * threshold decides and those of them dropped. The drop-rate test then compares each stratum's share with its own
   * (guards bind most on short queries and the cap on long ones, so the pooled rate moves with the production mix of
   * query sizes while the gate does not; the cap's own drops follow from each query's size and are not tested).
   */
  readonly dropRateStrata?: readonly DropStratum[] | null;
  /**
   * Abstaining gates: the calibration's share of queries that abstain, its exact law when known, and its queries; and,
   * for calibrations fitted since they were kept, its queries and abstentions per drop-rate stratum (aligned with
   * per-query.ts DROP_RATE_STRATA). With strata the abstention test compares each stratum with its own rate (a query's
   * top score rises with its candidate count, so the pooled rate moves with production's mix of query sizes while the
   * gate does not); without them, every production query with the pooled rate.
   */
  readonly abstention?: {
    readonly expectedRate: number;
    readonly law?: RateLaw;
    readonly queries: number;
    readonly strata?: readonly AbstentionStratum[] | null;
  } | null;
}

/** A calibration's queries of one drop-rate stratum and those of them that abstain at abstain_below. */
export interface AbstentionStratum {
  readonly queries: number;
  readonly abstained: number;
}

/** A calibration's guarded drop counts in one drop-rate stratum: queries, candidates a threshold decides, dropped among them. */
export interface DropStratum {
  readonly queries: number;
  readonly eligible: number;
  readonly dropped: number;
  /**
   * The Kish design effect of `dropped / eligible` measured on the stratum's own queries (calibrations/fit.ts); null
   * where it could not be measured, absent for calibrations fitted before it was kept (drift-bands.ts ownDesignEffect
   * says when it is used).
   */
  readonly designEffect?: number | null;
  /**
   * The stratum's queries with an eligible candidate, the units `designEffect` was measured on; absent for calibrations
   * fitted before it was kept (drift-bands.ts designEffectQueries then takes `queries`).
   */
  readonly designEffectQueries?: number;
}

/** A drop-rate (or abstention) stratum is tested from this many calibration queries of its size (fewer: not tested). */
export const MIN_DROP_STRATUM_QUERIES = 30;

export interface CalibrationStratum {
  readonly rate: number;
  readonly queries: number;
  /** Effective size of the rate's estimate (empty-context.ts); absent: `queries`. */
  readonly effectiveQueries?: number;
  readonly extrapolated: boolean;
  /**
   * "observed": `empty` of `queries` own queries, bounded exactly (Clopper-Pearson); "hypergeometric" or absent
   * (calibrations fitted before sources were kept): the extrapolation, bounded at its effective size (Jeffreys).
   */
  readonly source?: "observed" | "hypergeometric";
  readonly empty?: number;
  /**
   * The extrapolation's check on the calibration's own short queries (empty-context.ts): a hypergeometric stratum is
   * tested only when "untested" (nothing to check it with), or without a verdict (calibrations from before the check).
   */
  readonly extrapolationCheck?: ExtrapolationCheck | null;
}
