// GET /v1/monitor after an alarm on a guarded gate: the window's `expected_window` is the calibration's per-size rates
// for the window's own queries, where `expected` is the restarted detector's (only the queries since the alarm).
import { describe, expect, it } from "vitest";
import { asQueries, callJson, counted, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

describe("a guarded gate's window after an alarm", () => {
  it("shows expected_window for the window's query sizes beside the restarted detector's expected; a plain gate has none", async () => {
    const gate = uniqueGate("window-expectation");
    // 200 calibration queries of 20 candidates; min_keep 2 and max_keep 18: each query's threshold decides ranks 3 to 18.
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        index_version: "v1",
        queries: asQueries(spreadScores(4000), 20),
        policy: { kind: "drop_rate", target: 0.25, min_keep: 2, max_keep: 18 },
      },
    });
    const strata = calibration.per_query!.drop_rate_by_candidates!;
    const held = strata.filter((st) => st.queries > 0);
    expect(held).toHaveLength(1);
    // The calibration's share of decided candidates dropped: the rate of its one stratum, and of every size it never
    // saw (shown at the pooled share).
    const p = held[0]!.eligible_dropped / held[0]!.eligible;
    expect(held[0]!.eligible).toBe(200 * 16);
    // The stratum's own design effect is stored with it (D1) and read back as fitted.
    const stored = await callJson("GET", `/v1/calibrations/${calibration.id}`, 200, { token: TOKENS.read });
    const storedHeld = stored.per_query!.drop_rate_by_candidates!.filter((st) => st.queries > 0);
    expect(held[0]!.design_effect).toBeGreaterThanOrEqual(1);
    expect(storedHeld[0]!.design_effect).toBe(held[0]!.design_effect);

    const observe = async (batch_id: string, queries: [number, number][]) =>
      counted(await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id, ...gate, queries } }));
    // Long queries whose threshold drops 12 of their 16 decided candidates (the cap drops 2 more): an alarm.
    let long = 0;
    let alarmed = false;
    for (let i = 0; i < 10 && !alarmed; i++) {
      alarmed = (
        await observe(
          `long-${i}`,
          Array.from({ length: 100 }, () => [20, 14]),
        )
      ).alerts.includes("drop_rate_drift");
      long += 100;
    }
    expect(alarmed).toBe(true);
    // Then short queries only: 10 candidates, 8 decided, 2 of them dropped; no cap.
    const answer = await observe(
      "short",
      Array.from({ length: 100 }, () => [10, 2]),
    );

    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    const t = monitor.windows[0]!.drop_rate;
    expect(monitor.windows[0]!.queries).toBe(long + 100);
    expect(t.observed).toBeCloseTo((long * 14 + 100 * 2) / (long * 20 + 1000), 12);
    // The restarted detector holds the 100 short queries: 800 decided candidates at p, over 1,000.
    expect(t.expected).toBeCloseTo((800 * p) / 1000, 12);
    // The window: the cap's 2 a long query, plus 16 decided candidates a long query and 8 a short one at p.
    expect(t.expected_window).toBeCloseTo((long * (2 + 16 * p) + 100 * 8 * p) / (long * 20 + 1000), 12);
    expect(t.band_window!.lo).toBeLessThan(t.expected_window!);
    expect(t.band_window!.hi).toBeGreaterThan(t.expected_window!);
    // The observation's answer carries the same window, and the alarm its own (window and detector then alike).
    expect(answer.window.drop_rate.expected_window).toBe(t.expected_window);
    expect(t.alarmed!.expected_window).toBeCloseTo((2 + 16 * p) / 20, 12);

    const plain = uniqueGate("window-expectation-plain");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...plain, index_version: "v1", scores: spreadScores(4000), policy: { kind: "drop_rate", target: 0.25 } },
    });
    await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: "plain-1", ...plain, queries: [[20, 5]] } });
    const pooled = await callJson("GET", `/v1/monitor?${qs(plain)}`, 200, { token: TOKENS.read });
    expect(pooled.windows[0]!.drop_rate.observed).toBe(0.25);
    expect(pooled.windows[0]!.drop_rate).not.toHaveProperty("expected_window");
  });
});
