/**
 * Repairs the KV projection from D1: every gate's current value and every active pinned version. Idempotent; only
 * writes keys whose activation_seq disagrees with D1 (KV allows about one write per second per key).
 */
import type { CoreDeps } from "./deps";
import { publishGate, type PublishResult } from "./publish";

export async function reconcileProjection(deps: CoreDeps): Promise<PublishResult> {
  const rows = await deps.calibrations.allActiveRows();
  const gateIds = [...new Set(rows.map((r) => r.gate_id))];
  let written = 0;
  let unchanged = 0;
  for (const gateId of gateIds) {
    const r = await publishGate(gateId, null, deps);
    written += r.written;
    unchanged += r.unchanged;
  }
  return { written, unchanged };
}
