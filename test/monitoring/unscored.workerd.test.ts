/**
 * A reranker that fails for some candidates, end to end: POST /v1/observations with the unscored candidates as each
 * query's fifth count, GET /v1/monitor, /v1/alerts and /metrics. The drift tests read the scored candidates, and the
 * missing scores raise their own alert.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DRIFT_WINDOW_MS } from "../../src/monitoring/window";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { batch, T0 } from "../support/monitor-batches";
import { monitorStubs } from "../support/monitor-stubs";
import { call, callJson, counted, expectError, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

/** Calibrates a gate at target 0.3 from 10,000 flat scores: expected drop rate ~0.30. */
async function calibrated(label: string): Promise<{ gate: ReturnType<typeof uniqueGate>; calibration: any }> {
  const gate = uniqueGate(label);
  const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
    token: TOKENS.calibrate,
    json: { ...gate, index_version: "v1", scores: spreadScores(10_000), policy: { kind: "drop_rate", target: 0.3 } },
  });
  return { gate, calibration };
}

/** Deterministic drop counts of `m` scored candidates a query at drop rate `rate` (a little wobble, same mean). */
function drops(n: number, m: number, rate: number, offset = 0): number[] {
  const out: number[] = [];
  let carry = 0;
  for (let i = 0; i < n; i++) {
    carry += m * rate + 0.37 * Math.sin(i + offset);
    const d = Math.max(0, Math.min(m, Math.round(carry)));
    carry -= d;
    out.push(d);
  }
  return out;
}

const observe = async (json: unknown) => counted(await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json }));
const alertsOf = async (gate: Record<string, string>, kind: string) =>
  (await callJson("GET", `/v1/alerts?${qs({ ...gate, kind })}`, 200, { token: TOKENS.read })).alerts;
const windowOf = async (gate: Record<string, string>) => (await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read })).windows[0]!;

describe("a reranker timing out for 30 % of the candidates of every query", () => {
  // 20 candidates a query, 6 of them unscored and kept; the gate drops 30 % of the 14 it scored, as calibrated.
  const outage = (n: number, offset: number) => drops(n, 14, 0.3, offset).map((d) => [14, d, d, 0, 6]);

  it("reported with the unscored count: no drop_rate_drift, an unscored_candidates alert that says what it means, raised once", async () => {
    const { gate, calibration } = await calibrated("unscored-timeout");
    const raised: string[][] = [];
    for (let i = 0; i < 15; i++) raised.push((await observe({ batch_id: `t-${i}`, ...gate, queries: outage(200, i * 200) })).alerts);
    // The first batch holds 4,000 reported candidates, 30 % unscored: over the share and the minimum at once.
    expect(raised[0]).toEqual(["unscored_candidates"]);
    expect(raised.slice(1).flat()).toEqual([]);
    const w = await windowOf(gate);
    expect(w).toMatchObject({ queries: 3000, candidates: 42_000, unscored_candidates: 18_000 });
    expect(w.drop_rate.observed).toBeCloseTo(0.3, 2);
    expect(w.drop_rate.armed).toBe(true);
    expect(w.drop_rate.alarm).toBe(false);
    expect(await alertsOf(gate, "drop_rate_drift")).toEqual([]);
    const [alert, ...more] = await alertsOf(gate, "unscored_candidates");
    expect(more).toEqual([]);
    if (alert === undefined) throw new Error("no unscored_candidates alert");
    expect(alert).toMatchObject({ kind: "unscored_candidates", status: "open", occurrences: 1, calibration_ids: [calibration.id] });
    expect(alert.summary).toBe(
      "30.0 % of the 4,000 candidates services reported in this window had no score (1,200 unscored, over the 5.0 % tolerated): a reranker failing or timing out, a wrong score key, scores sent as strings; the drop-rate test reads the 2,800 scored ones",
    );
    expect(alert.details).toMatchObject({ unscored_candidates: 1200, scored_candidates: 2800, reported_candidates: 4000, alert_share: 0.05 });
    // The gate is not in drift alarm: the missing scores are an outage of the service, not a change of the gate.
    expect((await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read })).state.state).toBe("watching");

    const text = await (await call("GET", "/metrics", { token: TOKENS.read })).text();
    const line = text.split("\n").find((l) => l.startsWith(`scoregate_window_unscored_candidates{gate_id="${calibration.gate_id}"`));
    expect(line).toMatch(/role="active"\} 18000$/u);
  });

  it("reported the old way (unscored counted as kept candidates) the same outage reads as a fall of the drop rate", async () => {
    const { gate } = await calibrated("unscored-timeout-old");
    let drift = false;
    for (let i = 0; i < 15 && !drift; i++) {
      const queries = drops(200, 14, 0.3, i * 200).map((d) => [20, d]);
      drift = (await observe({ batch_id: `o-${i}`, ...gate, queries })).alerts.includes("drop_rate_drift");
    }
    expect(drift).toBe(true);
    expect(await alertsOf(gate, "unscored_candidates")).toEqual([]);
  });
});

