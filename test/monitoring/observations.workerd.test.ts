import { describe, expect, it } from "vitest";
import { call, callJson, counted, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

/** Calibrates a gate at target 0.3 from 10,000 flat scores: expected drop rate ~0.30. */
async function calibrated(label: string): Promise<{ gate: ReturnType<typeof uniqueGate>; calibration: any }> {
  const gate = uniqueGate(label);
  const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
    token: TOKENS.calibrate,
    json: { ...gate, index_version: "v1", scores: spreadScores(10_000), policy: { kind: "drop_rate", target: 0.3 } },
  });
  return { gate, calibration };
}

/** Deterministic per-query counts with drop rate `rate` at 20 candidates a query. */
function queries(n: number, rate: number, offset = 0): [number, number][] {
  const out: [number, number][] = [];
  let carry = 0;
  for (let i = 0; i < n; i++) {
    carry += 20 * rate + 0.37 * Math.sin(i + offset); // a little between-query wobble, same mean
    const d = Math.max(0, Math.min(20, Math.round(carry)));
    carry -= d;
    out.push([20, d]);
  }
  return out;
}

const observe = async (json: unknown) => counted(await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json }));

describe("POST /v1/observations", () => {
  it("accepts batches named by gate or by calibration, with 202, and aggregates them", async () => {
    const { gate, calibration } = await calibrated("obs-basic");
    const a = await observe({ batch_id: "b-1", ...gate, queries: queries(50, 0.3) });
    expect(a).toMatchObject({ accepted: true, duplicate: false, calibration_id: calibration.id, alerts: [] });
    const b = await observe({ batch_id: "b-2", calibration_id: calibration.id, queries: queries(50, 0.3, 50) });
    expect(b.window.queries).toBe(100);
    expect(b.window.candidates).toBe(2000);
    // the drift baseline is the in-sample drop rate F(t-) (robust to tied scores)
    // Continuous scores: the gate's true rate is centred at k/(n+1), the conformal rate (tie-aware: F_n(t-) with ties).
    expect(b.window.drop_rate.expected).toBe(calibration.conformal_drop_rate);
  });

  it("is idempotent per batch id: a retried batch is never counted twice", async () => {
    const { gate } = await calibrated("obs-idem");
    const batch = { batch_id: "retry-me", ...gate, queries: queries(40, 0.3) };
    const first = await observe(batch);
    const again = await observe(batch);
    expect(again).toMatchObject({ accepted: false, duplicate: true });
    expect(again.window.queries).toBe(first.window.queries);
    const status = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(status.windows[0]!.queries).toBe(40);
    expect(status.windows[0]!.batches).toBe(1);
  });

  it("stays quiet when production matches the calibration", async () => {
    const { gate } = await calibrated("obs-null");
    for (let i = 0; i < 10; i++) {
      const r = await observe({ batch_id: `null-${i}`, ...gate, queries: queries(200, 0.3, i * 200) });
      expect(r.alerts).toEqual([]);
    }
    const { alerts } = await callJson("GET", `/v1/alerts?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(alerts).toEqual([]);
  });

  it("raises one drop_rate_drift alert when the drop rate moves from 30 % to 40 %, and repeats update it", async () => {
    const { gate, calibration } = await calibrated("obs-shift");
    let raisedAt: number | null = null;
    let total = 0;
    for (let i = 0; i < 30 && raisedAt === null; i++) {
      const r = await observe({ batch_id: `shift-${i}`, ...gate, queries: queries(100, 0.4, i * 100) });
      total += 100;
      if (r.alerts.includes("drop_rate_drift")) raisedAt = total;
    }
    expect(raisedAt).not.toBeNull();
    expect(raisedAt!).toBeLessThanOrEqual(3000);
    const { alerts } = await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "drop_rate_drift" })}`, 200, { token: TOKENS.read });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: "drop_rate_drift", status: "open", calibration_ids: [calibration.id], occurrences: 1 });
    expect((alerts[0]!.details.window as { drop_rate: { observed: number } }).drop_rate.observed).toBeGreaterThan(0.35);
    expect(alerts[0]!.summary).toMatch(/production drop rate 4\d\.\d %/);
    // the window restarted after the alarm; a continued shift alarms again and updates the same alert
    for (let i = 0; i < 30; i++) {
      const r = await observe({ batch_id: `shift-more-${i}`, ...gate, queries: queries(100, 0.4, 5000 + i * 100) });
      if (r.alerts.length > 0) break;
    }
    const after = await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "drop_rate_drift" })}`, 200, { token: TOKENS.read });
    expect(after.alerts).toHaveLength(1);
    expect(after.alerts[0]!.occurrences).toBe(2);
  });

  it("raises empty_context when queries start losing every candidate", async () => {
    const gate = uniqueGate("obs-empty");
    // calibration queries: 5 candidates each, none empty at the fitted threshold
    const calQueries = Array.from({ length: 2000 }, (_, i) => [0.2, 0.4, 0.6, 0.8, 0.9 + (i % 10) / 100]);
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", queries: calQueries, policy: { kind: "drop_rate", target: 0.2 } },
    });
    let raised = false;
    for (let i = 0; i < 20 && !raised; i++) {
      // 20 % of queries lose all 5 candidates, the rest lose none: the drop rate stays at 20 %
      const batch: [number, number][] = Array.from({ length: 100 }, (_, j) => [5, j % 5 === 0 ? 5 : 0]);
      const r = await observe({ batch_id: `empty-${i}`, ...gate, queries: batch });
      raised = r.alerts.includes("empty_context");
    }
    expect(raised).toBe(true);
  });

  it("compares short production queries with the calibration's rate for their size: fewer candidates is information, not an alarm", async () => {
    const gate = uniqueGate("obs-short");
    // 600 calibration queries of 20 candidates; query i's scores are shifted by a per-query effect, so some queries
    // sit mostly below the threshold (candidates move together) and single candidates are dropped about 30 % of the time.
    const calQueries = Array.from({ length: 600 }, (_, i) => {
      const effect = ((i * 37) % 600) / 600 - 0.5;
      return Array.from({ length: 20 }, (_, j) => Math.round((0.5 + effect + ((j * 13) % 20) / 40 - 0.25) * 1e4) / 1e4);
    });
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", queries: calQueries, policy: { kind: "drop_rate", target: 0.3 } },
    });
    const strata = calibration.per_query!.empty_context_by_candidates!;
    expect(strata.map((s) => s.min_candidates)).toEqual([1, 2, 3, 4, 6, 10, 20, 50]);
    expect(strata[0]!.rate).toBeCloseTo(calibration.in_sample_drop_rate, 10); // one candidate: empty = dropped
    expect(strata[6]!.rate).toBeCloseTo(calibration.per_query!.empty_context_rate, 10); // 20: the calibration's own size
    expect(strata[7]).toMatchObject({ extrapolated: true });
    // Production brings 2 candidates per query, each a random pair of a calibration query: empty about as often as
    // the calibration's 2-candidate rate, far more often than its 20-candidate queries.
    const t = calibration.threshold!;
    for (let b = 0; b < 10; b++) {
      const batch = Array.from({ length: 100 }, (_, q) => {
        const cal = calQueries[(b * 100 + q) % 600]!;
        const pair = [cal[(q * 7) % 20]!, cal[(q * 11 + 3) % 20]!];
        return [2, pair.filter((s) => s < t).length] as [number, number];
      });
      const r = await observe({ batch_id: `short-${b}`, ...gate, queries: batch });
      expect(r.alerts).toEqual([]);
    }
    const status = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    const w = status.windows[0]!;
    expect(w.empty_context!.alarm).toBe(false);
    expect(w.empty_context!.observed!).toBeGreaterThan(calibration.per_query!.empty_context_rate + 0.02);
    expect(w.empty_context!.expected).toBeCloseTo(strata[1]!.rate, 10);
    expect(w.candidates_per_query.change).toBe("fewer");
    expect(w.candidates_per_query.strata[1]).toMatchObject({ min_candidates: 2, max_candidates: 2, queries: 1000, tested: true });
    expect(w.candidates_per_query.strata[1]!.expected_empty_rate).toBeCloseTo(strata[1]!.rate, 10);
  });

  it("rejects bad batches with clear errors and counts nothing", async () => {
    const { gate } = await calibrated("obs-bad");
    const bad = async (json: unknown, status: number, code: string) => {
      const res = await call("POST", "/v1/observations", { token: TOKENS.read, json });
      expect(res.status).toBe(status);
      expect((await res.json<any>()).error.code).toBe(code);
    };
    await bad({ batch_id: "x", ...gate, queries: [[5, 6]] }, 422, "invalid_input");
    await bad({ batch_id: "x", ...gate, queries: [[5.5, 1]] }, 422, "invalid_input");
    await bad({ batch_id: "x", ...gate, queries: [] }, 422, "invalid_input");
    await bad({ batch_id: "x", queries: [[5, 1]] }, 422, "invalid_input");
    await bad({ batch_id: "x", calibration_id: "cal_000000000000aaaaaaaaaaaaaaaa", queries: [[5, 1]] }, 422, "invalid_input");
    await bad({ batch_id: "x", ...uniqueGate("never"), queries: [[5, 1]] }, 404, "uncalibrated");
    const status = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(status.windows).toEqual([]);
  });
});

describe("concurrent batches", () => {
  it("counts each batch once and loses nothing when batches (and alarms) arrive at the same time", async () => {
    const { gate } = await calibrated("obs-concurrent");
    // a shifted batch big enough to alarm, sent twice at once, with a normal batch alongside
    const alarming = { batch_id: "c-alarm", ...gate, queries: queries(400, 0.45) };
    const normal = { batch_id: "c-normal", ...gate, queries: queries(300, 0.3) };
    const results = await Promise.all([observe(alarming), observe(alarming), observe(normal)]);
    expect(results.map((r) => r.duplicate).sort()).toEqual([false, false, true]);
    const status = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    const counted = status.windows.reduce((n: number, w: any) => n + w.queries, 0) + status.history.reduce((n: number, w: any) => n + w.queries, 0);
    expect(counted).toBe(700);
    const { alerts } = await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "drop_rate_drift" })}`, 200, { token: TOKENS.read });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.occurrences).toBe(1);
  });
});

