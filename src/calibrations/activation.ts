/**
 * Activation, one operation whoever activates: an upload with `activate: true` (calibrate.ts), promote and roll back
 * (POST /v1/calibrations/{id}/activate, `activate` below), and the dashboard's button. Two parts, each written once:
 *
 * - the optimistic loop (`commitActivation`): an activation is written only if the gate's current calibration is still
 *   the one it was computed against (a conditional write); a concurrent activation makes it recompute against the new
 *   one, so concurrent activations of one gate line up, each recording the one activated just before it;
 * - what follows a committed activation (`ActivationListener`s, wired once in src/worker/wiring.ts): publish the KV
 *   projection, forget this isolate's copies of the threshold, raise or resolve the rebuild_shift alert. They run
 *   before the answer, so a pipeline that reads the threshold or the alerts right after sees them; a listener that
 *   fails is logged (the activation stands: the reconciler repairs KV within minutes) and may add a warning. Every
 *   row is committed with a marker saying its listeners are owed (migrations/0010), deleted once they all ran: a
 *   request that dies after its commit leaves the marker, and the cron tick runs them (pending-listeners.ts).
 *
 * Appends an activation (who, when, what it replaced), never overwrites one. Each is a row of the gate's activation
 * log with the GateEvent pushed to the gate's subscribers (gate-event.ts, src/contract/events.ts): its listeners get
 * that event, with the seq D1 gave the row.
 */
import type { Activation, CalibrationChangeKind, GateEvent, GateEventPromotion, ShiftReport, StoredCalibration, Warning } from "../contract";
import { AppError } from "../platform/errors";
import { newId } from "../platform/ids";
import { MAX_ACTIVATION_ATTEMPTS } from "../platform/limits";
import { loadForActivation, planActivation, promotionSupersededWarning } from "./activation-plan";
import { gateEventBody, headsAfterActivation, servedThreshold, withHeads, withSeq } from "./gate-event";
import type { RaisedShiftAlerts } from "./served-shift";
import { type CalibrationStore, currentOf, type GateState } from "./store";

/** What activating needs (a slice of the calibrations feature's, ./deps.ts). */
export interface ActivationDeps {
  readonly calibrations: CalibrationStore;
  /** The injected clock. */
  readonly now: () => Date;
  /** 16 random hex characters (ids). */
  readonly random: () => string;
  /**
   * What follows every committed activation, in order. Other features' effects (the KV projection, the isolate's
   * threshold copies, the rebuild_shift alert) are wired here once, in src/worker/wiring.ts.
   */
  readonly activationListeners: readonly ActivationListener[];
  /** The rebuild_shift alerts activations raised: whether an activation rolls one back (served-shift.ts). */
  readonly alerts: RaisedShiftAlerts;
  /**
   * Tests only (unset in the Worker): runs right after a write commits, before its listeners and before the upload's
   * Idempotency-Key is completed. A test that never resolves it kills the request at the commit point
   * (test/calibrations/crash-window.test.ts).
   */
  readonly afterCommit?: () => Promise<void>;
}

/** A committed activation, as its listeners see it. */
export interface ActivationEvent {
  readonly calibration: StoredCalibration;
  /** The shift of this calibration against the one it replaces as the gate's current one. */
  readonly shift: ShiftReport | null;
  readonly activation: Activation;
  /** The row's event as pushed to the gate's subscribers: `seq` is the activation's, `prev_seq` the gate's row before. */
  readonly event: GateEvent;
}

/** A side effect of every committed activation. */
export interface ActivationListener {
  readonly run: (event: ActivationEvent) => Promise<void> | void;
  /** Logged with the error when `run` fails. */
  readonly failure: string;
  /** Added to the answer's warnings when `run` fails, where the caller should act on it. */
  readonly warning?: Warning;
}

/** What running a change's listeners gave: the warnings of those that failed, and how many failed. */
export interface Notified {
  readonly warnings: Warning[];
  readonly failed: number;
}

/**
 * Runs the listeners in order, each once, whatever the others did; then, when none failed, deletes the row's
 * pending-listeners marker (a failure leaves it: the cron tick runs them all again, each being idempotent).
 */
export async function notifyActivated(event: ActivationEvent, deps: Pick<ActivationDeps, "calibrations" | "activationListeners">): Promise<Notified> {
  const warnings: Warning[] = [];
  let failed = 0;
  for (const listener of deps.activationListeners) {
    try {
      await listener.run(event);
    } catch (e) {
      failed++;
      console.error(listener.failure, e);
      if (listener.warning) warnings.push(listener.warning);
    }
  }
  if (failed === 0) {
    try {
      await deps.calibrations.listenersRan(event.activation.id);
    } catch (e) {
      // The change stands and its listeners ran: the cron tick runs them once more, harmlessly, and deletes it.
      console.error("deleting the pending-listeners marker failed", e);
    }
  }
  return { warnings, failed };
}

