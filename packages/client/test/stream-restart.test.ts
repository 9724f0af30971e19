// Pushed changes after the server's state is reset (seq goes back): a deleted local state, or a database restored to an
// earlier minute, numbers its events from a lower seq than a running client has applied. The stream (src/gate-stream.ts)
// must take the new history's state instead of dropping it as already seen, and the client (src/stream.ts) must serve
// it, not the calibration that no longer exists. Against the stub of the events route (sse-server.ts).
import { afterEach, describe, expect, it, vi } from "vitest";
import { type GateStreamOptions, HISTORY_RESTARTED, ScoregateClient, type StreamClientEvent } from "../src/stream";
import { thresholdBody } from "./fake-server";
import { frame, gateEvent, heartbeat, openGateStream, type SseStub, startSseStub } from "./sse-server";

const GATE = { index: "docs", embedding: "e5", reranker: "bge" };
const WAIT = { timeout: 5000, interval: 5 };
let stub: SseStub | undefined;
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await stub?.close();
  stub = undefined;
});

/** A stream of the stub's gate with short timings (sse-server.ts openGateStream), closed after the test. */
const open = (url: string, options: Partial<GateStreamOptions> = {}) => openGateStream(url, (close) => cleanups.push(close), options);

describe("GateStream after the server's state is reset (seq goes back)", () => {
  it("applies the snapshot the server answers a Last-Event-ID above its head with, and follows the new history from its seq", async () => {
    stub = await startSseStub((c, n) => {
      c.open();
      if (n === 1) {
        c.send(frame(gateEvent(20, 0), "snapshot") + frame(gateEvent(26, 20)));
        setTimeout(() => c.destroy(), 20);
      } else c.send(frame(gateEvent(7, 6), "snapshot") + heartbeat(7) + frame(gateEvent(8, 7)) + heartbeat(8));
    });
    const { s, seqs, restarts, states } = open(stub.url);
    await vi.waitFor(() => expect(seqs).toEqual([20, 26, 7, 8]), WAIT);
    expect(restarts).toEqual([{ lastSeq: 26, headSeq: 7 }]);
    expect(s.last).toBe(8);
    expect(stub.connections.map((c) => c.lastEventId)).toEqual([undefined, "26"]);
    expect(states.map((x) => x.state)).toEqual(["open", "reconnecting", "open"]);
  });

  it("a snapshot at the last seq is applied again (it is the server's whole state); no restart is announced", async () => {
    stub = await startSseStub((c) => {
      c.open();
      c.send(frame(gateEvent(5, 0), "snapshot") + frame(gateEvent(5, 0, "cal_other"), "snapshot") + heartbeat(5));
    });
    const applied: string[] = [];
    const { restarts } = open(stub.url, { onEvent: (e) => applied.push(e.calibration_id) });
    await vi.waitFor(() => expect(applied).toEqual(["cal_0000000005", "cal_other"]), WAIT);
    expect(restarts).toEqual([]);
  });

  it("a heartbeat below the last seq: forgets its position and reconnects at once without Last-Event-ID, as no failure", async () => {
    stub = await startSseStub((c, n) => {
      c.open();
      if (n === 1) {
        c.send(frame(gateEvent(26, 0), "snapshot"));
        setTimeout(() => c.destroy(), 20);
      } else if (n === 2)
        c.send(heartbeat(3)); // a server that answers the resume with its head only
      else c.send(frame(gateEvent(3, 2), "snapshot") + heartbeat(3));
    });
    // two failures would switch it to polling: the restart must not count as one
    const { s, seqs, restarts, states } = open(stub.url, { maxFailures: 2 });
    await vi.waitFor(() => expect(seqs).toEqual([26, 3]), WAIT);
    expect(restarts).toEqual([{ lastSeq: 26, headSeq: 3 }]);
    expect(stub.connections.map((c) => c.lastEventId)).toEqual([undefined, "26", undefined]);
    expect(states.map((x) => x.state)).toEqual(["open", "reconnecting", "open", "reconnecting", "open"]);
    expect(states[3]!.reason).toBe(`${HISTORY_RESTARTED}: the gate is at 3, this stream was at 26`);
    expect(states[3]!.after).toBeNull();
    expect(s.last).toBe(3);
  });

  it("an event of the old history replayed below the last seq is still dropped as a duplicate", async () => {
    stub = await startSseStub((c) => {
      c.open();
      c.send(frame(gateEvent(5, 0), "snapshot") + frame(gateEvent(7, 5)) + frame(gateEvent(7, 5)) + frame(gateEvent(5, 0)) + heartbeat(7));
    });
    const heads: number[] = [];
    const { seqs, restarts } = open(stub.url, { onHeartbeat: (h) => heads.push(h) });
    await vi.waitFor(() => expect(heads).toEqual([7]), WAIT);
    expect(seqs).toEqual([5, 7]);
    expect(restarts).toEqual([]);
  });
});