describe("tied scores", () => {
  it("does not raise false drift alarms for a graded reranker (scores 0-4) whose traffic matches its calibration", async () => {
    const gate = uniqueGate("graded");
    // grades 0..4 with shares 10/10/20/30/30 %: target 0.3 puts the threshold at grade 2, which drops only 20 %
    const grade = (i: number) => [0, 1, 2, 2, 3, 3, 3, 4, 4, 4][i % 10]!;
    const scores = Array.from({ length: 10_000 }, (_, i) => grade(i));
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      // served on request: its in-sample drop rate misses the target by more than activate "auto" accepts, and a batch
      // naming a calibration its gate never served is refused
      json: { ...gate, index_version: "v1", scores, policy: { kind: "drop_rate", target: 0.3 }, activate: true },
    });
    expect(calibration.threshold).toBe(2);
    expect(calibration.in_sample_drop_rate).toBeCloseTo(0.2, 12);
    expect(calibration.warnings.map((w: any) => w.code)).toContain("ties_at_threshold");
    for (let i = 0; i < 10; i++) {
      const r = await observe({ batch_id: `g-${i}`, calibration_id: calibration.id, queries: queries(200, 0.2, i * 200) });
      expect(r.alerts).toEqual([]);
    }
  });
});

describe("score sample", () => {
  it("compares the production score sample with the calibration in /v1/monitor", async () => {
    const { gate, calibration } = await calibrated("obs-sample");
    // a sample shifted down by 0.1: about 10 points more fall below the threshold, KS about 0.1
    const scores = spreadScores(500).map((s) => Math.max(0, s - 0.1));
    await observe({ batch_id: "s-1", calibration_id: calibration.id, queries: queries(25, 0.3), scores });
    const status = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    const sample = status.windows[0]!.score_sample;
    expect(sample).toMatchObject({ size: 500, seen: 500 });
    expect(sample.drop_rate_at_threshold).toBeGreaterThan(0.37);
    expect(sample.drop_rate_at_threshold).toBeLessThan(0.43);
    expect(sample.ks).toBeGreaterThan(0.08);
    expect(sample.ks).toBeLessThan(0.12);
  });
});
