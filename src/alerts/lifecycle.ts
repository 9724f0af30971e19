/**
 * Alerts: raise (open or update the one unresolved alert of a gate and kind), list, acknowledge, resolve. Opening and
 * resolving emit webhook events (payload.ts); delivery is src/webhooks/delivery.ts's job.
 */

import { unknownGateError } from "../calibrations/gate-names";
import { type Alert, type AlertKind, type AlertOccurrence, type AlertQuery, DEFAULT_INDEX, type GateRef } from "../contract";
import { AppError } from "../platform/errors";
import { shownId } from "../platform/format";
import { cursorOf, seqOfCursor } from "../platform/http/cursor";
import { gateIdOf, newId } from "../platform/ids";
import type { AlertDeps, AlertListDeps } from "./deps";
import { alertPayload } from "./payload";
import type { AlertFilter } from "./store";

export interface AlertInput {
  readonly gate_id: string;
  readonly gate: { readonly index: string; readonly embedding: string; readonly reranker: string };
  readonly kind: AlertKind;
  /** One sentence that explains the alert to an on-call engineer (also the Slack text). */
  readonly summary: string;
  /** The numbers that justify it. */
  readonly details: Record<string, unknown>;
  readonly calibration_ids: readonly string[];
  /**
   * When the condition was detected (ISO), if before it is raised: the gate monitor's alarms wait in its outbox and
   * are raised moments (or, while D1 fails, retries) later. The alert's first_seen_at is then the detection, so the
   * monitor can tell its own alarm's numbers from an earlier alert's (src/monitoring/drift-state.ts). Default: now.
   */
  readonly detected_at?: string;
}

/** Opens or updates the alert, then tries to deliver its webhooks after the response. */
export async function raiseAlert(input: AlertInput, deps: AlertDeps): Promise<{ alert: Alert; opened: boolean }> {
  const result = await raiseCappedAlert(input, deps);
  if (result === null) throw new Error("an uncapped alert raise stored nothing");
  return result;
}

/** The record of an alert raised for the first time at `at`: open, seen once, nobody acknowledged or resolved it. */
export function openedAlert(id: string, input: Omit<AlertInput, "detected_at">, at: string): Alert {
  return {
    id,
    gate_id: input.gate_id,
    gate: { index: input.gate.index, embedding: input.gate.embedding, reranker: input.gate.reranker },
    kind: input.kind,
    status: "open",
    summary: input.summary,
    first_summary: input.summary,
    details: input.details,
    calibration_ids: [...input.calibration_ids],
    occurrences: 1,
    first_seen_at: at,
    last_seen_at: at,
    acknowledged_at: null,
    acknowledged_by: null,
    resolved_at: null,
    resolved_by: null,
    acknowledged_note: null,
    resolved_note: null,
  };
}

/**
 * Like raiseAlert, but opens a new alert only while fewer than `maxUnresolvedOfKind` of its kind are unresolved
 * (repeats of an unresolved one always count). Null when the cap refused it.
 */
export async function raiseCappedAlert(
  input: AlertInput,
  deps: AlertDeps,
  maxUnresolvedOfKind?: number,
): Promise<{ alert: Alert; opened: boolean } | null> {
  const now = deps.now();
  const at = input.detected_at ?? now.toISOString();
  const candidate = openedAlert(newId("alr", now, deps.random()), input, at);
  const result = await deps.alerts.raise(
    candidate,
    { id: `msg_${candidate.id}_opened`, type: "alert.opened", payload: alertPayload(candidate, "opened", at, deps.publicUrl) },
    maxUnresolvedOfKind,
  );
  if (result?.opened) deps.deliverWebhooks();
  return result;
}

/**
 * A page of matching alerts (newest opened first, or most urgent first with `order: "urgency"`) and the cursor of the
 * next page (null on the last): GET /v1/alerts and the dashboard's alert lists.
 */
