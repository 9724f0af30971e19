/**
 * A KV projection older than D1 (KV is eventually consistent: another location can see the previous value for about
 * 60 s after an activation), met by a client that already holds the newer ETag, and by a plain reader in an isolate
 * that has never served the gate. KV is made older by writing the previous projection value back directly.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ThresholdQuery } from "../../src/contract";
import type { Env } from "../../src/platform/env";
import { gateIdOf } from "../../src/platform/ids";
import { IsolateCache } from "../../src/platform/isolate-cache";
import { ISOLATE_CACHE_MAX_ENTRIES, ISOLATE_CACHE_TTL_MS } from "../../src/platform/limits";
import { type ProjectedThreshold, projectionKey } from "../../src/serving/projection";
import { type CachedThreshold, cachePrefixOf, readThreshold } from "../../src/serving/threshold-reader";
import { isolate } from "../../src/worker/isolate";
import { coreDeps } from "../../src/worker/wiring";
import { tick } from "../support/scheduled";
import { call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const workerEnv = env as unknown as Env;

const upload = (gate: object, version: string, target: number) => ({
  token: TOKENS.calibrate,
  // Served whatever the rebuild decision: these tests move the served version on purpose.
  json: { ...gate, index_version: version, scores: spreadScores(400), policy: { kind: "drop_rate", target }, activate: true },
});

const kvKey = async (gate: { index: string; embedding: string; reranker: string }): Promise<string> => projectionKey(await gateIdOf(gate), null);
const kvGet = async (key: string): Promise<ProjectedThreshold | null> => env.THRESHOLDS.get<ProjectedThreshold>(key, "json");

/**
 * A gate calibrated twice (v1, then v2, each activated), the client's first read of v2 and its ETag, and KV put back
 * to v1's projection: the state a reader meets in a location KV has not reached yet.
 */
async function gateWithOlderKv(label: string) {
  const gate = uniqueGate(label);
  const key = await kvKey(gate);
  const v1 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", 0.2))).calibration;
  const older = await kvGet(key);
  expect(older?.threshold.calibration_id).toBe(v1.id);
  const v2 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v2", 0.4))).calibration;
  const first = await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read });
  expect(first.status).toBe(200);
  expect((await first.json<{ calibration_id: string }>()).calibration_id).toBe(v2.id);
  const etag = first.headers.get("etag");
  expect(etag).not.toBeNull();
  const newer = await kvGet(key);
  expect(newer?.threshold.calibration_id).toBe(v2.id);
  expect(newer!.activation_seq).toBeGreaterThan(older!.activation_seq);
  await env.THRESHOLDS.put(key, JSON.stringify(older));
  return { gate, key, v1, v2, etag: etag!, older: older!, newer: newer! };
}

describe("a client holding a newer ETag than KV's copy", () => {
  it("while this isolate still caches the newer value: 304, from the isolate", async () => {
    const s = await gateWithOlderKv("etag-isolate");
    const res = await call("GET", `/v1/threshold?${qs(s.gate)}`, { token: TOKENS.read, headers: { "if-none-match": s.etag } });
    expect(res.headers.get("x-scoregate-source")).toBe("isolate");
    expect(res.status).toBe(304);
    expect(res.headers.get("etag")).toBe(s.etag);
  });

  it("once the isolate cache has no entry and KV answers the older value: D1 confirms the newer one, 304", async () => {
    const s = await gateWithOlderKv("etag-kv");
    isolate.thresholds.current.invalidatePrefix(cachePrefixOf(s.gate)); // what an expired entry or a fresh isolate has
    const res = await call("GET", `/v1/threshold?${qs(s.gate)}`, { token: TOKENS.read, headers: { "if-none-match": s.etag } });
    expect(res.status).toBe(304);
    expect(res.headers.get("etag")).toBe(s.etag);
    expect(res.headers.get("x-scoregate-source")).toBe("d1");
    // The D1 answer filled the isolate cache: a plain read (no ETag) right after gets v2 without touching KV.
    const plain = await call("GET", `/v1/threshold?${qs(s.gate)}`, { token: TOKENS.read });
    expect(plain.headers.get("x-scoregate-source")).toBe("isolate");
    expect((await plain.json<{ calibration_id: string }>()).calibration_id).toBe(s.v2.id);
  });

  it("the D1 fallback repairs KV after responding", async () => {
    const s = await gateWithOlderKv("etag-repair");
    isolate.thresholds.current.invalidatePrefix(cachePrefixOf(s.gate));
    const res = await call("GET", `/v1/threshold?${qs(s.gate)}`, { token: TOKENS.read, headers: { "if-none-match": s.etag } });
    expect(res.status).toBe(304);
    // the repair is deferred work of that request; poll KV until it lands (bounded, no timing assertion)
    let value = await kvGet(s.key);
    for (let i = 0; i < 50 && value?.activation_seq !== s.newer.activation_seq; i++) {
      await new Promise((r) => setTimeout(r, 20));
      value = await kvGet(s.key);
    }
    expect(value).toEqual(s.newer);
  });
});

describe("a plain reader in another isolate while KV is older", () => {
  it("is served KV's older value (eventual consistency, marked kv) until the cron reconciler repairs KV from D1", async () => {
    const s = await gateWithOlderKv("plain-stale");
    const q = ThresholdQuery.parse(s.gate);
    const deps = coreDeps(workerEnv, () => undefined);
    const otherIsolate = new IsolateCache<CachedThreshold>(ISOLATE_CACHE_MAX_ENTRIES, ISOLATE_CACHE_TTL_MS);
    const before = await readThreshold(q, otherIsolate, deps);
    expect(before.source).toBe("kv");
    expect(before.projection.threshold.calibration_id).toBe(s.v1.id);
    expect(before.projection.activation_seq).toBe(s.older.activation_seq);

    const run = await tick(workerEnv, new Date());
    expect(run.failed).toEqual([]);
    expect(run.reconcile?.written).toBeGreaterThanOrEqual(1);
    expect(await kvGet(s.key)).toEqual(s.newer);

    // The next isolate to read (or this one once its entry expires) gets v2 from KV.
    const after = await readThreshold(q, new IsolateCache<CachedThreshold>(ISOLATE_CACHE_MAX_ENTRIES, ISOLATE_CACHE_TTL_MS), deps);
    expect(after.source).toBe("kv");
    expect(after.projection.threshold.calibration_id).toBe(s.v2.id);
  });
});
