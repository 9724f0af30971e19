/**
 * A gate's hub after D1's activation log goes back (a D1 Time Travel restore, or a local state reset): the hub holds
 * events D1 no longer has. Simulated here by handing the hub an event D1 never had, with a seq past D1's: D1's next
 * events are then below the hub's head, as after a restore. The hub restarts its history at D1's newest event, on a
 * publish, on a sync and on the reconciler's repair, and its subscribers get that event as a snapshot.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { D1CalibrationStore } from "../../src/calibrations/d1-store";
import type { GateEvent } from "../../src/contract";
import type { Env } from "../../src/platform/env";
import { gateIdOf } from "../../src/platform/ids";
import { HUB_SYNC_WINDOW_MS } from "../../src/platform/limits";
import { projectionKey } from "../../src/serving/projection";
import type { GateHubRpc } from "../../src/streaming/deps";
import { tick } from "../support/scheduled";
import { appendUnpushedEvent, type SseReader, subscribeToGate } from "../support/sse";
import { callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";

type Gate = ReturnType<typeof uniqueGate>;

/** Open streams, cancelled after each test so no relay outlives it. */
const open: SseReader[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) await r.cancel().catch(() => {});
});

const subscribe = (gate: Gate, lastEventId?: number): Promise<SseReader> => subscribeToGate(gate, open, lastEventId);

/** A gate with one activation in D1 (its event `first`), its hub, and a subscriber that took `first` as its snapshot. */
async function servedGate(name: string) {
  const gate = uniqueGate(name);
  const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
    token: TOKENS.calibrate,
    json: { ...gate, index_version: "v1", scores: spreadScores(400), policy: { kind: "drop_rate", target: 0.2 }, activate: true },
  });
  const gateId = await gateIdOf(gate);
  const store = new D1CalibrationStore(env.DB);
  const first = (await store.latestEvent(gateId))!;
  const sub = await subscribe(gate);
  expect((await sub.event()).event).toEqual(first);
  expect((await sub.heartbeat()).head_seq).toBe(first.seq);
  const hub = env.GATE_MONITOR.get(env.GATE_MONITOR.idFromName(gateId)) as unknown as GateHubRpc;

  /** A shadow event appended to D1's log after `prev`, as an activation commits it. */
  const append = (prev: number, reason: string): Promise<GateEvent> => appendUnpushedEvent(gateId, calibration.id, prev, reason);

  /** Hands the hub an event D1 does not have, `ahead` seqs past its head `head`: the pre-restore history it keeps. */
  const lose = async (head: GateEvent, ahead: number): Promise<GateEvent> => {
    const lost: GateEvent = { ...head, seq: head.seq + ahead, prev_seq: head.seq, reason: "lost in the restore" };
    expect(await hub.publishEvent(lost)).toBe(1);
    expect((await sub.event()).event).toEqual(lost);
    return lost;
  };
  return { gate, gateId, first, sub, hub, append, lose };
}

