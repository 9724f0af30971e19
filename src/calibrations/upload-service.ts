/**
 * POST /v1/calibrations as one service: parse the upload, then either a dry run (computed, nothing stored, the
 * Idempotency-Key ignored: there is nothing to replay) or a calibration run at most once per Idempotency-Key.
 *
 * The crash window: an upload's calibration (and activation, with its pending-listeners marker) commit in one D1
 * batch with its key and request hash; the listeners (KV publish, isolate invalidation, the push to subscribers,
 * rebuild_shift, a promotion's supersession) and the key's completion follow. A request that dies in between leaves a
 * committed calibration, a marker and a key in flight. Its retry finds the calibration by (token name, key, request
 * hash) instead of answering 409 or, once the key's claim expired, calibrating a second time: it runs the listeners
 * its activation still owes (pending-listeners.ts), completes the key and replays the committed answer. Without a
 * retry (or without a key) the cron tick runs the owed listeners after ACTIVATION_LISTENERS_GRACE_MS.
 */
import type { CalibrationCreated, Warning } from "../contract";
import { once, requestHash } from "../platform/idempotency";
import { calibrate } from "./calibrate";
import type { CalibrationDeps } from "./deps";
import { runOwedListeners } from "./pending-listeners";
import { describe } from "./registry";
import { parseCalibrationUpload, type RawUpload } from "./upload";

export interface UploadAnswer {
  /** 201 created; 200 for a dry run. */
  readonly status: 200 | 201;
  readonly body: CalibrationCreated;
  /** The answer of an earlier request with the same Idempotency-Key. */
  readonly replayed: boolean;
}

export async function uploadCalibration(raw: RawUpload, actor: string, key: string | undefined, deps: CalibrationDeps): Promise<UploadAnswer> {
  const input = parseCalibrationUpload(raw);
  const answer = async (status: 200 | 201, request: { key: string; hash: string } | null) => {
    const r = await calibrate(input, actor, deps, request);
    const body: CalibrationCreated = {
      calibration: await describe(r.calibration, deps),
      shift: r.shift,
      warnings: r.warnings,
      activation_outcome: r.outcome,
    };
    return { status, body };
  };
  if (input.meta.dry_run) return { ...(await answer(200, null)), replayed: false };
  if (key === undefined) return { ...(await answer(201, null)), replayed: false };
  const hash = await requestHash([raw.type, JSON.stringify(Object.entries(raw.params).sort()), raw.bytes]);
  return once(
    deps.idempotency,
    actor,
    key,
    hash,
    deps.now(),
    () => answer(201, { key, hash }),
    () => recoverCommitted(actor, key, hash, deps),
  );
}

/** The answer of an upload that committed but whose request died before completing its key (module comment). */
async function recoverCommitted(
  actor: string,
  key: string,
  hash: string,
  deps: CalibrationDeps,
): Promise<{ status: 201; body: CalibrationCreated } | null> {
  const found = await deps.calibrations.byRequest(actor, key, hash);
  if (found === null) return null;
  const { calibration, outcome } = found;
  const warnings: Warning[] = [...calibration.warnings];
  if (outcome.activated) {
    // Its activation's listeners, if still owed (the cron tick may have run them meanwhile: then nothing is run).
    const row = (await deps.calibrations.activeRows(calibration.gate_id)).find((r) => r.calibration_id === calibration.id);
    const pending = row === undefined ? null : await deps.calibrations.pendingListenersOf(row.activation_id);
    if (pending !== null) warnings.push(...(await runOwedListeners(pending, deps)).warnings);
  }
  return {
    status: 201,
    body: { calibration: await describe(calibration, deps), shift: calibration.shift, warnings, activation_outcome: outcome },
  };
}
