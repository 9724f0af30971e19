/**
 * A `promotion_paused` alert asks on-call to resume the paused promotion or roll it back: once no promotion of the gate
 * is paused any more (it was resumed, advanced, rolled back, completed or superseded), it asks for nothing, and it is
 * resolved, with a note naming the transition that ended the pause (`promotion_rolled_back` is not: it asks to fix the
 * candidate, which no transition of the ended promotion does).
 *
 * Run by event-log.ts `settle` after the transition's event is logged and before its audit row gets its seq, so the
 * request that applied the transition resolves the alert before it answers, and the cron's repair
 * (`repairPromotionLog`) does when that request died in between: the transition and the alert are two features' rows,
 * written in two batches, and the audit row's missing seq is what makes the second one owed. Idempotent: an alert
 * already resolved is left as it is (its `alert.resolved` event id is the alert's, so a repeat emits none). The cron
 * also reconciles (`reconcilePausedAlerts`): an unresolved promotion_paused alert of a gate with no paused promotion
 * whose transitions are all settled (one left open by a promotion that ended before its pause's alert was resolved
 * this way) is resolved with the note its last transition would have written.
 */
import type { PromotionStepKind, PromotionStepRecord } from "../contract";
import { PROMOTIONS_PER_TICK } from "../platform/limits";
import type { PausedAlert, PromotionDeps } from "./deps";
import type { PromotionRow } from "./store";

/** The transitions that leave a paused promotion (or a running one: the alert of an earlier pause is owed too). */
const PAUSE_ENDS: ReadonlySet<PromotionStepKind> = new Set(["resumed", "advanced", "rolled_back", "completed", "superseded"]);

/** Whether an audit row of `kind` can end a pause, so its settling looks for the gate's promotion_paused alert. */
export const endsPause = (kind: PromotionStepKind): boolean => PAUSE_ENDS.has(kind);

/**
 * The alert's `resolved_note`: which promotion, what happened to it and who did it ("promotion prm_… was rolled back
 * by alice ("v2 hurt recall"): …"). Pure.
 */
export function pauseEndedNote(promotion: Pick<PromotionRow, "id" | "plan" | "candidate_calibration_id">, rec: PromotionStepRecord): string {
  const by = rec.cause === "admin" ? `by ${rec.actor}${rec.reason ? ` ("${rec.reason}")` : ""}` : `on its own (${rec.cause})`;
  const p = `promotion ${promotion.id}`;
  switch (rec.kind) {
    case "resumed":
      return `${p} was resumed ${by}: it runs step ${rec.step + 1} of ${promotion.plan.steps.length} again`;
    case "advanced":
      return `${p} was advanced ${by}: it runs step ${rec.step + 1} of ${promotion.plan.steps.length}`;
    case "rolled_back":
      return `${p} was rolled back ${by}: it has ended, and its candidate ${promotion.candidate_calibration_id} is served no more`;
    case "completed":
      return `${p} was completed ${by}: its candidate ${promotion.candidate_calibration_id} is served to all traffic`;
    case "superseded":
      return `${p} was superseded${rec.reason ? ` (${rec.reason})` : ""}: it has ended`;
    case "started":
    case "paused":
      throw new TypeError(`pauseEndedNote: a ${rec.kind} transition ends no pause`);
    default: {
      const never: never = rec.kind;
      throw new TypeError(`pauseEndedNote: ${String(never)}`);
    }
  }
}

/**
 * Resolves the gate's unresolved `promotion_paused` alert after `rec` (a transition in PAUSE_ENDS, the newest of its
 * promotion) moved `promotion` on, unless a promotion of the gate is paused now: that pause (this promotion paused
 * again since, or the gate's next promotion, whose pause counted a repeat on the same alert) still asks for the alert.
 */
export async function resolvePausedAlert(promotion: PromotionRow, rec: PromotionStepRecord, deps: PromotionDeps): Promise<void> {
  if (!endsPause(rec.kind)) throw new TypeError(`resolvePausedAlert: a ${rec.kind} transition ends no pause`);
  const alert = await deps.pausedAlerts.unresolved(promotion.gate_id);
  if (alert === null) return;
  const open = await deps.promotions.open(promotion.gate_id);
  if (open?.state === "paused") return;
  await deps.pausedAlerts.resolve(alert.id, rec.actor, pauseEndedNote(promotion, rec));
}

/**
 * What one reconciliation did: alerts resolved, and what failed (logged; the next tick retries): "promotion_paused
 * alert <id>", or "promotion_paused alerts" when they could not even be listed.
 */
export interface PausedAlertReconciliation {
  readonly resolved: number;
  readonly failed: string[];
}

/** Resolves one alert if nothing asks for it any more: true when it was resolved now. */
async function reconcileOne(alert: PausedAlert, deps: PromotionDeps): Promise<boolean> {
  const open = await deps.promotions.open(alert.gate_id);
  if (open?.state === "paused") return false;
  // The promotion its newest occurrence names (a repeat of the gate's next promotion's pause counts on an alert left
  // unresolved).
  const promotion = alert.promotion_id === null ? null : await deps.promotions.get(alert.promotion_id);
  if (promotion === null) {
    // No promotion to name (it cannot be read): the gate's pause is over all the same.
    await deps.pausedAlerts.resolve(alert.id, "promotion", "no promotion of the gate is paused any more");
    return true;
  }
  const last = (await deps.promotions.steps(promotion.id)).at(-1);
  // Not settled yet: the log's repair resolves it with its own transition (or it fails and the next tick retries).
  if (last === undefined || last.seq === null) return false;
  if (!endsPause(last.kind)) {
    await deps.pausedAlerts.resolve(
      alert.id,
      "promotion",
      `no promotion of the gate is paused any more (promotion ${promotion.id} is ${promotion.state})`,
    );
    return true;
  }
  await deps.pausedAlerts.resolve(alert.id, last.actor, pauseEndedNote(promotion, last));
  return true;
}

/**
 * The cron's reconciliation: every unresolved promotion_paused alert (at most PROMOTIONS_PER_TICK open and as many
 * acknowledged; they are few, one per gate at most) whose gate has no paused promotion is resolved, named after the
 * last transition of the promotion it asks about. Run after the log's repair, so an alert an unsettled transition owes
 * is resolved by that transition first.
 */
export async function reconcilePausedAlerts(deps: PromotionDeps): Promise<PausedAlertReconciliation> {
  let resolved = 0;
  const failed: string[] = [];
  let unresolved: PausedAlert[];
  try {
    unresolved = await deps.pausedAlerts.allUnresolved(PROMOTIONS_PER_TICK);
  } catch (e) {
    console.error("listing the promotion_paused alerts failed; the next tick tries again", e);
    return { resolved, failed: ["promotion_paused alerts"] };
  }
  for (const alert of unresolved) {
    try {
      if (await reconcileOne(alert, deps)) resolved++;
    } catch (e) {
      failed.push(`promotion_paused alert ${alert.id}`);
      console.error(`resolving the promotion_paused alert ${alert.id} failed; the next tick tries again`, e);
    }
  }
  return { resolved, failed };
}
