/**
 * Resolves a policy to a target drop rate and the guards it is fitted with. `carry` is quantile mapping across an
 * upgrade: d is the share of the reference's candidates its gate drops at the old absolute threshold t0 (the guarded
 * gate's share when the reference calibration has guards), then the new gate is fitted to drop d under the carry's
 * guards: the policy's own when it states `min_keep` or `max_keep`, otherwise the reference's (docs/methods.md,
 * "Carry").
 */

import type { Calibration, GateRef, Policy, StoredCalibration, StoredPolicy, Warning } from "../contract";
import { AppError, invalid } from "../platform/errors";
import { type Distribution, guardedShareBelow, shareBelow } from "../stats/distribution";
import { type Guards, hasGuards, NO_GUARDS } from "../stats/guarded-gate";
import { countBelow, sortedCopy } from "../stats/order-statistics";
import type { CalibrationDeps } from "./deps";
import { didYouMeanGates, gateTitle, similarGates } from "./gate-names";
import { currentOf } from "./store";

/** A carried rate (drop or abstention) whose sd exceeds this (1 point) warns `small_reference`. */
export const SMALL_REFERENCE_SD = 0.01;

export interface ResolvedTarget {
  readonly target: number;
  /** The guards the new gate is fitted with: the policy's, or for a carry that states none, the reference's. */
  readonly guards: Guards;
  /** Warnings of the resolution (a carry whose guards differ from the reference's). */
  readonly warnings: readonly Warning[];
  readonly carry: Calibration["carry"];
  readonly storedPolicy: StoredPolicy;
  /** The reference's design effect (1 for inline scores, which are flat), for the carried drop rate's sd. */
  readonly referenceDesignEffect: number;
  /** The reference was a recall calibration: its drop rate is carried, its recall guarantee is not. */
  readonly referenceWasRecall: boolean;
  /** The reference calibration (carry from a calibration; null otherwise): its abstention rate can be carried too. */
  readonly reference: StoredCalibration | null;
}

export type RateOrCarryPolicy = Exclude<Policy, { kind: "recall" }>;

/** A target the policy states itself (a drop rate, or a recall gate's implied drop rate): nothing carried. */
export function statedTarget(target: number, guards: Guards, storedPolicy: StoredPolicy): ResolvedTarget {
  return { target, guards, warnings: [], carry: null, storedPolicy, referenceDesignEffect: 1, referenceWasRecall: false, reference: null };
}

/** The guard fields of a policy as stored: only those the upload set. */
export function storedGuards(p: Pick<Policy, "min_keep" | "max_keep" | "abstention">): Pick<StoredPolicy, "min_keep" | "max_keep" | "abstention"> {
  return {
    ...(p.min_keep !== undefined ? { min_keep: p.min_keep } : {}),
    ...(p.max_keep !== undefined ? { max_keep: p.max_keep } : {}),
    ...(p.abstention !== undefined ? { abstention: p.abstention } : {}),
  };
}

/** The guards a policy sets, in the core's terms (omitted fields: none). */
export function guardsOf(p: Pick<Policy, "min_keep" | "max_keep">): Guards {
  return { minKeep: p.min_keep ?? 0, maxKeep: p.max_keep ?? null };
}

/** True when the policy says which guards it wants (`"min_keep": 0` or `"max_keep": null` included). */
const statesGuards = (p: Pick<Policy, "min_keep" | "max_keep">): boolean => p.min_keep !== undefined || p.max_keep !== undefined;

/** The guards a stored calibration applies (none for one fitted without, or before guards existed). */
export function guardsOfCalibration(c: Pick<StoredCalibration, "guards">): Guards {
  return c.guards ? { minKeep: c.guards.min_keep, maxKeep: c.guards.max_keep } : NO_GUARDS;
}

const sameGuards = (a: Guards, b: Guards): boolean => a.minKeep === b.minKeep && a.maxKeep === b.maxKeep;

/** "min_keep 3, max_keep 10", "min_keep 3, no max_keep", "no guards". */
export function describeGuards(g: Guards): string {
  if (!hasGuards(g)) return "no guards";
  return `min_keep ${g.minKeep}, ${g.maxKeep === null ? "no max_keep" : `max_keep ${g.maxKeep}`}`;
}

/**
 * The share of the reference calibration's candidates its gate drops at `t`: exact at its own threshold (the stored
 * in-sample rate, guarded when it has guards); elsewhere from its kept summary, the guarded one for a guarded
 * reference (distribution.ts). A guarded reference stored without that summary can only be carried at its own
 * threshold: 422 naming the way out.
 */
function referenceDropRate(record: StoredCalibration, dist: Distribution, t: number | null, guards: Guards): number {
  if (t === record.threshold) return record.in_sample_drop_rate;
  if (t === null) return 0; // defensive: a threshold is always stated when it differs from the reference's
  if (!hasGuards(guards)) return shareBelow(dist, t);
  if (dist.guarded === undefined) {
    throw invalid(
      `reference calibration ${record.id} has guards (${describeGuards(guards)}) and was stored without the summary of the candidates its threshold decides, so what its guarded gate drops is known only at its own threshold ${record.threshold}: omit policy.threshold to carry that, or recalibrate the reference`,
      [{ path: "policy.threshold", message: "a guarded reference stored before guarded summaries were kept is carried at its own threshold only" }],
    );
  }
  return guardedShareBelow(dist.guarded, dist.n, t);
}

