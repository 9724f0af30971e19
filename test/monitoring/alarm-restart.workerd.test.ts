// After an alarm the detector restarts: what GET /v1/monitor and /metrics say about the restarted test, and about the
// test that alarmed, while its alert stands and after it is resolved.
import { describe, expect, it } from "vitest";
import { judged, labelledQueries } from "../support/labelled";
import { call, callJson, counted, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

/** Per-query counts at drop rate `rate`, 20 candidates a query. */
const counts = (n: number, rate: number): [number, number][] => Array.from({ length: n }, (_, i) => [20, Math.round(20 * rate + ((i % 3) - 1))]);

const metricsOf = async (gateId: string) => {
  const text = await (await call("GET", "/metrics", { token: TOKENS.read })).text();
  const lines = (name: string) => text.split("\n").filter((l) => l.startsWith(`${name}{gate_id="${gateId}"`));
  return { text, lines, value: (l: string | undefined) => Number(l?.split(" ").at(-1)) };
};

describe("a drop-rate detector restarted by an alarm, its alert resolved", () => {
  it("reads not_armed with the queries it still needs, its own evidence, and armed 0 in /metrics; it alarms once armed", async () => {
    const gate = uniqueGate("restart-armed");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(10_000), policy: { kind: "drop_rate", target: 0.22 } },
    });
    const observe = async (batch_id: string, queries: [number, number][]) =>
      counted(await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id, ...gate, queries } }));
    let alarmed = false;
    for (let i = 0; i < 20 && !alarmed; i++) alarmed = (await observe(`shift-${i}`, counts(100, 0.58))).alerts.includes("drop_rate_drift");
    expect(alarmed).toBe(true);
    // While the alert stands, each view shows the test that alarmed beside the restarted one.
    const during = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    const fired = during.windows[0]!.drop_rate;
    expect(fired.alarmed).toMatchObject({ queries: expect.any(Number), log_threshold: during.windows[0]!.log_threshold });
    expect(fired.alarmed!.log_evidence).toBeGreaterThanOrEqual(fired.alarmed!.log_threshold);
    expect(fired.alarmed!.observed).toBeGreaterThan(0.5);
    expect(fired.log_evidence).toBe(0);
    const md = await metricsOf(during.gate_id);
    expect(md.value(md.lines("scoregate_alarmed_drift_log_evidence")[0])).toBe(fired.alarmed!.log_evidence);
    expect(md.lines("scoregate_alarmed_drift_log_evidence")[0]).toContain('test="drop_rate"');
    expect(md.value(md.lines("scoregate_alarmed_observed_rate")[0])).toBe(fired.alarmed!.observed);
    // 40 more drifted queries: the restarted detector gathers evidence, but cannot alarm before 100.
    await observe("after-1", counts(40, 0.58));
    const { alerts } = await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "drop_rate_drift" })}`, 200, { token: TOKENS.read });
    await callJson("POST", `/v1/alerts/${alerts[0]!.id}/resolve`, 200, { token: TOKENS.admin, json: {} });

    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    const w = monitor.windows[0]!;
    expect(monitor.state).toMatchObject({ state: "not_armed", queries_to_arm: 60 });
    expect(w.drop_rate).toMatchObject({ armed: false, not_armed_reason: "too_few_queries", queries_to_arm: 60 });
    // The evidence shown is the restarted detector's (since its reset, 40 queries ago), which is the test not armed.
    expect(w.drop_rate.evidence_queries).toBe(40);
    expect(w.drop_rate.log_evidence).toBeGreaterThan(w.log_threshold);

    const m = await metricsOf(monitor.gate_id);
    expect(m.lines("scoregate_drift_alarm")).toEqual([`scoregate_drift_alarm{gate_id="${monitor.gate_id}"} 0`]);
    const armed = m.lines("scoregate_drift_armed");
    expect(armed).toHaveLength(1);
    expect(armed[0]).toMatch(/,test="drop_rate",role="active"\} 0$/u);
    expect(m.value(m.lines("scoregate_drift_log_evidence")[0])).toBe(w.drop_rate.log_evidence);
    expect(m.text).toMatch(/^# HELP scoregate_drift_armed 1 when the test can alarm/mu);
    // Resolved: the alarmed numbers go.
    expect(w.drop_rate.alarmed).toBeNull();
    expect(m.lines("scoregate_alarmed_drift_log_evidence")).toEqual([]);

    // 60 more queries arm it, and the evidence it held stands: it alarms again.
    expect((await observe("after-2", counts(60, 0.58))).alerts).toContain("drop_rate_drift");
    const again = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(again.state.state).toBe("alarm");
    // The new alert is a new one, first seen at its own alarm: it shows that alarm's numbers, never the resolved
    // alert's, and its details carry no earlier alarm.
    const [held] = again.state.alerts;
    expect(held!.alert_id).not.toBe(alerts[0]!.id);
    const shown = again.windows[0]!.drop_rate.alarmed!;
    expect(Date.parse(shown.at)).toBeGreaterThanOrEqual(Date.parse(held!.since));
    expect(shown.at).not.toBe(fired.alarmed!.at);
    const alert = await callJson("GET", `/v1/alerts/${held!.alert_id}`, 200, { token: TOKENS.read });
    expect(alert.first_seen_at).toBe(shown.at);
    expect((alert.details as { window: { drop_rate: { alarmed: unknown } } }).window.drop_rate.alarmed).toBeNull();
  });
});

describe("a coverage test restarted by a recall_drift alarm", () => {
  it("reports the alarmed test's numbers beside the fresh test's while the alert stands, in /v1/monitor and /metrics", async () => {
    const gate = uniqueGate("restart-recall");
    const data = labelledQueries(21, 500);
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        index_version: "v1",
        policy: { kind: "recall", target: 0.9, coverage: "any_relevant" },
        queries: data.map((q) => q.scores),
        relevance: data.map((q) => q.relevance),
      },
    });
    const t = calibration.threshold!;
    let alarmed = null;
    for (let b = 0; b < 20 && alarmed === null; b++) {
      const r = await callJson("POST", "/v1/judgments", 202, {
        token: TOKENS.read,
        json: { batch_id: `low-${b}`, ...gate, queries: judged(25, t, 0.06) },
      });
      if (r.alerts.includes("recall_drift")) alarmed = r.recall;
    }
    expect(alarmed).not.toBeNull();
    // The judgment's answer is the alarmed test's own status, with no earlier alarm in it.
    expect(alarmed!.alarmed).toBeUndefined();

    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(monitor.state.kinds).toEqual(["recall_drift"]);
    const r = monitor.recall[0]!;
    // The fresh test: nothing judged since the alarm.
    expect(r).toMatchObject({ queries: 0, observed: null, log_evidence: 0 });
    // The alarmed test: 6 % coverage against 90 %, as the alert says.
    expect(r.alarmed).toMatchObject({
      since: alarmed!.since,
      queries: alarmed!.queries,
      observed: alarmed!.observed,
      confidence_sequence_95: alarmed!.confidence_sequence_95,
      log_evidence: alarmed!.log_evidence,
      log_threshold: alarmed!.log_threshold,
    });
    expect(r.alarmed!.observed).toBeLessThan(0.1);
    expect(Date.parse(r.alarmed!.at)).toBeGreaterThanOrEqual(Date.parse(r.alarmed!.since));

    const m = await metricsOf(monitor.gate_id);
    const one = (name: string) => {
      const found = m.lines(name);
      expect(found, name).toHaveLength(1);
      return m.value(found[0]);
    };
    expect(one("scoregate_alarmed_observed_coverage")).toBe(r.alarmed!.observed);
    expect(one("scoregate_alarmed_judged_queries")).toBe(r.alarmed!.queries);
    expect(one("scoregate_alarmed_coverage_cs_lower")).toBe(r.alarmed!.confidence_sequence_95[0]);
    expect(one("scoregate_alarmed_coverage_cs_upper")).toBe(r.alarmed!.confidence_sequence_95[1]);
    expect(one("scoregate_alarmed_recall_log_evidence")).toBe(r.alarmed!.log_evidence);
    // The fresh test's series stay what they were: the restarted test's.
    expect(one("scoregate_judged_queries")).toBe(0);
    expect(one("scoregate_recall_armed")).toBe(1);

    // Resolved: only the fresh test remains.
    const { alerts } = await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "recall_drift" })}`, 200, { token: TOKENS.read });
    await callJson("POST", `/v1/alerts/${alerts[0]!.id}/resolve`, 200, { token: TOKENS.admin, json: {} });
    const after = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(after.recall[0]!.alarmed).toBeNull();
    expect((await metricsOf(monitor.gate_id)).lines("scoregate_alarmed_observed_coverage")).toEqual([]);
  });
});
