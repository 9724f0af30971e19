/**
 * The gate page's data: the calibrations it compares, their distributions, the monitor, the hourly series over the
 * chosen range, the gate's alerts and promotions, read through the registry, the monitoring reports and the
 * promotion service.
 */
import { getCalibration, history, listGates } from "../../calibrations/registry";
import type { Calibration, GateSummary, MonitorSeries, Promotion, ServedShadow } from "../../contract";
import { monitorSeries } from "../../monitoring/series-report";
import { AppError } from "../../platform/errors";
import { shownId } from "../../platform/format";
import { getPromotion, listPromotions } from "../../promotions/service";
import type { Distribution } from "../../stats/distribution";
import type { DashboardDeps } from "../deps";
import { type AlertListView, alertList } from "./alerts";
import { logForRange } from "./gate-log";
import { type MonitorView, monitorView, type WindowPoint } from "./monitor-view";
import { rangeTraffic, type TrafficSpan } from "./traffic-spans";

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
  /** How many promotions the gate has had (countPromotions): the page says so when it shows fewer. */
  readonly promotionCount: PromotionCount;
  /** The promotion a link named (`?promotion=`) when it is not among `promotions`; null when none was named or it is. */
  readonly askedPromotion: AskedPromotion | null;
  /**
   * The latest promotion of the comparison's newer calibration when it is older than `promotions` (among the gate's
   * newest PROMOTIONS_COUNTED): the rebuild decision's line about its rollback reads it. Null otherwise (it is among
   * `promotions`, or there is none).
   */
  readonly rebuildPromotion: Promotion | null;
  /** The calibrations in the gate's shadow set now (its head: what GET /v1/threshold serves), by id. */
  readonly shadows: string[];
  /** The same shadows with their sample rates, as GET /v1/threshold serves them. */
  readonly shadowSet: readonly ServedShadow[];
  /**
   * Which traffic each calibration had, and when, from the log rows covering the series' range (gate-log.ts,
   * traffic-spans.ts): names the series' hours.
   */
  readonly traffic: TrafficSpan[];
}

/** Promotions the gate page shows a timeline for (besides one a link names: AskedPromotion). */
export const GATE_PAGE_PROMOTIONS = 3;

/** The most promotions of a gate the page counts (one D1 read of their rows); beyond it, "more than". */
export const PROMOTIONS_COUNTED = 100;

/** How many promotions a gate has had: `total` of them, or more than `total` when `more`. */
export interface PromotionCount {
  readonly total: number;
  readonly more: boolean;
}

/**
 * The promotion a link to the gate page named (`?promotion=prm_...`: the alert page's, the overview's): its timeline
 * when it is the gate's and older than the newest GATE_PAGE_PROMOTIONS (`older`); otherwise why the page cannot show
 * it (`missing`: no such promotion; `other_gate`: another gate's, with that gate when it is listed). Null (no
 * AskedPromotion) when none was named or it is among the newest, already shown.
 */
export type AskedPromotion =
  | { readonly kind: "older"; readonly promotion: Promotion }
  | { readonly kind: "missing"; readonly id: string }
  | { readonly kind: "other_gate"; readonly id: string; readonly gate: GateSummary | null };

/**
 * The promotion `id` a link named, read by id from the promotion store: null when it is among `shown` (the newest,
 * on the page already); a missing or another gate's promotion is said, never an error.
 */
async function askedPromotion(
  id: string,
  gateId: string,
  shown: Promise<{ promotions: readonly Promotion[] }>,
  gates: readonly GateSummary[],
  deps: DashboardDeps,
): Promise<AskedPromotion | null> {
  const row = await deps.promotions.get(id);
  if (row === null) return { kind: "missing", id };
  if (row.gate_id !== gateId) return { kind: "other_gate", id, gate: gates.find((g) => g.gate_id === row.gate_id) ?? null };
  if ((await shown).promotions.some((p) => p.id === id)) return null;
  return { kind: "older", promotion: await getPromotion(id, deps) };
}

/**
 * Which two calibrations the gate page compares: the rebuild the current calibration took part in, on either side,
 * so the page reads the same before and after a rollback ("0.4 drops 22 % of v1 and 59 % of v2" whichever is served).
 * Of the calibrations whose shift report involves the current one (its own, or one that was compared with it): the one
 * the current calibration's latest activation replaced (rolled back from); else the newest that took traffic (served
 * by an activation, a promotion's candidate, a shadow now; the current one's own report counts, it is served); else the
 * newest. A later upload stored and never served (activate: false) so never hides the rebuild that was served and
 * rolled back. Without any such report: the current one and the calibration its activation replaced.
 */
