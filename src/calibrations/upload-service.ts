/**
 * POST /v1/calibrations as one service: parse the upload, then either a dry run (computed, nothing stored, the
 * Idempotency-Key ignored: there is nothing to replay) or a calibration run at most once per Idempotency-Key.
 *
 * The crash window: an upload's calibration (and activation) commit in one D1 batch with its key and request hash;
 * the listeners (KV publish, isolate invalidation, rebuild_shift) and the key's completion follow. A request that dies
 * in between leaves a committed calibration and a key in flight. Its retry finds the calibration by (token name, key,
 * request hash) instead of answering 409 or, once the key's claim expired, calibrating a second time: it runs the
 * listeners of that activation if it still serves (each is safe to repeat: publish from D1, forget copies, raise or
 * update the one open alert), completes the key and replays the committed answer.
 */
import type { CalibrationCreated, Warning } from "../contract";
import { once, requestHash } from "../platform/idempotency";
import { notifyActivated } from "./activation";
import { calibrate } from "./calibrate";
import type { CalibrationDeps } from "./deps";
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

/** Activations searched for the one a recovered upload committed (it is its version's active one: among the newest). */
const RECOVERY_ACTIVATIONS = 50;

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
    const rows = await deps.calibrations.activeRows(calibration.gate_id);
    const row = rows.find((r) => r.index_version === calibration.index_version && r.calibration_id === calibration.id);
    // Still served: complete what follows its activation. Replaced since: the later activation ran its own listeners.
    const activation =
      row === undefined
        ? undefined
        : (await deps.calibrations.activations(calibration.gate_id, RECOVERY_ACTIVATIONS)).find((a) => a.id === row.activation_id);
    // Its event: the first of the gate's log after seq - 1 is the row itself (seqs are whole numbers).
    const [event] = row === undefined ? [] : await deps.calibrations.events(calibration.gate_id, row.activation_seq - 1, 1);
    if (activation !== undefined && event !== undefined && event.seq === row?.activation_seq) {
      warnings.push(...(await notifyActivated({ calibration, shift: calibration.shift, activation, event }, deps.activationListeners)));
    }
  }
  return {
    status: 201,
    body: { calibration: await describe(calibration, deps), shift: calibration.shift, warnings, activation_outcome: outcome },
  };
}
