/**
 * GET /metrics in the Prometheus text exposition format (version 0.0.4): per gate, the expected and observed drop
 * rate, the empty-context rate, queries, candidates and candidates per query observed in the current window, the
 * evidence against the calibration, queued batches by result, and open alerts. The text format is prometheus.ts.
 */

import type { ActiveRow } from "../calibrations/store";
import { MAX_METRICS_GATES } from "../platform/limits";
import type { MonitoringDeps } from "./deps";
import { type Family, renderPrometheus } from "./prometheus";

export async function collectMetrics(deps: MonitoringDeps): Promise<string> {
  const fam = (help: string): Family => ({ help, samples: [] });
  const f = {
    scoregate_gate_info: fam("Gate identity and its current calibration (value 1)."),
    scoregate_threshold: fam("Current threshold of the gate (keep iff score >= threshold); absent when no gate."),
    scoregate_expected_drop_rate: fam("Expected drop rate k/(n+1) of the calibration."),
    scoregate_observed_drop_rate: fam("Drop rate observed in production in the current window."),
    scoregate_expected_empty_context_rate: fam("Share of calibration queries left with no candidate."),
    scoregate_observed_empty_context_rate: fam("Share of production queries left with no candidate in the current window."),
    scoregate_window_queries: fam("Production queries observed in the current window."),
    scoregate_window_candidates: fam("Production candidates observed in the current window."),
    scoregate_window_mean_candidates: fam(
      "Mean candidates per production query in the current window (information: the empty-context test conditions on it).",
    ),
    scoregate_queued_batches: fam(
      "Queued observation batches the gate's monitor received (OBSERVATION_INGEST=queue), by result: counted, duplicate, mismatch (not counted).",
    ),
    scoregate_window_design_effect: fam("Kish design effect of the drop indicator in the current window."),
    scoregate_drift_log_evidence: fam("ln of the anytime-valid e-value against the calibration (alarm at scoregate_drift_log_threshold)."),
    scoregate_drift_log_threshold: fam("ln(2/alpha): the evidence level that raises an alert."),
    scoregate_expected_coverage: fam("Guaranteed coverage of a recall calibration (by coverage notion)."),
    scoregate_observed_coverage: fam("Coverage of judged production queries since the test last restarted (POST /v1/judgments)."),
    scoregate_coverage_cs_lower: fam("Lower end of the 95 % confidence sequence of the production coverage."),
    scoregate_coverage_cs_upper: fam("Upper end of the 95 % confidence sequence of the production coverage."),
    scoregate_judged_queries: fam("Judged production queries with a relevant candidate since the coverage test last restarted."),
    scoregate_recall_log_evidence: fam("ln of the anytime-valid e-value against the recall guarantee (alarm at scoregate_drift_log_threshold)."),
    scoregate_open_alerts: fam("Unresolved alerts by gate and kind."),
    scoregate_metrics_gates: fam("Calibrated gates listed here (listed=true) and left out beyond MAX_METRICS_GATES (listed=false)."),
  };
  const [gates, rows, open] = await Promise.all([deps.calibrations.gates(), deps.calibrations.allActiveRows(), deps.alerts.openCounts()]);
  const currentByGate = new Map<string, ActiveRow>();
  for (const r of rows) {
    const best = currentByGate.get(r.gate_id);
    if (best === undefined || r.activation_seq > best.activation_seq) currentByGate.set(r.gate_id, r);
  }
  const served = gates.filter((g) => currentByGate.has(g.gate_id));
  f.scoregate_metrics_gates.samples.push({ labels: { listed: "true" }, value: Math.min(served.length, MAX_METRICS_GATES) });
  f.scoregate_metrics_gates.samples.push({ labels: { listed: "false" }, value: Math.max(0, served.length - MAX_METRICS_GATES) });
  for (const g of served.slice(0, MAX_METRICS_GATES)) {
    const current = currentByGate.get(g.gate_id)!;
    const c = await deps.calibrations.get(current.calibration_id);
    if (c === null) continue;
    const gl = { gate_id: g.gate_id };
    f.scoregate_gate_info.samples.push({
      labels: { ...gl, index: g.index, embedding: g.embedding, reranker: g.reranker, calibration_id: c.id, index_version: c.index_version },
      value: 1,
    });
    if (c.threshold !== null) f.scoregate_threshold.samples.push({ labels: gl, value: c.threshold });
    f.scoregate_expected_drop_rate.samples.push({ labels: { ...gl, calibration_id: c.id }, value: c.expected_drop_rate });
    if (c.per_query)
      f.scoregate_expected_empty_context_rate.samples.push({ labels: { ...gl, calibration_id: c.id }, value: c.per_query.empty_context_rate });
    const status = await deps.monitor.status(g.gate_id, deps.now().getTime(), deps.drift, false);
    for (const w of status.windows) {
      const wl = { ...gl, calibration_id: w.calibration_id };
      if (w.drop_rate.observed !== null) f.scoregate_observed_drop_rate.samples.push({ labels: wl, value: w.drop_rate.observed });
      if (w.empty_context?.observed != null) f.scoregate_observed_empty_context_rate.samples.push({ labels: wl, value: w.empty_context.observed });
      f.scoregate_window_queries.samples.push({ labels: wl, value: w.queries });
      f.scoregate_window_candidates.samples.push({ labels: wl, value: w.candidates });
      f.scoregate_window_design_effect.samples.push({ labels: wl, value: w.design_effect });
      if (w.mean_candidates !== null) f.scoregate_window_mean_candidates.samples.push({ labels: wl, value: w.mean_candidates });
      f.scoregate_drift_log_evidence.samples.push({ labels: { ...wl, test: "drop_rate" }, value: w.drop_rate.log_evidence });
      if (w.empty_context)
        f.scoregate_drift_log_evidence.samples.push({ labels: { ...wl, test: "empty_context" }, value: w.empty_context.log_evidence });
      if (w.abstention) f.scoregate_drift_log_evidence.samples.push({ labels: { ...wl, test: "abstention" }, value: w.abstention.log_evidence });
      f.scoregate_drift_log_threshold.samples.push({ labels: wl, value: w.log_threshold });
    }
    const q = status.queued_ingest;
    if (q)
      for (const [result, value] of [
        ["counted", q.counted],
        ["duplicate", q.duplicates],
        ["mismatch", q.mismatches],
      ] as const)
        f.scoregate_queued_batches.samples.push({ labels: { ...gl, result }, value });
    for (const r of status.recall ?? []) {
      const rl = { ...gl, calibration_id: r.calibration_id, coverage: r.coverage };
      f.scoregate_expected_coverage.samples.push({ labels: rl, value: r.expected });
      if (r.observed !== null) f.scoregate_observed_coverage.samples.push({ labels: rl, value: r.observed });
      f.scoregate_coverage_cs_lower.samples.push({ labels: rl, value: r.confidence_sequence_95[0] });
      f.scoregate_coverage_cs_upper.samples.push({ labels: rl, value: r.confidence_sequence_95[1] });
      f.scoregate_judged_queries.samples.push({ labels: rl, value: r.queries });
      f.scoregate_recall_log_evidence.samples.push({ labels: rl, value: r.log_evidence });
    }
  }
  for (const o of open) f.scoregate_open_alerts.samples.push({ labels: { gate_id: o.gate_id, kind: o.kind }, value: o.n });
  return renderPrometheus(f);
}