describe("a gate's hub after D1's activation log goes back (a restore)", () => {
  it("restarts its history on a publish of a lower seq it does not hold: subscribers get its snapshot, heartbeats its seq", async () => {
    const g = await servedGate("restore-publish");
    const lost = await g.lose(g.first, 1_000_000);
    const next = await g.append(g.first.seq, "after the restore");
    expect(next.seq).toBeLessThan(lost.seq);

    expect(await g.hub.publishEvent(next)).toBe(1);
    const restarted = await g.sub.event();
    expect([restarted.name, restarted.id, restarted.event]).toEqual(["snapshot", String(next.seq), next]);
    // A new subscriber, and one resuming after the lost event, are told the new head.
    const fresh = await subscribe(g.gate);
    expect(await fresh.event()).toMatchObject({ name: "snapshot", event: next });
    expect((await fresh.heartbeat()).head_seq).toBe(next.seq);
    const resuming = await subscribe(g.gate, lost.seq);
    expect(await resuming.event()).toMatchObject({ name: "snapshot", event: next });
    expect((await resuming.heartbeat()).head_seq).toBe(next.seq);

    // The restored log's next events are pushed as usual again.
    const later = await g.append(next.seq, "later");
    expect(await g.hub.publishEvent(later)).toBe(1);
    expect(await g.sub.event()).toMatchObject({ name: "gate", event: later });
  });

  it("still drops a true duplicate (a seq it holds), and a late repeat of an event it no longer holds while D1 has its head", async () => {
    const g = await servedGate("restore-duplicate");
    const next = await g.append(g.first.seq, "next");
    expect(await g.hub.publishEvent(next)).toBe(1);
    expect(await g.sub.event()).toMatchObject({ name: "gate", event: next });
    const lost = await g.lose(next, 1_000_000);
    const after = await g.append(next.seq, "after the restore");
    expect(await g.hub.publishEvent(after)).toBe(1);
    expect(await g.sub.event()).toMatchObject({ name: "snapshot", event: after });

    // `after` is held: a repeat. `next` and `first` are not (the restart forgot them) but D1's newest is the head.
    expect(await g.hub.publishEvent(after)).toBe(0);
    expect(await g.hub.publishEvent(next)).toBe(0);
    expect(await g.hub.publishEvent(g.first)).toBe(0);
    // The lost event again: past the head, but D1 has nothing after the head; nothing is sent.
    expect(await g.hub.publishEvent(lost)).toBe(0);
    const probe = await subscribe(g.gate, after.seq);
    expect((await probe.heartbeat()).head_seq).toBe(after.seq);
    // The first subscriber was sent nothing meanwhile: its next frame is the next event.
    const last = await g.append(after.seq, "last");
    expect(await g.hub.publishEvent(last)).toBe(1);
    expect(await g.sub.event()).toMatchObject({ name: "gate", event: last });
  });

  it("restarts on a publish whose predecessor is below its head (restored, then past the old head)", async () => {
    const g = await servedGate("restore-past");
    const max = await env.DB.prepare("SELECT MAX(seq) AS m FROM activations").first<{ m: number }>();
    const lost = await g.lose(g.first, max!.m + 1 - g.first.seq);
    // Another gate's activation takes the lost seq in D1; the gate's next is past it, linked to `first`.
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...uniqueGate("restore-past-other"),
        index_version: "v1",
        scores: spreadScores(400),
        policy: { kind: "drop_rate", target: 0.2 },
        activate: true,
      },
    });
    const next = await g.append(g.first.seq, "after the restore");
    expect(next.seq).toBeGreaterThan(lost.seq);
    expect(await g.hub.publishEvent(next)).toBe(1);
    expect(await g.sub.event()).toMatchObject({ name: "snapshot", event: next });
  });

  it("restarts when the restored log numbers a new event with a seq the hub holds for a lost one (publish, then sync)", async () => {
    for (const via of ["publish", "sync"] as const) {
      const g = await servedGate(`restore-reused-${via}`);
      const max = await env.DB.prepare("SELECT MAX(seq) AS m FROM activations").first<{ m: number }>();
      // The lost event takes the seq D1 gives next: the restored log's next event comes back under the same number.
      const lost = await g.lose(g.first, max!.m + 1 - g.first.seq);
      const next = await g.append(g.first.seq, "after the restore");
      expect(next.seq).toBe(lost.seq);
      expect(await (via === "publish" ? g.hub.publishEvent(next) : g.hub.syncEvents(g.gateId))).toBe(1);
      expect(await g.sub.event()).toMatchObject({ name: "snapshot", event: next });
      // held now: the same event again is a repeat, and a sync has nothing to send
      expect(await g.hub.publishEvent(next)).toBe(0);
      expect(await g.hub.syncEvents(g.gateId)).toBe(0);
    }
  });

  it("ends its subscribers' streams when D1 has no event of the gate left (restored to before its first activation)", async () => {
    const g = await servedGate("restore-empty");
    // the gate as before its first activation: no current calibration, no activation
    await env.DB.batch(
      ["pending_listeners", "active_calibrations", "activations"].map((t) => env.DB.prepare(`DELETE FROM ${t} WHERE gate_id = ?`).bind(g.gateId)),
    );
    expect(await g.hub.syncEvents(g.gateId)).toBe(0);
    // the relay ends the client's stream: a client reconnects and reads the new head
    expect(await g.sub.next()).toBeNull();
    const fresh = await subscribe(g.gate, g.first.seq);
    expect((await fresh.heartbeat()).head_seq).toBe(0);
  });

  it("restarts on sync() when D1's newest event of the gate is below its head; a current hub's sync sends nothing", async () => {
    const g = await servedGate("restore-sync");
    await g.lose(g.first, 1_000_000);
    expect(await g.hub.syncEvents(g.gateId)).toBe(1);
    expect(await g.sub.event()).toMatchObject({ name: "snapshot", id: String(g.first.seq), event: g.first });
    const fresh = await subscribe(g.gate);
    expect(await fresh.event()).toMatchObject({ name: "snapshot", event: g.first });
    expect((await fresh.heartbeat()).head_seq).toBe(g.first.seq);
    expect(await g.hub.syncEvents(g.gateId)).toBe(0);
  });

  it("restarts on the cron tick's reconciler repair of a gate that changed long ago, whose KV value it republished", async () => {
    const g = await servedGate("restore-reconcile");
    await g.lose(g.first, 1_000_000);
    for (const version of [null, "v1"]) await env.THRESHOLDS.delete(await projectionKey(g.gateId, version));
    // Past the hub sync's window: only the reconciler's repair reaches this gate's hub.
    const report = await tick(env as unknown as Env, new Date(Date.now() + HUB_SYNC_WINDOW_MS + 60_000));
    expect(report.failed).toEqual([]);
    expect(report.hubsSynced).toBe(0);
    expect(report.reconcile?.written).toBeGreaterThanOrEqual(2);
    expect(await g.sub.event()).toMatchObject({ name: "snapshot", event: g.first });
    const fresh = await subscribe(g.gate);
    await fresh.event();
    expect((await fresh.heartbeat()).head_seq).toBe(g.first.seq);
  });
});
