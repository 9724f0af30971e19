// A gate during a guarded promotion and with shadows: getThreshold()/gate() serve each key its arm (the bucket of
// src/assignment.ts under the rollout's salt) and report the promotion, step and arm; shadow() (the `./shadow` entry) samples mirrored
// queries by key and reports them with role "shadow", and shadowsFor() names the same shadows at once from the cache
// (fixtures/assignment.json's sampling table); a body with a broken rollout or shadow is refused as a whole.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ThresholdResponse } from "../../../src/contract";
import { ScoregateClient } from "../src";
import { bucketOf } from "../src/assignment";
import { shadow, shadowsFor } from "../src/shadow";
import { candidateGate, error, fakeServer, ok, servingClient, thresholdBody } from "./fake-server";

const GATE = { index: "docs", embedding: "e5", reranker: "bge" };
const candidate = candidateGate;
const rollout = { promotion_id: "prm_0000000001", step: 0, percent_bp: 1000, salt: "prm_0000000001", state: "running", candidate };
const servedShadow = { ...candidate, calibration_id: "cal_0000000003", sample_rate: 0.2, since_seq: 4 };

const setup = servingClient;

describe("a gate during a promotion", () => {
  it("serves each key its arm, the same arm every time, and a keyless request control as unassigned", async () => {
    const { client } = setup({ rollout });
    const keys = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    let candidates = 0;
    for (const key of keys) {
      const r = await client.getThreshold(GATE, { fallback: 0.1, assignmentKey: key });
      const inArm = bucketOf("prm_0000000001", key) < 1000;
      candidates += inArm ? 1 : 0;
      expect(r).toMatchObject(
        inArm
          ? { threshold: 0.6, calibrationId: "cal_0000000002", indexVersion: "v2", promotion: { id: "prm_0000000001", step: 0, arm: "candidate" } }
          : { threshold: 0.42, calibrationId: "cal_0000000001", indexVersion: "v1", promotion: { id: "prm_0000000001", step: 0, arm: "control" } },
      );
      expect((await client.getThreshold(GATE, { fallback: 0.1, assignmentKey: key })).promotion?.arm).toBe(inArm ? "candidate" : "control");
    }
    expect(candidates).toBeGreaterThan(0);
    expect(candidates).toBeLessThan(100);
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_0000000001", promotion: { arm: "unassigned" } });
  });

  it('a key that is not a non-empty string (null for an anonymous session, a number, "") is no key: control, unassigned, not hashed as its text', async () => {
    const { client, server } = setup({ rollout: { ...rollout, percent_bp: 10_000 } });
    // "" too: `headers.get("x-user") ?? ""` would put every anonymous request in one bucket
    for (const key of [null, 17, { id: 1 }, ""]) {
      const r = await client.getThreshold(GATE, { fallback: 0.1, assignmentKey: key as unknown as string });
      expect(r, String(key)).toMatchObject({ calibrationId: "cal_0000000001", promotion: { arm: "unassigned" } });
    }
    // the text "null" is a key like any other: in the whole-traffic candidate arm
    expect((await client.getThreshold(GATE, { fallback: 0.1, assignmentKey: "null" })).promotion?.arm).toBe("candidate");
    await client.gate([0.9, 0.5], { gate: GATE, fallback: 0.1, score: (s) => s, assignmentKey: null as unknown as string });
    await client.flush();
    expect(server.observationRequests()[0]!.body).toMatchObject({ calibration_id: "cal_0000000001", promotion: { arm: "unassigned" } });
  });

  it("gate() applies the arm's threshold and reports the counts under the arm's calibration with the promotion", async () => {
    const { client, server } = setup({ rollout: { ...rollout, percent_bp: 10_000 } });
    const r = await client.gate([0.9, 0.5, 0.2], { gate: GATE, fallback: 0.1, score: (s) => s, assignmentKey: "user-1" });
    expect(r).toMatchObject({ kept: [0.9], calibrationId: "cal_0000000002", promotion: { arm: "candidate", step: 0 } });
    await client.flush();
    const batch = server.observationRequests()[0]!.body;
    expect(batch).toMatchObject({
      calibration_id: "cal_0000000002",
      queries: [[3, 2]],
      promotion: { id: "prm_0000000001", step: 0, arm: "candidate" },
    });
    expect(batch.role).toBeUndefined();
  });

  it("gate() with `served` applies and reports the answer the query was retrieved under, not one read after a step", async () => {
    let body = { ...thresholdBody(), rollout: { ...rollout, percent_bp: 10_000 } } as ThresholdResponse;
    const server = fakeServer((req) => (req.url.pathname === "/v1/observations" ? new Response("{}", { status: 202 }) : ok(body)));
    let clock = Date.parse("2026-12-05T00:00:00Z");
    const background: Promise<unknown>[] = [];
    const client = new ScoregateClient({
      baseUrl: "https://scoregate.test",
      token: "t",
      fetch: server.fetch,
      now: () => clock,
      waitUntil: (p) => background.push(p),
      observations: { timer: false },
    });
    const opts = { gate: GATE, fallback: 0.1, score: (s: number) => s, assignmentKey: "user-1" };
    const t = await client.getThreshold(GATE, opts); // the candidate arm chose v2's index
    expect(t).toMatchObject({ threshold: 0.6, indexVersion: "v2", promotion: { arm: "candidate" } });
    // the promotion is rolled back while the query is retrieved and reranked: the cache now serves control
    body = { ...thresholdBody(), rollout: null } as ThresholdResponse;
    clock += 60_000;
    await client.getThreshold(GATE, opts); // stale: answered at once, refreshed in the background
    await Promise.all(background);
    expect((await client.getThreshold(GATE, opts)).calibrationId).toBe("cal_0000000001");
    const r = await client.gate([0.9, 0.5, 0.2], { ...opts, served: t });
    expect(r).toMatchObject({ kept: [0.9], calibrationId: "cal_0000000002", threshold: 0.6, promotion: { arm: "candidate" } });
    await client.flush();
    expect(server.observationRequests().at(-1)!.body).toMatchObject({
      calibration_id: "cal_0000000002",
      queries: [[3, 2]],
      promotion: { id: "prm_0000000001", step: 0, arm: "candidate" },
    });
    // without it gate() reads the threshold again: control's
    const again = await client.gate([0.9, 0.5, 0.2], opts);
    expect(again.calibrationId).toBe("cal_0000000001");
    // null is no served answer; a gate() result, {} or half an answer is refused (the fallback, nothing reported), never thrown
    expect((await client.gate([0.9], { ...opts, served: null as never })).calibrationId).toBe("cal_0000000001");
    const before = server.observationRequests().length;
    for (const wrong of [again, {}, { reason: "calibrated", threshold: 0.6 }, "cal_0000000002"]) {
      const r = await client.gate([0.9, 0.5], { ...opts, served: wrong as never });
      expect(r).toMatchObject({
        reason: "fallback",
        threshold: 0.1,
        error: { code: "bad_request", message: "served must be the answer of getThreshold()" },
      });
    }
    await client.flush();
    expect(server.observationRequests().length).toBe(before + 1); // the one null-served query above, nothing else
  });

  it("a gate without a rollout reports no promotion", async () => {
    const { client, server } = setup({});
    const r = await client.gate([0.9, 0.2], { gate: GATE, fallback: 0.1, score: (s) => s, assignmentKey: "user-1" });
    expect(r.promotion).toBeUndefined();
    await client.flush();
    expect(server.observationRequests()[0]!.body.promotion).toBeUndefined();
  });

  it("refuses a body whose rollout has no readable candidate (the caller's fallback instead of half a policy)", async () => {
    const { client } = setup({ rollout: { ...rollout, candidate: { ...candidate, threshold: "0.6" } } });
    expect(await client.getThreshold(GATE, { fallback: 0.1, assignmentKey: "k" })).toMatchObject({
      threshold: 0.1,
      reason: "fallback",
      error: { code: "bad_response" },
    });
  });
});

