/**
 * What the dashboard pages show, read through the feature services (registry, lifecycle, observations, delivery) and
 * typed by the contract: no storage access of its own.
 */

import { listAlerts } from "../alerts/lifecycle";
import { getCalibration, history, listGates } from "../calibrations/registry";
import type { Alert, AlertKind, AlertStatus, Calibration, Delivery, GateSummary, MonitorStatus, WindowStatus } from "../contract";
import { monitorStatus } from "../monitoring/observations";
import { AppError } from "../platform/errors";
import type { Distribution } from "../stats/distribution";
import { listDeliveries } from "../webhooks/delivery";
import type { DashboardDeps } from "./deps";

/** Most gates the overview asks monitors about in one page load (one Durable Object call each). */
export const OVERVIEW_MAX_GATES = 200;

const SEVERITY: Record<AlertStatus, number> = { open: 0, acknowledged: 1, resolved: 2 };
const KIND_WEIGHT: Record<AlertKind, number> = {
  rebuild_shift: 0,
  drop_rate_drift: 0,
  empty_context: 1,
  uncalibrated_request: 2,
  recall_drift: 3,
  abstention_drift: 1,
};

/** Most urgent first: open before acknowledged before resolved, drift and shifts before the rest, newest first. */
export function byUrgency(a: Alert, b: Alert): number {
  return SEVERITY[a.status] - SEVERITY[b.status] || KIND_WEIGHT[a.kind] - KIND_WEIGHT[b.kind] || b.last_seen_at.localeCompare(a.last_seen_at);
}

/** One point of the production drop rate: a monitor window (open or finished), as the pages show it. */
export interface WindowPoint {
  readonly calibration_id: string;
  readonly index_version: string;
  readonly started_at: string;
  readonly ends_at: string;
  readonly queries: number;
  readonly observed: number | null;
  readonly expected: number;
  readonly band: readonly [number, number];
  readonly alarm: boolean;
  readonly empty_rate: number | null;
  /** Production's mean candidates per query, and how it compares with the calibration's (information only). */
  readonly mean_candidates: number | null;
  readonly candidates_change: WindowStatus["candidates_per_query"]["change"];
  readonly open: boolean;
}

export interface MonitorView {
  readonly points: WindowPoint[];
  /** The change detector's state in words: no observations, watching, or alarm (an open window alarmed). */
  readonly state: string;
  readonly error: string | null;
}

function pointOf(w: WindowStatus, open: boolean): WindowPoint {
  return {
    calibration_id: w.calibration_id,
    index_version: w.index_version,
    started_at: w.started_at,
    ends_at: w.ends_at,
    queries: w.queries,
    observed: w.drop_rate.observed,
    expected: w.drop_rate.expected,
    band: [w.drop_rate.band.lo, w.drop_rate.band.hi],
    alarm: w.drop_rate.alarm,
    empty_rate: w.queries > 0 ? w.empty_queries / w.queries : null,
    mean_candidates: w.mean_candidates,
    candidates_change: w.candidates_per_query.change,
    open,
  };
}

/** The detector state in words, from the open windows. */
export function detectorState(points: readonly WindowPoint[]): string {
  const open = points.filter((p) => p.open);
  if (open.length === 0) return "no observations";
  if (open.some((p) => p.alarm)) return "alarm";
  return "watching";
}

/** The monitor's windows as points, oldest first; a monitor that cannot be reached is shown, not thrown. */
export async function monitorView(gate: { index: string; embedding: string; reranker: string }, deps: DashboardDeps): Promise<MonitorView> {
  try {
    const status: MonitorStatus = await monitorStatus(gate, deps);
    const points = [...status.history.map((w) => pointOf(w, false)), ...status.windows.map((w) => pointOf(w, true))];
    points.sort((a, b) => a.started_at.localeCompare(b.started_at));
    return { points, state: detectorState(points), error: null };
  } catch (e) {
    return { points: [], state: "unknown", error: e instanceof Error ? e.message : String(e) };
  }
}

export interface GateRowView {
  readonly gate: GateSummary;
  readonly current: GateSummary["active"][number] | null;
  readonly policy: Calibration["policy"] | null;
  readonly monitor: MonitorView;
  readonly alerts: Alert[];
}

