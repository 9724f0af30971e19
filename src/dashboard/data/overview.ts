/**
 * The overview's data: every gate in alarm, then every other gate with an unresolved alert, then one page of the
 * others, each with its monitor's numbers, read through the registry, the alert store and the monitoring report; and
 * the uncalibrated gates services keep asking for.
 */
import { listGates } from "../../calibrations/registry";
import { NO_SPLIT } from "../../calibrations/store";
import type { AlertKind, AlertStatus, Calibration, DriftState, GateSummary, ServedRollout } from "../../contract";
import { driftState, isDriftKind } from "../../monitoring/drift-state";
import { MAX_CONCURRENT_READS } from "../../platform/limits";
import { mapLimit } from "../../platform/map-limit";
import type { DashboardDeps } from "../deps";
import { byUrgency } from "./alerts";
import { type MonitorView, monitorView } from "./monitor-view";
import { type UncalibratedAsk, uncalibratedAsks } from "./uncalibrated";

/**
 * Gates without an unresolved alert listed per overview page; every gate in alarm or with an unresolved alert is listed
 * on every page, before them.
 */
export const OVERVIEW_PAGE_SIZE = 50;

/**
 * Most gates whose monitor one overview load reads (an object call and a few D1 reads each, well within the 1,000
 * subrequests of an invocation); their heads are read together, in one statement (at most D1_MAX_BOUND_PARAMETERS
 * gates). Beyond it (only with more than 50 gates in alarm or with unresolved alerts) a row shows its state and alerts
 * from D1, and its gate page has the rest.
 */
export const OVERVIEW_DETAIL_ROWS = 100;

export interface GateRowView {
  readonly gate: GateSummary;
  readonly current: GateSummary["active"][number] | null;
  readonly policy: Calibration["policy"] | null;
  /** The monitor's view, or null for a row shown from D1 alone (beyond OVERVIEW_DETAIL_ROWS). */
  readonly monitor: MonitorView | null;
  readonly state: DriftState | null;
  /** The gate's unresolved alerts, most urgent first (without ids for a row shown from D1 alone). */
  readonly alerts: readonly RowAlert[];
  /** The gate's open promotion and shadows, as its head holds them (null for a row shown from D1 alone). */
  readonly split: RowSplit | null;
}

/** What a gate serves besides its current calibration: what GET /v1/threshold's `rollout` and `shadows` say. */
export interface RowSplit {
  /** The running or paused promotion's split; null when none has reached the gate's head. */
  readonly rollout: ServedRollout | null;
  /** The number of steps in the rollout's plan, for "step 2 of 3" as the promotion page says it (null: no rollout, or its record not read). */
  readonly steps: number | null;
  /** Whether a promotion is open in its state of record (true from its start, before its split reaches the head). */
  readonly promotionOpen: boolean;
  readonly shadows: number;
}

/** An alert as an overview row lists it. */
export interface RowAlert {
  readonly kind: AlertKind;
  readonly status: AlertStatus;
  readonly id?: string;
}

export interface OverviewView {
  /** Every gate in alarm (newest alarm first), on every page. */
  readonly alarms: GateRowView[];
  /**
   * Every gate not in alarm with an unresolved (open or acknowledged) alert: a rolled-back or paused promotion, a
   * rebuild shift, ...; newest alert first, on every page.
   */
  readonly attention: GateRowView[];
  /** This page of the gates without unresolved alerts, by name (index, then embedding, then reranker). */
  readonly rows: GateRowView[];
  /** The unresolved uncalibrated_request alerts: gates services ask for that serve nothing (a misspelt index, ...). */
  readonly uncalibrated: UncalibratedAsk[];
  readonly indexes: string[];
  readonly page: number;
  readonly pages: number;
  /** Gates matching the filter, in alarm or not. */
  readonly total: number;
}

/** Gates by name as the page reads it: by index, then embedding, then reranker ("docs" before "docs-replay"). */
export const byGateName = (a: GateSummary, b: GateSummary): number =>
  a.index.localeCompare(b.index) || a.embedding.localeCompare(b.embedding) || a.reranker.localeCompare(b.reranker);

/**
 * The overview: every gate in alarm, whatever their number, then every other gate with an unresolved alert, then one
 * page of the others. Which gates are in alarm or have unresolved alerts is read from D1 for all gates at once; each
 * listed gate's monitor is read for its numbers, up to OVERVIEW_DETAIL_ROWS per load. An alarm its monitor has decided but not yet stored in D1 (seconds,
 * or a retry 30 s later) shows on the gate's row once the alert is stored, and on its gate page at once.
 */
