// A gate in alarm reads "alarm" everywhere: the overview, the gate page, GET /v1/monitor and /metrics, from the
// detector's alarm until its alert is resolved (or the detector is armed again), never "watching" in between.
import { describe, expect, it } from "vitest";
import { call, callJson, counted, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

/** The text of the detector badge in an HTML fragment (the first `badge` span after `data-field="detector"`). */
function detectorBadge(html: string, from = 0): string {
  const at = html.indexOf('data-field="detector"', from);
  expect(at, "a detector field").toBeGreaterThanOrEqual(0);
  return /<span class="badge [^"]*"[^>]*>([^<]*)<\/span>/u.exec(html.slice(at))![1]!;
}

/** Per-query counts at drop rate `rate`, 20 candidates a query. */
const counts = (n: number, rate: number): [number, number][] => Array.from({ length: n }, (_, i) => [20, Math.round(20 * rate + ((i % 3) - 1))]);

describe("detector state after an alarm", () => {
  it("reads alarm with its start on the overview, the gate page, /v1/monitor and /metrics until the alert is resolved", async () => {
    const gate = uniqueGate("alarm-state");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(10_000), policy: { kind: "drop_rate", target: 0.22 } },
    });
    // Production drops about 58 % where 22 % is expected: the detector alarms and restarts.
    let alarmed = false;
    for (let i = 0; i < 20 && !alarmed; i++) {
      const r = counted(
        await callJson("POST", "/v1/observations", 202, {
          token: TOKENS.read,
          json: { batch_id: `shift-${i}`, ...gate, queries: counts(100, 0.58) },
        }),
      );
      alarmed = r.alerts.includes("drop_rate_drift");
    }
    expect(alarmed).toBe(true);

    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(monitor.state).toMatchObject({ state: "alarm", kinds: ["drop_rate_drift"] });
    expect(monitor.state.since).not.toBeNull();
    // The alarm keeps the day's counts: the observed drop rate does not vanish with the restarted detector.
    expect(monitor.windows[0]!.drop_rate.observed).toBeGreaterThan(0.5);

    const cookie = await session(TOKENS.read);
    const overview = await page("/ui", cookie);
    expect(detectorBadge(overview, overview.indexOf(`data-gate="${calibration.gate_id}"`))).toBe("alarm");
    const gatePage = await page(`/ui/gates/${calibration.gate_id}`, cookie);
    expect(detectorBadge(gatePage)).toBe("alarm");
    const panel = gatePage.slice(gatePage.lastIndexOf("<", gatePage.indexOf('data-field="detector"'))).replace(/<[^>]+>/gu, "");
    expect(panel).toMatch(/^Drift detectoralarm since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/u);
    // Each kind in alarm links to its own alert (paired by state.alerts, not by position).
    const [held] = monitor.state.alerts;
    expect(held).toMatchObject({ kind: "drop_rate_drift" });
    expect(gatePage).toContain(`<a href="/ui/alerts/${held!.alert_id}">drop_rate_drift</a>`);
    // The restarted detector, in an on-call's words: when the next alarm can come, and what to do with this one.
    expect(monitor.state.queries_to_arm).toBeGreaterThan(0);
    const restarted = /data-field="queries-to-arm">([\s\S]*?)<\/div>/u.exec(gatePage)?.[1]?.replace(/\s+/gu, " ").trim();
    expect(restarted).toBe(
      `Detection restarted after this alarm; the next alarm needs at least ${monitor.state.queries_to_arm} more queries. Resolve the alert once the cause is fixed.`,
    );

    const metrics = await (await call("GET", "/metrics", { token: TOKENS.read })).text();
    const line = (name: string) => metrics.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(calibration.gate_id));
    expect(line("scoregate_drift_alarm")).toMatch(/\} 1$/u);
    expect(Number(line("scoregate_drift_alarm_since_seconds")?.split(" ").at(-1))).toBeCloseTo(Date.parse(monitor.state.since!) / 1000, 0);
    expect(Number(line("scoregate_observed_drop_rate")?.split(" ").at(-1))).toBeGreaterThan(0.5);

    // Resolving the alert ends the alarm; the restarted detector then needs 100 queries before it can alarm again.
    const { alerts } = await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "drop_rate_drift" })}`, 200, { token: TOKENS.read });
    // The alert leads with what raised it: the rate since the change point against the band, then the window's.
    expect(alerts[0]!.summary).toMatch(
      /^production drop rate \d+\.\d % over the last \d+ queries against the calibration's 22\.\d % \(tolerated [^;]+; change-detector evidence ln R = [\d.]+ >= [\d.]+\); \d+\.\d % over the window's \d+ queries$/u,
    );
    await callJson("POST", `/v1/alerts/${alerts[0]!.id}/resolve`, 200, { token: TOKENS.admin, json: {} });
    const resolved = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(resolved.state.state).not.toBe("alarm");
    const after = await page(`/ui/gates/${calibration.gate_id}`, cookie);
    expect(detectorBadge(after)).not.toBe("alarm");
    // the alarm came mid-batch: the restarted detector holds fewer than 100 queries, and the page says how many more
    expect(resolved.state).toMatchObject({ state: "not_armed" });
    expect(resolved.state.queries_to_arm).toBeGreaterThan(0);
    expect(after).toContain(`collecting queries: ${resolved.state.queries_to_arm} more before the detector can alarm`);
    const metricsAfter = await (await call("GET", "/metrics", { token: TOKENS.read })).text();
    expect(metricsAfter.split("\n").find((l) => l.startsWith("scoregate_drift_alarm{") && l.includes(calibration.gate_id))).toMatch(/\} 0$/u);
  });
});

describe("an alarm raised against a calibration rolled back from", () => {
  it("keeps the gate in alarm after the rollback, and the gate page says which version the alert is about", async () => {
    const gate = uniqueGate("alarm-rollback");
    const upload = (index_version: string) =>
      callJson("POST", "/v1/calibrations", 201, {
        token: TOKENS.calibrate,
        json: { ...gate, index_version, activate: true, scores: spreadScores(10_000), policy: { kind: "drop_rate", target: 0.22 } },
      });
    const v1 = (await upload("v1")).calibration;
    await upload("v2");
    let alarmed = false;
    for (let i = 0; i < 20 && !alarmed; i++) {
      const r = counted(
        await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: `rb-${i}`, ...gate, queries: counts(100, 0.58) } }),
      );
      alarmed = r.alerts.includes("drop_rate_drift");
    }
    expect(alarmed).toBe(true);
    await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { token: TOKENS.admin, json: { reason: "v2 drifted" } });

    const cookie = await session(TOKENS.read);
    const gatePage = await page(`/ui/gates/${v1.gate_id}`, cookie);
    expect(detectorBadge(gatePage)).toBe("alarm");
    const note = /data-field="alarm-not-served">([\s\S]*?)<\/div>/u.exec(gatePage)?.[1]?.replace(/\s+/gu, " ") ?? "";
    expect(note).toContain("drop_rate_drift was raised against v2, which is not served now");

    // On-call resolves it: the gate leaves the alarm and the note goes.
    const { alerts } = await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "drop_rate_drift" })}`, 200, { token: TOKENS.read });
    // The alert leads with what raised it: the rate since the change point against the band, then the window's.
    expect(alerts[0]!.summary).toMatch(
      /^production drop rate \d+\.\d % over the last \d+ queries against the calibration's 22\.\d % \(tolerated [^;]+; change-detector evidence ln R = [\d.]+ >= [\d.]+\); \d+\.\d % over the window's \d+ queries$/u,
    );
    await callJson("POST", `/v1/alerts/${alerts[0]!.id}/resolve`, 200, { token: TOKENS.admin, json: {} });
    const after = await page(`/ui/gates/${v1.gate_id}`, cookie);
    expect(detectorBadge(after)).not.toBe("alarm");
    expect(after).not.toContain('data-field="alarm-not-served"');
  });
});

