/**
 * The whole flow in workerd, with the SDK as a service uses it (its streaming client, `stream: true`, pointed at the
 * Worker). First the pushed changes alone: every activation of a gate reaches the subscribed client once, in order,
 * with the seqs exactly the gate's activation log in D1, across a forced reconnect during which two changes happen;
 * what it serves follows each event without a poll. Then the promotion flow on the README walk-through's data
 * (fixtures/walkthrough): v1 active (0.4, 22 %), v2 stored unserved and put in shadow; the service's mirrored
 * queries, reported by the SDK's `shadow()`, give the shadow's live decision read from the API; a progressive
 * promotion [10, 50, 100] advances on `equivalent` from the arms' counts alone (the SDK's `gate()` with each user as
 * assignment key, no override) to 100 %; then the incident's v2 (v2's scores at the old absolute 0.4: 59 % dropped)
 * is rolled back on its evidence during its first step; the same subscribed client sees each change pushed, once, in
 * the log's order, across a forced reconnect mid-promotion, and reads the threshold from the Worker once; the gate's
 * object restarting mid-step loses none of the step's evidence.
 *
 * Tested elsewhere: the overrides (pause, resume, advance, rollback), their refusals and a transition replayed after
 * a restart (test/promotions/promotion-routes.workerd.test.ts); the state machine's every input
 * (test/promotions/state-machine.test.ts); the served split and shadows with the SDK's arms by assignment key
 * (test/serving/served-rollout.workerd.test.ts); the relay's replay, heartbeats and cleanup (test/streaming/); the
 * promotion's false-stop and catch rates over many seeds (bench/guarded-promotion.ts, docs/benchmarks.md section 30).
 */
import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import liveText from "../../fixtures/walkthrough/live.ndjson?raw";
import v1Body from "../../fixtures/walkthrough/v1.json";
import v2Body from "../../fixtures/walkthrough/v2.json";
import incidentBody from "../../fixtures/walkthrough/v2-at-0.4.json";
import { ScoregateClient } from "../../packages/client/src/stream";
import type { ClientEvent } from "../../packages/client/src/types";
import { D1CalibrationStore } from "../../src/calibrations/d1-store";
import { gateIdOf } from "../../src/platform/ids";
import { callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const worker = (exports as unknown as { default: Fetcher }).default;
const WAIT = { timeout: 10_000, interval: 20 };
type Gate = ReturnType<typeof uniqueGate>;

const clients: ScoregateClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

/** The streaming SDK against the Worker, counting the threshold reads that reach it. */
function streamingClient() {
  const reads: number[] = [];
  const client = new ScoregateClient({
    baseUrl: "http://scoregate.test",
    token: TOKENS.read,
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      const res = await worker.fetch(url, init);
      if (new URL(url).pathname === "/v1/threshold") reads.push(res.status);
      return res;
    }) as typeof fetch,
    // workerd: the test runner keeps the connection open between requests, as a Node service would
    stream: { inWorkers: true, backoff: { initialMs: 10, maxMs: 50 } },
    observations: { timer: false },
  });
  clients.push(client);
  return { client, reads };
}

const upload = async (gate: Gate, version: string, activate: boolean, offset = 0) =>
  (
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: version, scores: spreadScores(400, offset), policy: { kind: "drop_rate", target: 0.2 }, activate },
    })
  ).calibration;

const activate = (id: string, reason: string) => callJson("POST", `/v1/calibrations/${id}/activate`, 200, { json: { reason } });

/** The gate's activation log in D1 (every event of the gate), oldest first. */
async function logSeqs(gate: Gate): Promise<number[]> {
  return (await new D1CalibrationStore(env.DB).events(await gateIdOf(gate), 0, 1000)).map((e) => e.seq);
}

/** The walk-through's uploads (fixtures/walkthrough): v1 at 0.4 (22 %), v2 carrying it unserved, and the incident's v2. */
const TOLERANCE = 0.08;
const WALK = {
  v1: v1Body,
  v2: { ...v2Body, activate: false, shift_tolerance: TOLERANCE },
  incident: incidentBody,
} as const;
/**
 * Small steps, so that the simulation stays a few thousand queries: 200 candidate queries a step (the least a plan may
 * ask) and an 8-point tolerance, within which 200 clustered queries can show equivalence (at the default 2 points a
 * carried v2 needs thousands: docs/benchmarks.md, sections 29 and 30). The incident's 37-point move is far outside it.
 */
