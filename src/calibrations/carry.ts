/**
 * Resolves a policy to a target drop rate. `carry` is quantile mapping across an upgrade: d = F_ref(t0-), the share
 * of the reference strictly below the old absolute threshold, then the new gate is the score that drops d
 * (docs/methods.md, "Carry").
 */

import type { Calibration, Policy, StoredCalibration, StoredPolicy } from "../contract";
import { AppError, invalid } from "../platform/errors";
import { shareBelow } from "../stats/distribution";
import { countBelow, sortedCopy } from "../stats/order-statistics";
import type { RegistryDeps } from "./deps";
import { currentOf } from "./store";

export interface ResolvedTarget {
  readonly target: number;
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

/** The guard fields of a policy as stored: only those the upload set. */
export function storedGuards(p: Pick<Policy, "min_keep" | "max_keep" | "abstention">): Pick<StoredPolicy, "min_keep" | "max_keep" | "abstention"> {
  return {
    ...(p.min_keep !== undefined ? { min_keep: p.min_keep } : {}),
    ...(p.max_keep !== undefined ? { max_keep: p.max_keep } : {}),
    ...(p.abstention !== undefined ? { abstention: p.abstention } : {}),
  };
}

/** Resolves `policy` for the gate `gateId`; `n` is the size of the new calibration (for the carried sd). */
export async function resolveTarget(policy: RateOrCarryPolicy, gateId: string, n: number, deps: RegistryDeps): Promise<ResolvedTarget> {
  if (policy.kind === "drop_rate")
    return { target: policy.target, carry: null, storedPolicy: policy, referenceDesignEffect: 1, referenceWasRecall: false, reference: null };

  const ref = policy.reference;
  let dropRate: number;
  let referenceN: number;
  let referenceThreshold: number | null;
  let reference: NonNullable<Calibration["carry"]>["reference"];
  let storedReference: Extract<StoredPolicy, { kind: "carry" }>["reference"];
  let referenceDesignEffect = 1;
  let referenceWasRecall = false;
  let referenceRecord: StoredCalibration | null = null;

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
      if (current === null) {
        throw new AppError(
          "unknown_reference",
          'reference "active": this gate has no active calibration yet. To carry a threshold across an embedding or reranker change (a new gate), reference the old gate\'s calibration with {"calibration_id": "..."}, or pass the old scores inline with {"scores": [...]}',
          [{ path: "policy.reference", message: "no active calibration for this gate" }],
        );
      }
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
    reference = { kind: "calibration", calibration_id: record.id };
    // The reference's own threshold has an exact in-sample drop rate; other values come from the kept distribution.
    dropRate =
      referenceThreshold === null ? 0 : referenceThreshold === record.threshold ? record.in_sample_drop_rate : shareBelow(dist, referenceThreshold);
  }

  if (dropRate >= 1) {
    throw invalid(`threshold ${referenceThreshold} drops every reference score: there is no drop rate to carry`, [
      { path: "policy.threshold", message: "is above every reference score" },
    ]);
  }
  return {
    target: dropRate,
    carry: {
      reference,
      reference_threshold: referenceThreshold,
      reference_drop_rate: dropRate,
      reference_n: referenceN,
      carried_drop_rate_sd: Math.sqrt(dropRate * (1 - dropRate) * (1 / referenceN + 1 / n)),
    },
    storedPolicy: { kind: "carry", threshold: policy.threshold ?? null, reference: storedReference, ...storedGuards(policy) },
    referenceDesignEffect,
    referenceWasRecall,
    reference: referenceRecord,
  };
}