describe("unscored candidates in the counts", () => {
  it("an all-unscored burst adds nothing to the tests (no query, no empty context) and raises unscored_candidates", async () => {
    const { gate } = await calibrated("unscored-burst");
    const before = (await observe({ batch_id: "ok", ...gate, queries: drops(100, 20, 0.3).map((d) => [20, d, d, 0]) })).window;
    const burst = await observe({ batch_id: "burst", ...gate, queries: Array.from({ length: 100 }, () => [0, 0, 0, 0, 20]) });
    expect(burst.alerts).toEqual(["unscored_candidates"]);
    const w = burst.window;
    expect(w).toMatchObject({
      batches: 2,
      queries: before.queries,
      candidates: before.candidates,
      dropped: before.dropped,
      empty_queries: before.empty_queries,
      unscored_candidates: 2000,
    });
    expect(w.drop_rate.observed).toBe(before.drop_rate.observed);
    expect(w.drop_rate.log_evidence).toBe(before.drop_rate.log_evidence);
    // A second burst in the same window does not raise it again.
    expect((await observe({ batch_id: "burst-2", ...gate, queries: [[0, 0, 0, 1, 20]] })).alerts).toEqual([]);
    expect((await alertsOf(gate, "unscored_candidates")).map((a: any) => a.occurrences)).toEqual([1]);
    expect(await alertsOf(gate, "empty_context")).toEqual([]);
  });

  it("an old client's 4-element counts are read as before, and a mixed batch adds each form as it means", async () => {
    const { gate } = await calibrated("unscored-mixed");
    const old = await observe({
      batch_id: "old",
      ...gate,
      queries: [
        [20, 6, 6, 0],
        [20, 5],
        [10, 10, 10, 1],
      ],
    });
    expect(old.window).toMatchObject({ queries: 3, candidates: 50, dropped: 21, empty_queries: 1, unscored_candidates: 0, abstention_queries: 2 });
    const mixed = await observe({
      batch_id: "mixed",
      ...gate,
      queries: [
        [20, 6],
        [14, 4, 4, 0, 6],
        [0, 0, 0, 0, 12],
        [20, 6, 6, 0, 0],
      ],
    });
    expect(mixed.alerts).toEqual([]); // 18 of 122 reported: over the share, under the minimum
    expect(mixed.window).toMatchObject({ queries: 6, candidates: 104, dropped: 37, empty_queries: 1, unscored_candidates: 18 });
    const series = await callJson("GET", `/v1/monitor/series?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(series.buckets.map((b: any) => [b.candidates, b.unscored_candidates])).toEqual([[104, 18]]);
  });

  it("a malformed fifth count is a 422 that names it, and stores nothing", async () => {
    const { gate } = await calibrated("unscored-bad");
    const bad = async (q: unknown) =>
      (
        await expectError(
          await call("POST", "/v1/observations", { token: TOKENS.read, json: { batch_id: "bad", ...gate, queries: [[20, 6], q] } }),
          422,
          "invalid_input",
        )
      ).message;
    expect(await bad([14, 4, 4, 0, -1])).toMatch(/queries\[1\]\[4\] must be at least 0/u);
    expect(await bad([14, 4, 4, 0, 1.5])).toMatch(/queries\[1\].*whole numbers/u);
    expect(await bad([14, 4, 4, 0, "6"])).toMatch(/queries\[1\].*\[candidates, dropped, below, abstained, unscored\]/u);
    expect(await bad([14, 4, 4, 0, 6, 0])).toMatch(/queries\[1\].*must be \[candidates, dropped\]/u);
    expect(await bad([9_995, 4, 4, 0, 6])).toMatch(/queries\[1\] candidates and unscored together must not exceed 10000/u);
    expect((await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read })).windows).toEqual([]);
    // The batch id was not claimed: the corrected batch counts.
    expect((await observe({ batch_id: "bad", ...gate, queries: [[14, 4, 4, 0, 6]] })).window.unscored_candidates).toBe(6);
  });
});

describe("the unscored_candidates alarm in the gate's monitor", () => {
  const stubs = monitorStubs("unscored");
  afterEach(() => stubs.drain());
  /** `n` queries of 20 candidates, 6 of them without a score; the 14 scored dropped at 30 %. */
  const outage = (gateId: string, batchId: string, nowMs: number, n = 100) => {
    const b = batch(gateId, batchId, nowMs, []);
    return { ...b, queries: Array.from({ length: n }, () => [14, 4, 4, 0, 6] as const) };
  };

  it("is raised once a window, again in the next window while the outage lasts, never for a shadow's traffic", async () => {
    const { gateId, rpc } = stubs.monitor("windows");
    expect((await rpc.observe(outage(gateId, "a1", T0))).alerts).toEqual(["unscored_candidates"]);
    expect((await rpc.observe(outage(gateId, "a2", T0 + 3_600_000))).alerts).toEqual([]);
    const next = await rpc.observe(outage(gateId, "a3", T0 + DRIFT_WINDOW_MS + 1));
    expect(next.alerts).toEqual(["unscored_candidates"]);
    expect(next.window).toMatchObject({ batches: 1, candidates: 1400, unscored_candidates: 600 });
    const status = await rpc.status(gateId, T0 + DRIFT_WINDOW_MS + 2, DEFAULT_DRIFT_CONFIG);
    expect(status.history.map((w) => [w.candidates, w.unscored_candidates])).toEqual([[2800, 1200]]);

    const mirrored = { ...outage(gateId, "s1", T0 + DRIFT_WINDOW_MS + 3), role: "shadow" as const, shadow_since_seq: 1 };
    const shadow = await rpc.observe(mirrored);
    expect(shadow.alerts).toEqual([]);
    expect(shadow.window.unscored_candidates).toBe(600);
  });

  it("waits for the minimum of reported candidates, and tolerates the share exactly", async () => {
    const { gateId, rpc } = stubs.monitor("minimum");
    // 49 queries: 980 reported candidates, 30 % unscored: too few to say
    expect((await rpc.observe(outage(gateId, "m1", T0, 49))).alerts).toEqual([]);
    expect((await rpc.observe(outage(gateId, "m2", T0 + 1, 1))).alerts).toEqual(["unscored_candidates"]);
    const { gateId: other, rpc: otherRpc } = stubs.monitor("share");
    const exact = { ...batch(other, "e1", T0, []), queries: Array.from({ length: 50 }, () => [19, 6, 6, 0, 1] as const) }; // 5.0 %
    expect((await otherRpc.observe(exact)).alerts).toEqual([]);
  });
});
