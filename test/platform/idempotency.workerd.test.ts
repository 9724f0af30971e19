import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { gateIdOf } from "../../src/platform/ids";
import { IDEMPOTENCY_LOCK_MS, IDEMPOTENCY_RETRY_AFTER_SECONDS } from "../../src/platform/limits";
import { projectionKey } from "../../src/serving/projection";
import { call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

// 6 scores miss most targets by more than activate "auto" accepts: these uploads ask to be served.
const body = (gate: object, target = 0.2, index_version = "v1") => ({
  ...gate,
  index_version,
  scores: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
  policy: { kind: "drop_rate", target },
  activate: true,
});

describe("Idempotency-Key on POST /v1/calibrations", () => {
  it("replays the first response for the same key and body, and stores one calibration", async () => {
    const gate = uniqueGate("idem");
    const headers = { "idempotency-key": "rebuild-42" };
    const first = await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json: body(gate), headers });
    expect(first.status).toBe(201);
    const second = await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json: body(gate), headers });
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect((await second.json<any>()).calibration.id).toBe((await first.json<any>()).calibration.id);
    const history = await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200);
    expect(history.calibrations).toHaveLength(1);
    expect(history.activations).toHaveLength(1);
  });

  it("refuses the same key with a different body (422), and releases keys of failed requests", async () => {
    const gate = uniqueGate("idem2");
    const headers = { "idempotency-key": "k-1" };
    await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: body(gate), headers });
    const other = await callJson("POST", "/v1/calibrations", 422, { token: TOKENS.calibrate, json: body(gate, 0.3), headers });
    expect(other.error.code).toBe("idempotency_mismatch");
    const failing = { "idempotency-key": "k-2" };
    await callJson("POST", "/v1/calibrations", 422, { token: TOKENS.calibrate, json: body(gate, 0.99), headers: failing });
    await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: body(gate, 0.3), headers: failing });
  });

  it("answers a key whose first request is still running 409 idempotency_in_progress with Retry-After, then replays it", async () => {
    const gate = uniqueGate("idem-running");
    await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: body(gate), headers: { "idempotency-key": "run-a" } });
    // Key run-b claimed by a request with the same body that has not committed yet: its hash, no answer, claimed now.
    await env.DB.prepare(
      `INSERT INTO idempotency_keys (actor, key, request_hash, status, response, created_at)
       SELECT actor, 'run-b', request_hash, NULL, NULL, ?1 FROM idempotency_keys WHERE actor = 'rebuild-bot' AND key = 'run-a'`,
    )
      .bind(new Date().toISOString())
      .run();
    const busy = await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json: body(gate), headers: { "idempotency-key": "run-b" } });
    expect([busy.status, busy.headers.get("retry-after"), (await busy.json<any>()).error.code]).toEqual([
      409,
      String(IDEMPOTENCY_RETRY_AFTER_SECONDS),
      "idempotency_in_progress",
    ]);
    // nothing was stored for it
    expect((await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200)).calibrations).toHaveLength(1);
    // another code's 409 carries no Retry-After (a state refusal: retrying gets it again)
    const other = await call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json: body(gate, 0.3), headers: { "idempotency-key": "run-b" } });
    expect([other.status, other.headers.get("retry-after")]).toEqual([422, null]);
  });
});

describe("a retry after the upload's request died between its D1 commit and its key's completion", () => {
  // The state such a crash leaves in D1 and KV: the calibration and activation committed with the key and request
  // hash and the activation's pending-listeners marker (one batch), the key still in flight, nothing published, no
  // alert. (test/calibrations/crash-window.test.ts and test/jobs/scheduled.workerd.test.ts kill a real request there.)
  async function crashState(gate: ReturnType<typeof uniqueGate>, key: string, claimedAt: string | null) {
    const headers = { "idempotency-key": key };
    const json = { ...gate, index_version: "v1", scores: spreadScores(1000), policy: { kind: "drop_rate", target: 0.2 } };
    const first = await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json, headers });
    await env.DB.prepare(
      `UPDATE idempotency_keys SET status = NULL, response = NULL${claimedAt ? ", created_at = ?3" : ""} WHERE actor = ?1 AND key = ?2`,
    )
      .bind("rebuild-bot", key, ...(claimedAt ? [claimedAt] : []))
      .run();
    await env.DB.prepare(
      `INSERT INTO pending_listeners (activation_id, gate_id, committed_at) SELECT id, gate_id, activated_at FROM activations WHERE calibration_id = ?`,
    )
      .bind(first.calibration.id)
      .run();
    await env.THRESHOLDS.delete(await projectionKey(await gateIdOf(gate), null));
    return { first, retry: () => call("POST", "/v1/calibrations", { token: TOKENS.calibrate, json, headers }) };
  }

  it("replays the committed upload instead of 409 and republishes its threshold to KV", async () => {
    const gate = uniqueGate("crash");
    const { first, retry } = await crashState(gate, "crash-1", null);
    const res = await retry();
    expect(res.status).toBe(201);
    expect(res.headers.get("idempotent-replayed")).toBe("true");
    const replayed = await res.json<any>();
    expect(replayed.calibration.id).toBe(first.calibration.id);
    expect(replayed.activation_outcome).toMatchObject({ activated: true, reason: "first_calibration" });
    expect(await env.THRESHOLDS.get(await projectionKey(await gateIdOf(gate), null), "json")).toMatchObject({
      threshold: { calibration_id: first.calibration.id },
    });
    const history = await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200);
    expect(history.calibrations).toHaveLength(1);
    expect(history.activations).toHaveLength(1);
    const owed = await env.DB.prepare("SELECT COUNT(*) AS n FROM pending_listeners WHERE gate_id = ?")
      .bind(await gateIdOf(gate))
      .first<{ n: number }>();
    expect(owed?.n).toBe(0);
  });

  it("once the key's claim expired, the retry still replays and never stores a second calibration", async () => {
    const gate = uniqueGate("crash-expired");
    const { first, retry } = await crashState(gate, "crash-2", new Date(Date.now() - IDEMPOTENCY_LOCK_MS - 60_000).toISOString());
    const res = await retry();
    expect(res.status).toBe(201);
    expect(res.headers.get("idempotent-replayed")).toBe("true");
    expect((await res.json<any>()).calibration.id).toBe(first.calibration.id);
    const history = await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200);
    expect(history.calibrations).toHaveLength(1);
    expect(history.activations).toHaveLength(1);
  });
});
