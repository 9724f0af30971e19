/**
 * The listeners a committed change still owes. Every row of a gate's activation log is committed with a marker
 * (migrations/0010, written in the row's own D1 batch) that its request deletes once the row's listeners all ran
 * (activation.ts notifyActivated). A request that dies in between (after the commit, before or during its listeners)
 * leaves the marker, and the listeners run here instead:
 *
 * - by the retry of an upload with the same Idempotency-Key, at once (upload-service.ts);
 * - by the cron tick (src/worker/scheduled.ts) for markers older than ACTIVATION_LISTENERS_GRACE_MS, so a request
 *   that is still running its listeners is not raced, whether or not anyone retries.
 *
 * Exactly once in effect: the marker is deleted after the listeners ran, and each listener is idempotent (publish from
 * D1, forget copies, push a seq the hub drops when it has it, raise rebuild_shift only if this activation has not,
 * supersede only an open promotion), so running them twice (a sweep racing a retry, a marker whose deletion failed)
 * changes nothing more. A calibration change that is no longer its gate's current one is not run late: what replaced
 * it ran its own listeners (or owes them), which published the gate and decided the rebuild_shift alert against it.
 */
import { isCalibrationChange, type Warning } from "../contract";
import { ACTIVATION_LISTENERS_GIVE_UP_MS, ACTIVATION_LISTENERS_GRACE_MS, ACTIVATION_LISTENERS_PER_TICK } from "../platform/limits";
import { type ActivationDeps, notifyActivated } from "./activation";
import { currentOf, type PendingListeners } from "./store";

/** What a late run of one change's listeners did. */
export type OwedOutcome =
  /** they all ran; the marker is deleted */
  | "ran"
  /** a later calibration change replaced it as the gate's current one: nothing to run; the marker is deleted */
  | "replaced"
  /** a listener failed: the marker stays for the next tick */
  | "failed";

type OwedDeps = Pick<ActivationDeps, "calibrations" | "activationListeners">;

/** Runs the listeners a change owes (module comment), with the warnings of those that failed. */
export async function runOwedListeners(pending: PendingListeners, deps: OwedDeps): Promise<{ outcome: OwedOutcome; warnings: Warning[] }> {
  const entry = await deps.calibrations.logEntry(pending.activation_id);
  const calibration = entry === null ? null : await deps.calibrations.get(entry.activation.calibration_id);
  const replaced =
    entry !== null &&
    isCalibrationChange(entry.event.kind) &&
    currentOf(await deps.calibrations.activeRows(pending.gate_id))?.activation_id !== pending.activation_id;
  if (entry === null || calibration === null || replaced) {
    // No row (impossible with the foreign key) or replaced since: nothing is owed any more.
    await deps.calibrations.listenersRan(pending.activation_id);
    return { outcome: "replaced", warnings: [] };
  }
  const { warnings, failed } = await notifyActivated({ calibration, shift: pending.shift, activation: entry.activation, event: entry.event }, deps);
  return { outcome: failed === 0 ? "ran" : "failed", warnings };
}

/** What one cron tick did with the owed listeners. */
export interface ListenerSweep {
  /** Changes whose listeners ran. */
  ran: number;
  /** Changes replaced since as their gate's current calibration: nothing left to run. */
  replaced: number;
  /** Changes with a failed listener, left for the next tick. */
  failed: number;
  /** Changes whose listeners still failed ACTIVATION_LISTENERS_GIVE_UP_MS after their commit: logged and dropped. */
  given_up: number;
}

/**
 * The cron tick's step: runs the listeners of up to ACTIVATION_LISTENERS_PER_TICK changes committed at least
 * ACTIVATION_LISTENERS_GRACE_MS before `now` whose markers are still there, oldest first.
 */
export async function sweepPendingListeners(deps: OwedDeps, now: Date): Promise<ListenerSweep> {
  const sweep: ListenerSweep = { ran: 0, replaced: 0, failed: 0, given_up: 0 };
  const due = await deps.calibrations.pendingListeners(
    new Date(now.getTime() - ACTIVATION_LISTENERS_GRACE_MS).toISOString(),
    ACTIVATION_LISTENERS_PER_TICK,
  );
  const giveUpBefore = new Date(now.getTime() - ACTIVATION_LISTENERS_GIVE_UP_MS).toISOString();
  for (const pending of due) {
    const { outcome } = await runOwedListeners(pending, deps);
    if (outcome === "failed" && pending.committed_at <= giveUpBefore) {
      console.error(`giving up the listeners of ${pending.activation_id} (gate ${pending.gate_id}), committed ${pending.committed_at}`);
      await deps.calibrations.listenersRan(pending.activation_id);
      sweep.given_up++;
    } else sweep[outcome]++;
  }
  return sweep;
}
