import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { gateIdOf } from "../../src/platform/ids";
import { projectionKey } from "../../src/serving/projection";
import { call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const upload = (gate: object, version: string, target: number, extra: object = {}) => ({
  token: TOKENS.calibrate,
  // Served whatever the rebuild decision (unless `extra` says otherwise): these tests move the served version on purpose.
  json: { ...gate, index_version: version, scores: spreadScores(400), policy: { kind: "drop_rate", target }, activate: true, ...extra },
});

describe("GET /v1/threshold", () => {
  it("answers with ETag and Cache-Control, and 304 on If-None-Match", async () => {
    const gate = uniqueGate("etag");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", 0.3));
    const res = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toMatch(new RegExp(`^"${calibration.id}\\.[1-9][0-9]*"$`, "u"));
    expect(res.headers.get("cache-control")).toMatch(/max-age=\d+/);
    const body = await res.json<any>();
    expect(body).toMatchObject({
      threshold: calibration.threshold,
      calibration_id: calibration.id,
      index_version: "v1",
      policy: { kind: "drop_rate", target: 0.3 },
      expected_drop_rate: calibration.expected_drop_rate,
      fitted_at: calibration.created_at,
    });
    const again = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read, headers: { "if-none-match": res.headers.get("etag")! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    const stale = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read, headers: { "if-none-match": '"cal_old"' } });
    expect(stale.status).toBe(200);
    // the ETag format before sequence numbers (the calibration id alone) no longer matches: one full answer
    const bare = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read, headers: { "if-none-match": `"${calibration.id}"` } });
    expect(bare.status).toBe(200);
  });

  it("404 uncalibrated for a gate without an active calibration, never another gate's threshold", async () => {
    const gate = uniqueGate("other");
    await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", 0.3));
    for (const other of [
      { ...gate, reranker: `${gate.reranker}-b` },
      { ...gate, embedding: "other" },
      { ...gate, index: "default" },
    ]) {
      const res = await call("GET", `/v1/threshold?${qs(other)}`, { token: TOKENS.read });
      expect(res.status).toBe(404);
      expect((await res.json<any>()).error.code).toBe("uncalibrated");
    }
    // an inactive upload does not make a gate calibrated
    const inactive = uniqueGate("inactive");
    await callJson("POST", "/v1/calibrations", 201, upload(inactive, "v1", 0.3, { activate: false }));
    expect((await call("GET", `/v1/threshold?${qs(inactive)}`, { token: TOKENS.read })).status).toBe(404);
  });

  it("serves the most recently activated version and pins a version with index_version (blue/green)", async () => {
    const gate = uniqueGate("pin");
    const blue = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "blue", 0.1))).calibration;
    const green = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "green", 0.4))).calibration;
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(green.id);
    expect((await callJson("GET", `/v1/threshold?${qs({ ...gate, index_version: "blue" })}`, 200, { token: TOKENS.read })).calibration_id).toBe(
      blue.id,
    );
    expect((await call("GET", `/v1/threshold?${qs({ ...gate, index_version: "red" })}`, { token: TOKENS.read })).status).toBe(404);
    // a newer calibration of blue replaces blue's active one, and becomes current
    const blue2 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "blue", 0.2))).calibration;
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(blue2.id);
    expect((await callJson("GET", `/v1/calibrations/${blue.id}`, 200)).active).toBe(false);
    expect((await callJson("GET", `/v1/calibrations/${green.id}`, 200)).active).toBe(true);
  });

  it("falls back to D1 when the KV projection is missing, and repairs it", async () => {
    const gate = uniqueGate("kvmiss");
    const { calibration } = await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", 0.3));
    const key = await projectionKey(await gateIdOf(gate), null);
    await env.THRESHOLDS.delete(key);
    // a different index_version query string misses the isolate cache for the pinned key as well
    const res = await call("GET", `/v1/threshold?${qs({ ...gate, index_version: "v1" })}`, { token: TOKENS.read });
    expect(res.status).toBe(200);
    expect((await res.json<any>()).calibration_id).toBe(calibration.id);
  });
});

describe("activation, rollback and audit", () => {
  it("promotes and rolls back, recording who and when, overwriting nothing", async () => {
    const gate = uniqueGate("rollback");
    const v1 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", 0.2))).calibration;
    const v2 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v2", 0.4))).calibration;
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(v2.id);

    const rolled = await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { json: { reason: "v2 hurt recall" } });
    expect(rolled.activation).toMatchObject({ calibration_id: v1.id, previous_calibration_id: v2.id, actor: "alice", reason: "v2 hurt recall" });
    const served = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read });
    expect((await served.json<any>()).calibration_id).toBe(v1.id);

    const history = await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(history.calibrations.map((c: any) => c.id)).toEqual([v2.id, v1.id]);
    expect(history.calibrations.map((c: any) => c.current)).toEqual([false, true]);
    expect(history.activations.map((a: any) => [a.calibration_id, a.actor])).toEqual([
      [v1.id, "alice"],
      [v2.id, "rebuild-bot"],
      [v1.id, "rebuild-bot"],
    ]);
    expect(history.activations.every((a: any) => !Number.isNaN(Date.parse(a.activated_at)))).toBe(true);
    // immutable: the record itself is unchanged by activations
    const again = await callJson("GET", `/v1/calibrations/${v2.id}`, 200, { token: TOKENS.read });
    expect({ ...again, active: undefined, current: undefined }).toEqual({ ...v2, active: undefined, current: undefined });
  });

  it("paginates history newest first", async () => {
    const gate = uniqueGate("pages");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await callJson("POST", "/v1/calibrations", 201, upload(gate, `v${i}`, 0.1, { activate: false }))).calibration.id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page: any = await callJson("GET", `/v1/calibrations?${qs({ ...gate, limit: 2, cursor })}`, 200, { token: TOKENS.read });
      expect(page.calibrations.length).toBeLessThanOrEqual(2);
      seen.push(...page.calibrations.map((c: any) => c.id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
    expect(seen).toEqual([...ids].reverse());
  });

  it("lists every gate with its active calibrations", async () => {
    const gate = uniqueGate("list");
    const a = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "a", 0.1))).calibration;
    const b = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "b", 0.2))).calibration;
    const { gates } = await callJson("GET", "/v1/gates", 200, { token: TOKENS.read });
    const mine = gates.find((g: any) => g.reranker === gate.reranker);
    expect(mine!.current_calibration_id).toBe(b.id);
    expect(mine!.active.map((x: any) => x.calibration_id)).toEqual([b.id, a.id]);
  });
});
