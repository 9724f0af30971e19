/**
 * A served batch (no `role`, or `role: "served"`) that names its calibration claims its gate served that calibration
 * to the queries it counts. One its gate never served (never activated, never a promotion's candidate: stored with
 * `activate: false` or not auto-activated, or only ever a shadow) cannot have gated production traffic: counted, its
 * window would read as `previous` and its drift as production's. Such a batch is refused, as a shadow batch of a
 * calibration outside the shadow set is. A calibration served before stays accepted: clients holding a cached
 * threshold across an activation (or a promotion's split) send its batches for a while, and their queries were served.
 */

import { logPages } from "../calibrations/log-pages";
import { isCalibrationChange } from "../contract";
import { AppError } from "../platform/errors";
import type { BatchTarget } from "./batch-target";
import type { MonitoringDeps } from "./deps";

/**
 * Whether the gate of `target` ever served its calibration: the gate's current calibration for its index version
 * (read through the threshold reader, so the usual batch costs no D1 read), an active row, or an activation or a
 * promotion start of it in the gate's log (read only for a calibration not served now: a previous one, or a refusal).
 */
export async function everServed(target: BatchTarget, deps: Pick<MonitoringDeps, "calibrations" | "thresholds">): Promise<boolean> {
  const { gate, calibration } = target;
  try {
    const q = { index: gate.index, embedding: gate.embedding, reranker: gate.reranker, index_version: calibration.index_version };
    if ((await deps.thresholds.read(q)).projection.threshold.calibration_id === calibration.id) return true;
  } catch (e) {
    // No served calibration for its index version (or the reader failed): D1 below answers.
    if (!(e instanceof AppError)) throw e;
  }
  if ((await deps.calibrations.activeRows(gate.gate_id)).some((r) => r.calibration_id === calibration.id)) return true;
  for await (const page of logPages(deps.calibrations, gate.gate_id)) {
    if (page.some((e) => e.calibration_id === calibration.id && (isCalibrationChange(e.kind) || e.kind === "promotion_started"))) return true;
  }
  return false;
}

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