/** 409 after MAX_ACTIVATION_ATTEMPTS lost races: the request changed nothing and can be sent again. */
export const tooManyConcurrentActivations = (): AppError =>
  new AppError(
    "conflict",
    `this gate was activated concurrently ${MAX_ACTIVATION_ATTEMPTS} times while this request was computed; nothing was changed: retry`,
  );

/**
 * 409 while a promotion of gate `gateId` has completed and its candidate is not activated yet (the store's
 * completingPromotion; the completion's own activation, `own`, passes): another activation written then would be
 * undone by the candidate's a moment later, or leave the promotion completed with its candidate never served. The
 * completion is applied within its request (or by the next cron tick, should that request die), so a retry after it
 * activates over the candidate. The store refuses such a write too, so this holds when the completion lands between
 * the read and the write.
 */
export async function refuseWhileCompleting(
  deps: { readonly calibrations: Pick<CalibrationStore, "completingPromotion"> },
  gateId: string,
  own: string | null = null,
  retried = "it then activates over the candidate",
): Promise<void> {
  const p = await deps.calibrations.completingPromotion(gateId);
  if (p !== null && p !== own) {
    throw new AppError(
      "conflict",
      `promotion ${p} of this gate has completed and its candidate is being activated: nothing was changed; retry in a moment (${retried})`,
      { promotion_id: p },
    );
  }
}

/** What an attempt that was written produced. */
export interface Written<T> {
  readonly result: T;
  /** The activation it committed, for the listeners; null when it wrote no activation (an upload with activate: false). */
  readonly activated: ActivationEvent | null;
  /** The result's warnings: a failed listener's warning is added here. */
  readonly warnings: Warning[];
}

/**
 * The optimistic loop: `attempt` computes against the gate's active rows and writes conditionally on the gate's head
 * seq (read with them, in one transaction), returning null when another change of the gate landed first; it is then
 * retried against the new state, up to MAX_ACTIVATION_ATTEMPTS (then 409). Once written, the listeners run.
 */
export async function commitActivation<T>(
  gateId: string,
  deps: ActivationDeps,
  attempt: (state: GateState) => Promise<Written<T> | null>,
): Promise<T> {
  for (let n = 1; ; n++) {
    const written = await attempt(await deps.calibrations.gateState(gateId));
    if (written === null) {
      if (n >= MAX_ACTIVATION_ATTEMPTS) throw tooManyConcurrentActivations();
      continue;
    }
    if (deps.afterCommit) await deps.afterCommit();
    if (written.activated) written.warnings.push(...(await notifyActivated(written.activated, deps)).warnings);
    return written.result;
  }
}

export interface ActivationResult {
  /** The activation recorded; null when the calibration was already the gate's current one (`alreadyCurrent`). */
  readonly activation: Activation | null;
  /** The seq of the activation's row in the gate's log (its event's seq); the gate's head seq when nothing was written. */
  readonly seq: number;
  /**
   * The calibration was already the gate's current one with no promotion under way: activating it again would change
   * nothing that is served, so nothing was recorded, published, pushed or alerted.
   */
  readonly alreadyCurrent: boolean;
  readonly calibration: StoredCalibration;
  /** The shift of this calibration against the calibration it replaces as the gate's current one. */
  readonly shift: ShiftReport | null;
  readonly warnings: Warning[];
}

/**
 * How an activation is logged, both kinds that change the gate's current calibration (CALIBRATION_CHANGE_KINDS):
 * `activation` (an upload served, an activation, a rollback), or `promotion_completed`, the activation a guarded
 * promotion's completion makes of its candidate, whose event names the promotion it closes and the numbers that
 * decided it. Either is the one row and the one event of the change; the listeners run the same for both.
 */
export type ActivationKind =
  | { readonly kind: Extract<CalibrationChangeKind, "activation"> }
  | {
      readonly kind: Extract<CalibrationChangeKind, "promotion_completed">;
      readonly promotion: GateEventPromotion;
      readonly details: Record<string, unknown>;
      /**
       * The log row's id, derived by the promotion from its audit row (src/promotions/event-log.ts logIdOf), so a
       * completion written again by the cron's repair finds its row instead of activating twice.
       */
      readonly activationId: string;
    };

const PLAIN: ActivationKind = { kind: "activation" };