describe("ScoregateClient with stream: true, after the server's state is reset (seq goes back)", () => {
  it("serves the server's current calibration, announces history_restarted and the calibration change", async () => {
    stub = await startSseStub((c, n) => {
      c.open();
      if (n === 1) c.send(frame(gateEvent(26, 20, "cal_old", 0.15), "snapshot") + heartbeat(26));
      else c.send(frame(gateEvent(7, 6, "cal_new", 0.33), "snapshot") + heartbeat(7));
    });
    stub.threshold = { body: thresholdBody("cal_old", 0.15), etag: '"cal_old.26"' };
    const client = new ScoregateClient({ baseUrl: stub.url, token: "read-token", stream: { readTimeoutMs: 2000, backoff: { initialMs: 5 } } });
    cleanups.push(() => void client.close());
    const events: StreamClientEvent[] = [];
    client.subscribe((e: StreamClientEvent) => events.push(e));
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_old", threshold: 0.15 });
    await vi.waitFor(() => expect(client.streams()[0]?.last).toBe(26), WAIT);
    // the server starts over: a new state whose newest event is 7
    stub.threshold = { body: thresholdBody("cal_new", 0.33), etag: '"cal_new.7"' };
    stub.connections[0]!.destroy();
    await vi.waitFor(() => expect(client.streams()[0]?.last).toBe(7), WAIT);
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_new", threshold: 0.33, reason: "cached" });
    expect(events.filter((e) => e.type === "history_restarted")).toEqual([{ type: "history_restarted", gate: GATE, lastSeq: 26, headSeq: 7 }]);
    expect(events.filter((e) => e.type === "calibration").map((e) => e.type === "calibration" && [e.calibrationId, e.previousCalibrationId])).toEqual(
      [
        ["cal_old", null],
        ["cal_new", "cal_old"],
      ],
    );
  });

  it("without a snapshot from the server, the old value is stale (never cached) and the next read's poll takes the lower seq", async () => {
    stub = await startSseStub((c, n) => {
      c.open();
      if (n === 1) c.send(frame(gateEvent(26, 20, "cal_old", 0.15), "snapshot") + heartbeat(26));
      else {
        // the resume is answered with the new head; the fresh connection with heartbeats of a hub that has no event
        // of the gate yet (head 0), so no snapshot comes
        if (n === 2) c.send(heartbeat(7));
        const beat = setInterval(() => c.send(heartbeat(0)), 20);
        c.res.on("close", () => clearInterval(beat));
      }
    });
    stub.threshold = { body: thresholdBody("cal_old", 0.15), etag: '"cal_old.26"' };
    const client = new ScoregateClient({ baseUrl: stub.url, token: "read-token", stream: { readTimeoutMs: 2000, backoff: { initialMs: 5 } } });
    cleanups.push(() => void client.close());
    const events: StreamClientEvent[] = [];
    client.subscribe((e: StreamClientEvent) => events.push(e));
    await client.getThreshold(GATE, { fallback: 0.1 });
    await vi.waitFor(() => expect(client.streams()[0]?.last).toBe(26), WAIT);
    stub.threshold = { body: thresholdBody("cal_new", 0.33), etag: '"cal_new.7"' };
    const gets = stub.thresholdGets;
    stub.connections[0]!.destroy();
    await vi.waitFor(() => expect(events.some((e) => e.type === "history_restarted")).toBe(true), WAIT);
    // heartbeats arrive meanwhile: they must not make the vanished value fresh again
    await vi.waitFor(() => expect(stub!.connections.length).toBeGreaterThanOrEqual(3), WAIT);
    await new Promise((r) => setTimeout(r, 60));
    expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_old", reason: "stale" });
    await vi.waitFor(() => expect(stub!.thresholdGets).toBe(gets + 1), WAIT);
    await vi.waitFor(
      async () => expect(await client.getThreshold(GATE, { fallback: 0.1 })).toMatchObject({ calibrationId: "cal_new", threshold: 0.33 }),
      WAIT,
    );
  });
});