async function comparisonOf(
  current: Calibration | null,
  h: Awaited<ReturnType<typeof history>>,
  tried: ReadonlySet<string>,
  deps: DashboardDeps,
): Promise<Comparison | null> {
  if (current === null) return null;
  const byNewest = [...h.calibrations].sort((a, b) => b.created_at.localeCompare(a.created_at));
  const involving = byNewest.filter((c) => c.shift !== null && (c.id === current.id || c.shift.previous_calibration_id === current.id));
  const replacedId = h.activations.find((a) => a.calibration_id === current.id)?.previous_calibration_id ?? null;
  const servedOnce = new Set(h.activations.map((a) => a.calibration_id));
  const rebuild =
    involving.find((c) => c.id !== current.id && c.id === replacedId) ??
    involving.find((c) => c.id === current.id || servedOnce.has(c.id) || tried.has(c.id)) ??
    involving[0];
  const find = async (id: string) => h.calibrations.find((c) => c.id === id) ?? (await getCalibration(id, deps).catch(() => null));
  if (rebuild?.shift) {
    const older = await find(rebuild.shift.previous_calibration_id);
    if (older !== null) return { older, newer: rebuild, shift: rebuild.shift };
  }
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
 * The series range a query names (`?range=`, on the gate page and its series.csv): one of SERIES_RANGES' own keys, else
 * undefined (none named, or an unknown one: the caller's default). Own keys only, so "toString", "constructor" or
 * "__proto__" are unknown ranges, not Object.prototype's members (whose hours would be NaN: an invalid date).
 */
export function seriesRangeOf(raw: string | undefined): SeriesRange | undefined {
  return raw !== undefined && Object.hasOwn(SERIES_RANGES, raw) ? (raw as SeriesRange) : undefined;
}

/** When a range's hours start, ending at `to` (ISO 8601). */
export function rangeStart(range: SeriesRange, to: Date): string {
  return new Date(to.getTime() - SERIES_RANGES[range] * 3600 * 1000).toISOString();
}

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
  const shortFrom = rangeStart(DATA_RANGE_SHORT, to);
  const starts = [...(series?.buckets ?? []).map((b) => b.start), ...points.map((p) => p.started_at)];
  if (series === null || starts.length === 0 || starts.some((s) => s < shortFrom)) return { series, range: DEFAULT_SERIES_RANGE };
  return { series: { ...series, from: shortFrom, activations: series.activations.filter((a) => a.at >= shortFrom) }, range: DATA_RANGE_SHORT };
}

/**
 * The gate page's data. `range` is the series range the request named; undefined lets the page choose
 * (seriesInRange), and GateView.range says which it chose. `promotionId` is the promotion a link named (AskedPromotion).
 */
export async function gateView(gateId: string, deps: DashboardDeps, range: SeriesRange | undefined, promotionId?: string): Promise<GateView> {
  const gates = await listGates(deps);
  const gate = gates.find((g) => g.gate_id === gateId);
  if (gate === undefined) throw new AppError("not_found", `gate ${shownId(gateId)} does not exist`);
  const h = await history(gate, 50, undefined, deps);
  const current = h.calibrations.find((c) => c.current) ?? null;
  const to = deps.now();
  const from = rangeStart(range ?? DEFAULT_SERIES_RANGE, to);
  const promotionsRead = listPromotions(gateId, GATE_PAGE_PROMOTIONS, undefined, deps);
  // The rows of the gate's newest PROMOTIONS_COUNTED promotions, read only when it has more than the page shows: how
  // many it has had, and the newer calibration's latest promotion when it is older than those shown.
  const rowsRead = promotionsRead.then((p) => (p.next_cursor === null ? null : deps.promotions.list(gateId, PROMOTIONS_COUNTED, null)));
  const countRead = Promise.all([promotionsRead, rowsRead]).then(
    ([p, rows]): PromotionCount =>
      rows === null ? { total: p.promotions.length, more: false } : { total: rows.rows.length, more: rows.next !== null },
  );
  const askedRead = promotionId === undefined ? null : askedPromotion(promotionId, gateId, promotionsRead, gates, deps);
  const stateRead = deps.calibrations
    .gateState(gateId)
    .then(async (s) => ({ ...s, log: await logForRange(gateId, from, s.headSeq, deps.calibrations) }));
  // The comparison needs to know which calibrations took traffic (promotions' candidates, among the newest
  // PROMOTIONS_COUNTED when the gate has more than the page shows; shadows); the rest of the reads do not wait for it.
  const compared = Promise.all([promotionsRead, rowsRead, stateRead]).then(async ([p, rows, s]) => {
    const candidates = (rows?.rows ?? p.promotions).map((x) => x.candidate_calibration_id);
    const tried = new Set([...candidates, ...s.heads.shadows.map((x) => x.calibration_id)]);
    const comparison = await comparisonOf(current, h, tried, deps);
    const [olderDist, newerDist, currentDist] = await Promise.all([
      comparison === null ? null : deps.calibrations.distribution(comparison.older.id),
      comparison === null ? null : deps.calibrations.distribution(comparison.newer.id),
      comparison !== null || current === null ? null : deps.calibrations.distribution(current.id),
    ]);
    return { comparison, olderDist, newerDist, currentDist };
  });
  const rebuildRead = Promise.all([compared, promotionsRead, rowsRead]).then(async ([{ comparison }, p, rows]) => {
    const newer = comparison?.newer.id;
    if (newer === undefined || rows === null || p.promotions.some((x) => x.candidate_calibration_id === newer)) return null;
    const row = rows.rows.find((r) => r.candidate_calibration_id === newer);
    return row === undefined ? null : getPromotion(row.id, deps);
  });
  const [{ comparison, olderDist, newerDist, currentDist }, monitor, read, alerts, promotions, state, promotionCount, asked, rebuildPromotion] =
    await Promise.all([
      compared,
      monitorView(gate, deps, true),
      monitorSeries({ ...gate, from, to: to.toISOString() }, deps).catch(() => null),
      alertList({ gate_id: gateId }, undefined, deps),
      promotionsRead,
      stateRead,
      countRead,
      askedRead,
      rebuildRead,
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
    promotionCount,
    askedPromotion: asked,
    rebuildPromotion,
    shadows: state.heads.shadows.map((s) => s.calibration_id),
    shadowSet: state.heads.shadows,
    traffic: rangeTraffic(state.log),
  };
}