export async function listAlertsPage(
  filter: Omit<AlertFilter, "before">,
  cursor: string | undefined,
  deps: AlertDeps,
): Promise<{ alerts: Alert[]; next_cursor: string | null }> {
  // The two orders number alerts differently: a cursor of one is no position in the other.
  const listing = filter.order === "urgency" ? "alerts-by-urgency" : "alerts";
  // A cursor names a position among the alerts these filters select: another filter's is refused.
  const scope = JSON.stringify([filter.gate_id ?? null, filter.index ?? null, filter.kind ?? null, filter.status ?? null]);
  const page = await deps.alerts.page({ ...filter, before: seqOfCursor(cursor, listing, scope) });
  return { alerts: page.items, next_cursor: page.next === null ? null : cursorOf(page.next, listing, scope) };
}

/**
 * GET /v1/alerts: a page of the alerts its query selects (AlertQuery has refused a gate named twice or by half). A
 * gate named by hand (embedding and reranker, index defaulting, or gate_id) may be mistyped: one nobody knows is a 404
 * with suggestions, not an all-clear. An index alone may be any (documented).
 */
export async function listAlertsByQuery(q: AlertQuery, deps: AlertListDeps): Promise<{ alerts: Alert[]; next_cursor: string | null }> {
  const filter = { kind: q.kind, status: q.status, limit: q.limit };
  if (q.embedding !== undefined && q.reranker !== undefined) {
    const gate = { index: q.index ?? DEFAULT_INDEX, embedding: q.embedding, reranker: q.reranker };
    return listGateAlertsPage(gate, { ...filter, gate_id: await gateIdOf(gate) }, q.cursor, deps);
  }
  if (q.gate_id !== undefined) return listGateAlertsPage(null, { ...filter, gate_id: q.gate_id }, q.cursor, deps);
  return listAlertsPage({ ...filter, index: q.index }, q.cursor, deps);
}

/**
 * listAlertsPage for a filter that names a gate completely (embedding and reranker, index defaulting). An empty first
 * page of a gate nobody knows (never calibrated, and no alert ever raised for it, as an uncalibrated_request alert is
 * for a gate that was never calibrated) is a mistyped name more often than an all-clear: it is the 404 a gate's
 * history answers, with the calibrated gates of similar names (gate-names.ts). A known gate with no alert is `[]`.
 */
export async function listGateAlertsPage(
  gate: GateRef | null,
  filter: Omit<AlertFilter, "before" | "gate_id" | "index"> & { readonly gate_id: string },
  cursor: string | undefined,
  deps: AlertListDeps,
): Promise<{ alerts: Alert[]; next_cursor: string | null }> {
  const page = await listAlertsPage(filter, cursor, deps);
  if (cursor !== undefined || page.alerts.length > 0) return page;
  const [known, anyAlert] = await Promise.all([deps.calibrations.gate(filter.gate_id), deps.alerts.list({ gate_id: filter.gate_id, limit: 1 })]);
  if (known === null && anyAlert.length === 0) {
    // named by its id (gate: null): no names to suggest others by
    throw gate === null
      ? new AppError("not_found", `gate ${shownId(filter.gate_id)} does not exist (GET /v1/gates lists the gates)`)
      : await unknownGateError(gate, deps.calibrations);
  }
  return page;
}

async function mustGet(id: string, deps: AlertDeps): Promise<Alert> {
  const alert = await deps.alerts.get(id);
  if (alert === null) throw new AppError("not_found", `alert ${shownId(id)} does not exist`);
  return alert;
}

/** A note as stored: trimmed, and null when nothing is left (a note of spaces says nothing). */
export function storedNote(note: string | null): string | null {
  const trimmed = note?.trim() ?? "";
  return trimmed === "" ? null : trimmed;
}

/**
 * Acknowledges an open alert. Acknowledging an acknowledged one changes nothing (its `acknowledged_at`, `_by` and
 * `_note` stay the first acknowledgement's) and answers the alert as stored, so a caller sees which note it keeps.
 */
