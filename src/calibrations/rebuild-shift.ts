/**
 * The rebuild-time shift report: what the previous gate would drop on the new scores, against what it dropped, with
 * the sampling-noise test, KS and PSI. The number the seed incident lacked is `drop_rate_at_previous_threshold`.
 */
import type { ShiftReport, StoredCalibration } from "../contract";
import { moreDataText, numberText, percentTenths } from "../platform/format";
import { decideChange } from "../stats/change-decision";
import { type Distribution, shareBelow } from "../stats/distribution";
import { type Guards, NO_GUARDS } from "../stats/guarded-gate";
import { countBelow } from "../stats/order-statistics";
import { MIN_CLUSTER_QUERIES, perQueryStats } from "../stats/per-query";
import { ksDistance, populationStabilityIndex, twoProportionTest } from "../stats/shift";

/**
 * Level of the rebuild minimum-effect test (the `shifted` decision and its alert): a true move within the tolerance,
 * even at its edge, is called shifted at most 0.1 % of the time.
 */
export const REBUILD_SHIFT_ALPHA = 0.001;

/** One-sided level of the rebuild TOST equivalence test (the deploy gate): "equivalent" is wrong at most 5 % of the time. */
export const REBUILD_EQUIVALENCE_ALPHA = 0.05;

/** The confidence level of the interval TOST reads, in words ("90 %"). */
const equivalenceLevel = `${Math.round(100 * (1 - 2 * REBUILD_EQUIVALENCE_ALPHA))} %`;

const pts = percentTenths;

/**
 * The design effect the rebuild decision assumes when neither calibration was uploaded as queries, so clustering
 * cannot be measured on either side: queries of 50 candidates that move entirely together, or 100 candidates at
 * intra-query correlation 0.5. Two flat uploads of clustered data (correlation 0.3, 50 queries of 20 a side) were
 * called shifted 5.31 % of the time with no change at all at design effect 1, against a level of 0.1 %
 * (docs/benchmarks.md, section 16). At this ceiling the decision
 * holds its levels for every clustering up to it; a move too small to be decided under it is "inconclusive", and says
 * why (docs/drift.md, "At rebuild time").
 */
export const FLAT_REBUILD_DESIGN_EFFECT = 50;