describe("shadow()", () => {
  it("reports the sampled keys' mirrored queries under the shadow with role shadow, and nothing else", async () => {
    const { client, server } = setup({ shadows: [servedShadow] });
    const keys = Array.from({ length: 200 }, (_, i) => `session-${i}`);
    let sampled = 0;
    for (const key of keys) {
      const got = await shadow(client, [0.9, 0.55, 0.7], { gate: GATE, score: (s) => s, key });
      const inSample = bucketOf("cal_0000000003", key) < 2000;
      expect(got).toEqual(inSample ? ["cal_0000000003"] : []);
      sampled += inSample ? 1 : 0;
    }
    expect(sampled).toBeGreaterThan(10);
    await client.flush();
    const batches = server.observationRequests().map((r) => r.body);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ calibration_id: "cal_0000000003", role: "shadow" });
    expect(batches[0].queries).toEqual(Array.from({ length: sampled }, () => [3, 1]));
  });

  it("takes only the shadows of the mirrored index version when one is named; a server without shadows reports nothing", async () => {
    const { client } = setup({ shadows: [servedShadow] });
    expect(await shadow(client, [0.9], { gate: GATE, score: (s) => s, key: "session-3", indexVersion: "v9" })).toEqual([]);
    const plain = setup({});
    expect(await shadow(plain.client, [0.9], { gate: GATE, score: (s) => s, key: "session-3" })).toEqual([]);
  });

  it("a score function that throws leaves its candidate unscored: shadow() still reports the query", async () => {
    const { client, server } = setup({ shadows: [{ ...servedShadow, sample_rate: 1 }] });
    const score = (s: number) => {
      if (s < 0) throw new Error("no score");
      return s;
    };
    expect(await shadow(client, [0.9, -1, 0.1], { gate: GATE, score, key: "session-1" })).toEqual(["cal_0000000003"]);
    await client.flush();
    // the 2 scored candidates and the unscored one apart
    expect(server.observationRequests().map((r) => r.body.queries)).toEqual([[[2, 1, 1, 0, 1]]]);
  });

  it("refuses a body with a shadow lacking its sample rate", async () => {
    const { client } = setup({ shadows: [{ ...servedShadow, sample_rate: null }] });
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ reason: "fallback", error: { code: "bad_response" } });
  });
});