export async function acknowledgeAlert(id: string, actor: string, note: string | null, deps: AlertDeps): Promise<Alert> {
  const alert = await mustGet(id, deps);
  if (alert.status === "resolved") throw new AppError("conflict", `alert ${id} is already resolved`);
  await deps.alerts.acknowledge(id, actor, deps.now().toISOString(), storedNote(note));
  return mustGet(id, deps);
}

/** A page of an alert's occurrences and the cursor of the next (null on the last). */
export interface AlertOccurrencesPage {
  readonly alert_id: string;
  readonly occurrences: AlertOccurrence[];
  readonly next_cursor: string | null;
}

/**
 * A page of the alert's occurrences, newest first (by `seq`, which only grows), from `cursor` on: GET
 * /v1/alerts/{id}/occurrences and the alert page. A cursor names a position among one alert's occurrences, so one
 * made for another alert (or by another listing) is a 400. 404 for an unknown alert.
 */
export async function alertOccurrencesPage(id: string, limit: number, cursor: string | undefined, deps: AlertDeps): Promise<AlertOccurrencesPage> {
  await mustGet(id, deps); // an unknown alert is 404 whatever the cursor
  return occurrencesPageOf(id, limit, cursor, deps);
}

/** {@link alertOccurrencesPage} for a caller that has just read the alert (the dashboard's alert page). */
export async function occurrencesPageOf(id: string, limit: number, cursor: string | undefined, deps: AlertDeps): Promise<AlertOccurrencesPage> {
  const before = seqOfCursor(cursor, "alert-occurrences", id);
  // One more than the page, to know whether another follows without a second query.
  const rows = await deps.alerts.occurrences(id, limit + 1, before);
  const occurrences = rows.slice(0, limit);
  const last = occurrences[occurrences.length - 1];
  return {
    alert_id: id,
    occurrences,
    next_cursor: rows.length > limit && last !== undefined ? cursorOf(last.seq, "alert-occurrences", id) : null,
  };
}

export async function resolveAlert(id: string, actor: string, given: string | null, deps: AlertDeps): Promise<Alert> {
  const alert = await mustGet(id, deps);
  if (alert.status === "resolved") return alert;
  const note = storedNote(given);
  const at = deps.now().toISOString();
  const resolved: Alert = { ...alert, status: "resolved", resolved_at: at, resolved_by: actor, resolved_note: note };
  await deps.alerts.resolve(
    id,
    actor,
    at,
    { id: `msg_${id}_resolved`, type: "alert.resolved", payload: alertPayload(resolved, "resolved", at, deps.publicUrl) },
    note,
  );
  deps.deliverWebhooks();
  return mustGet(id, deps);
}

/** What a person's acknowledge or resolve did: `changed` is false when the alert already was past it (nothing changed). */
export interface AlertActionOutcome {
  readonly alert: Alert;
  readonly changed: boolean;
}

/**
 * Acknowledges or resolves for a person who acted on a page that may be stale: an alert already resolved (or, to
 * acknowledge, already acknowledged) is left as it is and reported unchanged, with who did it and when, instead of a
 * 409 (acknowledge) or a silent success (resolve). Two people resolving at the same moment both read "changed".
 */
export async function actOnAlert(
  action: "acknowledge" | "resolve",
  id: string,
  actor: string,
  note: string | null,
  deps: AlertDeps,
): Promise<AlertActionOutcome> {
  const before = await mustGet(id, deps);
  if (before.status === "resolved" || (action === "acknowledge" && before.status === "acknowledged")) return { alert: before, changed: false };
  if (action === "resolve") return { alert: await resolveAlert(id, actor, note, deps), changed: true };
  try {
    return { alert: await acknowledgeAlert(id, actor, note, deps), changed: true };
  } catch (err) {
    // Resolved between the read and the acknowledgement.
    if (err instanceof AppError && err.code === "conflict") return { alert: await mustGet(id, deps), changed: false };
    throw err;
  }
}