const PLAN = { steps: [10, 50, 100], min_queries: 200, tolerance: TOLERANCE, reason: "index rebuild" };
/** Queries served between two reads of the promotion, and at most per awaited transition. */
const CHUNK = 500;
const MAX_QUERIES = 8000;

interface LiveQuery {
  readonly key: string;
  readonly v1: readonly number[];
  readonly v2: readonly number[];
}
/** fixtures/walkthrough/live.ndjson: 1,000 live queries with their v1 and v2 scores, `key` a user. */
const LIVE: readonly LiveQuery[] = liveText
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as LiveQuery);

const uploadWalk = async (gate: Gate, body: object) =>
  (await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...body, ...gate } })).calibration;

/**
 * A service as examples/promote-rebuild/mirror.mjs runs one: each live query is served through `gate()` with its user
 * as the assignment key (during a promotion the arm decides which index version answers, so that version's scores are
 * gated) and mirrored to v2 through `shadow()`; each pass over the file is new users. Reports are flushed every CHUNK
 * queries (one batch per calibration, role and arm), so the Worker has counted them, and decided the step, by then.
 */
class MirroringService {
  #next = 0;
  /** Queries served per calibration. */
  readonly served: Record<string, number> = {};
  constructor(
    readonly client: ScoregateClient,
    readonly gate: Gate,
  ) {}