describe("an alarm raised against one calibration of a version while another of that version is served", () => {
  it("names both with their id's end and says which one is served", async () => {
    const gate = uniqueGate("alarm-twin");
    const upload = async (index_version: string, target: number) =>
      (
        await callJson("POST", "/v1/calibrations", 201, {
          token: TOKENS.calibrate,
          json: { ...gate, index_version, activate: true, scores: spreadScores(10_000), policy: { kind: "drop_rate", target } },
        })
      ).calibration;
    await upload("v1", 0.22);
    const drifted = await upload("v2", 0.22);
    let alarmed = false;
    for (let i = 0; i < 20 && !alarmed; i++) {
      const r = counted(
        await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: `tw-${i}`, ...gate, queries: counts(100, 0.58) } }),
      );
      alarmed = r.alerts.includes("drop_rate_drift");
    }
    expect(alarmed).toBe(true);
    // another calibration of v2 (a new target on the same index) is activated: the drift alert's v2 is not served
    const served = await upload("v2", 0.5);
    const html = await page(`/ui/gates/${served.gate_id}`, await session(TOKENS.read));
    expect(detectorBadge(html)).toBe("alarm");
    const note = /data-field="alarm-not-served">([\s\S]*?)<\/div>/u.exec(html)?.[1]?.replace(/\s+/gu, " ") ?? "";
    expect(note).toContain(
      `drop_rate_drift was raised against v2 (${drifted.id.slice(-6)}), which is not served now (v2 (${served.id.slice(-6)}) is): it holds the alarm`,
    );
  });
});

