import { describe, expect, it } from "vitest";
import { call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

describe("GET /metrics", () => {
  it("exposes per-gate drop rates, window counts, evidence and open alerts in Prometheus text format", async () => {
    const gate = uniqueGate("metrics");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(2000), policy: { kind: "drop_rate", target: 0.25 } },
    });
    await callJson("POST", "/v1/observations", 202, {
      token: TOKENS.read,
      json: {
        batch_id: "m1",
        ...gate,
        queries: [
          [20, 5],
          [20, 6],
          [10, 2],
        ],
      },
    });
    expect((await call("GET", "/metrics", { token: null })).status).toBe(401);
    const res = await call("GET", "/metrics", { token: TOKENS.read });
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    const line = (name: string) => text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(calibration.gate_id));
    const value = (l: string | undefined) => Number(l?.split(" ").at(-1));
    expect(text).toContain("# TYPE scoregate_observed_drop_rate gauge");
    expect(line("scoregate_expected_drop_rate")).toMatch(
      new RegExp(`calibration_id="${calibration.id}",role="active"\\} ${calibration.expected_drop_rate}$`),
    );
    expect(line("scoregate_observed_drop_rate")).toMatch(/\} 0\.26$/);
    expect(line("scoregate_window_queries")).toMatch(/\} 3$/);
    expect(line("scoregate_window_candidates")).toMatch(/\} 50$/);
    expect(value(line("scoregate_window_mean_candidates"))).toBeCloseTo(50 / 3, 12);
    // Direct mode queues nothing: the counters exist per result, at 0.
    const queued = text.split("\n").filter((l) => l.startsWith("scoregate_queued_batches{") && l.includes(calibration.gate_id));
    expect(queued.map((l) => l.replace(/.*result="(\w+)"\} /u, "$1=")).sort()).toEqual(["counted=0", "duplicate=0", "mismatch=0"]);
    // The evidence and its alarm level are the monitor's own numbers (GET /v1/monitor shows the same window).
    const { windows } = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(value(line("scoregate_drift_log_evidence"))).toBe(windows[0]!.drop_rate.log_evidence);
    expect(line("scoregate_drift_log_evidence")).toContain('test="drop_rate"');
    expect(value(line("scoregate_drift_log_threshold"))).toBe(windows[0]!.log_threshold);
    expect(value(line("scoregate_window_design_effect"))).toBe(windows[0]!.design_effect);
    expect(value(line("scoregate_threshold"))).toBe(calibration.threshold);
    expect(line("scoregate_gate_info")).toContain(`reranker="${gate.reranker}"`);
    expect(line("scoregate_gate_info")).toMatch(/\} 1$/);
    expect(text).toMatch(/^scoregate_metrics_gates\{listed="true"\} [1-9]\d*$/m);
  });

  it("says whose numbers each window holds: the active calibration's, a previous one's, two shadows' and a promotion's candidate arm", async () => {
    const gate = uniqueGate("roles");
    const upload = async (index_version: string, offset: number, activate: boolean) =>
      (
        await callJson("POST", "/v1/calibrations", 201, {
          token: TOKENS.calibrate,
          json: { ...gate, index_version, scores: spreadScores(500, offset), policy: { kind: "drop_rate", target: 0.25 }, activate },
        })
      ).calibration;
    const admin = { token: TOKENS.admin };
    const observe = (json: object) => callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json });
    const queries = (n: number) => Array.from({ length: n }, () => [20, 5]);
    const v0 = await upload("v0", 0, true);
    await observe({ batch_id: "r0", calibration_id: v0.id, queries: queries(3) });
    const v1 = await upload("v1", 0.1, true);
    const [s1, s2, cand] = [await upload("v2", 0.2, false), await upload("v3", 0.3, false), await upload("v4", 0.4, false)];
    for (const s of [s1, s2]) await callJson("POST", `/v1/calibrations/${s.id}/shadow`, 200, { ...admin, json: { sample_rate: 0.5 } });
    const p = await callJson("POST", `/v1/calibrations/${cand.id}/promote`, 201, { ...admin, json: { steps: [10, 100], reason: "rebuild" } });
    await observe({ batch_id: "r1", ...gate, queries: queries(4) });
    await observe({ batch_id: "r2", calibration_id: v1.id, promotion: { id: p.id, step: 0, arm: "control" }, queries: queries(5) });
    await observe({ batch_id: "r3", calibration_id: s1.id, role: "shadow", queries: queries(6) });
    await observe({ batch_id: "r4", calibration_id: s2.id, role: "shadow", queries: queries(7) });
    await observe({ batch_id: "r5", calibration_id: cand.id, promotion: { id: p.id, step: 0, arm: "candidate" }, queries: queries(8) });

    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    const byId = (ws: typeof monitor.windows) => Object.fromEntries(ws.map((w) => [w.calibration_id, [w.role, w.queries, w.promotion?.id ?? null]]));
    expect(byId(monitor.windows)).toEqual({
      // the control arm's queries are the active calibration's served traffic (4 + 5)
      [v1.id]: ["active", 9, null],
      [v0.id]: ["previous", 3, null],
      [s1.id]: ["shadow", 6, null],
      [s2.id]: ["shadow", 7, null],
      [cand.id]: ["candidate", 8, p.id],
    });
    expect(monitor.windows.find((w) => w.role === "candidate")!.promotion).toEqual({ id: p.id, step: 0 });

    const text = await (await call("GET", "/metrics", { token: TOKENS.read })).text();
    const series = (name: string) => text.split("\n").filter((l) => l.startsWith(`${name}{gate_id="${v1.gate_id}"`));
    const labelled = (l: string) => [/calibration_id="(\w+)"/u.exec(l)![1], /role="(\w+)"/u.exec(l)![1], Number(l.split(" ").at(-1))];
    expect(series("scoregate_window_queries").map(labelled).sort()).toEqual(
      [
        [v1.id, "active", 9],
        [v0.id, "previous", 3],
        [s1.id, "shadow", 6],
        [s2.id, "shadow", 7],
        [cand.id, "candidate", 8],
      ].sort(),
    );
    // The active gate's series keep their labels in their order, `role` last: a selector on role="active" reads it alone.
    expect(series("scoregate_window_queries").filter((l) => l.includes('role="active"'))).toEqual([
      `scoregate_window_queries{gate_id="${v1.gate_id}",calibration_id="${v1.id}",role="active"} 9`,
    ]);
    expect(series("scoregate_drift_log_evidence").filter((l) => l.includes(`calibration_id="${v1.id}"`))).toEqual([
      expect.stringMatching(
        new RegExp(`^scoregate_drift_log_evidence\\{gate_id="${v1.gate_id}",calibration_id="${v1.id}",test="drop_rate",role="active"\\} `),
      ),
    ]);
    expect(
      series("scoregate_observed_drop_rate")
        .map((l) => /role="(\w+)"/u.exec(l)![1])
        .sort(),
    ).toEqual(["active", "candidate", "previous", "shadow", "shadow"]);

    // A shadow activated: its served batches start a window of their own, apart from its mirrored counts of the day.
    await callJson("POST", `/v1/calibrations/${s1.id}/activate`, 200, { ...admin, json: { reason: "the shadow won" } });
    await observe({ batch_id: "r6", calibration_id: s1.id, queries: queries(2) });
    // A replaced calibration put in shadow while late served batches for it still arrive: mirrored and served batches
    // interleaved keep one window of each, closing neither (no window pushed to the history per switch, no detector
    // restarted, no mirrored evidence in the served window's detector).
    await upload("v1", 0.1, true); // replaces v1 on its index version
    await callJson("POST", `/v1/calibrations/${v1.id}/shadow`, 200, { ...admin, json: { sample_rate: 0.5 } });
    await observe({ batch_id: "r7", calibration_id: v1.id, role: "shadow", queries: queries(1) });
    await observe({ batch_id: "r8", calibration_id: v1.id, queries: queries(2) });
    await observe({ batch_id: "r9", calibration_id: v1.id, role: "shadow", queries: queries(1) });
    const after = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    const windowsOf = (id: string) =>
      after.windows
        .filter((w) => w.calibration_id === id)
        .map((w) => [w.role, w.queries])
        .sort();
    // (s1 served, now "previous": the later upload to index version v1 is the gate's current calibration)
    expect(windowsOf(s1.id)).toEqual([
      ["previous", 2],
      ["shadow", 6],
    ]);
    expect(windowsOf(v1.id)).toEqual([
      ["previous", 11],
      ["shadow", 2],
    ]);
    expect(after.history).toEqual([]);
  });
});
