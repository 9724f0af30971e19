/**
 * Pushed changes end to end in workerd: GET /v1/events streams a gate's activations and rollbacks once each, in
 * order, resumes after a reconnect with Last-Event-ID without a gap or a repeat, replays what a subscriber missed (or
 * sends a snapshot when it cannot), survives the hub's object being evicted, tears a subscription down (the hub's socket
 * closed) when its client goes away, catches up from D1 when a push is missed, and refuses misuse with a JSON error.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { D1CalibrationStore } from "../../src/calibrations/d1-store";
import type { GateEvent } from "../../src/contract";
import { gateIdOf } from "../../src/platform/ids";
import type { GateHubRpc } from "../../src/streaming/deps";
import { SUBSCRIBER_TAG } from "../../src/streaming/hub";
import { tick } from "../support/scheduled";
import { appendUnpushedEvent, SseReader, subscribeToGate } from "../support/sse";
import { call, callJson, expectError, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

type Gate = ReturnType<typeof uniqueGate>;

const upload = async (gate: Gate, version: string, activate: boolean, offset = 0) =>
  (
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: version, scores: spreadScores(400, offset), policy: { kind: "drop_rate", target: 0.2 }, activate },
    })
  ).calibration.id;

const activate = (id: string, reason: string) => callJson("POST", `/v1/calibrations/${id}/activate`, 200, { json: { reason } });

/** Open streams, cancelled after each test so no relay outlives it. */
const open: SseReader[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) await r.cancel().catch(() => {});
});

const subscribe = (gate: Gate, lastEventId?: number): Promise<SseReader> => subscribeToGate(gate, open, lastEventId);

/** The gate's activation log in D1, oldest first. */
async function logOf(gate: Gate): Promise<GateEvent[]> {
  return new D1CalibrationStore(env.DB).events(await gateIdOf(gate), 0, 1000);
}

const hubOf = async (gate: Gate) => env.GATE_MONITOR.get(env.GATE_MONITOR.idFromName(await gateIdOf(gate)));