describe("shadowsFor()", () => {
  const sampling = (
    JSON.parse(readFileSync(new URL("../../../fixtures/assignment.json", import.meta.url), "utf8")) as {
      shadow_sampling: {
        shadows: { calibration_id: string; index_version: string; sample_rate: number }[];
        cases: [key: string, indexVersion: string | null, taken: string[]][];
      };
    }
  ).shadow_sampling;
  const shadows = sampling.shadows.map((s) => ({ ...candidate, ...s, since_seq: 4 }));
  const ids = (list: { calibration_id: string }[]) => list.map((s) => s.calibration_id);

  it("names at once, from the cached answer, exactly the shadows shadow() reports for (the shared sampling table)", async () => {
    const { client, server } = setup({ shadows });
    await client.getThreshold(GATE, { fallback: null });
    expect(sampling.cases.length).toBe(400);
    for (const [key, indexVersion, taken] of sampling.cases) {
      const options = indexVersion === null ? {} : { indexVersion };
      const named = shadowsFor(client, GATE, key, options);
      expect(ids(named), key).toEqual(taken);
      expect(await shadow(client, [0.9, 0.5], { gate: GATE, score: (s) => s, key, ...options }), key).toEqual(taken);
    }
    const named = shadowsFor(client, GATE, sampling.cases[1]![0]);
    expect(named[1]).toEqual(shadows[3]);
    named[1]!.sample_rate = 0; // a copy: the cache keeps its own
    expect(shadowsFor(client, GATE, sampling.cases[1]![0])).toHaveLength(2);
    expect(server.thresholdRequests()).toHaveLength(1);
  });

  it("never waits on a cold cache: answers none and starts one request (handed to waitUntil), then answers from it", async () => {
    const { client, server } = setup({ shadows: [{ ...servedShadow, sample_rate: 1 }] });
    const pending: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void pending.push(p);
    expect(shadowsFor(client, GATE, "session-1", { waitUntil })).toEqual([]);
    expect(shadowsFor(client, GATE, "session-1", { waitUntil })).toEqual([]);
    expect(server.thresholdRequests()).toHaveLength(1);
    expect(pending).toHaveLength(2);
    await Promise.all(pending);
    expect(ids(shadowsFor(client, GATE, "session-1"))).toEqual(["cal_0000000003"]);
    expect(server.thresholdRequests()).toHaveLength(1);
  });

  it("answers none for an uncalibrated gate, a failing server and a server without shadows, without throwing", async () => {
    const uncalibrated = fakeServer(() => error(404, "uncalibrated"));
    const failing = fakeServer(() => "network-error");
    for (const server of [uncalibrated, failing, setup({}).server]) {
      const client = new ScoregateClient({ baseUrl: "https://scoregate.test", token: "t", fetch: server.fetch, observations: { timer: false } });
      await client.getThreshold(GATE, { fallback: null });
      expect(shadowsFor(client, GATE, "session-1")).toEqual([]);
    }
  });
});