  /** Serves the next `n` queries; returns the v2 scores of those mirrored to a shadow. */
  async serve(n: number): Promise<(readonly number[])[]> {
    const mirrored: (readonly number[])[] = [];
    const score = (x: number) => x;
    for (let i = 0; i < n; i++, this.#next++) {
      const q = LIVE[this.#next % LIVE.length]!;
      const key = `${q.key}-r${Math.floor(this.#next / LIVE.length)}`;
      const t = await this.client.getThreshold(this.gate, { fallback: 0.4, assignmentKey: key });
      const r = await this.client.gate(t.indexVersion === "v2" ? q.v2 : q.v1, { gate: this.gate, score, fallback: 0.4, assignmentKey: key });
      this.served[r.calibrationId!] = (this.served[r.calibrationId!] ?? 0) + 1;
      if ((await this.client.shadow(q.v2, { gate: this.gate, score, key, indexVersion: "v2" })).length > 0) mirrored.push(q.v2);
      if ((i + 1) % CHUNK === 0 || i === n - 1) {
        const flushed = await this.client.flush();
        expect(flushed).toMatchObject({ failedBatches: 0, stats: { queued: 0, rejected: 0 } });
      }
    }
    return mirrored;
  }

  /** Serves until the promotion has recorded a step of `kind` (read from the API between chunks); returns it. */
  async until(promotionId: string, kind: string) {
    for (let served = 0; served < MAX_QUERIES; served += CHUNK) {
      await this.serve(CHUNK);
      const p = await callJson("GET", `/v1/promotions/${promotionId}`, 200, { token: TOKENS.read });
      if (p.steps.some((x) => x.kind === kind)) return p;
      expect(p.state, "closed before the awaited step").toMatch(/^(running|paused)$/u);
    }
    throw new Error(`no ${kind} step after ${MAX_QUERIES} queries`);
  }
}

describe("the promotion flow, pushed to the SDK", () => {
  it("every change of the gate reaches the subscribed client once, in order, across a forced reconnect", async () => {
    const gate = uniqueGate("flow-push");
    const v1 = await upload(gate, "v1", true);
    const v2 = await upload(gate, "v2", false, 0.05);
    const { client, reads } = streamingClient();
    const seqs: number[] = [];
    const calibrations: string[] = [];
    client.subscribe((e: ClientEvent) => {
      if (e.type === "gate") seqs.push(e.event.seq);
      if (e.type === "calibration") calibrations.push(e.calibrationId);
    });

    expect(await client.getThreshold(gate, { fallback: 0.5 })).toMatchObject({ calibrationId: v1.id, threshold: v1.threshold });
    // the stream's snapshot: the gate's head, as the log has it
    await vi.waitFor(() => expect(seqs).toHaveLength(1), WAIT);
    expect(seqs).toEqual((await logSeqs(gate)).slice(-1));

    await activate(v2.id, "v2 after its shadow");
    await vi.waitFor(() => expect(seqs).toHaveLength(2), WAIT);
    expect(await client.getThreshold(gate, { fallback: 0.5 })).toMatchObject({ calibrationId: v2.id, threshold: v2.threshold, reason: "cached" });

    // the connection drops; two changes happen before the client is back: it resumes with Last-Event-ID
    client.reconnect();
    await activate(v1.id, "rolled back");
    await activate(v2.id, "again");
    await vi.waitFor(() => expect(seqs).toHaveLength(4), WAIT);
    await activate(v1.id, "and back");
    await vi.waitFor(() => expect(seqs).toHaveLength(5), WAIT);

    const log = await logSeqs(gate);
    expect(seqs).toEqual(log.slice(log.indexOf(seqs[0]!)));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(calibrations).toEqual([v1.id, v2.id, v1.id, v2.id, v1.id]);
    expect(await client.getThreshold(gate, { fallback: 0.5 })).toMatchObject({ calibrationId: v1.id, reason: "cached" });
    // one read to start; everything after came pushed
    expect(reads).toEqual([200]);
    expect(client.streams()).toEqual([{ gate: { ...gate }, state: "open", last: seqs.at(-1) }]);
  });

  it("the whole flow on the walk-through's data: a shadow decided live, a promotion advanced on evidence to 100 %, the incident's v2 rolled back, every change pushed", async () => {
    const gate = uniqueGate("flow-whole");
    const v1 = await uploadWalk(gate, WALK.v1);
    const v2 = await uploadWalk(gate, WALK.v2);
    expect(v1.threshold).toBe(0.4);
    const { client, reads } = streamingClient();
    const kinds: string[] = [];
    const seqs: number[] = [];
    /** The calibration changes the client announced (its `calibration` events), as `previous -> current`. */
    const changes: string[] = [];
    client.subscribe((e: ClientEvent) => {
      if (e.type === "gate") {
        kinds.push(e.event.kind);
        seqs.push(e.event.seq);
      } else if (e.type === "calibration" && e.previousCalibrationId !== e.calibrationId)
        changes.push(`${e.previousCalibrationId} -> ${e.calibrationId}`);
    });
    const service = new MirroringService(client, gate);
    const pushed = (kind: string) => vi.waitFor(() => expect(kinds.at(-1)).toBe(kind), WAIT);
    expect(await client.getThreshold(gate, { fallback: 0.4 })).toMatchObject({ calibrationId: v1.id });
    await pushed("activation");

    // v2 in shadow on half of the users: the service mirrors each query to v2 through the SDK's shadow(); what it
    // serves does not change, and the live decision is read from the API.
    await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { json: { sample_rate: 0.5 } });
    await pushed("shadow_added");
    const mirrored = await service.serve(LIVE.length);
    expect(service.served).toEqual({ [v1.id]: LIVE.length });
    expect(mirrored.length).toBeGreaterThan(400);
    const shadows = await callJson("GET", `/v1/gates/${v2.gate_id}/shadows`, 200, { token: TOKENS.read });
    const s = shadows.shadows[0]!;
    expect(s).toMatchObject({ calibration_id: v2.id, queries: mirrored.length });
    const flat = mirrored.flat();
    expect(s.drop_rate).toBeCloseTo(flat.filter((x) => x < v2.threshold!).length / flat.length, 12);
    // v2 carried v1's 22 %: on live traffic it matches its own target and the active gate on the same span (the
    // active side starts at the shadow's first batch, so the first flush's served batch is not in it).
    expect(s.vs_target).toMatchObject({ decision: "equivalent", queries: mirrored.length });
    expect(s.vs_active).toMatchObject({ decision: "equivalent", reference_queries: CHUNK });

    // Promoted progressively, watched at every step: the arms' counts alone move it (no override), to 100 %.
    const good = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { json: PLAN });
    await pushed("promotion_started");
    // The connection drops mid-promotion: what happens while it is away arrives on its return, once.
    client.reconnect();
    const v1Before = service.served[v1.id] ?? 0;
    await service.serve(CHUNK);
    const v1AtRestart = service.served[v1.id]!;
    // The gate's object restarts mid-step (evicted; its sockets hibernated): the step's evidence is in its storage.
    await evictDurableObject(env.GATE_MONITOR.get(env.GATE_MONITOR.idFromName(v2.gate_id)));
    const advanced = await service.until(good.id, "advanced");
    expect(advanced.steps.at(-1)).toMatchObject({ kind: "advanced", cause: "equivalent", actor: "promotion", percent: 50 });
    const numbers = advanced.steps.at(-1)!.numbers as { vs_control: { decision: string; reference_queries: number } };
    expect(numbers.vs_control.decision).toBe("equivalent");
    // Every control-arm query of the step before the restart counted. The last chunk's control batch may be counted
    // after the candidate batch that decided (the SDK sends a flush's batches one after another, in the order their
    // arms first occurred in the chunk), so the decision saw all of the step's control queries, or all but that chunk's.
    const reference = numbers.vs_control.reference_queries;
    expect(reference).toBeGreaterThanOrEqual(v1AtRestart - v1Before);
    expect(reference).toBeLessThanOrEqual(service.served[v1.id]! - v1Before);
    expect(reference).toBeGreaterThanOrEqual(service.served[v1.id]! - v1Before - CHUNK);
    await pushed("promotion_step");
    const completed = await service.until(good.id, "completed");
    expect(completed).toMatchObject({ state: "completed", percent: 100 });
    expect(service.served[v2.id]).toBeGreaterThan(0);
    expect(completed.steps.map((x) => [x.kind, x.cause])).toEqual([
      ["started", "admin"],
      ["advanced", "equivalent"],
      ["completed", "equivalent"],
    ]);
    // Completion is the candidate's activation: one `promotion_completed` event, whose seq the promotion's record names;
    // the client announces it as the change of calibration it is.
    await pushed("promotion_completed");
    expect(completed.steps.at(-1)!.seq).toBe(seqs.at(-1));
    expect(changes.at(-1)).toBe(`${v1.id} -> ${v2.id}`);
    expect(await client.getThreshold(gate, { fallback: 0.4, assignmentKey: "user-1" })).toEqual(
      expect.objectContaining({ calibrationId: v2.id, reason: "cached" }),
    );

    // The incident's v2 (v2's scores at the old absolute 0.4: 59 % dropped where v2 drops 22 %), promoted the same
    // way: its candidate arm drops far more than the control arm on the same users, and the first step rolls it back.
    const bad = await uploadWalk(gate, WALK.incident);
    const incident = await callJson("POST", `/v1/calibrations/${bad.id}/promote`, 201, { json: PLAN });
    await pushed("promotion_started");
    const rolledBack = await service.until(incident.id, "rolled_back");
    expect(rolledBack).toMatchObject({ state: "rolled_back", step: 0, percent: 0 });
    // Its candidate arm was served (users whose key fell in the first 10 %) until the rollback.
    expect(service.served[bad.id]).toBeGreaterThan(0);
    expect(rolledBack.steps.at(-1)).toMatchObject({ kind: "rolled_back", cause: "shifted_vs_control", actor: "promotion", percent: 0 });
    const shift = rolledBack.steps.at(-1)!.numbers as { vs_control: { decision: string; change: number } };
    expect(shift.vs_control.decision).toBe("shifted");
    // About 59 % against 22 %: the candidate arm drops 30 to 45 points more than control on the same users.
    expect(shift.vs_control.change).toBeGreaterThan(0.3);
    expect(shift.vs_control.change).toBeLessThan(0.45);
    await pushed("promotion_rolled_back");
    expect(await client.getThreshold(gate, { fallback: 0.4, assignmentKey: "user-1" })).toEqual(
      expect.objectContaining({ calibrationId: v2.id, reason: "cached" }),
    );

    // Every change of the gate, pushed once each in the log's order across the reconnect; one read to start.
    const log = await logSeqs(gate);
    expect(seqs).toEqual(log.slice(log.indexOf(seqs[0]!)));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(kinds).toEqual([
      "activation",
      "shadow_added",
      "promotion_started",
      "promotion_step",
      "promotion_completed",
      "promotion_started",
      "promotion_rolled_back",
    ]);
    expect(reads).toEqual([200]);
  });
});
