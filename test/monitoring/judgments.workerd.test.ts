import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import type { Env } from "../../src/platform/env";
import { deliverDue } from "../../src/webhooks/delivery";
import { alertDeps } from "../../src/worker/wiring";
import { judged, labelledQueries } from "../support/labelled";
import { call, callJson, qs, TOKENS, uniqueGate } from "../support/worker";

const origin = inject("receiverOrigin");

async function recallGate(label: string, policy: object = { kind: "recall", target: 0.9, coverage: "any_relevant" }) {
  const gate = uniqueGate(label);
  const data = labelledQueries(21, 500);
  const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
    token: TOKENS.calibrate,
    json: { ...gate, index_version: "v1", policy, queries: data.map((q) => q.scores), relevance: data.map((q) => q.relevance) },
  });
  return { gate, calibration };
}

const post = (json: unknown) => callJson("POST", "/v1/judgments", 202, { token: TOKENS.read, json });
const refusedJudgment = (json: unknown) => callJson("POST", "/v1/judgments", 422, { token: TOKENS.read, json });

describe("POST /v1/judgments", () => {
  it("tests coverage on judged queries, is idempotent per batch and stays quiet at the guaranteed coverage", async () => {
    const { gate, calibration } = await recallGate("judge-null");
    const t = calibration.threshold!;
    let last: any;
    for (let b = 0; b < 10; b++) {
      last = await post({ batch_id: `ok-${b}`, ...gate, queries: judged(100, t, 0.9, b) });
      expect(last.alerts).toEqual([]);
    }
    expect(last).toMatchObject({ accepted: true, calibration_id: calibration.id });
    expect(last.recall).toMatchObject({ coverage: "any_relevant", target: 0.9, queries: 1000, batches: 10, alarm: false });
    expect(last.recall.expected).toBe(calibration.recall!.coverage_bound);
    expect(last.recall.observed).toBeCloseTo(0.9, 2);
    const [lo, hi] = last.recall.confidence_sequence_95;
    expect(lo).toBeLessThan(0.9);
    expect(hi).toBeGreaterThan(0.9);
    expect(hi - lo).toBeLessThan(0.1);
    // a retry resends the same batch: counted once
    const again = await post({ batch_id: "ok-9", ...gate, queries: judged(100, t, 0.9, 9) });
    expect(again).toMatchObject({ accepted: false, duplicate: true });
    expect(again.recall.queries).toBe(1000);
    // queries without a relevant candidate are counted, not tested; the applied threshold may be given per query
    const mixed = await post({
      batch_id: "mixed",
      calibration_id: calibration.id,
      queries: [
        { scores: [0.1, 0.2], relevance: [0, 0] },
        { scores: [0.1, 0.2], relevance: [0, 1], threshold: 0.15 },
      ],
    });
    expect(mixed.recall).toMatchObject({ queries: 1001, queries_without_relevant: 1 });
    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(monitor.recall).toHaveLength(1);
    expect(monitor.recall[0]).toMatchObject({ calibration_id: calibration.id, queries: 1001 });
    const metrics = await (await call("GET", "/metrics", { token: TOKENS.read })).text();
    expect(metrics).toMatch(
      new RegExp(`scoregate_observed_coverage\\{[^}]*calibration_id="${calibration.id}",coverage="any_relevant",role="active"\\} 0\\.9`),
    );
    expect(metrics).toMatch(/scoregate_coverage_cs_lower\{/);
    expect(metrics).toMatch(/scoregate_recall_log_evidence\{/);
  });

  it("raises a recall_drift alert with its numbers when coverage falls, and delivers its webhook", async () => {
    const created = await callJson("POST", "/v1/webhooks", 201, { json: { url: `${origin}/hook/recall`, description: "recall" } });
    await fetch(`${origin}/_control/recall`, { method: "POST", body: JSON.stringify({ mode: "ok", secret: created.secret }) });
    const { gate, calibration } = await recallGate("judge-fall");
    const t = calibration.threshold!;
    let raisedAt: number | null = null;
    for (let b = 0; b < 20 && raisedAt === null; b++) {
      const r = await post({ batch_id: `fall-${b}`, ...gate, queries: judged(25, t, 0.7, b) });
      if (r.alerts.includes("recall_drift")) raisedAt = 25 * (b + 1);
    }
    expect(raisedAt).not.toBeNull();
    expect(raisedAt!).toBeLessThanOrEqual(300);
    const { alerts } = await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "recall_drift" })}`, 200, { token: TOKENS.read });
    expect(alerts).toHaveLength(1);
    const a = alerts[0];
    expect(a).toMatchObject({ kind: "recall_drift", status: "open", calibration_ids: [calibration.id] });
    const recall = a!.details.recall as { observed: number; log_evidence: number; log_threshold: number; confidence_sequence_95: [number, number] };
    expect(recall.observed).toBeCloseTo(0.7, 1);
    expect(recall.log_evidence).toBeGreaterThanOrEqual(recall.log_threshold);
    expect(recall.confidence_sequence_95[1]).toBeLessThan(calibration.recall!.coverage_bound);
    expect(a!.summary).toMatch(/production coverage \(any_relevant\) [67]\d\.\d % over \d+ judged queries against the guaranteed 90\.\d %/);
    // the test restarted after the alarm
    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(monitor.recall[0]).toMatchObject({ alarms: 1 });
    // delivery: the monitor's own attempt, or the outbox sweep the cron runs
    await deliverDue(
      alertDeps(
        env as unknown as Env,
        () => {},
        () => new Date(),
      ),
    );
    let got: any[] = [];
    for (let i = 0; i < 50 && got.length === 0; i++) {
      got = ((await (await fetch(`${origin}/_received/recall`)).json()) as any[]).filter((r) => r.body?.data?.kind === "recall_drift");
      if (got.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(got).toHaveLength(1);
    expect(got[0].verified).toBe(true);
    expect(got[0].body).toMatchObject({ type: "alert.opened", data: { id: a!.id, kind: "recall_drift" } });
    expect(got[0].body.text).toMatch(/Recall below its guarantee/);
    await callJson("PATCH", `/v1/webhooks/${created.id}`, 200, { json: { enabled: false } });
  });

  it("refuses calibrations without a recall guarantee and labels of the wrong shape", async () => {
    const gate = uniqueGate("judge-bad");
    const { calibration: plain } = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", policy: { kind: "drop_rate", target: 0.3 }, queries: labelledQueries(3, 50).map((q) => q.scores) },
    });
    const notRecall = await refusedJudgment({ batch_id: "x", calibration_id: plain.id, queries: judged(3, 0.5, 1) });
    expect(notRecall.error.message).toMatch(/no recall guarantee/);
    const { calibration } = await recallGate("judge-bad-2");
    const bad = await refusedJudgment({ batch_id: "y", calibration_id: calibration.id, queries: [{ scores: [0.1, 0.2], relevance: [1] }] });
    expect((bad.error.details as unknown[])[0]).toEqual({ path: "queries[0].relevance", message: "has 1 label for 2 candidates" });
    const graded = await refusedJudgment({ batch_id: "z", calibration_id: calibration.id, queries: [{ scores: [0.1, 0.2], relevance: [0, 3] }] });
    expect((graded.error.details as { path: string }[])[0]!.path).toBe("queries[0].relevance[1]");
    const ok = await post({ batch_id: "z2", calibration_id: calibration.id, relevant_at: 2, queries: [{ scores: [0.1, 0.99], relevance: [0, 3] }] });
    expect(ok.recall.queries).toBe(1);
    await refusedJudgment({ batch_id: "w", queries: judged(1, 0.5, 1) });
  });

  it("refuses gate fields that contradict calibration_id, each one, as observations do (one resolver for both)", async () => {
    const { gate, calibration } = await recallGate("judge-target");
    const t = calibration.threshold!;
    for (const [field, value] of [
      ["index_version", "v9"],
      ["embedding", "another-embedding"],
      ["reranker", "another-reranker"],
      ["index", "another-index"],
    ] as const) {
      const judgment = await refusedJudgment({ batch_id: `c-${field}`, calibration_id: calibration.id, [field]: value, queries: judged(1, t, 1) });
      const observation = await callJson("POST", "/v1/observations", 422, {
        token: TOKENS.read,
        json: { batch_id: `c-${field}`, calibration_id: calibration.id, [field]: value, queries: [[5, 1]] },
      });
      expect(judgment.error).toEqual(observation.error);
      expect(judgment.error.details).toEqual([{ path: field, message: expect.stringMatching(/^contradicts calibration_id/) }]);
    }
    // matching fields, and none at all, are accepted
    const ok = await post({ batch_id: "c-ok", calibration_id: calibration.id, ...gate, index_version: "v1", queries: judged(1, t, 1) });
    expect(ok).toMatchObject({ accepted: true, calibration_id: calibration.id });
  });

  it("a batch_id reused with a different body is 422 batch_mismatch, exactly as for observations, and counts nothing", async () => {
    const { gate, calibration } = await recallGate("judge-reuse");
    const t = calibration.threshold!;
    const first = { batch_id: "j-1", ...gate, queries: judged(20, t, 0.9) };
    expect(await post(first)).toMatchObject({ accepted: true, duplicate: false, recall: { queries: 20 } });
    expect(await post(first)).toMatchObject({ accepted: false, duplicate: true, recall: { queries: 20 } });
    // the same id with other judged queries (here: all of them missed) is a client bug, refused rather than dropped
    const judgment = await refusedJudgment({ ...first, queries: judged(20, t, 0) });
    expect(judgment.error.code).toBe("batch_mismatch");
    expect(judgment.error.details).toEqual({ batch_id: "j-1" });
    // the same words as an observation batch reused with another body
    await callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json: { batch_id: "o-1", ...gate, queries: [[5, 1]] } });
    const observation = await callJson("POST", "/v1/observations", 422, {
      token: TOKENS.read,
      json: { batch_id: "o-1", ...gate, queries: [[5, 2]] },
    });
    expect(judgment.error.message.replace("j-1", "o-1")).toBe(observation.error.message);
    const monitor = await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(monitor.recall[0]).toMatchObject({ calibration_id: calibration.id, queries: 20, batches: 1 });
  });
});
