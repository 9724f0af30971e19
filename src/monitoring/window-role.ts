/**
 * Whose numbers a monitor entry holds (contract/monitoring.ts WindowRole): the monitor knows the traffic a window
 * counted (served, shadow, a promotion's candidate arm); D1 knows which calibration the gate currently serves. One rule
 * for GET /v1/monitor, /metrics (its `role` label) and the dashboard, so none of them labels a shadow's numbers as the
 * gate's.
 */
import type { CoverageStatus, MonitorCoverage, MonitorWindow, WindowRole } from "../contract";
import type { SnapshotWindow } from "./monitor-contract";

/** The role of a calibration's traffic; `currentId` is the gate's current calibration (null: none). */
export function windowRole(traffic: SnapshotWindow["traffic"], calibrationId: string, currentId: string | null): WindowRole {
  if (traffic !== "served") return traffic;
  return calibrationId === currentId ? "active" : "previous";
}

/** A snapshot window as the API reports it: `traffic` resolved to its `role`. */
export function monitorWindow({ traffic, ...w }: SnapshotWindow, currentId: string | null): MonitorWindow {
  return { ...w, role: windowRole(traffic, w.calibration_id, currentId) };
}

/** A coverage test with its role (judgments are served traffic). */
export const monitorCoverage = (r: CoverageStatus, currentId: string | null): MonitorCoverage => ({
  ...r,
  role: windowRole("served", r.calibration_id, currentId),
});
