// After an alarm the detector restarts: what GET /v1/monitor and /metrics say about the restarted test, and about the
// test that alarmed, while its alert stands and after it is resolved.
import { describe, expect, it } from "vitest";
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

    // 60 more queries arm it, and the evidence it held stands: it alarms again.
    expect((await observe("after-2", counts(60, 0.58))).alerts).toContain("drop_rate_drift");
    const again = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(again.state.state).toBe("alarm");
  });
});
