/**
 * Read services for history and audit: calibrations with their derived active/current flags, gate listings.
 */

import type { Activation, Calibration, GateRef, GateSummary, ShiftReport, StoredCalibration } from "../contract";
import { AppError } from "../platform/errors";
import { cursorOf, seqOfCursor } from "../platform/http/cursor";
import { gateIdOf } from "../platform/ids";
import { activationShift } from "./activation-plan";
import type { RegistryDeps } from "./deps";
import { unknownGateError } from "./gate-names";
import { type RaisedShiftAlert, servedShift, wasNotActivated } from "./served-shift";
import { type ActiveRow, type ActiveSummary, currentOf, type GateRow } from "./store";

/** Max activations returned with a history page (and looked at for a calibration activated after its upload). */
const HISTORY_ACTIVATIONS = 100;

function withFlags(
  c: StoredCalibration,
  rows: readonly ActiveRow[],
  raised: ReadonlyMap<string, RaisedShiftAlert>,
  activated: ReadonlyMap<string, { readonly shift: ShiftReport | null }>,
): Calibration {
  const current = currentOf(rows);
  return {
    ...c,
    // Calibrations stored before labels existed have neither field.
    labels: c.labels ?? null,
    recall: c.recall ?? null,
    shift: servedShift(c, raised.get(c.id), activated.get(c.id)),
    active: rows.some((r) => r.calibration_id === c.id && r.index_version === c.index_version),
    current: current?.calibration_id === c.id,
  };
}

export async function getCalibration(id: string, deps: RegistryDeps): Promise<Calibration> {
  const c = await deps.calibrations.get(id);
  if (c === null) throw new AppError("not_found", `calibration ${id} does not exist`);
  return describe(c, deps);
}

/** Adds what is derived at read time to a stored calibration: its flags, and the shift that is true now. */
export async function describe(c: StoredCalibration, deps: RegistryDeps): Promise<Calibration> {
  const [rows, raised] = await Promise.all([deps.calibrations.activeRows(c.gate_id), deps.alerts.shiftAlertsRaisedBy(c.gate_id, [c.id])]);
  const activated = await activatedShifts(c.gate_id, [c], raised, null, deps);
  return withFlags(c, rows, raised, activated);
}

/**
 * The reports of the latest activation of each calibration whose stored report says "not_activated" and whose
 * activation raised no alert, when it has been activated since (served-shift.ts), recomputed as that activation
 * computed them. Only the gate's newest HISTORY_ACTIVATIONS activations are looked at (`log` when already read): an
 * activation older than that leaves the stored report.
 */
async function activatedShifts(
  gateId: string,
  items: readonly StoredCalibration[],
  raised: ReadonlyMap<string, RaisedShiftAlert>,
  log: readonly Activation[] | null,
  deps: RegistryDeps,
): Promise<ReadonlyMap<string, { readonly shift: ShiftReport | null }>> {
  const out = new Map<string, { readonly shift: ShiftReport | null }>();
  const stale = items.filter((c) => wasNotActivated(c) && !raised.has(c.id));
  if (stale.length === 0) return out;
  const activations = log ?? (await deps.calibrations.activations(gateId, HISTORY_ACTIVATIONS));
  for (const c of stale) {
    // newest first: the first is its latest activation, the next one the activation that made its predecessor current
    const i = activations.findIndex((a) => a.calibration_id === c.id);
    const a = activations[i];
    if (a === undefined) continue;
    if (a.previous_calibration_id === null || a.previous_calibration_id === c.id) {
      out.set(c.id, { shift: null });
      continue;
    }
    const distribution = await deps.calibrations.distribution(c.id);
    out.set(c.id, { shift: (await activationShift(c, distribution, a.previous_calibration_id, activations[i + 1], deps)).shift });
  }
  return out;
}

export interface HistoryResult {
  readonly gate_id: string;
  readonly calibrations: Calibration[];
  readonly activations: Activation[];
  readonly next_cursor: string | null;
}

export async function history(gate: GateRef, limit: number, cursor: string | undefined, deps: RegistryDeps): Promise<HistoryResult> {
  const gateId = await gateIdOf(gate);
  const before = seqOfCursor(cursor, "calibrations", gateId);
  const [page, rows, activations] = await Promise.all([
    deps.calibrations.history(gateId, limit, before),
    deps.calibrations.activeRows(gateId),
    cursor === undefined ? deps.calibrations.activations(gateId, HISTORY_ACTIVATIONS) : Promise.resolve([]),
  ]);
  // Every gate has at least one calibration (its first upload creates it): an empty first page is a gate that does
  // not exist, most often a mistyped name or a forgotten index, answered as such rather than as an empty history.
  if (cursor === undefined && page.items.length === 0) throw await unknownGateError(gate, deps.calibrations);
  const raised = await deps.alerts.shiftAlertsRaisedBy(
    gateId,
    page.items.map((c) => c.id),
  );
  const activated = await activatedShifts(gateId, page.items, raised, cursor === undefined ? activations : null, deps);
  return {
    gate_id: gateId,
    calibrations: page.items.map((c) => withFlags(c, rows, raised, activated)),
    activations,
    next_cursor: page.next === null ? null : cursorOf(page.next, "calibrations", gateId),
  };
}

/** Gates with their active calibrations, current first (one listing for the API and the dashboard). */
function summarize(gates: readonly GateRow[], rows: readonly ActiveSummary[]): GateSummary[] {
  const byGate = new Map<string, ActiveSummary[]>();
  for (const r of rows) byGate.set(r.gate_id, [...(byGate.get(r.gate_id) ?? []), r]);
  return gates.map((g) => {
    const mine = (byGate.get(g.gate_id) ?? []).sort((a, b) => b.activation_seq - a.activation_seq);
    return {
      ...g,
      current_calibration_id: currentOf(mine)?.calibration_id ?? null,
      active: mine.map((r) => ({
        index_version: r.index_version,
        calibration_id: r.calibration_id,
        threshold: r.threshold,
        expected_drop_rate: r.expected_drop_rate,
        activated_at: r.activated_at,
      })),
    };
  });
}

/** Every gate (the dashboard's overview reads them all; the API pages with listGatesPage). */
export async function listGates(deps: RegistryDeps): Promise<GateSummary[]> {
  const [gates, rows] = await Promise.all([deps.calibrations.gates(), deps.calibrations.activeSummaries()]);
  return summarize(gates, rows);
}

/** GET /v1/gates: a page of gates in creation order, and the cursor of the next page (null on the last). */
export async function listGatesPage(
  limit: number,
  cursor: string | undefined,
  deps: RegistryDeps,
): Promise<{ gates: GateSummary[]; next_cursor: string | null }> {
  const page = await deps.calibrations.gatePage(limit, seqOfCursor(cursor, "gates"));
  return { gates: summarize(page.gates, page.active), next_cursor: page.next === null ? null : cursorOf(page.next, "gates") };
}
