/**
 * A first upload to a gate that does not exist yet creates it. When calibrated gates with similar names exist (same
 * models on another index, or the same index with one model equal), the name may be a typo ("e5-large-v3" for
 * "e5-large-v2"): the upload still creates the gate, as asked, and its answer says which gates it may have meant, so a
 * rebuild pipeline does not start serving a new gate silently while the one it meant stays on its old calibration.
 */
import type { Warning } from "../contract";
import { MAX_GATE_SUGGESTIONS } from "../platform/limits";
import type { CalibrationStore } from "./store";

export async function newGateWarning(
  gate: { readonly index: string; readonly embedding: string; readonly reranker: string },
  gateId: string,
  calibrations: Pick<CalibrationStore, "gate" | "calibratedNeighbours">,
): Promise<Warning | null> {
  if ((await calibrations.gate(gateId)) !== null) return null;
  const similar = await calibrations.calibratedNeighbours(gate, MAX_GATE_SUGGESTIONS);
  if (similar.length === 0) return null;
  const names = similar.map((g) => `index=${g.index} embedding=${g.embedding} reranker=${g.reranker}`);
  return {
    code: "new_gate",
    message: `this upload creates the gate index=${gate.index} embedding=${gate.embedding} reranker=${gate.reranker}; calibrated gates with similar names exist: ${names.join("; ")}. If you meant one of them, check the index, embedding and reranker you sent`,
  };
}
