/**
 * POST /v1/judgments: judged (labelled) production queries of a recall gate, for example sampled and labelled by an
 * LLM judge. Each query's covered share at the threshold the service applied goes to the gate's monitor, which tests
 * the coverage against the calibration's guarantee (stats/coverage-test.ts) and raises recall_drift.
 */
import type { JudgmentBatch, StoredCalibration } from "../contract";
import type { MonitoringDeps } from "./deps";
import { type ErrorDetail, invalid } from "../platform/errors";
import { MAX_ERROR_DETAILS } from "../platform/http/validate";
import { gateIdOf } from "../platform/ids";
import { queryCoverage } from "../stats/recall-gate";

async function recallCalibration(batch: JudgmentBatch, deps: MonitoringDeps): Promise<StoredCalibration> {
  let id = batch.calibration_id;
  if (id === undefined) {
    const q = {
      index: batch.index ?? "default",
      embedding: batch.embedding!,
      reranker: batch.reranker!,
      ...(batch.index_version === undefined ? {} : { index_version: batch.index_version }),
    };
    id = (await deps.thresholds.read(q)).projection.threshold.calibration_id;
  }
  const c = await deps.calibrations.get(id);
  if (c === null) throw invalid(`calibration ${id} does not exist`, [{ path: "calibration_id", message: "unknown calibration" }]);
  if (batch.calibration_id !== undefined && batch.embedding !== undefined && batch.reranker !== undefined) {
    if ((await gateIdOf({ index: batch.index ?? "default", embedding: batch.embedding, reranker: batch.reranker })) !== c.gate_id) {
      throw invalid("calibration_id belongs to another gate than the one named", [{ path: "calibration_id", message: "gate mismatch" }]);
    }
  }
  if (!c.recall) {
    throw invalid(
      `calibration ${c.id} has no recall guarantee to test (policy ${c.policy.kind}): judgments need a calibration with policy kind "recall"`,
      [{ path: "calibration_id", message: "not a recall calibration" }],
    );
  }
  return c;
}

/** Per judged query with a relevant candidate, its covered share; 422 for labels of the wrong shape. */
function coveredShares(batch: JudgmentBatch, c: StoredCalibration): { covered: number[]; withoutRelevant: number } {
  const notion = c.recall!.coverage;
  const details: ErrorDetail[] = [];
  const covered: number[] = [];
  let withoutRelevant = 0;
  batch.queries.forEach((q, i) => {
    if (q.relevance.length !== q.scores.length) {
      if (details.length < MAX_ERROR_DETAILS)
        details.push({ path: `queries[${i}].relevance`, message: `has ${q.relevance.length} labels for ${q.scores.length} candidates` });
      return;
    }
    const rel = new Uint8Array(q.relevance.length);
    for (let j = 0; j < q.relevance.length; j++) {
      const l = q.relevance[j]!;
      if (batch.relevant_at === undefined && l !== 0 && l !== 1) {
        if (details.length < MAX_ERROR_DETAILS)
          details.push({ path: `queries[${i}].relevance[${j}]`, message: "must be 0 or 1 (or give relevant_at for graded labels)" });
        continue;
      }
      rel[j] = batch.relevant_at === undefined ? l : l >= batch.relevant_at ? 1 : 0;
    }
    const t = q.threshold === undefined ? c.threshold : q.threshold;
    const share = queryCoverage(q.scores, rel, 0, q.scores.length, t, notion);
    if (share === null) withoutRelevant++;
    else covered.push(share);
  });
  if (details.length > 0) throw invalid("relevance labels do not match their candidates", details);
  return { covered, withoutRelevant };
}

export async function judge(batch: JudgmentBatch, deps: MonitoringDeps) {
  const c = await recallCalibration(batch, deps);
  const { covered, withoutRelevant } = coveredShares(batch, c);
  const r = c.recall!;
  const outcome = await deps.monitor.judge(c.gate_id, {
    gate: { gate_id: c.gate_id, index: c.index, embedding: c.embedding, reranker: c.reranker },
    calibration: {
      id: c.id,
      index_version: c.index_version,
      coverage: r.coverage,
      target: r.target,
      bound: r.coverage_bound,
      n: r.n,
      miss_mass: r.miss_mass,
    },
    batch_id: batch.batch_id,
    covered,
    without_relevant: withoutRelevant,
    now_ms: deps.now().getTime(),
    config: deps.drift,
  });
  return {
    accepted: !outcome.duplicate,
    duplicate: outcome.duplicate,
    gate_id: c.gate_id,
    calibration_id: c.id,
    recall: outcome.recall,
    alerts: outcome.alerts,
  };
}
