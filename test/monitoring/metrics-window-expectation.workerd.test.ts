// GET /metrics after an alarm on a guarded gate: scoregate_window_own_expected_drop_rate is the window's own expectation
// (GET /v1/monitor's drop_rate.expected_window), what its observed rate is judged against, where
// scoregate_window_expected_drop_rate is the restarted detector's; for an unguarded gate the two are one rate.
import { describe, expect, it } from "vitest";
import { asQueries, call, callJson, counted, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const OWN = "scoregate_window_own_expected_drop_rate";
const DETECTOR = "scoregate_window_expected_drop_rate";

describe("GET /metrics: the window's own expected drop rate", () => {
  it("gives each window the expectation its observed rate is judged against, labelled as the other window series", async () => {
    const gate = uniqueGate("metrics-own-expectation");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        index_version: "v1",
        queries: asQueries(spreadScores(4000), 20),
        policy: { kind: "drop_rate", target: 0.25, min_keep: 2, max_keep: 18 },
      },
    });
    const observe = async (batch_id: string, queries: [number, number][]) =>
      counted(await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id, ...gate, queries } }));
    // Long queries that drop far more than calibrated until the detector alarms (and restarts), then short ones only:
    // the restarted detector's sizes are the short queries', the window's are both.
    let alarmed = false;
    for (let i = 0; i < 10 && !alarmed; i++)
      alarmed = (
        await observe(
          `long-${i}`,
          Array.from({ length: 100 }, () => [20, 14]),
        )
      ).alerts.includes("drop_rate_drift");
    expect(alarmed).toBe(true);
    await observe(
      "short",
      Array.from({ length: 100 }, () => [10, 2]),
    );

    const plain = uniqueGate("metrics-own-expectation-plain");
    const pooled = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...plain, index_version: "v1", scores: spreadScores(4000), policy: { kind: "drop_rate", target: 0.25 } },
    });
    await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: "plain-1", ...plain, queries: [[20, 5]] } });

    const text = await (await call("GET", "/metrics", { token: TOKENS.read })).text();
    const sample = (name: string, gateId: string, calibrationId: string): number => {
      const found = text.split("\n").filter((l) => l.startsWith(`${name}{`) && l.includes(`gate_id="${gateId}"`));
      expect(found, name).toHaveLength(1);
      // the labels of every per-window series, in their order
      expect(found[0]!.startsWith(`${name}{gate_id="${gateId}",calibration_id="${calibrationId}",role="active"} `), found[0]).toBe(true);
      return Number(found[0]!.split(" ").at(-1));
    };

    const t = (await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read })).windows[0]!.drop_rate;
    expect(t.expected_window).toEqual(expect.any(Number));
    expect(sample(OWN, calibration.gate_id, calibration.id)).toBe(t.expected_window);
    expect(sample(DETECTOR, calibration.gate_id, calibration.id)).toBe(t.expected);
    // After the alarm they differ widely: the window holds the long queries the restarted detector no longer does.
    expect(Math.abs(t.expected_window! - t.expected)).toBeGreaterThan(0.05);

    // An unguarded gate's test is pooled: the window is judged against the calibration's rate, the detector's.
    const pw = (await callJson("GET", `/v1/monitor?${qs(plain)}`, 200, { token: TOKENS.read })).windows[0]!.drop_rate;
    expect(pw).not.toHaveProperty("expected_window");
    expect(sample(OWN, pooled.calibration.gate_id, pooled.calibration.id)).toBe(pw.expected);

    expect(text).toContain(`# TYPE ${OWN} gauge`);
    expect(text).toMatch(new RegExp(`^# HELP ${OWN} The drop rate the current window's observed rate is judged against`, "mu"));
  });
});