export function rebuildShift(input: {
  previous: StoredCalibration;
  previousDistribution: Distribution;
  /** The new scores, ascending; null when only the kept distribution is left (activation of a stored calibration). */
  sorted: Float64Array | null;
  distribution: Distribution;
  byQuery: { scores: Float64Array; offsets: Uint32Array } | null;
  /**
   * The new side's design effect and Satterthwaite df when only its distribution is left (byQuery null): a stored
   * queries calibration's; absent for a flat one (its clustering is unknown).
   */
  newDesignEffect?: number;
  newDegreesOfFreedom?: number;
  /**
   * The new side as its upload measured it per query at this previous threshold (the upload's `shift.new_side` and
   * drop rate, against the same previous calibration), when byQuery is null: used instead of the distribution's share
   * and the calibration's own design effect, which is measured at its own threshold, not at this one.
   */
  measured?: { readonly dropRate: number; readonly designEffect: number; readonly degreesOfFreedom: number | null; readonly guarded: boolean };
  tolerance: number;
  comparedWith: ShiftReport["compared_with"];
  /** An activation of the calibration the gate's current one replaced: its move undoes one, and alerts not. */
  rollback?: boolean;
}): ShiftReport {
  const { previous, sorted, tolerance } = input;
  const n = input.distribution.n;
  const t = previous.threshold;
  // A guarded previous gate is compared as it ran, with its guards on both sides, where the new scores come per query;
  // otherwise (flat new scores, or only their distribution left) the guards cannot be applied and both sides are
  // compared bare: `score >= threshold` alone, the previous calibration's bare_drop_rate against the new share below.
  const pg = previous.guards ?? null;
  const guards: Guards | null = pg && t !== null ? { minKeep: pg.min_keep, maxKeep: pg.max_keep } : null;
  const measured = input.byQuery === null ? input.measured : undefined;
  const guardedNew = guards !== null && (input.byQuery !== null || measured?.guarded === true);
  const pPrev = pg && guards !== null && !guardedNew ? pg.bare_drop_rate : previous.in_sample_drop_rate;
  const newStats = input.byQuery ? perQueryStats(input.byQuery.scores, input.byQuery.offsets, t, guardedNew ? guards : NO_GUARDS) : null;
  const pNew =
    t === null
      ? 0
      : measured
        ? measured.dropRate
        : guardedNew && newStats && input.byQuery
          ? 1 - (newStats.meanKept * newStats.queries) / input.byQuery.scores.length
          : sorted
            ? countBelow(sorted, t) / n
            : shareBelow(input.distribution, t);
  // Queries, not candidates, are the sampling unit when either side gives them: deflate both n by the design effect.
  // Both sides estimate the same clustering; each estimate is low-biased with few queries (test/calibrations/
  // rebuild-shift.test.ts measured 0.4 % false alerts at 50 queries a side with per-side estimates), so use the larger.
  // A flat side measures nothing: it borrows the other side's; with neither, the documented ceiling is assumed.
  // A side of one query measured no clustering either (MIN_CLUSTER_QUERIES): it is read as flat.
  const prevSide =
    previous.per_query && (previous.n_queries ?? 0) >= MIN_CLUSTER_QUERIES
      ? {
          deff: previous.per_query.design_effect,
          // a calibration stored before its df was kept: its queries less one
          df: previous.interval_degrees_of_freedom ?? Math.max(1, (previous.n_queries ?? 0) - 1),
        }
      : null;
  const newSide =
    newStats && newStats.queries >= MIN_CLUSTER_QUERIES
      ? { deff: newStats.designEffect, df: newStats.degreesOfFreedom }
      : measured
        ? { deff: measured.designEffect, df: measured.degreesOfFreedom ?? Number.POSITIVE_INFINITY }
        : input.newDesignEffect !== undefined
          ? { deff: input.newDesignEffect, df: input.newDegreesOfFreedom ?? Number.POSITIVE_INFINITY }
          : null;
  const measuredSide =
    newSide !== null && ((newStats !== null && newStats.queries >= MIN_CLUSTER_QUERIES) || measured !== undefined)
      ? { ...newSide, guarded: guardedNew }
      : null;
  const source: ShiftReport["design_effect_source"] = prevSide && newSide ? "both" : prevSide ? "previous" : newSide ? "new" : "assumed_ceiling";
  const deff = source === "assumed_ceiling" ? FLAT_REBUILD_DESIGN_EFFECT : Math.max(prevSide?.deff ?? 1, newSide?.deff ?? 1);
  // Each side's variance estimate has the df of the side that measured it (a flat side borrows the other's).
  const dfPrev = prevSide?.df ?? newSide?.df ?? Number.POSITIVE_INFINITY;
  const dfNew = newSide?.df ?? prevSide?.df ?? Number.POSITIVE_INFINITY;
  const nPrevEff = previous.n / deff;
  const nNewEff = n / deff;
  const test = twoProportionTest(pPrev * nPrevEff, nPrevEff, pNew * nNewEff, nNewEff);
  const decided = decideChange(pPrev, nPrevEff, pNew, nNewEff, tolerance, REBUILD_SHIFT_ALPHA, REBUILD_EQUIVALENCE_ALPHA, dfPrev, dfNew);
  const change = decided.change;
  const decision = t === null ? "equivalent" : decided.decision;
  // A new gate compared with the calibration it carries from is an intended move across a model change: its old
  // threshold is expected to drop a different share of the new model's scores, so the report shows it and alerts not.
  const intendedCarry = input.comparedWith === "carry_reference";
  const rollback = input.rollback === true && !intendedCarry;
  const alert = decision === "shifted" && !intendedCarry && !rollback;
  const psi = populationStabilityIndex(input.previousDistribution, input.distribution);

  const tol = `${(100 * tolerance).toFixed(1)}-point tolerance`;
  const ci = `95 % interval ${(100 * decided.interval95[0]).toFixed(1)}..${(100 * decided.interval95[1]).toFixed(1)} points`;
  let reason: string;
  if (t === null) reason = "the previous calibration kept every candidate (no gate), so no drop rate can move";
  else {
    const gated =
      guards === null
        ? ""
        : guardedNew
          ? ` with its guards (min_keep ${guards.minKeep}, max_keep ${guards.maxKeep ?? "none"})`
          : " alone (its guards left out: the new scores are not per query, so they cannot be applied; both sides compared bare)";
    const head = `the previous threshold ${numberText(t)}${gated} drops ${pts(pNew)} of the new scores against ${pts(pPrev)} before (${change >= 0 ? "+" : ""}${(100 * change).toFixed(1)} points, ${ci})`;
    if (decision === "shifted") reason = `${head}: shifted, beyond the ${tol} (minimum-effect test, level ${REBUILD_SHIFT_ALPHA})`;
    else if (decision === "equivalent")
      // Not "safe to promote": the decision is about the previous threshold on the new scores; whether the upload is
      // served also depends on its own drop rate against the served one (activation_outcome, drop_rate_changed).
      reason = `${head}: equivalent, shown to be within the ${tol} (TOST, level ${REBUILD_EQUIVALENCE_ALPHA}: its ${equivalenceLevel} interval ${(100 * decided.equivalenceInterval[0]).toFixed(1)}..${(100 * decided.equivalenceInterval[1]).toFixed(1)} points lies inside it)`;
    else {
      const more = decided.moreDataFactor === null ? "" : `; ${moreDataText(decided.moreDataFactor)}`;
      reason = `${head}: inconclusive, too little data to tell a move beyond the ${tol} from one within it${more}`;
    }
    if (source === "assumed_ceiling") {
      reason += `. Both calibrations were uploaded flat, so how strongly the candidates of one query move together is unknown: the decision assumes a design effect of ${FLAT_REBUILD_DESIGN_EFFECT} (it holds its levels for any clustering up to that); upload either side as queries to measure it`;
    }
    if (intendedCarry && decision === "shifted") {
      reason += ". Not alerted: this gate carries the reference's drop rate across a model change, where the old threshold is expected to move";
    }
    if (rollback && decision === "shifted") {
      reason +=
        ". Not alerted: a rollback to the calibration served before this one; the gate's rebuild_shift alert is resolved once the calibration served before its first shift is current again";
    }
  }

  return {
    compared_with: input.comparedWith,
    previous_gate_id: previous.gate_id,
    previous_calibration_id: previous.id,
    previous_index_version: previous.index_version,
    previous_threshold: t,
    previous_expected_drop_rate: previous.expected_drop_rate,
    previous_drop_rate_at_previous_threshold: pPrev,
    drop_rate_at_previous_threshold: pNew,
    change_points: 100 * change,
    change_relative: pPrev > 0 ? change / pPrev : null,
    z: test.z,
    p_value: test.pValue,
    ks: ksDistance(input.previousDistribution, input.distribution),
    psi: { value: psi.psi, bins: psi.bins, threshold: psi.threshold, exceeds: psi.exceeds },
    tolerance,
    decision,
    change_interval_95: t === null ? [0, 0] : decided.interval95,
    more_data_factor: t === null ? null : decided.moreDataFactor,
    design_effect: deff,
    design_effect_source: source,
    degrees_of_freedom: Number.isFinite(decided.degreesOfFreedom) ? decided.degreesOfFreedom : null,
    new_side:
      measuredSide === null
        ? null
        : {
            design_effect: measuredSide.deff,
            degrees_of_freedom: Number.isFinite(measuredSide.df) ? measuredSide.df : null,
            guarded: measuredSide.guarded,
          },
    alert,
    not_alerted: decision !== "shifted" ? null : intendedCarry ? "intended_carry" : rollback ? "rollback" : null,
    reason,
  };
}
