/**
 * A promotion as the API shows it (GET /v1/promotions/{id}, the lists, every answer of a start or an override): its
 * row, its current share, its audit trail, and an open promotion's live step evidence from the gate's monitor.
 */
import type { Promotion, StepEvidence } from "../contract";
import { armsOf, stepEvidence } from "./arm-evidence";
import type { PromotionDeps } from "./deps";
import { isOpen, percentOf } from "./state-machine";
import type { PromotionRow } from "./store";

/** The promotion as the API shows it: an open one with its step's live numbers (a closed one's evidence is deleted). */
export async function view(row: PromotionRow, deps: PromotionDeps): Promise<Promotion> {
  const [steps, evidence] = await Promise.all([deps.promotions.steps(row.id), isOpen(row.state) ? liveEvidence(row, deps) : null]);
  return { ...row, percent: percentOf(row.plan, row.state, row.step), evidence, steps };
}

/** The step's live numbers; null (logged) when the gate's monitor cannot answer: a transition already written stands. */
export async function liveEvidence(row: PromotionRow, deps: PromotionDeps): Promise<StepEvidence | null> {
  try {
    const [evidence, candidate] = await Promise.all([deps.monitor.evidence(row.gate_id), deps.calibrations.get(row.candidate_calibration_id)]);
    return candidate === null ? null : stepEvidence(row, armsOf(row, evidence), candidate).view;
  } catch (e) {
    console.error(`reading the live evidence of promotion ${row.id} failed; answered without it`, e);
    return null;
  }
}
