// The provider over a client with pushed changes (a stub of the events route on a local HTTP server): a pushed
// activation, a promotion step and the promotion's completion each fire PROVIDER_CONFIGURATION_CHANGED once for the
// gate's flags at once, with the event's seq and kind; during a promotion the evaluation context's targetingKey picks
// the arm. After a dropped connection and after client.reconnect(), what the server replays (its overlap included)
// fires it once per missed change, never again for one already announced.
import { type EventDetails, OpenFeature, ProviderEvents } from "@openfeature/server-sdk";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { bucketOf } from "../../client/src/assignment";
import type { ScoregateClient as StreamingClient } from "../../client/src/stream";
import type { GateEvent } from "../../client/src/types";
import { thresholdBody } from "../../client/test/fake-server";
import { frame, gateEvent, type SseStub, startSseStub } from "../../client/test/sse-server";
import { ScoregateProvider } from "../src";

const WAIT = { timeout: 5000, interval: 5 };
let stub: SseStub | undefined;
let provider: ScoregateProvider | undefined;

afterEach(async () => {
  await provider?.onClose();
  await stub?.close();
});

afterAll(async () => {
  await OpenFeature.close();
});

describe("ScoregateProvider with stream: true", () => {
  it("fires PROVIDER_CONFIGURATION_CHANGED on pushed events; targetingKey assigns the promotion arm", async () => {
    let push: ((e: GateEvent) => void) | undefined;
    stub = await startSseStub((c) => {
      c.open();
      c.send(frame(gateEvent(5, 0, "cal_0000000001", 0.42), "snapshot"));
      push = (e) => c.send(frame(e));
    });
    stub.threshold = { body: thresholdBody("cal_0000000001", 0.42), etag: '"cal_0000000001.5"' };
    provider = new ScoregateProvider({
      client: { baseUrl: stub.url, token: "read-token", stream: true, observations: { timer: false } },
      gates: { "rag.docs.threshold": { index: "docs", embedding: "e5", reranker: "bge" } },
    });
    await OpenFeature.setProviderAndWait("scoregate-pushed", provider);
    const of = OpenFeature.getClient("scoregate-pushed");
    const changed: EventDetails[] = [];
    of.addHandler(ProviderEvents.ConfigurationChanged, (d) => changed.push(d!));
    await vi.waitFor(() => expect(push).toBeDefined(), WAIT);

    push!(gateEvent(8, 5, "cal_0000000002", 0.55));
    await vi.waitFor(() => expect(changed).toHaveLength(1), WAIT);
    expect(changed[0]).toMatchObject({ flagsChanged: ["rag.docs.threshold"], metadata: { calibrationId: "cal_0000000002" } });
    expect(await of.getNumberValue("rag.docs.threshold", 0.1)).toBe(0.55);

    const candidate = {
      calibration_id: "cal_0000000003",
      index_version: "v3",
      threshold: 0.7,
      expected_drop_rate: 0.3,
      guards: { min_keep: 0, max_keep: null },
      abstain_below: null,
    };
    const step: GateEvent = {
      ...gateEvent(9, 8, "cal_0000000002", 0.55),
      kind: "promotion_step",
      calibration_id: "cal_0000000003",
      promotion: { id: "prm_0000000001", state: "running", step: 1, percent: 50 },
    };
    step.served = {
      ...step.served!,
      rollout: { promotion_id: "prm_0000000001", step: 1, percent_bp: 5000, salt: "prm_0000000001", state: "running", candidate },
    };
    push!(step);
    await vi.waitFor(() => expect(changed).toHaveLength(2), WAIT);
    expect(changed[1]).toMatchObject({
      flagsChanged: ["rag.docs.threshold"],
      metadata: { calibrationId: "cal_0000000002", seq: 9, kind: "promotion_step" },
    });
    const inArm = Array.from({ length: 50 }, (_, i) => `user-${i}`).find((k) => bucketOf("prm_0000000001", k) < 5000)!;
    const outOfArm = Array.from({ length: 50 }, (_, i) => `user-${i}`).find((k) => bucketOf("prm_0000000001", k) >= 5000)!;
    expect(await of.getNumberValue("rag.docs.threshold", 0.1, { targetingKey: inArm })).toBe(0.7);
    expect(await of.getNumberValue("rag.docs.threshold", 0.1, { targetingKey: outOfArm })).toBe(0.55);
    // serving the candidate arm to some keys is the split, not a change of the flag
    expect(changed).toHaveLength(2);

    // The promotion completes: its one event is the candidate's activation, announced once as the change of calibration
    // (the client emits its `calibration` and `gate` events together, so a second announcement would be here already).
    push!({
      ...gateEvent(11, 9, "cal_0000000003", 0.7),
      kind: "promotion_completed",
      promotion: { id: "prm_0000000001", state: "completed", step: 2, percent: 100 },
    });
    await vi.waitFor(() => expect(changed).toHaveLength(3), WAIT);
    expect(changed[2]).toMatchObject({ flagsChanged: ["rag.docs.threshold"], metadata: { calibrationId: "cal_0000000003" } });
    expect(await of.getNumberValue("rag.docs.threshold", 0.1, { targetingKey: outOfArm })).toBe(0.7);
    expect(stub.thresholdGets).toBe(1);
  });

  it("after a dropped connection and after reconnect(), each change the server replays fires PROVIDER_CONFIGURATION_CHANGED once", async () => {
    const replays: Record<number, GateEvent[]> = {
      1: [gateEvent(5, 0, "cal_0000000001", 0.42)],
      // resuming after 5: the server's replay overlaps by one (dropped), then the change made while disconnected
      2: [gateEvent(5, 0, "cal_0000000001", 0.42), gateEvent(8, 5, "cal_0000000002", 0.55)],
      3: [gateEvent(8, 5, "cal_0000000002", 0.55), gateEvent(9, 8, "cal_0000000003", 0.6)],
    };
    let drop: (() => void) | undefined;
    stub = await startSseStub((c, n) => {
      c.open();
      for (const e of replays[n] ?? []) c.send(frame(e, n === 1 ? "snapshot" : "gate"));
      drop = () => c.destroy();
    });
    stub.threshold = { body: thresholdBody("cal_0000000001", 0.42), etag: '"cal_0000000001.5"' };
    provider = new ScoregateProvider({
      client: { baseUrl: stub.url, token: "read-token", stream: true, observations: { timer: false } },
      gates: { "rag.docs.threshold": { index: "docs", embedding: "e5", reranker: "bge" } },
    });
    await OpenFeature.setProviderAndWait("scoregate-reconnect", provider);
    const of = OpenFeature.getClient("scoregate-reconnect");
    const changed: EventDetails[] = [];
    of.addHandler(ProviderEvents.ConfigurationChanged, (d) => changed.push(d!));
    const streams = (provider.client as StreamingClient).streams();
    expect(streams).toHaveLength(1);
    await vi.waitFor(() => expect((provider!.client as StreamingClient).streams()[0]).toMatchObject({ state: "open", last: 5 }), WAIT);

    drop!();
    await vi.waitFor(() => expect(changed).toHaveLength(1), WAIT);
    expect(changed[0]).toMatchObject({ flagsChanged: ["rag.docs.threshold"], metadata: { calibrationId: "cal_0000000002" } });
    expect(await of.getNumberValue("rag.docs.threshold", 0.1)).toBe(0.55);

    (provider.client as StreamingClient).reconnect();
    await vi.waitFor(() => expect(changed).toHaveLength(2), WAIT);
    expect(changed[1]).toMatchObject({ flagsChanged: ["rag.docs.threshold"], metadata: { calibrationId: "cal_0000000003" } });
    expect(await of.getNumberValue("rag.docs.threshold", 0.1)).toBe(0.6);
    expect(stub.connections.map((c) => c.lastEventId)).toEqual([undefined, "5", "8"]);
    expect((provider.client as StreamingClient).streams()[0]).toMatchObject({ state: "open", last: 9 });
    // no change is announced twice, and none needed a poll
    await new Promise((r) => setTimeout(r, 50));
    expect(changed).toHaveLength(2);
    expect(stub.thresholdGets).toBe(1);
  });
});
