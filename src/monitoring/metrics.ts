/**
 * GET /metrics in the Prometheus text exposition format (version 0.0.4): per gate, its drift state (alarm or not,
 * since when: drift-state.ts, the same rule as GET /v1/monitor and the dashboard), what it serves (threshold, guards,
 * abstention cutoff), the expected and observed drop
 * rate, the empty-context rate (for a min_keep gate, which is never empty, the rate at which its guard binds, under
 * its own name), the abstention rate of an abstaining gate, queries, candidates (scored, and apart those reported
 * without a score) and candidates per query observed in the current window, the evidence of each test against the calibration, queued batches by result, and open alerts.
 * Every series added for guards and abstention is one more per window, only on gates that have them: the samples per
 * listed gate stay bounded, so MAX_METRICS_GATES still bounds a scrape. The text format is prometheus.ts.
 *
 * Every per-calibration series carries `calibration_id` and `role` (window-role.ts): "active" for the gate's current
 * calibration, "previous", "shadow" or "candidate" (a promotion's candidate arm) for the others, so a rule that
 * selects role="active" reads the gate's own numbers only.
 *
 * The served numbers of every gate come from one D1 query (servedSummaries); each listed gate then costs one Durable
 * Object call, MAX_CONCURRENT_READS at a time. MAX_METRICS_GATES is set from the time of a scrape at the cap
 * (bench/metrics-cap.mjs, docs/benchmarks.md section 21).
 */

import type { ServedSummary } from "../calibrations/store";
import { MAX_CONCURRENT_READS, MAX_METRICS_GATES } from "../platform/limits";
import { mapLimit } from "../platform/map-limit";
import type { MonitoringDeps } from "./deps";
import { driftState, isDriftKind, standingCoverage, standingWindow } from "./drift-state";
import { type Family, renderPrometheus } from "./prometheus";
import { gateWindows } from "./status";
import { UNSCORED_ALERT_MIN_CANDIDATES, UNSCORED_ALERT_SHARE } from "./unscored";
import { windowRole } from "./window-role";

