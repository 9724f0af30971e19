/**
 * The served state of a gate beside its current calibration: a running promotion's split (`rollout`) and the shadow
 * set (`shadows`) are written with the event that changes them (gate_heads) and served by GET /v1/threshold, the KV
 * projection and the pushed event alike; a key's arm chosen by the SDK against the real Worker is the arm the split
 * says.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bucketOf } from "../../packages/client/src/assignment";
import { ScoregateClient } from "../../packages/client/src/client";
import { D1CalibrationStore } from "../../src/calibrations/d1-store";
import { admin, type Gate, twoVersions } from "../support/promotions";
import { call, callJson, qs, TOKENS } from "../support/worker";

const worker = (exports as unknown as { default: Fetcher }).default;

/** GET /v1/threshold as a client sees it: the body and its ETag. */
async function served(gate: Gate) {
  const res = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read });
  expect(res.status).toBe(200);
  return { body: (await res.json()) as Record<string, any>, etag: res.headers.get("ETag") };
}

describe("GET /v1/threshold serves the split and the shadows", () => {
  it("carries a promotion's rollout while it runs (step, share, both thresholds) and none once it ended", async () => {
    const { gate, v1, v2 } = await twoVersions("served-rollout");
    expect((await served(gate)).body.rollout ?? null).toBeNull();
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [10, 50, 100], reason: "rebuild" } });
    const atStart = await served(gate);
    expect(atStart.body).toMatchObject({
      calibration_id: v1.id,
      threshold: v1.threshold,
      rollout: {
        promotion_id: p.id,
        step: 0,
        percent_bp: 1000,
        salt: p.id,
        state: "running",
        candidate: { calibration_id: v2.id, threshold: v2.threshold },
      },
    });
    expect(v2.threshold).not.toBe(v1.threshold);

    await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { ...admin, json: {} });
    const atHalf = await served(gate);
    expect(atHalf.body.rollout).toMatchObject({ step: 1, percent_bp: 5000 });
    // The served bytes changed without an activation: the ETag must change with them.
    expect(atHalf.etag).not.toBe(atStart.etag);

    await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: { reason: "manual" } });
    const after = await served(gate);
    expect(after.body).toMatchObject({ calibration_id: v1.id, rollout: null });
  });

  it("drops the rollout when the promotion completes (the candidate is the gate's calibration then)", async () => {
    const { gate, v2 } = await twoVersions("served-complete");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [50, 100] } });
    expect((await served(gate)).body.rollout).toMatchObject({ promotion_id: p.id, percent_bp: 5000 });
    await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { ...admin, json: {} });
    expect((await served(gate)).body).toMatchObject({ calibration_id: v2.id, rollout: null });
  });

  it("carries a shadow from its shadow_added event (with that event's seq) until it is removed", async () => {
    const { gate, v1, v2 } = await twoVersions("served-shadow");
    const added = await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { ...admin, json: { sample_rate: 0.25 } });
    expect(added.shadows).toEqual([expect.objectContaining({ calibration_id: v2.id, since_seq: added.seq })]);
    const withShadow = await served(gate);
    expect(withShadow.body).toMatchObject({
      calibration_id: v1.id,
      threshold: v1.threshold,
      shadows: [{ calibration_id: v2.id, threshold: v2.threshold, sample_rate: 0.25, since_seq: added.seq }],
    });
    // The pushed event (the log row the hub replays) says what GET /v1/threshold says.
    const events = await new D1CalibrationStore(env.DB).events(added.gate_id, added.seq - 1, 1);
    expect(events.at(-1)).toMatchObject({ kind: "shadow_added", seq: added.seq, served: { shadows: withShadow.body.shadows } });

    await callJson("DELETE", `/v1/calibrations/${v2.id}/shadow`, 200, admin);
    expect((await served(gate)).body).toMatchObject({ calibration_id: v1.id, shadows: [] });
  });

  it("the SDK's gate() with an assignment key lands in the arm its bucket says, against the Worker", async () => {
    const { gate, v1, v2 } = await twoVersions("served-arms");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [10, 50, 100] } });
    const client = new ScoregateClient({
      baseUrl: "http://scoregate.test",
      token: TOKENS.read,
      fetch: ((input: RequestInfo | URL, init?: RequestInit) => worker.fetch(String(input), init)) as typeof fetch,
      observations: { timer: false },
    });
    const keys = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const arms = { candidate: 0, control: 0 };
    for (const key of keys) {
      const r = await client.gate([0.5], { gate, score: (s) => s, fallback: null, assignmentKey: key, report: false });
      const inCandidate = bucketOf(p.id, key) < 1000;
      expect(r.promotion).toEqual({ id: p.id, step: 0, arm: inCandidate ? "candidate" : "control" });
      expect(r.calibrationId).toBe(inCandidate ? v2.id : v1.id);
      expect(r.threshold).toBe(inCandidate ? v2.threshold : v1.threshold);
      arms[inCandidate ? "candidate" : "control"]++;
    }
    // 10 % of 400 keys: the binomial 99.9 % interval is about 15..65.
    expect(arms.candidate).toBeGreaterThanOrEqual(15);
    expect(arms.candidate).toBeLessThanOrEqual(65);
    const unkeyed = await client.gate([0.5], { gate, score: (s) => s, fallback: null, report: false });
    expect(unkeyed).toMatchObject({ calibrationId: v1.id, promotion: { id: p.id, step: 0, arm: "unassigned" } });
  });
});
