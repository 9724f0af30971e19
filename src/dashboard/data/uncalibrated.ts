/**
 * Gates services ask for that have no active calibration: the unresolved `uncalibrated_request` alerts, as the
 * overview lists them (a misspelt index is not a gate, so no gate row would ever show its alert), and the calibrated
 * gates of similar names an alert's details suggest, with the ids their gate pages are linked by.
 */
import type { Alert, GateRef } from "../../contract";
import { gateIdOf } from "../../platform/ids";
import { MAX_OPEN_UNCALIBRATED_ALERTS } from "../../platform/limits";
import type { DashboardDeps } from "../deps";

/** A calibrated gate an alert suggests ("did you mean"), with its gate page's id. */
export interface SuggestedGate {
  readonly gate: GateRef;
  readonly gate_id: string;
}

/** An unresolved uncalibrated_request alert, as the overview lists it. */
export interface UncalibratedAsk {
  readonly alert: Alert;
  readonly suggestions: readonly SuggestedGate[];
}

const isText = (x: unknown): x is string => typeof x === "string";

/**
 * The gates `details.suggestions` names (an array of { index, embedding, reranker }), each with its gate id; entries of
 * another shape are skipped (details are stored JSON: read, not trusted), none when the field is absent.
 */
export async function suggestionsOf(details: Readonly<Record<string, unknown>>): Promise<SuggestedGate[]> {
  const raw = details.suggestions;
  if (!Array.isArray(raw)) return [];
  const gates = raw.flatMap((s: unknown): GateRef[] => {
    if (typeof s !== "object" || s === null) return [];
    const { index, embedding, reranker } = s as Record<string, unknown>;
    return isText(index) && isText(embedding) && isText(reranker) ? [{ index, embedding, reranker }] : [];
  });
  return Promise.all(gates.map(async (gate) => ({ gate, gate_id: await gateIdOf(gate) })));
}

/**
 * Every unresolved uncalibrated_request alert (at most MAX_OPEN_UNCALIBRATED_ALERTS exist, the raise's cap), of the
 * index asked for when one is, most urgent first (open before acknowledged, newest first within each). One D1 read.
 */
export async function uncalibratedAsks(deps: DashboardDeps, indexFilter: string | undefined): Promise<UncalibratedAsk[]> {
  const alerts = await deps.alerts.list({ kind: "uncalibrated_request", order: "urgency", limit: MAX_OPEN_UNCALIBRATED_ALERTS });
  const shown = alerts.filter((a) => a.status !== "resolved" && (indexFilter === undefined || indexFilter === "" || a.gate.index === indexFilter));
  return Promise.all(shown.map(async (alert) => ({ alert, suggestions: await suggestionsOf(alert.details) })));
}
