/**
 * What the dashboard pages show, read through the feature services (registry, lifecycle, monitoring, delivery) and
 * typed by the contract: no storage access of its own. What a page shows a session is what the API shows a token of
 * the same scope: parts the API keeps from read tokens (webhook deliveries) are read only for sessions whose scope
 * the route table grants them.
 */

import { alertOccurrences, listAlertsPage } from "../alerts/lifecycle";
import { getCalibration, history, listGates } from "../calibrations/registry";
import {
  type Alert,
  type AlertKind,
  type AlertOccurrence,
  type AlertStatus,
  type Calibration,
  type Delivery,
  type DriftState,
  type GateSummary,
  type MonitorCoverage,
  type MonitorSeries,
  type MonitorWindow,
  type Promotion,
  ROUTES,
  type WindowRole,
  type WindowStatus,
} from "../contract";
import { driftState, isDriftKind } from "../monitoring/drift-state";
import { monitorSeries } from "../monitoring/series-report";
import { gateMonitorReport } from "../monitoring/status";
import { grants, type Principal } from "../platform/auth";
import { AppError } from "../platform/errors";
import { MAX_CONCURRENT_READS } from "../platform/limits";
import { mapLimit } from "../platform/map-limit";
import { listPromotions } from "../promotions/service";
import type { Distribution } from "../stats/distribution";
import { listDeliveries } from "../webhooks/delivery";
import type { DashboardDeps } from "./deps";

/** Gates not in alarm listed per overview page; every gate in alarm is listed on every page, before them. */
export const OVERVIEW_PAGE_SIZE = 50;

/**
 * Most gates whose monitor one overview load reads (an object call and three D1 reads each, well within the 1,000
 * subrequests of an invocation). Beyond it (only with more than 50 gates in alarm) a row in alarm shows its state
 * and alerts from D1, and its gate page has the rest.
 */
export const OVERVIEW_DETAIL_ROWS = 100;

/** Occurrences listed on an alert page, newest first (the API pages through more). */
export const ALERT_PAGE_OCCURRENCES = 50;

/**
 * Alerts per page of the alert list (/ui/alerts) and on a gate page. The lists are in the store's "urgency" order (open,
 * then acknowledged, then resolved; newest first within each) and page with GET /v1/alerts's cursors, so every alert
 * is reachable and an old open alert is never pushed out by newer ones. A gate has at most one unresolved alert per
 * kind, so its page lists all of its unresolved alerts on the first page.
 */
export const ALERT_LIST_PAGE_SIZE = 50;

/** A page of alerts as the dashboard lists them, and the cursor of the next page (null on the last). */
export interface AlertListView {
  readonly alerts: Alert[];
  readonly next_cursor: string | null;
}

/** One page of the alerts that match, most urgent first (see ALERT_LIST_PAGE_SIZE); a cursor it did not make is a 400. */
export async function alertList(
  filter: { gate_id?: string | undefined; index?: string | undefined; kind?: AlertKind | undefined; status?: AlertStatus | undefined },
  cursor: string | undefined,
  deps: DashboardDeps,
): Promise<AlertListView> {
  return listAlertsPage({ ...filter, limit: ALERT_LIST_PAGE_SIZE, order: "urgency" }, cursor, deps);
}

const SEVERITY: Record<AlertStatus, number> = { open: 0, acknowledged: 1, resolved: 2 };
const KIND_WEIGHT: Record<AlertKind, number> = {
  rebuild_shift: 0,
  drop_rate_drift: 0,
  empty_context: 1,
  uncalibrated_request: 2,
  recall_drift: 3,
  abstention_drift: 1,
  promotion_paused: 0,
  promotion_rolled_back: 0,
};

/** Most urgent first: open before acknowledged before resolved, drift and shifts before the rest, newest first. */
export function byUrgency(a: Alert, b: Alert): number {
  return SEVERITY[a.status] - SEVERITY[b.status] || KIND_WEIGHT[a.kind] - KIND_WEIGHT[b.kind] || b.last_seen_at.localeCompare(a.last_seen_at);
}