describe("detector state of a gate whose only armed detector is a shadow's", () => {
  it("is not 'watching': the served calibration has no observations, whatever its shadow counted", async () => {
    const gate = uniqueGate("shadow-only");
    const upload = async (index_version: string, activate: boolean) =>
      (
        await callJson("POST", "/v1/calibrations", 201, {
          token: TOKENS.calibrate,
          json: { ...gate, index_version, scores: spreadScores(10_000), policy: { kind: "drop_rate", target: 0.22 }, activate },
        })
      ).calibration;
    await upload("v1", true);
    const shadow = await upload("v2", false);
    await callJson("POST", `/v1/calibrations/${shadow.id}/shadow`, 200, { token: TOKENS.admin, json: { sample_rate: 0.5 } });
    counted(
      await callJson("POST", "/v1/observations", 202, {
        token: TOKENS.read,
        json: { batch_id: "shadow-only-1", calibration_id: shadow.id, role: "shadow", queries: counts(300, 0.22) },
      }),
    );
    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    const mirrored = monitor.windows.find((w) => w.calibration_id === shadow.id)!;
    expect(mirrored).toMatchObject({ role: "shadow", queries: 300 });
    // the shadow's own detector is armed: only the gate's state ignores it
    expect(mirrored.drop_rate.armed).toBe(true);
    expect(monitor.state.state).toBe("no_observations");
    const html = await page(`/ui/gates/${shadow.gate_id}`, await session(TOKENS.read));
    expect(detectorBadge(html)).not.toContain("watching");
  });
});

describe("a gate's unresolved alerts that hold no drift alarm", () => {
  it("are named beside the detector's state (an unscored_candidates outage while it reads watching), until resolved", async () => {
    const gate = uniqueGate("other-open");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(10_000), policy: { kind: "drop_rate", target: 0.22 } },
    });
    // the scored candidates drop what is expected; one in ten candidates comes without a score
    let raised: string[] = [];
    for (let i = 0; i < 3 && !raised.includes("unscored_candidates"); i++) {
      const queries = counts(100, 0.22).map(([c, d]) => [c, d, d, 0, 2]);
      raised = counted(
        await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: `unscored-${i}`, ...gate, queries } }),
      ).alerts;
    }
    expect(raised).toContain("unscored_candidates");
    const [alert] = (await callJson("GET", `/v1/alerts?${qs(gate)}&kind=unscored_candidates`, 200, { token: TOKENS.read })).alerts;
    const cookie = await session(TOKENS.read);
    const text = (html: string) => html.slice(html.indexOf('data-field="detector"')).replace(/<[^>]+>/gu, "");
    const before = await page(`/ui/gates/${calibration.gate_id}`, cookie);
    expect(detectorBadge(before)).not.toBe("alarm");
    expect(before).toContain(`<div data-field="other-open-alerts">Also unresolved: <a href="/ui/alerts/${alert!.id}">unscored_candidates</a></div>`);
    expect(text(before)).toContain("Also unresolved: unscored_candidates");
    await callJson("POST", `/v1/alerts/${alert!.id}/resolve`, 200, { token: TOKENS.admin, json: {} });
    expect(await page(`/ui/gates/${calibration.gate_id}`, cookie)).not.toContain('data-field="other-open-alerts"');
  });
});