/** What a dry run of an activation answers: the shift and warnings the activation would give, nothing written. */
export interface ActivationPreview {
  readonly calibration: StoredCalibration;
  readonly shift: ShiftReport | null;
  readonly warnings: Warning[];
  /** The gate's current calibration the activation would replace (null when the gate serves none). */
  readonly previousCalibrationId: string | null;
  /** Activating it would change nothing (ActivationResult.alreadyCurrent). */
  readonly alreadyCurrent: boolean;
}

/**
 * Activating `calibrationId` in `state` is a no-op: it is the gate's current calibration and no rollout is under way,
 * neither a served split nor a promotion open in D1 (whose start event may not be logged yet: the activation ends it).
 */
const isCurrent = (calibrationId: string, state: Pick<GateState, "rows" | "heads" | "promotionOpen">): boolean =>
  currentOf(state.rows)?.calibration_id === calibrationId && state.heads.rollout === null && !state.promotionOpen;

/**
 * The dry run of an activation (POST /v1/calibrations/{id}/activate with `dry_run`): the shift and warnings against
 * the gate's current calibration as they stand now, nothing written, no listener run, no alert.
 */
export async function previewActivation(calibrationId: string, deps: ActivationDeps): Promise<ActivationPreview> {
  const { calibration, distribution } = await loadForActivation(calibrationId, deps);
  const state = await deps.calibrations.gateState(calibration.gate_id);
  const plan = await planActivation(calibration, distribution, state, deps);
  if (state.promotionOpen) plan.warnings.push(promotionSupersededWarning(calibration.gate_id, state.openPromotionId));
  // Nothing is raised: a shift that would alert says so as the upload's dry run does (calibrate.ts), not alert: true.
  const shift = plan.shift?.alert ? { ...plan.shift, alert: false, not_alerted: "dry_run" as const } : plan.shift;
  return { calibration, ...plan, shift, alreadyCurrent: isCurrent(calibration.id, state) };
}

/**
 * Promotes or rolls back to a stored calibration (`as`: a promotion's completion logs it as `promotion_completed`).
 * Activating the gate's current calibration while no promotion is under way is answered without a write
 * (`alreadyCurrent`): a new row would serve the same threshold, push an event and log a change that is none. During a
 * promotion it is a change (it ends the rollout: headsAfterActivation), and is written.
 */
export async function activate(
  calibrationId: string,
  actor: string,
  reason: string | null,
  deps: ActivationDeps,
  as: ActivationKind = PLAIN,
): Promise<ActivationResult> {
  const { calibration, distribution, gate } = await loadForActivation(calibrationId, deps);
  const now = deps.now();
  const activationId = as.kind === "promotion_completed" ? as.activationId : newId("act", now, deps.random());

  return commitActivation<ActivationResult>(calibration.gate_id, deps, async (state) => {
    await refuseWhileCompleting(deps, calibration.gate_id, as.kind === "promotion_completed" ? as.promotion.id : null);
    if (as.kind === "activation" && isCurrent(calibration.id, state)) {
      const result: ActivationResult = { activation: null, seq: state.headSeq, alreadyCurrent: true, calibration, shift: null, warnings: [] };
      return { result, activated: null, warnings: result.warnings };
    }
    const { shift, warnings, previousCalibrationId } = await planActivation(calibration, distribution, state, deps);
    if (as.kind === "activation" && state.promotionOpen) warnings.push(promotionSupersededWarning(calibration.gate_id, state.openPromotionId));
    const activation: Activation = {
      id: activationId,
      gate_id: calibration.gate_id,
      index_version: calibration.index_version,
      calibration_id: calibration.id,
      previous_calibration_id: previousCalibrationId,
      activated_at: deps.now().toISOString(),
      actor,
      reason,
    };
    const served = withHeads(servedThreshold(gate, calibration, activation.activated_at), headsAfterActivation(state.heads, calibration.id));
    const event = activationEventBody(activation, state.headSeq, served, as);
    const seq = await deps.calibrations.append({ activation, event, shift }, state.headSeq);
    if (seq === null) return null;
    return {
      result: { activation, seq, alreadyCurrent: false, calibration, shift, warnings },
      activated: { calibration, shift, activation, event: withSeq(event, seq) },
      warnings,
    };
  });
}

/** The event of an activation row appended after the gate's row `prevSeq`: the activated calibration is served. */
export const activationEventBody = (activation: Activation, prevSeq: number, served: GateEvent["served"], as: ActivationKind = PLAIN) =>
  gateEventBody({
    gateId: activation.gate_id,
    kind: as.kind,
    prevSeq,
    at: activation.activated_at,
    actor: activation.actor,
    reason: activation.reason,
    calibrationId: activation.calibration_id,
    served,
    ...(as.kind === "promotion_completed" ? { promotion: as.promotion, details: as.details } : {}),
  });