/** One monitor window (open or finished) as the pages show it. */
export interface WindowPoint {
  readonly calibration_id: string;
  readonly index_version: string;
  readonly started_at: string;
  readonly ends_at: string;
  readonly queries: number;
  readonly observed: number | null;
  readonly expected: number;
  readonly band: readonly [number, number];
  /** Alarms the calibration's detector raised in this window (it restarts at each). */
  readonly alarms: number;
  readonly empty_rate: number | null;
  /** Production's mean candidates per query, and how it compares with the calibration's (information only). */
  readonly mean_candidates: number | null;
  readonly candidates_change: WindowStatus["candidates_per_query"]["change"];
  /**
   * A min_keep gate's level (`empty_context_level`): `empty_rate` is then the share of queries where the guard bound
   * (the threshold alone left fewer than min(level, candidates)). null: queries left with nothing.
   */
  readonly empty_level: number | null;
  /** A min_keep gate's guard-binding test (the window's `empty_context` test at its level); null otherwise. */
  readonly guard: { readonly expected: number; readonly band: readonly [number, number] } | null;
  /** The abstention rate's test of an abstaining calibration (null otherwise), with the queries that reported it. */
  readonly abstention: {
    readonly observed: number | null;
    readonly expected: number;
    readonly band: readonly [number, number];
    readonly queries: number;
    readonly alarm: boolean;
  } | null;
  /** Whose traffic the window counted (src/monitoring/window-role.ts): only "active" is what the gate serves by default. */
  readonly role: WindowRole;
  readonly open: boolean;
}

export interface MonitorView {
  readonly points: WindowPoint[];
  /**
   * The coverage tests of the gate's recall calibrations, exactly as GET /v1/monitor reports them (its `recall`):
   * judged queries, observed coverage and its confidence sequence, the detector's evidence. Empty without judgments.
   */
  readonly recall: MonitorCoverage[];
  /** The gate's drift state (src/monitoring/drift-state.ts); null when the monitor could not be read. */
  readonly state: DriftState | null;
  readonly error: string | null;
}

function pointOf(w: MonitorWindow, open: boolean): WindowPoint {
  return {
    calibration_id: w.calibration_id,
    index_version: w.index_version,
    started_at: w.started_at,
    ends_at: w.ends_at,
    queries: w.queries,
    observed: w.drop_rate.observed,
    expected: w.drop_rate.expected,
    band: [w.drop_rate.band.lo, w.drop_rate.band.hi],
    alarms: w.alarms,
    empty_rate: w.queries > 0 ? w.empty_queries / w.queries : null,
    mean_candidates: w.mean_candidates,
    candidates_change: w.candidates_per_query.change,
    empty_level: w.empty_context_level ?? null,
    guard:
      (w.empty_context_level ?? 0) >= 1 && w.empty_context
        ? { expected: w.empty_context.expected, band: [w.empty_context.band.lo, w.empty_context.band.hi] }
        : null,
    abstention: w.abstention
      ? {
          observed: w.abstention.observed,
          expected: w.abstention.expected,
          band: [w.abstention.band.lo, w.abstention.band.hi],
          queries: w.abstention_queries ?? 0,
          alarm: w.abstention.alarm,
        }
      : null,
    role: w.role,
    open,
  };
}

/** The drift state in words, as every page shows it. */
export function stateWords(state: DriftState | null): string {
  return state === null ? "unknown" : state.state.replace("_", " ");
}

