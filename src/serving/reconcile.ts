/**
 * Repairs the KV projection from D1: every gate's current value and every active pinned version. Idempotent; only
 * writes keys whose activation_seq disagrees with D1 (KV allows about one write per second per key). Each run checks
 * RECONCILE_GATES_PER_RUN gates, rotating through the fleet with `run` (the cron passes the minute number), so every
 * gate is checked at least every ceil(gates / RECONCILE_GATES_PER_RUN) minutes. A gate whose served value it had to
 * republish is handed to `republished` (src/worker/scheduled.ts brings the gate's hub up to D1 with it: after a D1
 * Time Travel restore, the gates that change no more are repaired here, and their subscribers with them).
 */
import { RECONCILE_GATES_PER_RUN } from "../platform/limits";
import { type ProjectionDeps, publishGate } from "./publish";

export interface ReconcileResult {
  readonly checked: number;
  readonly written: number;
  readonly unchanged: number;
}

/** Told of each gate whose projection the run republished; awaited, and its failure is its own to report. */
export type RepublishedListener = (gateId: string) => Promise<void>;

export async function reconcileProjection(
  deps: ProjectionDeps,
  run: number,
  perRun = RECONCILE_GATES_PER_RUN,
  republished: RepublishedListener | null = null,
): Promise<ReconcileResult> {
  const rows = await deps.calibrations.allActiveRows();
  const gateIds = [...new Set(rows.map((r) => r.gate_id))].sort();
  const slices = Math.max(1, Math.ceil(gateIds.length / perRun));
  const start = (((run % slices) + slices) % slices) * perRun;
  let written = 0;
  let unchanged = 0;
  const batch = gateIds.slice(start, start + perRun);
  for (const gateId of batch) {
    const r = await publishGate(gateId, null, deps);
    written += r.written;
    if (r.written > 0 && republished !== null) await republished(gateId);
    unchanged += r.unchanged;
  }
  return { checked: batch.length, written, unchanged };
}
