/**
 * POST /v1/calibrations: validate the scale, resolve the policy, fit, compare with the gate's current calibration,
 * decide whether it is served (auto-activation.ts), store atomically; an activating upload is an activation
 * (activation.ts: the optimistic loop and its listeners). Nothing is stored when any step fails, nor for a dry run.
 */

import type { Activation, ActivationOutcome, CalibrationMeta, CoverageNotion, ShiftReport, StoredCalibration, Tolerance, Warning } from "../contract";
import { AppError, type ErrorDetail, invalid } from "../platform/errors";
import { countText } from "../platform/format";
import { gateIdOf, newId } from "../platform/ids";
import { hasGuards } from "../stats/guarded-gate";
import { sortedCopy } from "../stats/order-statistics";
import { resolveAbstention } from "./abstention";
import { activationEventBody, commitActivation, refuseWhileCompleting } from "./activation";
import { promotionSupersededWarning } from "./activation-plan";
import { activationOutcome, keepsRecallGuarantee } from "./auto-activation";
import { describeGuards, guardsOf, type ResolvedTarget, resolveTarget, SMALL_REFERENCE_SD, statedTarget } from "./carry";
import type { ActivationDeps } from "./deps";
import { fitCalibration } from "./fit";
import { headsAfterActivation, servedThreshold, withHeads, withSeq } from "./gate-event";
import { newGateWarning, refuseInvisibleNames } from "./gate-names";
import { monitoredStrataWarnings, monitorOutlook } from "./monitored-strata";
import { rebuildShift } from "./rebuild-shift";
import { coverageShift, labelledOf, labelsReport, nearCapWarnings, recallReport, resolveRecall } from "./recall";
import { type ActiveRow, currentOf } from "./store";
import { unarmedTestWarnings } from "./unarmed-tests";

/** A parsed upload, whatever its content type. */
export interface CalibrationInput {
  readonly meta: CalibrationMeta;
  /** Scores in upload order (query order when `offsets` is set). */
  readonly scores: Float64Array;
  /** Q+1 query boundaries into `scores`, or null for a flat sample. */
  readonly offsets: Uint32Array | null;
  /** Relevance per score (1 relevant, 0 not), parallel to `scores`; only with `offsets`. null: unlabelled. */
  readonly relevant?: Uint8Array | null;
  /** Per query (with `offsets`): explicitly answerable or not; null entries (or no array) follow the labels. */
  readonly answerable?: readonly (boolean | null)[] | null;
  /** How the scores were encoded: float32 uploads are checked for rounding near the threshold. */
  readonly precision?: "float64" | "float32";
}

export interface CalibrationResult {
  readonly calibration: StoredCalibration;
  readonly shift: ShiftReport | null;
  readonly warnings: Warning[];
  /** Whether the upload is served, and why (for a dry run: whether it would be). */
  readonly outcome: ActivationOutcome;
}

/** Max offending indices listed in a 422 for out-of-range probability scores. */
const MAX_LISTED_OFFENDERS = 10;

/**
 * Where the i-th score of an upload is, as the caller wrote it: `scores[i]`, or `queries[q][j]` (query q's j-th
 * candidate) for a per-query upload, whose scores arrive flattened (`offsets`: query q spans [offsets[q],
 * offsets[q+1])). O(log Q).
 */
export function scorePath(offsets: Uint32Array | null, i: number): string {
  if (offsets === null) return `scores[${i}]`;
  let lo = 0;
  let hi = offsets.length - 2; // the last query
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid]! <= i) lo = mid;
    else hi = mid - 1;
  }
  return `queries[${lo}][${i - offsets[lo]!}]`;
}

function checkProbabilityScale(scores: ArrayLike<number>, path: (i: number) => string): void {
  const details: ErrorDetail[] = [];
  let bad = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s < 0 || s > 1) {
      bad++;
      if (details.length < MAX_LISTED_OFFENDERS) details.push({ path: path(i), message: `${s} is outside 0..1` });
    }
  }
  if (bad > 0) {
    throw invalid(
      `score_scale "probability" requires scores in 0..1; ${bad} are outside (use "logit" or "unbounded" for raw reranker logits)`,
      details,
    );
  }
}