describe("GET /v1/events", () => {
  it("sends a snapshot first, then each activation and rollback once, in order, linked by prev_seq", async () => {
    const gate = uniqueGate("push-order");
    const v1 = await upload(gate, "v1", true);
    const sub = await subscribe(gate);
    const snapshot = await sub.event();
    expect(snapshot.name).toBe("snapshot");
    expect(snapshot.event.served?.calibration_id).toBe(v1);
    expect(snapshot.id).toBe(String(snapshot.event.seq));
    expect((await sub.heartbeat()).head_seq).toBe(snapshot.event.seq);

    const v2 = await upload(gate, "v2", false, 0.05);
    await activate(v2, "promote");
    await activate(v1, "roll back");
    await activate(v2, "promote again");
    const received = [await sub.event(), await sub.event(), await sub.event()];
    expect(received.map((r) => r.name)).toEqual(["gate", "gate", "gate"]);
    expect(received.map((r) => [r.event.calibration_id, r.event.reason])).toEqual([
      [v2, "promote"],
      [v1, "roll back"],
      [v2, "promote again"],
    ]);
    // The stream equals D1's log: nothing missing, nothing twice, each linked to the one before.
    const log = await logOf(gate);
    expect([snapshot.event, ...received.map((r) => r.event)]).toEqual(log);
    expect(received.map((r) => r.event.prev_seq)).toEqual(log.slice(0, 3).map((e) => e.seq));
    expect(received[0]!.event.served?.threshold).toBeTypeOf("number");
    // what the event says is served is what GET /v1/threshold answers
    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(received[2]!.event.served).toEqual(served);
  });

  it("resumes after a reconnect with Last-Event-ID: the missed events replayed, none repeated", async () => {
    const gate = uniqueGate("push-resume");
    const v1 = await upload(gate, "v1", true);
    const v2 = await upload(gate, "v2", false, 0.05);
    const first = await subscribe(gate);
    const last = (await first.event()).event.seq;
    await first.cancel();

    await activate(v2, "while away 1");
    await activate(v1, "while away 2");
    const second = await subscribe(gate, last);
    const replayed = [await second.event(), await second.event()];
    expect(replayed.map((r) => [r.name, r.event.reason])).toEqual([
      ["gate", "while away 1"],
      ["gate", "while away 2"],
    ]);
    expect(replayed[0]!.event.prev_seq).toBe(last);
    const head = replayed[1]!.event.seq;
    expect((await second.heartbeat()).head_seq).toBe(head);

    // Current: nothing but the heartbeat; then live events continue the chain.
    const third = await subscribe(gate, head);
    expect((await third.heartbeat()).head_seq).toBe(head);
    await activate(v2, "live");
    const live = await third.event();
    expect([live.name, live.event.prev_seq, live.event.reason]).toEqual(["gate", head, "live"]);
    // ?after= works for clients that cannot send the header; the header wins when both are given
    const res = await call("GET", `/v1/events?${qs({ ...gate, after: head })}`, {
      token: TOKENS.read,
      headers: { "last-event-id": String(live.event.seq) },
    });
    const byQuery = new SseReader(res.body!);
    open.push(byQuery);
    await byQuery.frame();
    expect((await byQuery.heartbeat()).head_seq).toBe(live.event.seq);
  });

  it("sends a snapshot when the seq cannot be linked to the gate's log (another gate's seq, or ahead of it)", async () => {
    const gate = uniqueGate("push-snapshot");
    const other = uniqueGate("push-snapshot-other");
    await upload(other, "v1", true);
    await upload(gate, "v1", true);
    const foreign = (await logOf(other))[0]!.seq;
    const head = (await logOf(gate))[0]!.seq;
    expect(foreign).toBeLessThan(head);
    for (const resume of [foreign, head + 1000]) {
      const sub = await subscribe(gate, resume);
      const first = await sub.event();
      expect([first.name, first.event.seq, first.event.gate_id]).toEqual(["snapshot", head, await gateIdOf(gate)]);
      expect((await sub.heartbeat()).head_seq).toBe(head);
    }
  });

  it("keeps every event across an eviction of the hub's object, hibernated or closed", async () => {
    const gate = uniqueGate("push-evict");
    const v1 = await upload(gate, "v1", true);
    const v2 = await upload(gate, "v2", false, 0.05);
    const sub = await subscribe(gate);
    const start = (await sub.event()).event.seq;
    await sub.heartbeat();

    // Evicted with its sockets hibernated: the subscriber stays connected and the next event still arrives.
    await evictDurableObject(await hubOf(gate));
    await activate(v2, "after hibernation");
    const pushed = await sub.event();
    expect([pushed.event.prev_seq, pushed.event.reason]).toEqual([start, "after hibernation"]);

    // Evicted with its sockets closed: the stream ends; an event lands meanwhile; resuming replays it from the log.
    await evictDurableObject(await hubOf(gate), { webSockets: "close" });
    expect(await sub.next()).toBeNull();
    await activate(v1, "while closed");
    const again = await subscribe(gate, pushed.event.seq);
    const replayed = await again.event();
    expect([replayed.name, replayed.event.prev_seq, replayed.event.reason]).toEqual(["gate", pushed.event.seq, "while closed"]);
    expect((await logOf(gate)).map((e) => e.seq)).toEqual([start, pushed.event.seq, replayed.event.seq]);
  });

  it("tears down a subscription when its client goes away: the relay closes the hub's socket, the others keep theirs", async () => {
    const gate = uniqueGate("push-gone");
    await upload(gate, "v1", true);
    const v2 = await upload(gate, "v2", false);
    const subs = [await subscribe(gate), await subscribe(gate), await subscribe(gate)];
    for (const s of subs) await s.event();
    const hub = await hubOf(gate);
    const sockets = () => runInDurableObject(hub, (_, state) => state.getWebSockets(SUBSCRIBER_TAG).length);
    expect(await sockets()).toBe(3);
    // Two clients go away (their bodies cancelled, as workerd does when a client disconnects or a write to it fails).
    await subs[0]!.cancel();
    await subs[1]!.cancel();
    await vi.waitFor(async () => expect(await sockets()).toBe(1), { timeout: 5_000, interval: 20 });
    // The one left still gets the next change (activating the served v1 again would be none: already_current).
    await activate(v2, "still there");
    expect((await subs[2]!.event()).event.reason).toBe("still there");
  });

  it("catches up from D1 when a push is missed: a later publish or a sync sends the missing events in order", async () => {
    const gate = uniqueGate("push-gap");
    const gateId = await gateIdOf(gate);
    const v1 = await upload(gate, "v1", true);
    const sub = await subscribe(gate);
    const head = (await sub.event()).event.seq;
    await sub.heartbeat();

    // Two log rows written without their pushes (as if both listeners failed).
    const append = (prev: number, reason: string) => appendUnpushedEvent(gateId, v1, prev, reason);
    const a = await append(head, "missed 1");
    const b = await append(a.seq, "missed 2");
    // The hub is handed only the second: it reads the first from D1 and sends both, in order.
    const hub = (await hubOf(gate)) as unknown as GateHubRpc;
    expect(await hub.publishEvent(b)).toBe(2);
    expect((await sub.event()).event).toEqual(a);
    expect((await sub.event()).event).toEqual(b);
    expect(await hub.publishEvent(b)).toBe(0); // a repeat is dropped
    // A third, never published: the cron tick syncs the hubs of recently changed gates, and it arrives.
    const c = await append(b.seq, "missed 3");
    const report = await tick(env, new Date());
    expect(report.failed).toEqual([]);
    expect(report.hubsSynced).toBeGreaterThanOrEqual(1);
    expect((await sub.event()).event).toEqual(c);
    expect(await hub.syncEvents(gateId)).toBe(0); // current: nothing more to send
    // The activation log keeps shadow rows out of the calibration history.
    expect((await new D1CalibrationStore(env.DB).activations(gateId, 10)).map((x) => x.reason)).toEqual(["uploaded with activate: true"]);
  });

  it("refuses misuse with a JSON error and changes nothing", async () => {
    const gate = uniqueGate("push-misuse");
    await upload(gate, "v1", true);
    const anonymous = await call("GET", `/v1/events?${qs(gate)}`, { token: null });
    expect(anonymous.headers.get("content-type")).toMatch(/^application\/json/u);
    await expectError(anonymous, 401, "unauthorized");
    // an unknown token: refused the same way, as JSON
    await expectError(await call("GET", `/v1/events?${qs(gate)}`, { token: "not-a-token" }), 401, "unauthorized");
    const missing = await expectError(await call("GET", `/v1/events?index=${gate.index}`, { token: TOKENS.read }), 400, "bad_request");
    expect(JSON.stringify(missing.details)).toContain("embedding");
    const badId = await expectError(
      await call("GET", `/v1/events?${qs(gate)}`, { token: TOKENS.read, headers: { "last-event-id": "12abc" } }),
      400,
      "bad_request",
    );
    expect(badId.message).toContain("Last-Event-ID");
    await expectError(await call("GET", `/v1/events?${qs({ ...gate, after: "-1" })}`, { token: TOKENS.read }), 400, "bad_request");
    await expectError(await call("GET", `/v1/events?${qs(uniqueGate("never-uploaded"))}`, { token: TOKENS.read }), 404, "not_found");
    // a typo of the gate's name: the 404 names the gate meant, as the threshold and history 404s do (and the monitor's)
    const typo = { ...gate, index: `${gate.index}x` };
    for (const path of [`/v1/events?${qs(typo)}`, `/v1/monitor?${qs(typo)}`, `/v1/monitor/series?${qs(typo)}`]) {
      const err = await expectError(await call("GET", path, { token: TOKENS.read }), 404, "not_found");
      expect(err.message, path).toContain(`did you mean index=${gate.index} embedding=`);
      expect(err.details.suggestions, path).toEqual([{ index: gate.index, embedding: gate.embedding, reranker: gate.reranker }]);
    }
    await expectError(await call("GET", "/v1/gates/not-a-gate/events", { token: TOKENS.read }), 404, "not_found");
    // by gate id, the same stream
    const res = await call("GET", `/v1/gates/${await gateIdOf(gate)}/events`, { token: TOKENS.read });
    expect(res.status).toBe(200);
    const byId = new SseReader(res.body!);
    open.push(byId);
    await byId.frame();
    expect((await byId.event()).name).toBe("snapshot");
  });
});
