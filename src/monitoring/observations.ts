/**
 * POST /v1/observations: resolve which calibration a batch was gated with, then hand the counts to the gate's
 * monitor (Durable Object), which aggregates them per daily window, runs the change detector and raises alerts.
 */
import { AppError } from "../platform/errors";
import { DISTRIBUTION_KNOTS } from "../platform/limits";
import { buildDistribution } from "../stats/distribution";
import { countBelow, sortedCopy } from "../stats/order-statistics";
import { ksDistance } from "../stats/shift";
import type { MonitorStatus, ObservationBatch, WindowStatus } from "../contract";
import type { Expectation } from "../serving/projection";
import type { AppDeps } from "../platform/deps";
import { gateIdOf } from "../platform/ids";
import type { IsolateCache } from "../serving/isolate-cache";
import { expectationOf } from "../serving/publish";
import { readThreshold, type CachedThreshold } from "../serving/threshold-reader";

export type ObservationDeps = AppDeps;

export interface ObservationResult {
  readonly accepted: boolean;
  readonly duplicate: boolean;
  readonly gate_id: string;
  readonly calibration_id: string;
  readonly window: WindowStatus;
  readonly alerts: string[];
}

interface Resolved {
  readonly gate: { gate_id: string; index: string; embedding: string; reranker: string };
  readonly calibration: { id: string; index_version: string; expectation: Expectation };
}

async function resolve(batch: ObservationBatch, cache: IsolateCache<CachedThreshold>, deps: ObservationDeps): Promise<Resolved> {
  if (batch.calibration_id !== undefined) {
    const c = await deps.calibrations.get(batch.calibration_id);
    if (c === null) {
      throw new AppError("invalid_input", `calibration ${batch.calibration_id} does not exist`, [
        { path: "calibration_id", message: "unknown calibration" },
      ]);
    }
    const named = batch.embedding !== undefined && batch.reranker !== undefined;
    if (named && (await gateIdOf({ index: batch.index ?? "default", embedding: batch.embedding!, reranker: batch.reranker! })) !== c.gate_id) {
      throw new AppError("invalid_input", "calibration_id belongs to another gate than the one named", [
        { path: "calibration_id", message: "gate mismatch" },
      ]);
    }
    return {
      gate: { gate_id: c.gate_id, index: c.index, embedding: c.embedding, reranker: c.reranker },
      calibration: {
        id: c.id,
        index_version: c.index_version,
        expectation: expectationOf(c),
      },
    };
  }
  const q = {
    index: batch.index ?? "default",
    embedding: batch.embedding!,
    reranker: batch.reranker!,
    ...(batch.index_version === undefined ? {} : { index_version: batch.index_version }),
  };
  const { projection } = await readThreshold(q, cache, deps);
  const t = projection.threshold;
  return {
    gate: { gate_id: projection.gate_id, index: t.index, embedding: t.embedding, reranker: t.reranker },
    calibration: { id: t.calibration_id, index_version: t.index_version, expectation: projection.expectation },
  };
}

export async function observe(batch: ObservationBatch, cache: IsolateCache<CachedThreshold>, deps: ObservationDeps): Promise<ObservationResult> {
  const r = await resolve(batch, cache, deps);
  const outcome = await deps.monitor.observe(r.gate.gate_id, {
    gate: r.gate,
    calibration: r.calibration,
    batch_id: batch.batch_id,
    queries: batch.queries,
    scores: batch.scores ?? null,
    now_ms: deps.now().getTime(),
    config: deps.drift,
  });
  return {
    accepted: !outcome.duplicate,
    duplicate: outcome.duplicate,
    gate_id: r.gate.gate_id,
    calibration_id: r.calibration.id,
    window: outcome.window,
    alerts: outcome.alerts,
  };
}

/** Fewest sampled scores for which the sample is compared with the calibration. */
export const MIN_SCORE_SAMPLE = 50;

export async function monitorStatus(gate: { index: string; embedding: string; reranker: string }, deps: ObservationDeps): Promise<MonitorStatus> {
  const gateId = await gateIdOf(gate);
  // Only gates that exist get a monitor: a name typo must not create a Durable Object.
  if ((await deps.calibrations.gate(gateId)) === null) throw new AppError("not_found", "no such gate: it has never been calibrated");
  const { samples, ...status } = await deps.monitor.status(gateId, deps.now().getTime(), deps.drift);
  const windows = await Promise.all(
    status.windows.map(async (w) => {
      const sample = samples[w.calibration_id] ?? [];
      if (sample.length < MIN_SCORE_SAMPLE) return w;
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
  return { ...status, windows };
}