/**
 * 422 unknown_reference for a carry from `"active"` on a gate that serves nothing: most often a mistyped gate name in a
 * rebuild pipeline, so it names the calibrated gates with similar names (`details.suggestions`, as the unknown gate's
 * 404 does), or the upgrade of a model, which carries from the old gate's calibration id.
 */
async function noActiveReference(gate: GateRef, deps: Pick<CalibrationDeps, "calibrations">): Promise<AppError> {
  const similar = await similarGates(gate, deps.calibrations);
  return new AppError(
    "unknown_reference",
    `reference "active": the gate ${gateTitle(gate)} has no active calibration yet${didYouMeanGates(similar) || "."} To carry a threshold across an embedding or reranker change (a new gate), reference the old gate's calibration with {"calibration_id": "..."}, or pass the old scores inline with {"scores": [...]}`,
    {
      path: "policy.reference",
      message: "no active calibration for this gate",
      suggestions: similar.map((g) => ({ index: g.index, embedding: g.embedding, reranker: g.reranker })),
    },
  );
}

/**
 * Resolves `policy` for `gate` (its names, for the refusal of a reference it lacks) whose id is `gateId`; `n` is the
 * size of the new calibration (for the carried sd).
 */
export async function resolveTarget(
  policy: RateOrCarryPolicy,
  gate: GateRef,
  gateId: string,
  n: number,
  deps: Pick<CalibrationDeps, "calibrations">,
): Promise<ResolvedTarget> {
  if (policy.kind === "drop_rate") return statedTarget(policy.target, guardsOf(policy), policy);

  const ref = policy.reference;
  let dropRate: number;
  let referenceN: number;
  let referenceThreshold: number | null;
  let reference: NonNullable<Calibration["carry"]>["reference"];
  let storedReference: Extract<StoredPolicy, { kind: "carry" }>["reference"];
  let referenceDesignEffect = 1;
  let referenceWasRecall = false;
  let referenceRecord: StoredCalibration | null = null;
  // Inline scores are flat: their gate had no guards.
  let referenceGuards = NO_GUARDS;

  if (typeof ref === "object" && "scores" in ref) {
    if (policy.threshold === undefined) {
      throw invalid("carry with inline reference scores needs the old absolute threshold", [
        { path: "policy.threshold", message: "is required when reference is {scores: [...]}" },
      ]);
    }
    const sorted = sortedCopy(ref.scores);
    referenceThreshold = policy.threshold;
    dropRate = countBelow(sorted, policy.threshold) / sorted.length;
    referenceN = sorted.length;
    reference = { kind: "inline", n: sorted.length };
    storedReference = { inline_scores: sorted.length };
  } else {
    let calibrationId: string;
    if (ref === "active") {
      const current = currentOf(await deps.calibrations.activeRows(gateId));
      if (current === null) throw await noActiveReference(gate, deps);
      calibrationId = current.calibration_id;
      storedReference = "active";
    } else {
      calibrationId = ref.calibration_id;
      storedReference = { calibration_id: calibrationId };
    }
    const [record, dist] = await Promise.all([deps.calibrations.get(calibrationId), deps.calibrations.distribution(calibrationId)]);
    if (record === null || dist === null) {
      throw new AppError("unknown_reference", `reference calibration ${calibrationId} does not exist`, [
        { path: "policy.reference.calibration_id", message: "unknown calibration" },
      ]);
    }
    referenceThreshold = policy.threshold ?? record.threshold;
    referenceN = record.n;
    referenceDesignEffect = record.per_query?.design_effect ?? 1;
    referenceWasRecall = record.policy.kind === "recall";
    referenceRecord = record;
    referenceGuards = guardsOfCalibration(record);
    reference = { kind: "calibration", calibration_id: record.id };
    dropRate = referenceDropRate(record, dist, referenceThreshold, referenceGuards);
  }

  // The policy's guards win when it states any; otherwise the carry keeps the reference's. The carried rate is always
  // the reference gate's own (guarded) share: what a team means to keep constant across the upgrade.
  const guards = statesGuards(policy) ? guardsOf(policy) : referenceGuards;
  const warnings: Warning[] = [];
  if (!sameGuards(guards, referenceGuards)) {
    warnings.push({
      code: "carry_guards_changed",
      message: `the reference gate (${describeGuards(referenceGuards)}) dropped ${(100 * dropRate).toFixed(2)} % of its candidates at threshold ${referenceThreshold}; this calibration's own guards (${describeGuards(guards)}) are fitted to drop that same share, so the share dropped stays the same while which candidates are dropped follows the new guards. Omit min_keep and max_keep to keep the reference's guards`,
    });
  }

  if (dropRate >= 1) {
    throw invalid(`threshold ${referenceThreshold} drops every reference score: there is no drop rate to carry`, [
      { path: "policy.threshold", message: "is above every reference score" },
    ]);
  }
  return {
    target: dropRate,
    guards,
    warnings,
    carry: {
      reference,
      reference_threshold: referenceThreshold,
      reference_drop_rate: dropRate,
      reference_guards: { min_keep: referenceGuards.minKeep, max_keep: referenceGuards.maxKeep },
      reference_n: referenceN,
      carried_drop_rate_sd: Math.sqrt(dropRate * (1 - dropRate) * (1 / referenceN + 1 / n)),
    },
    storedPolicy: { kind: "carry", threshold: policy.threshold ?? null, reference: storedReference, ...storedGuards(policy) },
    referenceDesignEffect,
    referenceWasRecall,
    reference: referenceRecord,
  };
}