/** The monitor's windows as points (oldest first), its drift state, and the gate's unresolved alerts. */
async function monitorView(
  gate: Pick<GateSummary, "gate_id" | "current_calibration_id">,
  deps: DashboardDeps,
  detail: boolean,
): Promise<{ view: MonitorView; unresolved: Alert[] | null }> {
  try {
    const { status, unresolved } = await gateMonitorReport(gate.gate_id, deps, detail, gate.current_calibration_id);
    const points = [...status.history.map((w) => pointOf(w, false)), ...status.windows.map((w) => pointOf(w, true))];
    points.sort((a, b) => a.started_at.localeCompare(b.started_at));
    return { view: { points, recall: status.recall, state: status.state, error: null }, unresolved };
  } catch (e) {
    // A monitor that cannot be reached is shown, not thrown.
    return { view: { points: [], recall: [], state: null, error: e instanceof Error ? e.message : String(e) }, unresolved: null };
  }
}

export interface GateRowView {
  readonly gate: GateSummary;
  readonly current: GateSummary["active"][number] | null;
  readonly policy: Calibration["policy"] | null;
  /** The monitor's view, or null for a row shown from D1 alone (beyond OVERVIEW_DETAIL_ROWS). */
  readonly monitor: MonitorView | null;
  readonly state: DriftState | null;
  /** The gate's unresolved alerts, most urgent first (without ids for a row shown from D1 alone). */
  readonly alerts: readonly RowAlert[];
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
  /** This page of the other gates: those with open alerts first, then by name. */
  readonly rows: GateRowView[];
  readonly indexes: string[];
  readonly page: number;
  readonly pages: number;
  /** Gates matching the filter, in alarm or not. */
  readonly total: number;
}

/**
 * The overview: every gate in alarm, whatever their number, then one page of the others. Which gates are in alarm is
 * read from D1 for all gates at once (their unresolved drift alerts); each listed gate's monitor is read for its
 * numbers, up to OVERVIEW_DETAIL_ROWS per load. An alarm its monitor has decided but not yet stored in D1 (seconds,
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
  const name = (g: GateSummary) => `${g.index}/${g.embedding}/${g.reranker}`;
  const shown = gates.filter((g) => indexFilter === undefined || indexFilter === "" || g.index === indexFilter);
  const inAlarm = shown
    .filter((g) => openByGate.get(g.gate_id)?.some((o) => isDriftKind(o.kind)))
    .sort((a, b) => (d1State(b.gate_id).since ?? "").localeCompare(d1State(a.gate_id).since ?? "") || name(a).localeCompare(name(b)));
  const alarmed = new Set(inAlarm.map((g) => g.gate_id));
  const rest = shown
    .filter((g) => !alarmed.has(g.gate_id))
    .sort((a, b) => Number(openByGate.has(b.gate_id)) - Number(openByGate.has(a.gate_id)) || name(a).localeCompare(name(b)));
  const pages = Math.max(1, Math.ceil(rest.length / OVERVIEW_PAGE_SIZE));
  const p = Math.min(Math.max(1, page), pages);
  const onPage = rest.slice((p - 1) * OVERVIEW_PAGE_SIZE, p * OVERVIEW_PAGE_SIZE);

  const listed = [...inAlarm, ...onPage];
  const rows = await mapLimit(listed, MAX_CONCURRENT_READS, async (g, i): Promise<GateRowView> => {
    const current = g.active.find((a) => a.calibration_id === g.current_calibration_id) ?? null;
    const fromD1 = (openByGate.get(g.gate_id) ?? []).map((o) => ({ kind: o.kind, status: "open" as const }));
    if (i >= OVERVIEW_DETAIL_ROWS) return { gate: g, current, policy: null, monitor: null, state: d1State(g.gate_id), alerts: fromD1 };
    const [monitor, calibration] = await Promise.all([
      monitorView(g, deps, false),
      current === null ? Promise.resolve(null) : deps.calibrations.get(current.calibration_id),
    ]);
    return {
      gate: g,
      current,
      policy: calibration?.policy ?? null,
      monitor: monitor.view,
      state: monitor.view.state ?? d1State(g.gate_id),
      alerts: monitor.unresolved === null ? fromD1 : [...monitor.unresolved].sort(byUrgency),
    };
  });
  return { alarms: rows.slice(0, inAlarm.length), rows: rows.slice(inAlarm.length), indexes, page: p, pages, total: shown.length };
}

/** The two calibrations the gate page compares, older first, and which of them (if either) is served. */
export interface Comparison {
  readonly older: Calibration;
  readonly newer: Calibration;
  /** The rebuild decision between them: the newer one's shift report against the older one (null when none). */
  readonly shift: Calibration["shift"];
}

