/**
 * GET /v1/monitor: a gate's drift windows from its monitor (the GateMonitor Durable Object), each open window's score
 * sample compared with its calibration, and the gate's drift state (drift-state.ts) from the monitor and the gate's
 * unresolved alerts. The dashboard reads the same report.
 */

import { DISTRIBUTION_KNOTS } from "../calibrations/fit";
import { unknownGateError } from "../calibrations/gate-names";
import { type Alert, AlertKind, type GateRef, type MonitorStatus } from "../contract";
import { gateIdOf } from "../platform/ids";
import { buildDistribution } from "../stats/distribution";
import { countBelow, sortedCopy } from "../stats/order-statistics";
import { ksDistance } from "../stats/shift";
import type { MonitorStatusDeps } from "./deps";
import { driftState, standingCoverage, standingWindow } from "./drift-state";
import type { SnapshotWindow } from "./monitor-contract";
import { monitorCoverage, monitorWindow } from "./window-role";

/**
 * The windows the gate's drift state reads: those of served traffic only. A shadow's window (mirrored queries, never
 * alerting) and a promotion's candidate arm (whose alarm is its promotion's) say nothing about what the gate serves:
 * a gate whose only armed detector is a shadow's is not "watching".
 */
export const gateWindows = <W extends Pick<SnapshotWindow, "traffic">>(windows: readonly W[]): W[] => windows.filter((w) => w.traffic === "served");

/** Fewest sampled scores for which the sample is compared with the calibration. */
export const MIN_SCORE_SAMPLE = 50;

/** The id of a gate that has been calibrated; 404 otherwise (a name typo must not create a Durable Object). */
export async function existingGateId(gate: GateRef, deps: Pick<MonitorStatusDeps, "calibrations">): Promise<string> {
  const gateId = await gateIdOf(gate);
  // named with the calibrated gates of similar names, as the threshold and history 404s name them
  if ((await deps.calibrations.gate(gateId)) === null) throw await unknownGateError(gate, deps.calibrations);
  return gateId;
}

/** The gate's unresolved (open and acknowledged) alerts, newest first: at most one of each kind, so two small reads. */
export async function unresolvedAlerts(gateId: string, deps: Pick<MonitorStatusDeps, "alerts">): Promise<Alert[]> {
  const limit = AlertKind.options.length;
  const [open, acknowledged] = await Promise.all([
    deps.alerts.list({ gate_id: gateId, status: "open", limit }),
    deps.alerts.list({ gate_id: gateId, status: "acknowledged", limit }),
  ]);
  return [...open, ...acknowledged].sort((a, b) => b.first_seen_at.localeCompare(a.first_seen_at));
}

/**
 * A calibrated gate's monitor status with its drift state, and its unresolved alerts (which the dashboard lists too).
 * `detail` false skips the history and the score samples (the dashboard's overview: one object call, two D1 reads).
 */
export async function gateMonitorReport(
  gateId: string,
  deps: MonitorStatusDeps,
  detail = true,
  current?: string | null,
): Promise<{ status: MonitorStatus; unresolved: Alert[] }> {
  const [{ samples, pending_alerts, ...snapshot }, unresolved, currentId] = await Promise.all([
    deps.monitor.status(gateId, deps.now().getTime(), deps.drift, detail),
    unresolvedAlerts(gateId, deps),
    current !== undefined ? current : deps.calibrations.gateState(gateId).then((s) => s.rows[0]?.calibration_id ?? null),
  ]);
  const state = driftState({
    windows: gateWindows(snapshot.windows),
    recall: snapshot.recall,
    pending: pending_alerts,
    unresolved: unresolved.map((a) => ({ kind: a.kind, since: a.first_seen_at, id: a.id })),
    currentCalibrationId: currentId,
  });
  const windows = await Promise.all(
    snapshot.windows.map(async (sw) => {
      const w = monitorWindow(standingWindow(sw, state.alerts), currentId);
      const sample = samples[w.calibration_id] ?? [];
      // A candidate arm keeps no score sample (the calibration's sample is its shadow window's, if any).
      if (w.role === "candidate" || sample.length < MIN_SCORE_SAMPLE) return w;
      const [c, dist] = await Promise.all([deps.calibrations.get(w.calibration_id), deps.calibrations.distribution(w.calibration_id)]);
      if (c === null || dist === null) return w;
      const sorted = sortedCopy(sample);
      return {
        ...w,
        score_sample: {
          ...w.score_sample,
          drop_rate_at_threshold: c.threshold === null ? 0 : countBelow(sorted, c.threshold) / sorted.length,
          ks: ksDistance(buildDistribution(sorted, DISTRIBUTION_KNOTS), dist),
        },
      };
    }),
  );
  const history = snapshot.history.map((w) => monitorWindow(standingWindow(w, state.alerts), currentId));
  const recall = snapshot.recall.map((r) => monitorCoverage(standingCoverage(r, state.alerts), currentId));
  return { status: { ...snapshot, state, windows, history, recall }, unresolved };
}

/** GET /v1/monitor: the report of a gate named by its fields (404 for a gate never calibrated). */
export async function monitorReport(gate: GateRef, deps: MonitorStatusDeps): Promise<{ status: MonitorStatus; unresolved: Alert[] }> {
  return gateMonitorReport(await existingGateId(gate, deps), deps);
}

export async function monitorStatus(gate: GateRef, deps: MonitorStatusDeps): Promise<MonitorStatus> {
  return (await monitorReport(gate, deps)).status;
}
