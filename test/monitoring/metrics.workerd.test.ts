import { describe, expect, it } from "vitest";
import { asQueries, call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

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

    // A shadow activated: it is no shadow any more, so its mirrored window ends (to the history), and its served
    // batches start a window of their own.
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
    expect(windowsOf(s1.id)).toEqual([["previous", 2]]);
    expect(windowsOf(v1.id)).toEqual([
      ["previous", 11],
      ["shadow", 2],
    ]);
    // the history holds s1's ended shadow window alone: v1's interleaved batches closed neither of its windows
    expect(after.history.map((w: { calibration_id: string; queries: number }) => [w.calibration_id, w.queries])).toEqual([[s1.id, 6]]);
  });

  it("shows a min_keep gate's guard binding under its own name and an abstaining gate's abstention rate", async () => {
    const upload = async (label: string, policy: object) => {
      const gate = uniqueGate(label);
      const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
        token: TOKENS.calibrate,
        json: { ...gate, index_version: "v1", queries: asQueries(spreadScores(2000), 20), policy },
      });
      return { gate, calibration };
    };
    const guarded = await upload("metrics-guards", { kind: "drop_rate", target: 0.25, min_keep: 2, max_keep: 18, abstention: { rate: 0.1 } });
    const plain = await upload("metrics-plain", { kind: "drop_rate", target: 0.25 });
    const observe = (gate: ReturnType<typeof uniqueGate>, batch_id: string, queries: number[][]) =>
      callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id, ...gate, queries } });
    // [candidates, dropped, below, abstained]: the second query's threshold alone kept 1 of 20, so min_keep 2 bound.
    await observe(guarded.gate, "g1", [
      [20, 5, 5, 0],
      [20, 18, 19, 1],
      [10, 2, 2, 0],
    ]);
    await observe(plain.gate, "p1", [
      [20, 5],
      [20, 20],
      [10, 2],
    ]);

    const text = await (await call("GET", "/metrics", { token: TOKENS.read })).text();
    const lines = (name: string, gateId: string) => text.split("\n").filter((l) => l.startsWith(`${name}{gate_id="${gateId}"`));
    const value = (name: string, gateId: string) => {
      const found = lines(name, gateId);
      expect(found, name).toHaveLength(1);
      expect(found[0]).toMatch(/,role="active"\} /u);
      return Number(found[0]!.split(" ").at(-1));
    };
    const tests = (gateId: string) => lines("scoregate_drift_log_evidence", gateId).map((l) => /test="(\w+)"/u.exec(l)![1]);
    const windowOf = async (gate: ReturnType<typeof uniqueGate>) =>
      (await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read })).windows[0]!;

    // The min_keep gate is never empty: its guard-binding test is reported as such, not as queries left with nothing.
    const g = guarded.calibration.gate_id;
    const gw = await windowOf(guarded.gate);
    expect(gw.empty_context_level).toBe(2);
    expect(value("scoregate_observed_guard_bound_rate", g)).toBeCloseTo(1 / 3, 12);
    expect(value("scoregate_expected_guard_bound_rate", g)).toBe(gw.empty_context!.expected);
    expect(lines("scoregate_observed_empty_context_rate", g)).toEqual([]);
    expect(lines("scoregate_expected_empty_context_rate", g)).toEqual([]);
    expect(value("scoregate_observed_abstention_rate", g)).toBeCloseTo(1 / 3, 12);
    expect(value("scoregate_expected_abstention_rate", g)).toBe(gw.abstention!.expected);
    expect(value("scoregate_window_abstention_queries", g)).toBe(3);
    expect(tests(g).sort()).toEqual(["abstention", "drop_rate", "guard_bound"]);
    // The drop rate the guarded gate's test expects (re-weighted to production's query sizes) is its own series; the
    // calibration's expected_drop_rate stays what the calibration says.
    expect(value("scoregate_window_expected_drop_rate", g)).toBe(gw.drop_rate.expected);
    expect(value("scoregate_expected_drop_rate", g)).toBe(guarded.calibration.expected_drop_rate);
    // What the gate serves, beside its threshold: the guards and the abstention cutoff of its current calibration.
    const served = (name: string, gateId: string) => text.split("\n").filter((l) => l.startsWith(`${name}{gate_id="${gateId}"}`));
    expect(served("scoregate_min_keep", g)).toEqual([`scoregate_min_keep{gate_id="${g}"} 2`]);
    expect(served("scoregate_max_keep", g)).toEqual([`scoregate_max_keep{gate_id="${g}"} 18`]);
    expect(served("scoregate_abstain_below", g)).toEqual([`scoregate_abstain_below{gate_id="${g}"} ${guarded.calibration.abstain_below}`]);
    expect(guarded.calibration.abstain_below).toEqual(expect.any(Number));
    const evidence = (gateId: string, test: string) =>
      Number(
        lines("scoregate_drift_log_evidence", gateId)
          .find((l) => l.includes(`test="${test}"`))!
          .split(" ")
          .at(-1),
      );
    expect(evidence(g, "guard_bound")).toBe(gw.empty_context!.log_evidence);
    expect(evidence(g, "abstention")).toBe(gw.abstention!.log_evidence);

    // A gate without guards or abstention keeps its empty-context series and gets none of the others.
    const p = plain.calibration.gate_id;
    const pw = await windowOf(plain.gate);
    expect(value("scoregate_observed_empty_context_rate", p)).toBeCloseTo(1 / 3, 12);
    expect(value("scoregate_expected_empty_context_rate", p)).toBe(pw.empty_context!.expected);
    for (const name of [
      "scoregate_observed_guard_bound_rate",
      "scoregate_expected_guard_bound_rate",
      "scoregate_observed_abstention_rate",
      "scoregate_expected_abstention_rate",
      "scoregate_window_abstention_queries",
    ])
      expect(lines(name, p), name).toEqual([]);
    expect(tests(p).sort()).toEqual(["drop_rate", "empty_context"]);
    expect(served("scoregate_min_keep", p)).toEqual([`scoregate_min_keep{gate_id="${p}"} 0`]);
    expect(served("scoregate_max_keep", p)).toEqual([]);
    expect(served("scoregate_abstain_below", p)).toEqual([]);
    // Every new family says what it is.
    for (const name of ["scoregate_observed_guard_bound_rate", "scoregate_expected_abstention_rate", "scoregate_observed_abstention_rate"])
      expect(text).toContain(`# TYPE ${name} gauge`);
    expect(text).toMatch(/^# HELP scoregate_observed_empty_context_rate .*a min_keep gate is never empty/mu);
    // The calibration's expected drop rate says what it is, not a formula that is wrong with ties or guards.
    expect(text).toMatch(/^# HELP scoregate_expected_drop_rate The current calibration's expected drop rate \(its expected_drop_rate/mu);
    expect(text).toMatch(/^# HELP scoregate_window_expected_drop_rate .*re-weighted to the query sizes production brought/mu);
  });
});
