// GET /v1/monitor/series: a gate's hourly buckets and activations, as JSON (checked against the route table's
// schema by handle()) and as CSV; bad ranges and unknown gates refused.
import { describe, expect, it } from "vitest";
import { call, callJson, counted, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

describe("GET /v1/monitor/series", () => {
  it("returns the hour's bucket with the window's counts, the activations, and the same rows as CSV", async () => {
    const gate = uniqueGate("series");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(5000), policy: { kind: "drop_rate", target: 0.25 } },
    });
    const queries: [number, number][] = [
      [20, 5],
      [20, 20],
      [10, 0],
      [0, 0],
    ];
    const r = counted(await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: "s1", ...gate, queries } }));
    const series = await callJson("GET", `/v1/monitor/series?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(series).toMatchObject({ gate_id: calibration.gate_id, bucket_seconds: 3600, retention_days: 30 });
    expect(series.buckets).toHaveLength(1);
    expect(series.buckets[0]).toMatchObject({
      calibration_id: calibration.id,
      traffic: "served",
      index_version: "v1",
      batches: 1,
      queries: 3,
      candidates: 50,
      dropped: 25,
      empty_queries: 1,
      gated_queries: 2,
      drop_rate: 0.5,
      expected: r.window.drop_rate.expected,
      log_threshold: r.window.log_threshold,
      // [m, d] from a client that applies neither guards nor abstention: nothing to count.
      abstention_queries: 0,
      abstained_queries: 0,
      abstention_rate: null,
      guard_bound_queries: 0,
      abstention_alarms: 0,
      unscored_candidates: 0,
    });
    expect(series.activations).toEqual([
      { at: expect.any(String), calibration_id: calibration.id, index_version: "v1", previous_calibration_id: null },
    ]);

    const csv = await call("GET", `/v1/monitor/series?${qs({ ...gate, format: "csv" })}`, { token: TOKENS.read });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const [header, row, end] = (await csv.text()).split("\r\n");
    expect(header!.split(",").slice(0, 12).join(",")).toBe(
      "start,end,calibration_id,index_version,batches,queries,candidates,dropped,empty_queries,gated_queries,drop_rate,expected",
    );
    expect(row!.split(",").slice(2, 11)).toEqual([calibration.id, "v1", "1", "3", "50", "25", "1", "2", "0.5"]);
    // Columns added later come last, so earlier columns keep their positions.
    expect(header!.split(",").slice(-8).join(",")).toBe(
      "last_alarm_at,abstention_queries,abstained_queries,abstention_rate,guard_bound_queries,abstention_alarms,traffic,unscored_candidates",
    );
    expect(row!.split(",").slice(-7)).toEqual(["0", "0", "", "0", "0", "served", "0"]);
    expect(end).toBe("");

    // A range before the observations has no bucket (and no activation).
    const before = await callJson("GET", `/v1/monitor/series?${qs({ ...gate, from: "2020-01-01T00:00:00Z", to: "2020-01-02T00:00:00Z" })}`, 200, {
      token: TOKENS.read,
    });
    expect(before).toMatchObject({ buckets: [], activations: [], from: "2020-01-01T00:00:00.000Z", to: "2020-01-02T00:00:00.000Z" });
  });

  it("quotes an index_version with a comma in CSV", async () => {
    const gate = uniqueGate("series-csv");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: 'v1,"blue"', scores: spreadScores(2000), policy: { kind: "drop_rate", target: 0.25 } },
    });
    await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: "c1", ...gate, queries: [[20, 5]] } });
    const text = await (await call("GET", `/v1/monitor/series?${qs({ ...gate, format: "csv" })}`, { token: TOKENS.read })).text();
    expect(text.split("\r\n")[1]).toContain(',"v1,""blue""",');
  });

  it("refuses a reversed or malformed range, an unknown format, an unknown gate and a missing token", async () => {
    const gate = uniqueGate("series-bad");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(2000), policy: { kind: "drop_rate", target: 0.25 } },
    });
    const reversed = await callJson("GET", `/v1/monitor/series?${qs({ ...gate, from: "2026-12-02T00:00:00Z", to: "2026-12-01T00:00:00Z" })}`, 400, {
      token: TOKENS.read,
    });
    expect(reversed.error.message).toBe("from must not be after to");
    const malformed = await callJson("GET", `/v1/monitor/series?${qs({ ...gate, from: "yesterday" })}`, 400, { token: TOKENS.read });
    expect(malformed.error.message).toContain("ISO 8601");
    await callJson("GET", `/v1/monitor/series?${qs({ ...gate, format: "xml" })}`, 400, { token: TOKENS.read });
    await callJson("GET", `/v1/monitor/series?${qs(uniqueGate("never"))}`, 404, { token: TOKENS.read });
    expect((await call("GET", `/v1/monitor/series?${qs(gate)}`, { token: null })).status).toBe(401);
  });
});