export interface GateView {
  readonly gate: GateSummary;
  readonly calibrations: Calibration[];
  readonly activations: Awaited<ReturnType<typeof history>>["activations"];
  readonly current: Calibration | null;
  readonly comparison: Comparison | null;
  readonly olderDist: Distribution | null;
  readonly newerDist: Distribution | null;
  /** The served calibration's distribution when there is no comparison (a gate with one calibration); null otherwise. */
  readonly currentDist: Distribution | null;
  readonly monitor: MonitorView;
  readonly series: MonitorSeries | null;
  /** The range the series covers: the one the request named, or the one the page chose (seriesInRange). */
  readonly range: SeriesRange;
  /** The first page of the gate's alerts (alertList): every unresolved one, then the newest resolved. */
  readonly alerts: AlertListView;
  /** The gate's most recent promotions (at most GATE_PAGE_PROMOTIONS), newest first, with their audit trails. */
  readonly promotions: Promotion[];
}

/** Promotions the gate page shows a timeline for. */
const GATE_PAGE_PROMOTIONS = 3;

/**
 * Which two calibrations the gate page compares: the rebuild the current calibration took part in, on either side,
 * so the page reads the same before and after a rollback ("0.4 drops 22 % of v1 and 59 % of v2" whichever is served):
 * the newest calibration whose shift report involves the current one (its own, or one that was compared with it);
 * else the current one and the calibration its activation replaced.
 */
async function comparisonOf(current: Calibration | null, h: Awaited<ReturnType<typeof history>>, deps: DashboardDeps): Promise<Comparison | null> {
  if (current === null) return null;
  const byNewest = [...h.calibrations].sort((a, b) => b.created_at.localeCompare(a.created_at));
  const rebuild = byNewest.find((c) => c.shift !== null && (c.id === current.id || c.shift.previous_calibration_id === current.id));
  const find = async (id: string) => h.calibrations.find((c) => c.id === id) ?? (await getCalibration(id, deps).catch(() => null));
  if (rebuild?.shift) {
    const older = await find(rebuild.shift.previous_calibration_id);
    if (older !== null) return { older, newer: rebuild, shift: rebuild.shift };
  }
  const replacedId = h.activations.find((a) => a.calibration_id === current.id)?.previous_calibration_id ?? null;
  const other = replacedId === null || replacedId === current.id ? null : await find(replacedId);
  if (other === null) return null;
  const [older, newer] = other.created_at <= current.created_at ? [other, current] : [current, other];
  return { older, newer, shift: newer.shift?.previous_calibration_id === older.id ? newer.shift : null };
}

/** The series ranges the gate page offers, in hours. */
export const SERIES_RANGES = { "24h": 24, "7d": 7 * 24, "30d": 30 * 24 } as const;
export type SeriesRange = keyof typeof SERIES_RANGES;

/** The range a gate page opens with when the request names none (a gate with less than a day of data: DATA_RANGE_SHORT). */
export const DEFAULT_SERIES_RANGE: SeriesRange = "7d";
/** The range a gate page opens with when all of the gate's data is younger than it: its hours are visible, not folded into the edge. */
export const DATA_RANGE_SHORT: SeriesRange = "24h";

/**
 * The series for the range asked for; with none asked for (`range` undefined), DEFAULT_SERIES_RANGE, narrowed to
 * DATA_RANGE_SHORT when neither the series nor the monitor's windows hold anything older than that (a gate a few hours
 * old would otherwise draw its hours as one dot at the right edge of 7 days). An explicit range is always kept.
 */
