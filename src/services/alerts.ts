/**
 * Alerts: raise (open or update the one unresolved alert of a gate and kind), list, acknowledge, resolve. Opening and
 * resolving emit webhook events; delivery is webhooks.ts's job.
 */
import { AppError } from "../errors";
import type { Alert, AlertKind, AlertStatus } from "../schemas";
import type { AlertDeps } from "./deps";
import { newId } from "./ids";
import { deliverDue } from "./webhooks";

export interface AlertInput {
  readonly gate_id: string;
  readonly gate: { readonly index: string; readonly embedding: string; readonly reranker: string };
  readonly kind: AlertKind;
  /** One sentence that explains the alert to an on-call engineer (also the Slack text). */
  readonly summary: string;
  /** The numbers that justify it. */
  readonly details: Record<string, unknown>;
  readonly calibration_ids: readonly string[];
}

const TITLES: Record<AlertKind, string> = {
  rebuild_shift: "Rebuild shift",
  drop_rate_drift: "Drop-rate drift",
  empty_context: "Empty-context rate rising",
  uncalibrated_request: "Uncalibrated gate requested",
};

const EMOJI: Record<"opened" | "resolved", string> = { opened: ":rotating_light:", resolved: ":white_check_mark:" };

/** The webhook body for an alert event: Standard Webhooks' {type, timestamp, data} plus Slack's `text`. */
export function alertPayload(alert: Alert, event: "opened" | "resolved", at: string): string {
  const gate = `${alert.gate.index} / ${alert.gate.embedding} / ${alert.gate.reranker}`;
  const text =
    event === "opened"
      ? `${EMOJI.opened} *scoregate: ${TITLES[alert.kind]}* on \`${gate}\`\n${alert.summary}\nAlert ${alert.id} · calibrations ${alert.calibration_ids.join(", ") || "none"}`
      : `${EMOJI.resolved} *scoregate: resolved ${TITLES[alert.kind].toLowerCase()}* on \`${gate}\` (alert ${alert.id})`;
  return JSON.stringify({ type: `alert.${event}`, timestamp: at, text, data: alert });
}

/** Opens or updates the alert, then tries to deliver its webhooks after the response. */
export async function raiseAlert(input: AlertInput, deps: AlertDeps): Promise<{ alert: Alert; opened: boolean }> {
  const now = deps.now();
  const at = now.toISOString();
  const candidate: Alert = {
    id: newId("alr", now, deps.random()),
    gate_id: input.gate_id,
    gate: { index: input.gate.index, embedding: input.gate.embedding, reranker: input.gate.reranker },
    kind: input.kind,
    status: "open",
    summary: input.summary,
    details: input.details,
    calibration_ids: [...input.calibration_ids],
    occurrences: 1,
    first_seen_at: at,
    last_seen_at: at,
    acknowledged_at: null,
    acknowledged_by: null,
    resolved_at: null,
    resolved_by: null,
  };
  const result = await deps.alerts.raise(candidate, {
    id: `msg_${candidate.id}_opened`,
    type: "alert.opened",
    payload: alertPayload(candidate, "opened", at),
  });
  if (result.opened) deps.defer(deliverDue(deps));
  return result;
}

export async function listAlerts(
  filter: { gate_id?: string | undefined; kind?: AlertKind | undefined; status?: AlertStatus | undefined; limit: number },
  deps: AlertDeps,
): Promise<Alert[]> {
  return deps.alerts.list(filter);
}

async function mustGet(id: string, deps: AlertDeps): Promise<Alert> {
  const alert = await deps.alerts.get(id);
  if (alert === null) throw new AppError("not_found", `alert ${id} does not exist`);
  return alert;
}

export async function acknowledgeAlert(id: string, actor: string, deps: AlertDeps): Promise<Alert> {
  const alert = await mustGet(id, deps);
  if (alert.status === "resolved") throw new AppError("conflict", `alert ${id} is already resolved`);
  await deps.alerts.acknowledge(id, actor, deps.now().toISOString());
  return mustGet(id, deps);
}

export async function resolveAlert(id: string, actor: string, deps: AlertDeps): Promise<Alert> {
  const alert = await mustGet(id, deps);
  if (alert.status === "resolved") return alert;
  const at = deps.now().toISOString();
  const resolved: Alert = { ...alert, status: "resolved", resolved_at: at, resolved_by: actor };
  await deps.alerts.resolve(id, actor, at, { id: `msg_${id}_resolved`, type: "alert.resolved", payload: alertPayload(resolved, "resolved", at) });
  deps.defer(deliverDue(deps));
  return mustGet(id, deps);
}
