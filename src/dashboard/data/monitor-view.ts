/**
 * A gate's monitor as the pages read it: its windows as points, its recall tests and its drift state, read through
 * the monitoring report (the numbers GET /v1/monitor gives), never thrown: a monitor that cannot be reached is shown.
 */
import type { AlarmedRate, Alert, DriftState, GateSummary, MonitorCoverage, MonitorWindow, WindowRole, WindowStatus } from "../../contract";
import { gateMonitorReport } from "../../monitoring/status";
import type { DashboardDeps } from "../deps";

/** One monitor window (open or finished) as the pages show it. */
export interface WindowPoint {
  readonly calibration_id: string;
  readonly index_version: string;
  readonly started_at: string;
  readonly ends_at: string;
  readonly queries: number;
  /**
   * The window's scored candidates (what its tests read) and those services reported without a score (GET /v1/monitor's
   * `candidates` and `unscored_candidates`; 0 in windows recorded before they were counted).
   */
  readonly candidates: number;
  readonly unscored: number;
  readonly observed: number | null;
  readonly expected: number;
  readonly band: readonly [number, number];
  /**
   * A stratified drop-rate test's coverage (a guarded calibration: `strata_tested`, `strata_total`, `tested_share` of
   * GET /v1/monitor). `expected` and `band` are then the detector's for the query sizes production sent since it last
   * restarted, not the calibration's own rate: they move with production's mix of sizes. null for a pooled test, whose
   * `expected` is the calibration's own.
   */
  readonly strata: { readonly tested: number; readonly total: number; readonly tested_share: number | null } | null;
  /**
   * A stratified test's expectation and band for the window's own query sizes (GET /v1/monitor's
   * `drop_rate.expected_window`, `band_window`): what the window's `observed` compares with, where `expected` (the
   * detector's, since its last reset) can cover other queries. null for a pooled test (there they are `expected`), a
   * window with nothing to weigh yet, and windows recorded before the monitor reported it.
   */
  readonly window: { readonly expected: number; readonly band: readonly [number, number] } | null;
  /**
   * The drop-rate test as it stood at its alarm, while the alert it raised stands (GET /v1/monitor's
   * `drop_rate.alarmed`): `expected`, `band` and `strata` above are then the restarted detector's. null otherwise.
   */
  readonly alarmed: {
    readonly at: string;
    readonly expected: number;
    readonly band: readonly [number, number];
    /** The window's rate and queries then, and the rate over the evidence's latest queries (null when not reported). */
    readonly observed: number | null;
    readonly queries: number;
    readonly latest: { readonly observed: number; readonly queries: number } | null;
  } | null;
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
    /** Stratified (the calibration kept its abstention per query size): `expected` is for production's sizes. */
    readonly stratified: boolean;
    /**
     * A stratified test's expectation and band for the window's own query sizes (`abstention.expected_window`,
     * `band_window`): what the window's `observed` compares with. null for a pooled test and before it was reported.
     */
    readonly window: { readonly expected: number; readonly band: readonly [number, number] } | null;
    /**
     * A stratified test's share of production's queries (that reported abstention, since the detector's reset) in
     * sizes it tests (`abstention.tested_share`); null for a pooled test or before any query was weighed.
     */
    readonly tested_share: number | null;
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

function alarmedOf(a: AlarmedRate | null): WindowPoint["alarmed"] {
  if (a === null) return null;
  return {
    at: a.at,
    expected: a.expected,
    band: [a.band.lo, a.band.hi],
    observed: a.observed,
    queries: a.queries,
    latest: a.evidence_observed != null && a.evidence_queries !== null ? { observed: a.evidence_observed, queries: a.evidence_queries } : null,
  };
}

function pointOf(w: MonitorWindow, open: boolean): WindowPoint {
  return {
    calibration_id: w.calibration_id,
    index_version: w.index_version,
    started_at: w.started_at,
    ends_at: w.ends_at,
    queries: w.queries,
    candidates: w.candidates,
    unscored: w.unscored_candidates ?? 0,
    observed: w.drop_rate.observed,
    expected: w.drop_rate.expected,
    band: [w.drop_rate.band.lo, w.drop_rate.band.hi],
    strata:
      w.drop_rate.strata_tested === undefined
        ? null
        : { tested: w.drop_rate.strata_tested, total: w.drop_rate.strata_total ?? 0, tested_share: w.drop_rate.tested_share ?? null },
    window:
      w.drop_rate.expected_window != null && w.drop_rate.band_window != null
        ? { expected: w.drop_rate.expected_window, band: [w.drop_rate.band_window.lo, w.drop_rate.band_window.hi] }
        : null,
    alarmed: alarmedOf(w.drop_rate.alarmed ?? null),
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
          stratified: w.abstention.strata_tested !== undefined,
          window:
            w.abstention.expected_window != null && w.abstention.band_window != null
              ? { expected: w.abstention.expected_window, band: [w.abstention.band_window.lo, w.abstention.band_window.hi] }
              : null,
          tested_share: w.abstention.tested_share ?? null,
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
export async function monitorView(
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