function seriesInRange(
  series: MonitorSeries | null,
  points: readonly WindowPoint[],
  range: SeriesRange | undefined,
  to: Date,
): { series: MonitorSeries | null; range: SeriesRange } {
  if (range !== undefined) return { series, range };
  const shortFrom = new Date(to.getTime() - SERIES_RANGES[DATA_RANGE_SHORT] * 3600 * 1000).toISOString();
  const starts = [...(series?.buckets ?? []).map((b) => b.start), ...points.map((p) => p.started_at)];
  if (series === null || starts.length === 0 || starts.some((s) => s < shortFrom)) return { series, range: DEFAULT_SERIES_RANGE };
  return { series: { ...series, from: shortFrom, activations: series.activations.filter((a) => a.at >= shortFrom) }, range: DATA_RANGE_SHORT };
}

/**
 * The gate page's data. `range` is the series range the request named; undefined lets the page choose
 * (seriesInRange), and GateView.range says which it chose.
 */
export async function gateView(gateId: string, deps: DashboardDeps, range: SeriesRange | undefined): Promise<GateView> {
  const gate = (await listGates(deps)).find((g) => g.gate_id === gateId);
  if (gate === undefined) throw new AppError("not_found", `gate ${gateId} does not exist`);
  const h = await history(gate, 50, undefined, deps);
  const current = h.calibrations.find((c) => c.current) ?? null;
  const comparison = await comparisonOf(current, h, deps);
  const to = deps.now();
  const from = new Date(to.getTime() - SERIES_RANGES[range ?? DEFAULT_SERIES_RANGE] * 3600 * 1000);
  const [olderDist, newerDist, currentDist, monitor, read, alerts, promotions] = await Promise.all([
    comparison === null ? null : deps.calibrations.distribution(comparison.older.id),
    comparison === null ? null : deps.calibrations.distribution(comparison.newer.id),
    comparison !== null || current === null ? null : deps.calibrations.distribution(current.id),
    monitorView(gate, deps, true),
    monitorSeries({ ...gate, from: from.toISOString(), to: to.toISOString() }, deps).catch(() => null),
    alertList({ gate_id: gateId }, undefined, deps),
    listPromotions(gateId, GATE_PAGE_PROMOTIONS, undefined, deps),
  ]);
  const shown = seriesInRange(read, monitor.view.points, range, to);
  return {
    gate,
    calibrations: h.calibrations,
    activations: h.activations,
    current,
    comparison,
    olderDist,
    newerDist,
    currentDist,
    monitor: monitor.view,
    series: shown.series,
    range: shown.range,
    alerts,
    promotions: promotions.promotions,
  };
}

export interface AlertView {
  readonly alert: Alert;
  /** Newest first, at most ALERT_PAGE_OCCURRENCES. */
  readonly occurrences: AlertOccurrence[];
  /** The alert's webhook deliveries; null when the session's scope may not read deliveries (the API's rule). */
  readonly deliveries: Delivery[] | null;
}

/** Deliveries have no alert filter in the store: the newest page is filtered here. */
const DELIVERY_SCAN = 100;

export async function alertView(id: string, principal: Principal, deps: DashboardDeps): Promise<AlertView> {
  const alert = await deps.alerts.get(id);
  if (alert === null) throw new AppError("not_found", `alert ${id} does not exist`);
  // The same scope as GET /v1/webhooks/deliveries: a read session sees no endpoint ids and no receivers' errors.
  const mayReadDeliveries = grants(principal.scope, ROUTES.listDeliveries.scope);
  const [occurrences, deliveries] = await Promise.all([
    alertOccurrences(id, ALERT_PAGE_OCCURRENCES, deps),
    mayReadDeliveries ? listDeliveries({ limit: DELIVERY_SCAN }, deps).then((all) => all.filter((d) => d.alert_id === id)) : null,
  ]);
  return { alert, occurrences, deliveries };
}