export async function collectMetrics(deps: MonitoringDeps): Promise<string> {
  const fam = (help: string): Family => ({ help, samples: [] });
  const f = {
    scoregate_gate_info: fam("Gate identity and its current calibration (value 1)."),
    scoregate_drift_alarm: fam(
      "1 while the gate is in alarm: an unresolved drift alert (drop_rate_drift, empty_context, recall_drift, abstention_drift) or an alarm its monitor has not yet stored; else 0.",
    ),
    scoregate_drift_alarm_since_seconds: fam("When the gate's alarm began (Unix seconds); present only while scoregate_drift_alarm is 1."),
    scoregate_threshold: fam("Current threshold of the gate (keep iff score >= threshold); absent when no gate."),
    scoregate_min_keep: fam("Guard of the gate's current calibration: every query keeps at least its top min_keep candidates (0: no guard)."),
    scoregate_max_keep: fam("Guard of the gate's current calibration: no query keeps more than max_keep candidates; absent when uncapped."),
    scoregate_abstain_below: fam(
      "Abstention cutoff of the gate's current calibration: a query whose top score is below it keeps nothing; absent when it never abstains.",
    ),
    scoregate_expected_drop_rate: fam(
      "The current calibration's expected drop rate (its expected_drop_rate: the share of candidates its gate, guards included, drops; k/(n+1) for k scores below the threshold of n without ties at it). A guarded gate's drift test expects it per query size instead: scoregate_window_expected_drop_rate.",
    ),
    scoregate_window_expected_drop_rate: fam(
      "The drop rate the drift test expects of the current window's detector: the calibration's for an unguarded gate; for a guarded gate, its per-size rates re-weighted to the query sizes production brought since the detector's reset (which after an alarm or across days differ from the window's: GET /v1/monitor's drop_rate.expected_window is the window's own).",
    ),
    scoregate_window_own_expected_drop_rate: fam(
      "The drop rate the current window's observed rate is judged against: for a guarded gate, the calibration's per-size rates weighted by the window's own candidates per query size (GET /v1/monitor's drop_rate.expected_window; absent while the window holds no candidate the threshold decides); for an unguarded gate, the calibration's rate (scoregate_window_expected_drop_rate).",
    ),
    scoregate_observed_drop_rate: fam("Drop rate observed in production in the current window."),
    scoregate_expected_empty_context_rate: fam(
      "Share of queries expected to be left with no candidate: the empty-context test's expectation, at the mix of candidates per query production brought since the detector's reset (GET /v1/monitor's empty_context.expected_window is the current window's own).",
    ),
    scoregate_observed_empty_context_rate: fam(
      "Share of production queries left with no candidate in the current window (gates without min_keep: a min_keep gate is never empty, see scoregate_observed_guard_bound_rate).",
    ),
    scoregate_expected_guard_bound_rate: fam(
      "min_keep gates: share of queries expected to have their min_keep guard bind (the threshold alone keeps fewer than min(min_keep, candidates)): the guard-binding test's expectation, at the mix of candidates per query production brought since the detector's reset.",
    ),
    scoregate_observed_guard_bound_rate: fam(
      "min_keep gates: share of production queries in the current window where the min_keep guard bound (from clients that report below).",
    ),
    scoregate_expected_abstention_rate: fam(
      "Abstaining gates: share of queries expected to abstain (top score below abstain_below): the abstention test's expectation, at the mix of candidates per query production brought since the detector's reset when the calibration kept its sizes.",
    ),
    scoregate_observed_abstention_rate: fam(
      "Abstaining gates: share of production queries that abstained in the current window, of those that said whether they abstained.",
    ),
    scoregate_window_abstention_queries: fam(
      "Abstaining gates: production queries in the current window that said whether they abstained (clients that apply abstention).",
    ),
    scoregate_window_queries: fam("Production queries observed in the current window."),
    scoregate_window_candidates: fam(
      "Production candidates observed in the current window: the scored ones, which the drift tests read (clients that report unscored candidates count them apart).",
    ),
    scoregate_window_unscored_candidates: fam(
      `Production candidates services reported without a score in the current window (a reranker failing for them, a wrong score key, scores sent as strings): not in scoregate_window_candidates; over ${100 * UNSCORED_ALERT_SHARE} % of the reported candidates (at least ${UNSCORED_ALERT_MIN_CANDIDATES}) raises an unscored_candidates alert.`,
    ),
    scoregate_window_mean_candidates: fam(
      "Mean candidates per production query in the current window (information: the empty-context test conditions on it).",
    ),
    scoregate_queued_batches: {
      ...fam(
        "Queued observation batches the gate's monitor received (OBSERVATION_INGEST=queue), by result: counted, duplicate, mismatch (not counted); a running total over the monitor's life.",
      ),
      type: "counter" as const,
    },
    scoregate_window_design_effect: fam(
      "Kish design effect of the drop indicator over the queries since the window's detector last restarted (at the window's start, or its last alarm), which the drift tests deflate by.",
    ),
    scoregate_drift_log_evidence: fam(
      "ln of the anytime-valid e-value against the calibration, by test: drop_rate, empty_context (guard_bound for a min_keep gate), abstention (alarm at scoregate_drift_log_threshold).",
    ),
    scoregate_drift_armed: fam(
      "1 when the test can alarm, by test (as scoregate_drift_log_evidence); 0 while its detector, new or restarted by an alarm, holds fewer than the queries it needs (its evidence may then stand above scoregate_drift_log_threshold: it alarms once armed if it still does) or the calibration is too small to bound the rate.",
    ),
    scoregate_alarmed_observed_rate: fam(
      "While the alert a test raised stands: the rate it tested, observed in the window when it alarmed (test as in scoregate_drift_log_evidence; the window's counts go on after the alarm, the test's detector restarts).",
    ),
    scoregate_alarmed_drift_log_evidence: fam(
      "While the alert a test raised stands: the evidence that raised it (the restarted detector's is scoregate_drift_log_evidence).",
    ),
    scoregate_drift_log_threshold: fam(
      "ln A, the change detector's alarm level: a test alarms when scoregate_drift_log_evidence reaches it (about 17.5 nats at the default alpha for a gate tested on its drop rate alone, 18.2 when the empty-context test runs beside it; docs/drift.md).",
    ),
    scoregate_expected_coverage: fam("Guaranteed coverage of a recall calibration (by coverage notion)."),
    scoregate_observed_coverage: fam("Coverage of judged production queries since the test last restarted (POST /v1/judgments)."),
    scoregate_coverage_cs_lower: fam("Lower end of the 95 % confidence sequence of the production coverage."),
    scoregate_coverage_cs_upper: fam("Upper end of the 95 % confidence sequence of the production coverage."),
    scoregate_judged_queries: fam("Judged production queries with a relevant candidate since the coverage test last restarted."),
    scoregate_recall_armed: fam("1 when the coverage test can alarm; 0 when the recall calibration is too small to bound its own coverage."),
    scoregate_recall_log_evidence: fam("ln of the anytime-valid e-value against the recall guarantee (alarm at scoregate_drift_log_threshold)."),
    scoregate_alarmed_observed_coverage: fam(
      "While the gate's recall_drift alert stands: the coverage of the judged queries of the test that alarmed, when it alarmed (the restarted test's is scoregate_observed_coverage).",
    ),
    scoregate_alarmed_coverage_cs_lower: fam(
      "While the gate's recall_drift alert stands: the lower end of the alarmed test's 95 % confidence sequence.",
    ),
    scoregate_alarmed_coverage_cs_upper: fam(
      "While the gate's recall_drift alert stands: the upper end of the alarmed test's 95 % confidence sequence.",
    ),
    scoregate_alarmed_judged_queries: fam(
      "While the gate's recall_drift alert stands: the judged queries with a relevant candidate the alarmed test held.",
    ),
    scoregate_alarmed_recall_log_evidence: fam("While the gate's recall_drift alert stands: the evidence that raised it."),
    scoregate_open_alerts: fam("Unresolved alerts by gate and kind."),
    scoregate_metrics_gates: fam(
      "Calibrated gates listed here (listed=true, gates with a drift alert first) and left out beyond MAX_METRICS_GATES (listed=false).",
    ),
  };
  const [gates, rows, open] = await Promise.all([deps.calibrations.gates(), deps.calibrations.servedSummaries(), deps.alerts.openCounts()]);
  const currentByGate = new Map<string, ServedSummary>();
  for (const r of rows) {
    const best = currentByGate.get(r.gate_id);
    if (best === undefined || r.activation_seq > best.activation_seq) currentByGate.set(r.gate_id, r);
  }
  const openByGate = new Map<string, typeof open>();
  for (const o of open) openByGate.set(o.gate_id, [...(openByGate.get(o.gate_id) ?? []), o]);
  // Gates with a drift alert come first, so a gate in alarm is listed whatever the number of gates beyond the cap.
  const inAlarm = (gateId: string) => openByGate.get(gateId)?.some((o) => isDriftKind(o.kind)) === true;
  const served = gates.filter((g) => currentByGate.has(g.gate_id)).sort((a, b) => Number(inAlarm(b.gate_id)) - Number(inAlarm(a.gate_id)));
  f.scoregate_metrics_gates.samples.push({ labels: { listed: "true" }, value: Math.min(served.length, MAX_METRICS_GATES) });
  f.scoregate_metrics_gates.samples.push({ labels: { listed: "false" }, value: Math.max(0, served.length - MAX_METRICS_GATES) });
  const listed = served.slice(0, MAX_METRICS_GATES);
  const now = deps.now().getTime();
  const reads = await mapLimit(listed, MAX_CONCURRENT_READS, async (g) => ({
    g,
    c: currentByGate.get(g.gate_id)!,
    status: await deps.monitor.status(g.gate_id, now, deps.drift, false),
  }));
  for (const { g, c, status } of reads) {
    const gl = { gate_id: g.gate_id };
    f.scoregate_gate_info.samples.push({
      labels: {
        ...gl,
        index: g.index,
        embedding: g.embedding,
        reranker: g.reranker,
        calibration_id: c.calibration_id,
        index_version: c.index_version,
      },
      value: 1,
    });
    const state = driftState({
      windows: gateWindows(status.windows),
      recall: status.recall,
      pending: status.pending_alerts,
      unresolved: (openByGate.get(g.gate_id) ?? []).map((o) => ({ kind: o.kind, since: o.since, id: null })),
      currentCalibrationId: c.calibration_id,
    });
    f.scoregate_drift_alarm.samples.push({ labels: gl, value: state.state === "alarm" ? 1 : 0 });
    if (state.since !== null) f.scoregate_drift_alarm_since_seconds.samples.push({ labels: gl, value: Date.parse(state.since) / 1000 });
    if (c.threshold !== null) f.scoregate_threshold.samples.push({ labels: gl, value: c.threshold });
    f.scoregate_min_keep.samples.push({ labels: gl, value: c.min_keep });
    if (c.max_keep !== null) f.scoregate_max_keep.samples.push({ labels: gl, value: c.max_keep });
    if (c.abstain_below !== null) f.scoregate_abstain_below.samples.push({ labels: gl, value: c.abstain_below });
    f.scoregate_expected_drop_rate.samples.push({ labels: { ...gl, calibration_id: c.calibration_id, role: "active" }, value: c.expected_drop_rate });
    for (const w of status.windows.map((sw) => standingWindow(sw, state.alerts))) {
      // `role` comes last in every label set: the labels the series had before it keep their order.
      const role = { role: windowRole(w.traffic, w.calibration_id, c.calibration_id) };
      const cl = { ...gl, calibration_id: w.calibration_id };
      const wl = { ...cl, ...role };
      f.scoregate_window_expected_drop_rate.samples.push({ labels: wl, value: w.drop_rate.expected });
      // A pooled test reports no expected_window: its window is judged against the detector's expectation, the same rate.
      const own = w.drop_rate.expected_window === undefined ? w.drop_rate.expected : w.drop_rate.expected_window;
      if (own !== null) f.scoregate_window_own_expected_drop_rate.samples.push({ labels: wl, value: own });
      if (w.drop_rate.observed !== null) f.scoregate_observed_drop_rate.samples.push({ labels: wl, value: w.drop_rate.observed });
      // A min_keep gate is never empty: its empty-context test watches where the guard binds (empty_context_level),
      // which is reported under its own name rather than as queries "left with no candidate".
      const guardBound = w.empty_context_level !== undefined;
      const [expectedEmpty, observedEmpty, emptyTest] = guardBound
        ? [f.scoregate_expected_guard_bound_rate, f.scoregate_observed_guard_bound_rate, "guard_bound"]
        : [f.scoregate_expected_empty_context_rate, f.scoregate_observed_empty_context_rate, "empty_context"];
      if (w.empty_context) expectedEmpty.samples.push({ labels: wl, value: w.empty_context.expected });
      if (w.empty_context?.observed != null) observedEmpty.samples.push({ labels: wl, value: w.empty_context.observed });
      if (w.abstention) {
        f.scoregate_expected_abstention_rate.samples.push({ labels: wl, value: w.abstention.expected });
        if (w.abstention.observed !== null) f.scoregate_observed_abstention_rate.samples.push({ labels: wl, value: w.abstention.observed });
        f.scoregate_window_abstention_queries.samples.push({ labels: wl, value: w.abstention_queries ?? 0 });
      }
      f.scoregate_window_queries.samples.push({ labels: wl, value: w.queries });
      f.scoregate_window_candidates.samples.push({ labels: wl, value: w.candidates });
      f.scoregate_window_unscored_candidates.samples.push({ labels: wl, value: w.unscored_candidates ?? 0 });
      f.scoregate_window_design_effect.samples.push({ labels: wl, value: w.design_effect });
      if (w.mean_candidates !== null) f.scoregate_window_mean_candidates.samples.push({ labels: wl, value: w.mean_candidates });
      for (const [test, t] of [
        ["drop_rate", w.drop_rate],
        [emptyTest, w.empty_context],
        ["abstention", w.abstention],
      ] as const) {
        if (!t) continue;
        const tl = { ...cl, test, ...role };
        f.scoregate_drift_log_evidence.samples.push({ labels: tl, value: t.log_evidence });
        f.scoregate_drift_armed.samples.push({ labels: tl, value: t.armed ? 1 : 0 });
        if (t.alarmed) {
          if (t.alarmed.observed !== null) f.scoregate_alarmed_observed_rate.samples.push({ labels: tl, value: t.alarmed.observed });
          f.scoregate_alarmed_drift_log_evidence.samples.push({ labels: tl, value: t.alarmed.log_evidence });
        }
      }
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
    for (const r of (status.recall ?? []).map((sr) => standingCoverage(sr, state.alerts))) {
      const rl = { ...gl, calibration_id: r.calibration_id, coverage: r.coverage, role: windowRole("served", r.calibration_id, c.calibration_id) };
      f.scoregate_expected_coverage.samples.push({ labels: rl, value: r.expected });
      if (r.observed !== null) f.scoregate_observed_coverage.samples.push({ labels: rl, value: r.observed });
      f.scoregate_coverage_cs_lower.samples.push({ labels: rl, value: r.confidence_sequence_95[0] });
      f.scoregate_coverage_cs_upper.samples.push({ labels: rl, value: r.confidence_sequence_95[1] });
      f.scoregate_judged_queries.samples.push({ labels: rl, value: r.queries });
      f.scoregate_recall_log_evidence.samples.push({ labels: rl, value: r.log_evidence });
      f.scoregate_recall_armed.samples.push({ labels: rl, value: r.armed ? 1 : 0 });
      const a = r.alarmed;
      if (a) {
        if (a.observed !== null) f.scoregate_alarmed_observed_coverage.samples.push({ labels: rl, value: a.observed });
        f.scoregate_alarmed_coverage_cs_lower.samples.push({ labels: rl, value: a.confidence_sequence_95[0] });
        f.scoregate_alarmed_coverage_cs_upper.samples.push({ labels: rl, value: a.confidence_sequence_95[1] });
        f.scoregate_alarmed_judged_queries.samples.push({ labels: rl, value: a.queries });
        f.scoregate_alarmed_recall_log_evidence.samples.push({ labels: rl, value: a.log_evidence });
      }
    }
  }
  for (const o of open) f.scoregate_open_alerts.samples.push({ labels: { gate_id: o.gate_id, kind: o.kind }, value: o.n });
  return renderPrometheus(f);
}