export async function overview(deps: DashboardDeps, indexFilter: string | undefined): Promise<{ rows: GateRowView[]; indexes: string[] }> {
  const [gates, alerts] = await Promise.all([listGates(deps), listAlerts({ limit: 100 }, deps)]);
  const indexes = [...new Set(gates.map((g) => g.index))].sort();
  const shown = gates.filter((g) => indexFilter === undefined || indexFilter === "" || g.index === indexFilter).slice(0, OVERVIEW_MAX_GATES);
  const rows = await Promise.all(
    shown.map(async (g) => {
      const current = g.active.find((a) => a.calibration_id === g.current_calibration_id) ?? null;
      const [monitor, calibration] = await Promise.all([
        monitorView(g, deps),
        current === null ? Promise.resolve(null) : deps.calibrations.get(current.calibration_id),
      ]);
      const mine = alerts.filter((a) => a.gate_id === g.gate_id && a.status !== "resolved").sort(byUrgency);
      return { gate: g, current, policy: calibration?.policy ?? null, monitor, alerts: mine };
    }),
  );
  rows.sort((a, b) => {
    const ua = a.alerts[0];
    const ub = b.alerts[0];
    if (ua && ub) return byUrgency(ua, ub);
    if (ua) return -1;
    if (ub) return 1;
    return `${a.gate.index}/${a.gate.embedding}/${a.gate.reranker}`.localeCompare(`${b.gate.index}/${b.gate.embedding}/${b.gate.reranker}`);
  });
  return { rows, indexes };
}

export interface GateView {
  readonly gate: GateSummary;
  readonly calibrations: Calibration[];
  readonly activations: Awaited<ReturnType<typeof history>>["activations"];
  readonly current: Calibration | null;
  /** What the current calibration is compared with: its shift report's previous calibration, else the one before it. */
  readonly previous: Calibration | null;
  readonly currentDist: Distribution | null;
  readonly previousDist: Distribution | null;
  readonly monitor: MonitorView;
  readonly alerts: Alert[];
}

export async function gateView(gateId: string, deps: DashboardDeps): Promise<GateView> {
  const gate = (await listGates(deps)).find((g) => g.gate_id === gateId);
  if (gate === undefined) throw new AppError("not_found", `gate ${gateId} does not exist`);
  const h = await history(gate, 50, undefined, deps);
  const current = h.calibrations.find((c) => c.current) ?? h.calibrations[0] ?? null;
  let previous: Calibration | null = null;
  const previousId =
    current?.shift?.previous_calibration_id ??
    h.activations.find((a) => a.calibration_id === current?.id)?.previous_calibration_id ??
    h.calibrations.find((c) => c.id !== current?.id)?.id ??
    null;
  if (previousId !== null && previousId !== current?.id) {
    previous = h.calibrations.find((c) => c.id === previousId) ?? (await getCalibration(previousId, deps).catch(() => null));
  }
  const [currentDist, previousDist, monitor, alerts] = await Promise.all([
    current === null ? null : deps.calibrations.distribution(current.id),
    previous === null ? null : deps.calibrations.distribution(previous.id),
    monitorView(gate, deps),
    listAlerts({ gate_id: gateId, limit: 100 }, deps),
  ]);
  return {
    gate,
    calibrations: h.calibrations,
    activations: h.activations,
    current,
    previous,
    currentDist,
    previousDist,
    monitor,
    alerts: alerts.sort(byUrgency),
  };
}

export interface AlertView {
  readonly alert: Alert;
  readonly deliveries: Delivery[];
  readonly gate_id: string;
}

/** Deliveries have no alert filter in the store: the newest page is filtered here. */
const DELIVERY_SCAN = 100;

export async function alertView(id: string, deps: DashboardDeps): Promise<AlertView> {
  const alert = await deps.alerts.get(id);
  if (alert === null) throw new AppError("not_found", `alert ${id} does not exist`);
  const deliveries = (await listDeliveries({ limit: DELIVERY_SCAN }, deps)).filter((d) => d.alert_id === id);
  return { alert, deliveries, gate_id: alert.gate_id };
}
