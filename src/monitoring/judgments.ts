/**
 * POST /v1/judgments: judged (labelled) production queries of a recall gate, for example sampled and labelled by an
 * LLM judge. Each query's covered share at the threshold the service applied goes to the gate's monitor, which tests
 * the coverage against the calibration's guarantee (stats/coverage-test.ts) and raises recall_drift.
 */

import { relevanceOf } from "../calibrations/labels";
import type { JudgmentBatch, StoredCalibration } from "../contract";
import { type ErrorDetail, invalid } from "../platform/errors";
import { problemsSentence } from "../platform/http/validate";
import { queryCoverage } from "../stats/recall-gate";
import { batchHash, batchMismatch, resolveBatchTarget, unknownCalibration } from "./batch-target";
import type { MonitoringDeps } from "./deps";
import { everServed, neverServed } from "./served-claim";

/**
 * The recall calibration a batch belongs to (batch-target.ts), or 422. A batch naming its calibration claims its gate
 * served it, as a served observation batch does (served-claim.ts): one its gate never served (stored without activation,
 * or only ever a shadow: judgments have no shadow role) is refused, so its judgments never test a guarantee that gated
 * no production query nor raise the gate's recall_drift.
 */
async function recallCalibration(batch: JudgmentBatch, deps: MonitoringDeps): Promise<StoredCalibration> {
  const target = await resolveBatchTarget(batch, deps);
  const c = target.stored ?? (await deps.calibrations.get(target.calibration.id));
  if (c === null) throw unknownCalibration(target.calibration.id);
  if (!c.recall) {
    throw invalid(
      `calibration ${c.id} has no recall guarantee to test (policy ${c.policy.kind}): judgments need a calibration with policy kind "recall"`,
      [{ path: "calibration_id", message: "not a recall calibration" }],
    );
  }
  if (batch.calibration_id !== undefined && !(await everServed(target, deps))) throw neverServed(c.id, "judgments");
  return c;
}

/** Per judged query with a relevant candidate, its covered share; 422 for labels of the wrong shape. */
function coveredShares(batch: JudgmentBatch, c: StoredCalibration): { covered: number[]; withoutRelevant: number } {
  const notion = c.recall!.coverage;
  const details: ErrorDetail[] = [];
  const covered: number[] = [];
  let withoutRelevant = 0;
  batch.queries.forEach((q, i) => {
    const rel = new Uint8Array(q.scores.length);
    if (relevanceOf(q.relevance, q.scores.length, batch.relevant_at, `queries[${i}].relevance`, rel, 0, details) > 0) return;
    const t = q.threshold === undefined ? c.threshold : q.threshold;
    const share = queryCoverage(q.scores, rel, 0, q.scores.length, t, notion);
    if (share === null) withoutRelevant++;
    else covered.push(share);
  });
  if (details.length > 0) throw invalid(`relevance labels do not match their candidates: ${problemsSentence(details, details.length)}`, details);
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
      ...(r.miss_below !== undefined ? { below: r.miss_below } : {}),
      ...(r.ties_at_threshold !== undefined ? { ties: r.ties_at_threshold } : {}),
    },
    batch_id: batch.batch_id,
    batch_hash: await batchHash(batch),
    covered,
    without_relevant: withoutRelevant,
    now_ms: deps.now().getTime(),
    config: deps.drift,
  });
  if (outcome.mismatch) throw batchMismatch(batch.batch_id);
  return {
    accepted: !outcome.duplicate,
    duplicate: outcome.duplicate,
    gate_id: c.gate_id,
    calibration_id: c.id,
    recall: outcome.recall,
    alerts: outcome.alerts,
  };
}