/** A tolerance in absolute rate units: relative ones scale the rate they are relative to. null: the server default. */
function absoluteTolerance(t: Tolerance | undefined, rate: number): number | null {
  if (t === undefined) return null;
  return typeof t === "number" ? t : t.relative * rate;
}

/**
 * `request`: the upload's Idempotency-Key and request hash, stored with the calibration in the same batch so that a
 * retry after a crash finds it (upload-service.ts).
 */
export async function calibrate(
  input: CalibrationInput,
  actor: string,
  deps: ActivationDeps,
  request: { readonly key: string; readonly hash: string } | null = null,
): Promise<CalibrationResult> {
  const { meta } = input;
  if (input.scores.length === 0) throw invalid("no scores", [{ path: "scores", message: "must not be empty" }]);
  for (let i = 0; i < input.scores.length; i++) {
    if (!Number.isFinite(input.scores[i]!)) {
      throw invalid("scores must be finite numbers", [{ path: scorePath(input.offsets, i), message: `${input.scores[i]} is not finite` }]);
    }
  }
  if (meta.score_scale === "probability") {
    checkProbabilityScale(input.scores, (i) => scorePath(input.offsets, i));
    if (meta.policy.kind === "carry" && typeof meta.policy.reference === "object" && "scores" in meta.policy.reference) {
      checkProbabilityScale(meta.policy.reference.scores, (i) => `policy.reference.scores[${i}]`);
    }
  }

  const gateId = await gateIdOf(meta);
  await refuseInvisibleNames(meta, gateId, deps.calibrations);
  // A carry from a named calibration (an embedding or reranker upgrade) creates its new gate on purpose.
  const carriesFromCalibration =
    meta.policy.kind === "carry" && typeof meta.policy.reference === "object" && "calibration_id" in meta.policy.reference;
  const newGateNote = carriesFromCalibration ? null : await newGateWarning(meta, gateId, deps.calibrations);
  const n = input.scores.length;
  const sorted = sortedCopy(input.scores);
  const labelled = labelledOf(input);
  const policy = meta.policy;
  const stated = guardsOf(policy);
  if (hasGuards(stated) && input.offsets === null) {
    throw invalid("min_keep and max_keep act on each query's ranks: upload queries (or float32 with candidates_per_query)", [
      { path: hasGuards({ ...stated, maxKeep: null }) ? "policy.min_keep" : "policy.max_keep", message: "needs queries" },
    ]);
  }
  // A recall policy resolves to its threshold from the labels; the drop-rate fit then reports that threshold's drop
  // rate, uncertainty and per-query statistics like any other gate, so the production monitor watches it.
  const recallTarget = policy.kind === "recall" ? resolveRecall(policy, labelled, sorted, stated) : null;
  const resolved: ResolvedTarget =
    policy.kind === "recall" ? statedTarget(recallTarget!.dropRateTarget, stated, policy) : await resolveTarget(policy, meta, gateId, n, deps);
  // A carry that states no guards inherits its reference's (carry.ts).
  const guards = resolved.guards;
  if (hasGuards(guards) && input.offsets === null) {
    throw invalid(
      `this carry inherits the reference calibration's guards (${describeGuards(guards)}), which act on each query's ranks: upload queries (or float32 with candidates_per_query), or state "min_keep": 0 to carry without guards`,
      [{ path: "policy.reference", message: "a guarded reference needs queries (or min_keep: 0)" }],
    );
  }
  const byQuery = input.offsets ? { scores: input.scores, offsets: input.offsets } : null;
  // A guarded recall gate stays at its rule's threshold (the guarantee is the rule's); other gates fit their target.
  const at = recallTarget && hasGuards(guards) ? { threshold: recallTarget.threshold } : undefined;
  const fitted = fitCalibration(sorted, resolved.target, byQuery, input.precision ?? "float64", guards, at);
  const resolvedAbstention = resolveAbstention(
    policy.abstention,
    byQuery ? { ...byQuery, relevant: input.relevant ?? null, answerable: input.answerable ?? null } : null,
    resolved.reference,
  );
  const abstention = resolvedAbstention.report;
  if (recallTarget && fitted.fields.threshold !== recallTarget.threshold) {
    throw new AppError("internal", `recall threshold ${recallTarget.threshold} refitted as ${fitted.fields.threshold}`);
  }
  // The carried drop rate's sd counts effective sizes on both sides: the reference's design effect (stored with it)
  // and this upload's at its new threshold.
  const carry = resolved.carry
    ? {
        ...resolved.carry,
        carried_drop_rate_sd: Math.sqrt(
          resolved.carry.reference_drop_rate *
            (1 - resolved.carry.reference_drop_rate) *
            (resolved.referenceDesignEffect / resolved.carry.reference_n + (fitted.fields.per_query?.design_effect ?? 1) / n),
        ),
      }
    : null;

  const now = deps.now();
  const createdAt = now.toISOString();
  // What the production monitor will make of this calibration, for the warnings that say it now (monitored-strata.ts)
  const tolerances = {
    drift_tolerance: absoluteTolerance(meta.drift_tolerance, fitted.fields.expected_drop_rate),
    empty_context_tolerance: absoluteTolerance(meta.empty_context_tolerance, fitted.fields.per_query?.empty_context_rate ?? 0),
  };
  const monitored = { ...fitted.fields, abstention, ...tolerances };
  const outlook = monitorOutlook(monitored);
  const warnings = [...resolved.warnings, ...fitted.warnings, ...monitoredStrataWarnings(monitored, outlook)];
  if (newGateNote !== null) warnings.unshift(newGateNote);
  const labels = labelled
    ? labelsReport(labelled, fitted.fields.threshold, meta.relevant_at, warnings, guards, abstention?.abstain_below ?? null)
    : null;
  warnings.push(...resolvedAbstention.warnings);
  const recall =
    recallTarget && labelled ? recallReport(meta.policy as { target: number; coverage: CoverageNotion }, recallTarget, labelled, sorted) : null;
  if (recallTarget && labelled)
    warnings.push(...nearCapWarnings(meta.policy as { target: number; coverage: CoverageNotion }, recallTarget, labelled));
  // A test the calibration is too small to arm (drift-bands.ts, coverage-test.ts), said now rather than by the monitor.
  warnings.push(...unarmedTestWarnings(monitored, outlook, recall));
  if (resolved.referenceWasRecall) {
    warnings.push({
      code: "recall_not_guaranteed",
      message:
        "the reference is a recall calibration: its drop rate is carried, its recall guarantee is not. Only labels for the new version can restore it: upload them with a recall policy",
    });
  }
  if (carry && carry.carried_drop_rate_sd > SMALL_REFERENCE_SD) {
    warnings.push({
      code: "small_reference",
      message: `the carried drop rate has sd ${(100 * carry.carried_drop_rate_sd).toFixed(2)} points from the effective sizes of the reference (${countText(carry.reference_n)} scores) and new (${countText(n)} scores) samples`,
    });
  }
  const calibrationId = newId("cal", now, deps.random());
  const activationId = newId("act", now, deps.random());

  // The whole answer, computed against the gate's active rows: the shift report against its current calibration and
  // whether the upload is served (auto-activation.ts).
  const prepare = async (rows: readonly ActiveRow[], promotionOpen: boolean) => {
    const previousRow = currentOf(rows);
    // Compare with the gate's current calibration; a new gate (an embedding or reranker upgrade) that carries from a
    // calibration is compared with that reference, so the upgrade gets its shift report too.
    const baselineId =
      previousRow?.calibration_id ?? (resolved.carry?.reference.kind === "calibration" ? resolved.carry.reference.calibration_id : null);
    let shift: ShiftReport | null = null;
    let served: StoredCalibration | null = null;
    if (baselineId !== null) {
      const [previous, previousDistribution] = await Promise.all([deps.calibrations.get(baselineId), deps.calibrations.distribution(baselineId)]);
      if (previous === null || previousDistribution === null) {
        throw new AppError("internal", "active calibration row points at a missing calibration");
      }
      served = previous;
      shift = rebuildShift({
        previous,
        previousDistribution,
        sorted,
        distribution: fitted.distribution,
        byQuery,
        tolerance: meta.shift_tolerance,
        comparedWith: previousRow ? "gate_current" : "carry_reference",
      });
      shift = { ...shift, coverage_at_previous_threshold: coverageShift(previous, labelled) };
    }
    const outcome = activationOutcome({
      calibrationId,
      activate: meta.activate,
      dryRun: meta.dry_run,
      decision: shift?.decision ?? null,
      first: previousRow === null,
      promotionOpen,
      gateId,
      targetDropRate: fitted.fields.target_drop_rate,
      expectedDropRate: fitted.fields.expected_drop_rate,
      served:
        shift !== null && previousRow !== null && !keepsRecallGuarantee(served, meta.policy)
          ? { expectedDropRate: shift.previous_expected_drop_rate, tolerance: shift.tolerance }
          : null,
    });
    // The rebuild_shift alert follows an activation: an upload that is not served raises none, and says so.
    if (shift?.alert && !outcome.activated) {
      shift = { ...shift, alert: false, not_alerted: outcome.dry_run ? "dry_run" : "not_activated" };
    }

    const calibration: StoredCalibration = {
      id: calibrationId,
      gate_id: gateId,
      index: meta.index,
      embedding: meta.embedding,
      reranker: meta.reranker,
      index_version: meta.index_version,
      policy: resolved.storedPolicy,
      score_scale: meta.score_scale,
      ...fitted.fields,
      carry,
      labels,
      recall,
      abstain_below: abstention?.abstain_below ?? null,
      abstention,
      warnings,
      shift,
      shift_tolerance: meta.shift_tolerance,
      ...tolerances,
      created_at: createdAt,
      created_by: actor,
    };
    const activation: Activation | null = outcome.activated
      ? {
          id: activationId,
          gate_id: gateId,
          index_version: meta.index_version,
          calibration_id: calibration.id,
          previous_calibration_id: previousRow?.calibration_id ?? null,
          activated_at: createdAt,
          actor,
          reason: outcome.reason === "requested" ? "uploaded with activate: true" : `uploaded with activate: "auto" (${outcome.reason})`,
        }
      : null;
    return { calibration, shift, outcome, activation };
  };

  // A dry run reads the gate's state and writes nothing: no calibration, no activation, no listener.
  if (meta.dry_run) {
    const state = await deps.calibrations.gateState(gateId);
    const { calibration, shift, outcome } = await prepare(state.rows, state.promotionOpen);
    // serving it would end the gate's open promotion (activate: true): said as an explicit activation says it
    if (outcome.would_activate && state.promotionOpen) warnings.push(promotionSupersededWarning(gateId, state.openPromotionId));
    return { calibration, shift, warnings, outcome };
  }

  // An activating upload is written only if the gate's current calibration is still the one its shift and
  // previous_calibration_id were computed against; a concurrent activation makes it recompute against the new one.
  return commitActivation(gateId, deps, async ({ rows, headSeq, heads, promotionOpen, openPromotionId }) => {
    const { calibration, shift, outcome, activation } = await prepare(rows, promotionOpen);
    // An upload that is served waits for a promotion's completion under way, as an activation does (stored only, it
    // changes nothing served and is written).
    if (activation !== null) await refuseWhileCompleting(deps, gateId);
    const gate = { gate_id: gateId, index: meta.index, embedding: meta.embedding, reranker: meta.reranker, created_at: createdAt };
    const event =
      activation === null
        ? null
        : activationEventBody(
            activation,
            headSeq,
            withHeads(servedThreshold(gate, calibration, activation.activated_at), headsAfterActivation(heads, calibration.id)),
          );
    const stored = await deps.calibrations.create({
      gate,
      calibration,
      distribution: fitted.distribution,
      activation: activation === null || event === null ? null : { activation, event, shift },
      expectedCurrentSeq: headSeq,
      request: request === null ? null : { ...request, outcome },
    });
    if (stored === null) return null;
    // `warnings` is also the calibration's own list: a failed listener's warning (alert_not_raised) shows in both
    // places of the answer (not in the record already stored), and so does the end of an open promotion this upload's
    // activation brought (activate: true), pushed once the write stood (a retried attempt pushes nothing twice).
    if (activation !== null && promotionOpen) warnings.push(promotionSupersededWarning(gateId, openPromotionId));
    return {
      result: { calibration, shift, warnings, outcome },
      activated:
        activation === null || event === null || stored.seq === null ? null : { calibration, shift, activation, event: withSeq(event, stored.seq) },
      warnings,
    };
  });
}
