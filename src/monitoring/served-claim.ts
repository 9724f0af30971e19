/**
 * A served batch (no `role`, or `role: "served"`) that names its calibration claims its gate served that calibration
 * to the queries it counts. One its gate never served (never activated, never a promotion's candidate: stored with
 * `activate: false` or not auto-activated, or only ever a shadow) cannot have gated production traffic: counted, its
 * window would read as `previous` and its drift as production's. Such a batch is refused, as a shadow batch of a
 * calibration outside the shadow set is. One served only as a promotion's candidate needs the promotion's claim (its
 * queries are that arm's evidence, never the gate's production traffic): without it, it is refused too. A calibration
 * served before stays accepted: clients holding a cached threshold across an activation send its batches for a while,
 * and their queries were served.
 */

import { logPages } from "../calibrations/log-pages";
import { isCalibrationChange } from "../contract";
import { AppError } from "../platform/errors";
import type { BatchTarget } from "./batch-target";
import type { MonitoringDeps } from "./deps";

/**
 * How the gate of `target` served its calibration: `served` (the gate's current calibration for its index version,
 * read through the threshold reader so the usual batch costs no D1 read; an active row; or an activation of it in the
 * gate's log), `candidate` (only ever a promotion's candidate: served to a share of the keys, under that promotion's
 * claim; the promotion's id is given) or `never`. The log is read only for a calibration not served now.
 */
export async function servedAs(
  target: BatchTarget,
  deps: Pick<MonitoringDeps, "calibrations" | "thresholds">,
): Promise<{ as: "served" } | { as: "candidate"; promotionId: string | null } | { as: "never" }> {
  const { gate, calibration } = target;
  try {
    const q = { index: gate.index, embedding: gate.embedding, reranker: gate.reranker, index_version: calibration.index_version };
    if ((await deps.thresholds.read(q)).projection.threshold.calibration_id === calibration.id) return { as: "served" };
  } catch (e) {
    // No served calibration for its index version (or the reader failed): D1 below answers.
    if (!(e instanceof AppError)) throw e;
  }
  if ((await deps.calibrations.activeRows(gate.gate_id)).some((r) => r.calibration_id === calibration.id)) return { as: "served" };
  let candidate: { as: "candidate"; promotionId: string | null } | undefined;
  for await (const page of logPages(deps.calibrations, gate.gate_id)) {
    for (const e of page) {
      if (e.calibration_id !== calibration.id) continue;
      if (isCalibrationChange(e.kind)) return { as: "served" };
      if (e.kind === "promotion_started") candidate = { as: "candidate", promotionId: e.promotion?.id ?? null };
    }
  }
  return candidate ?? { as: "never" };
}

/** Whether the gate of `target` ever served its calibration, to everyone or to a promotion's candidate arm. */
export async function everServed(target: BatchTarget, deps: Pick<MonitoringDeps, "calibrations" | "thresholds">): Promise<boolean> {
  return (await servedAs(target, deps)).as !== "never";
}

/**
 * 422 for a served batch without a promotion claim naming a calibration served only as a promotion's candidate: its
 * queries were gated for the candidate arm's keys, which the promotion's evidence counts only under its claim; counted
 * as the gate's traffic, a regressed candidate would raise the gate's production alerts and never stop its promotion.
 */
export const unclaimedCandidate = (calibrationId: string, promotionId: string | null): AppError =>
  new AppError(
    "invalid_input",
    `calibration ${calibrationId} was served only as the candidate of promotion ${promotionId ?? "(unknown)"}: its queries count as that promotion's candidate arm, so a batch of them says so with promotion {id, step, arm: "candidate"} (gate() of the SDKs adds it; with OpenFeature, report with servedBy(details) of @scoregate/openfeature); nothing was counted`,
    [{ path: "promotion", message: "required for a promotion candidate's queries" }],
  );

/** 422 for a served batch naming a calibration its gate never served (module comment); nothing is counted. */
export const neverServed = (calibrationId: string, what: "observations" | "judgments" = "observations"): AppError =>
  new AppError(
    "invalid_input",
    `calibration ${calibrationId} was never served on its gate (never activated, never a promotion's candidate), so no production query was gated with it: nothing was counted. ${
      what === "observations"
        ? `A shadow's mirrored batches say role: "shadow"; a served batch names the calibration whose threshold was applied, or the gate's fields`
        : "Judgments are of served queries: name the calibration whose threshold was applied, or the gate's fields (a shadow's queries are not judged)"
    }`,
    [{ path: "calibration_id", message: "never served on its gate" }],
  );
