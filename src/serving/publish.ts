/**
 * Publishes the KV projection of a gate from the committed D1 rows (never from a request's copy), so a reader that
 * sees KV sees what D1 says. Also used by the reconciler to repair drift between KV and D1.
 */
import type { ActivationListener } from "../calibrations/activation";
import { expectationOf } from "../calibrations/expectation";
import { servedThreshold, withHeads } from "../calibrations/gate-event";
import { type ActiveRow, type CalibrationStore, currentOf, type GateRow, type GateState } from "../calibrations/store";
import type { StoredCalibration } from "../contract";
import type { ProjectedThreshold, ThresholdProjection } from "./projection";

/** Publishing and reconciling the KV projection: the system of record and the projection. */
export interface ProjectionDeps {
  readonly calibrations: CalibrationStore;
  readonly projection: ThresholdProjection;
}

/** The version of an active row's served value: the gate's head seq for its current value (`state` given). */
const projectedSeq = (row: ActiveRow, state: GateState | null): number =>
  state === null ? row.activation_seq : Math.max(row.activation_seq, state.headSeq);

/**
 * The value served for an active row. The gate's current value (`state` given) also carries the split and the shadow
 * set, and is versioned by the gate's head seq: a shadow or promotion event changes what is served without a new
 * activation row, and its seq must reach the ETag and outrank the KV value it replaces. A pinned version serves its
 * calibration alone.
 */
export function projectionOf(gate: GateRow, row: ActiveRow, c: StoredCalibration, state: GateState | null): ProjectedThreshold {
  const served = servedThreshold(gate, c, row.activated_at);
  return {
    v: 1,
    gate_id: gate.gate_id,
    activation_seq: projectedSeq(row, state),
    threshold: state === null ? served : withHeads(served, state.heads),
    expectation: expectationOf(c),
  };
}

export interface PublishResult {
  readonly written: number;
  readonly unchanged: number;
}

/**
 * Writes the gate's current projection and the pinned projection of each listed index version (all active versions
 * when `versions` is null) where KV is behind D1. Skips keys whose KV value has the same or a newer activation_seq
 * (after a D1 Time Travel restore, sequence numbers can repeat: empty KV then, see docs/storage.md).
 */
export async function publishGate(gateId: string, versions: readonly string[] | null, deps: ProjectionDeps): Promise<PublishResult> {
  const [gate, state] = await Promise.all([deps.calibrations.gate(gateId), deps.calibrations.gateState(gateId)]);
  const rows = state.rows;
  if (gate === null || rows.length === 0) return { written: 0, unchanged: 0 };
  const targets: [string | null, ActiveRow][] = [];
  const current = currentOf(rows)!;
  targets.push([null, current]);
  for (const r of rows) if (versions === null || versions.includes(r.index_version)) targets.push([r.index_version, r]);

  const records = new Map<string, StoredCalibration>();
  let written = 0;
  let unchanged = 0;
  for (const [version, row] of targets) {
    const existing = await deps.projection.get(gateId, version);
    const heads = version === null ? state : null;
    // Equal: nothing to do. Greater: a concurrent publish already wrote a newer event; never go back.
    if (existing !== null && existing.activation_seq >= projectedSeq(row, heads)) {
      unchanged++;
      continue;
    }
    let record = records.get(row.calibration_id);
    if (record === undefined) {
      const fetched = await deps.calibrations.get(row.calibration_id);
      if (fetched === null) continue; // impossible with foreign keys; nothing sensible to publish
      record = fetched;
      records.set(row.calibration_id, record);
    }
    await deps.projection.put(gateId, version, projectionOf(gate, row, record, heads));
    written++;
  }
  return { written, unchanged };
}

/**
 * Publishing after every committed activation (an activation listener, wired in src/worker/wiring.ts): best effort,
 * since the reconciler repairs KV within minutes and a failure here must not turn a stored activation into a 500.
 */
export const publishOnActivation = (deps: ProjectionDeps): ActivationListener => ({
  failure: "publishing the threshold projection failed; the reconciler will repair it",
  run: async ({ calibration }) => {
    await publishGate(calibration.gate_id, [calibration.index_version], deps);
  },
});
