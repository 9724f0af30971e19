/**
 * The silent failure made loud: a RAG service asked for a gate that has no calibration (GET /v1/threshold answered
 * 404 uncalibrated). Raises (or updates) an `uncalibrated_request` alert, at most once per
 * UNCALIBRATED_ALERT_INTERVAL_MS per gate per isolate, so a hot loop of 404s costs D1 one write a minute, not one per
 * request. src/worker/wiring.ts wires it to the serving feature's onUncalibrated.
 */
import type { ThresholdQuery } from "../contract";
import { IsolateCache } from "../platform/isolate-cache";
import { ISOLATE_CACHE_MAX_ENTRIES, MAX_OPEN_UNCALIBRATED_ALERTS, UNCALIBRATED_ALERT_INTERVAL_MS } from "../platform/limits";
import type { AlertDeps } from "./deps";
import { raiseCappedAlert } from "./lifecycle";

/** The gates an isolate raised the alert for within the interval (src/worker/isolate.ts holds the one instance). */
export const newUncalibratedMemory = (): IsolateCache<true> => new IsolateCache<true>(ISOLATE_CACHE_MAX_ENTRIES, UNCALIBRATED_ALERT_INTERVAL_MS);

/** Records the request unless this gate was recorded by this isolate within the interval. Returns whether it raised. */
export function noteUncalibrated(gateId: string, q: ThresholdQuery, deps: AlertDeps, recent: IsolateCache<true>): boolean {
  const nowMs = deps.now().getTime();
  if (recent.get(gateId, nowMs) !== undefined) return false;
  recent.set(gateId, true, nowMs);
  deps.defer(raiseUnlessCapped(gateId, q, deps));
  return true;
}

async function raiseUnlessCapped(gateId: string, q: ThresholdQuery, deps: AlertDeps): Promise<void> {
  // The cap is checked inside the insert (src/alerts/d1-store.ts), so concurrent isolates cannot overshoot it.
  const raised = await raiseCappedAlert(
    {
      gate_id: gateId,
      gate: { index: q.index, embedding: q.embedding, reranker: q.reranker },
      kind: "uncalibrated_request",
      summary: `a service asked for the threshold of ${q.index} / ${q.embedding} / ${q.reranker}${q.index_version === undefined ? "" : ` (index_version ${q.index_version})`}, which has no active calibration: it is running on its fallback`,
      details: { index_version: q.index_version ?? null },
      calibration_ids: [],
    },
    deps,
    MAX_OPEN_UNCALIBRATED_ALERTS,
  );
  if (raised === null) {
    console.warn(`uncalibrated request for gate ${gateId} not raised: ${MAX_OPEN_UNCALIBRATED_ALERTS} uncalibrated_request alerts are already open`);
  }
}