export async function overview(deps: DashboardDeps, indexFilter: string | undefined, page: number): Promise<OverviewView> {
  const [gates, open] = await Promise.all([listGates(deps), deps.alerts.openCounts()]);
  const indexes = [...new Set(gates.map((g) => g.index))].sort();
  const openByGate = new Map<string, typeof open>();
  for (const o of open) openByGate.set(o.gate_id, [...(openByGate.get(o.gate_id) ?? []), o]);
  const d1State = (gateId: string): DriftState =>
    driftState({
      windows: [],
      recall: [],
      pending: [],
      unresolved: (openByGate.get(gateId) ?? []).map((o) => ({ kind: o.kind, since: o.since, id: null })),
    });
  const newestAlert = (gateId: string): string => (openByGate.get(gateId) ?? []).reduce((m, o) => (o.since > m ? o.since : m), "");
  const shown = gates.filter((g) => indexFilter === undefined || indexFilter === "" || g.index === indexFilter);
  const inAlarm = shown
    .filter((g) => openByGate.get(g.gate_id)?.some((o) => isDriftKind(o.kind)))
    .sort((a, b) => (d1State(b.gate_id).since ?? "").localeCompare(d1State(a.gate_id).since ?? "") || byGateName(a, b));
  const alarmed = new Set(inAlarm.map((g) => g.gate_id));
  const withAlerts = shown
    .filter((g) => !alarmed.has(g.gate_id) && openByGate.has(g.gate_id))
    .sort((a, b) => newestAlert(b.gate_id).localeCompare(newestAlert(a.gate_id)) || byGateName(a, b));
  const rest = shown.filter((g) => !openByGate.has(g.gate_id)).sort(byGateName);
  const pages = Math.max(1, Math.ceil(rest.length / OVERVIEW_PAGE_SIZE));
  const p = Math.min(Math.max(1, page), pages);
  const onPage = rest.slice((p - 1) * OVERVIEW_PAGE_SIZE, p * OVERVIEW_PAGE_SIZE);

  const listed = [...inAlarm, ...withAlerts, ...onPage];
  // The split and shadows each detailed row serves, the same as its gate page reads (gateState), for all of them at once.
  const [splits, uncalibrated] = await Promise.all([
    deps.calibrations.splits(listed.slice(0, OVERVIEW_DETAIL_ROWS).map((g) => g.gate_id)),
    // Only read when one is unresolved: the overview of a healthy deployment costs no extra D1 read.
    open.some((o) => o.kind === "uncalibrated_request") ? uncalibratedAsks(deps, indexFilter) : [],
  ]);
  const rows = await mapLimit(listed, MAX_CONCURRENT_READS, async (g, i): Promise<GateRowView> => {
    const current = g.active.find((a) => a.calibration_id === g.current_calibration_id) ?? null;
    const fromD1 = (openByGate.get(g.gate_id) ?? []).map((o) => ({ kind: o.kind, status: "open" as const }));
    if (i >= OVERVIEW_DETAIL_ROWS) return { gate: g, current, policy: null, monitor: null, state: d1State(g.gate_id), alerts: fromD1, split: null };
    const head = splits.get(g.gate_id) ?? NO_SPLIT;
    const rollout = head.heads.rollout;
    const [monitor, calibration, promotion] = await Promise.all([
      monitorView(g, deps, false),
      current === null ? Promise.resolve(null) : deps.calibrations.get(current.calibration_id),
      rollout === null ? Promise.resolve(null) : deps.promotions.get(rollout.promotion_id),
    ]);
    return {
      gate: g,
      current,
      policy: calibration?.policy ?? null,
      monitor: monitor.view,
      state: monitor.view.state ?? d1State(g.gate_id),
      alerts: monitor.unresolved === null ? fromD1 : [...monitor.unresolved].sort(byUrgency),
      split: { rollout, steps: promotion?.plan.steps.length ?? null, promotionOpen: head.promotionOpen, shadows: head.heads.shadows.length },
    };
  });
  const attentionEnd = inAlarm.length + withAlerts.length;
  return {
    alarms: rows.slice(0, inAlarm.length),
    attention: rows.slice(inAlarm.length, attentionEnd),
    rows: rows.slice(attentionEnd),
    uncalibrated,
    indexes,
    page: p,
    pages,
    total: shown.length,
  };
}
