/**
 * Delivery runs: which clock an attempt reads, and what a hung receiver costs the others. The runs here send through
 * a stub fetch that holds each request until the test answers it, and read a clock the test moves, so every check
 * is on the order of events and on stored times, never on how long anything took. The first two tests go through
 * the Worker's own wiring (the cron tick, the alert raise a gate monitor makes) to the real local receiver.
 */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, inject, it, onTestFinished, vi } from "vitest";
import { raiseAlert, resolveAlert } from "../../src/alerts/lifecycle";
import type { Alert } from "../../src/contract";
import type { Env } from "../../src/platform/env";
import { WEBHOOK_CONCURRENCY, WEBHOOK_RETRY_DELAYS_MS, WEBHOOK_RUN_MS, WEBHOOK_TIMEOUT_MS } from "../../src/platform/limits";
import { D1WebhookStore } from "../../src/webhooks/d1-store";
import { deliverDue } from "../../src/webhooks/delivery";
import type { DeliveryDeps } from "../../src/webhooks/deps";
import type { DueDelivery } from "../../src/webhooks/store";
import { runScheduled } from "../../src/worker/scheduled";
import { alertDeps } from "../../src/worker/wiring";
import { callJson } from "../support/worker";

const origin = inject("receiverOrigin");
const workerEnv = env as unknown as Env;

// Endpoints are global to the file's storage and capped at 20 (deleted ones do not count): every test starts with
// none, and deleting one fails its pending deliveries, so no test claims another's.
beforeEach(async () => {
  const log = vi.spyOn(console, "log").mockImplementation(() => {}); // each deletion is logged for operators
  onTestFinished(() => log.mockRestore());
  const { endpoints } = await callJson("GET", "/v1/webhooks", 200);
  for (const e of endpoints as { id: string }[]) await callJson("DELETE", `/v1/webhooks/${e.id}`, 200);
});

async function endpoint(name: string): Promise<{ id: string; secret: string }> {
  return callJson("POST", "/v1/webhooks", 201, { json: { url: `${origin}/hook/${name}`, description: name } });
}

let gates = 0;
/**
 * Opens an alert dated `at` without sending it: its deliveries (one per enabled endpoint) are due from `at` and wait
 * for the run under test.
 */
async function openAlert(at: Date): Promise<Alert> {
  gates += 1;
  const deps = {
    ...alertDeps(
      workerEnv,
      () => {},
      () => at,
    ),
    deliverWebhooks: () => {},
  };
  const { alert } = await raiseAlert(
    {
      gate_id: `gate-runs-${gates}-${at.getTime()}`,
      gate: { index: "docs", embedding: "e5", reranker: `runs-${gates}` },
      kind: "drop_rate_drift",
      summary: "production drop rate 41.0 % over 300 queries against the calibration's 30.0 %",
      details: {},
      calibration_ids: [],
    },
    deps,
  );
  return alert;
}

async function resolveUnsent(id: string, at: Date): Promise<void> {
  await resolveAlert(id, "alice", "fixed", {
    ...alertDeps(
      workerEnv,
      () => {},
      () => at,
    ),
    deliverWebhooks: () => {},
  });
}

async function deliveriesOf(endpointId: string): Promise<any[]> {
  return (await callJson("GET", `/v1/webhooks/deliveries?endpoint_id=${endpointId}`, 200)).deliveries;
}

async function received(name: string): Promise<any[]> {
  return (await fetch(`${origin}/_received/${name}`)).json();
}

async function setReceiver(name: string, mode: "ok" | "down", secret: string): Promise<void> {
  await fetch(`${origin}/_control/${name}`, { method: "POST", body: JSON.stringify({ mode, secret }) });
}

/** One request the stub received. */
interface Call {
  readonly name: string;
  readonly id: string;
  /** The signed webhook-timestamp. */
  readonly timestamp: number;
  /** The test clock when the request was made. */
  readonly sentAt: number;
  answer: number | "timeout" | null;
  settle: (status: number | "timeout") => void;
}

/**
 * Receivers behind a stub fetch, named by the hook path: "ok" answers 204 and "down" 503 at once (moving the clock by
 * `answerMs` first), "hang" holds the request until the test answers it (`answer`, with a status or "timeout": the test plays the
 * sender's WEBHOOK_TIMEOUT_MS abort).
 * The run's store is wrapped to see when a slot finds nothing left to claim and ends, so `quiescent` says, without
 * waiting on time, when every slot of the run is either holding a request or done.
 */
/** Runs deliverDue over `r`'s receivers, calling `round` each time every slot holds a request or is done, until it ends. */
async function untilDone(r: ReturnType<typeof receivers>, round: () => void) {
  const run = deliverDue(r.deps);
  let done = false;
  void run.then(() => {
    done = true;
  });
  while (!done) {
    await Promise.race([run, r.quiescent()]);
    if (!done) round();
  }
  return run;
}

function receivers(start: number, answerMs = 0) {
  let now = start;
  const calls: Call[] = [];
  let ended = 0;
  let waiters: (() => void)[] = [];
  const inFlight = () => calls.filter((c) => c.answer === null);
  const check = () => {
    if (inFlight().length + ended !== WEBHOOK_CONCURRENCY) return;
    const ready = waiters;
    waiters = [];
    for (const w of ready) w();
  };
  const stubFetch: typeof fetch = async (input, init) => {
    const name = new URL(String(input)).pathname.split("/")[2]!;
    const headers = new Headers(init?.headers);
    const behaviour = name.replace(/-\d+$/u, "");
    const answered = new Promise<number | "timeout">((resolve) => {
      calls.push({
        name,
        id: headers.get("webhook-id") ?? "",
        timestamp: Number(headers.get("webhook-timestamp")),
        sentAt: now,
        answer: null,
        settle: resolve,
      });
    });
    const call = calls.at(-1)!;
    if (behaviour === "ok" || behaviour === "down") {
      now += answerMs;
      call.answer = behaviour === "ok" ? 204 : 503;
      call.settle(call.answer);
    } else check();
    const answer = await answered;
    if (answer === "timeout") throw new DOMException("The operation was aborted due to timeout", "TimeoutError");
    return new Response(null, { status: answer });
  };
  const d1 = new D1WebhookStore(workerEnv.DB);
  const store = Object.assign(Object.create(d1) as D1WebhookStore, {
    claimNext: async (at: string, leaseUntil: string, skip?: readonly string[]): Promise<DueDelivery | null> => {
      const d = await d1.claimNext(at, leaseUntil, skip);
      if (d === null) {
        ended += 1;
        check();
      }
      return d;
    },
  });
  const deps: DeliveryDeps = { webhooks: store, clock: () => new Date(now), fetch: stubFetch };
  return {
    deps,
    calls,
    inFlight,
    advance: (ms: number) => {
      now += ms;
    },
    /** Resolves once every slot of the run holds a request or has ended. */
    quiescent: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        check();
      }),
    answer: (c: Call, status: number | "timeout") => {
      c.answer = status;
      c.settle(status);
    },
  };
}

describe("the clock of a delivery run", () => {
  it("a cron tick signs and records each delivery at the time it is sent, not at the tick's scheduled time", async () => {
    const ep = await endpoint("late-tick");
    await setReceiver("late-tick", "ok", ep.secret);
    const before = Date.now();
    await openAlert(new Date(before - 200_000)); // due before the tick
    // the tick is dated 100 s back: as a long tick's later attempts are, or one that ran late
    const report = await runScheduled(workerEnv, new Date(before - 100_000), () => {});
    expect(report.webhooks).toMatchObject({ attempted: 1, delivered: 1 });
    const [got] = await received("late-tick");
    expect(got.verified).toBe(true);
    expect(Number(got.timestamp)).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    const [d] = await deliveriesOf(ep.id);
    expect(d.status).toBe("delivered");
    expect(Date.parse(d.delivered_at)).toBeGreaterThanOrEqual(before);
  });

  it("an alert dated by an earlier observation (a gate monitor's raise) is signed when its delivery is sent", async () => {
    const ep = await endpoint("late-alert");
    await setReceiver("late-alert", "down", ep.secret);
    const before = Date.now();
    const observedAt = new Date(before - 100_000);
    const pending: Promise<unknown>[] = [];
    // what GateMonitor.#raisePending builds: the alert dated by the observation, delivery on the real clock
    await raiseAlert(
      {
        gate_id: `gate-late-alert-${before}`,
        gate: { index: "docs", embedding: "e5", reranker: "late-alert" },
        kind: "drop_rate_drift",
        summary: "x",
        details: {},
        calibration_ids: [],
      },
      alertDeps(
        workerEnv,
        (p) => pending.push(p),
        () => observedAt,
      ),
    );
    await Promise.all(pending);
    const [got] = await received("late-alert");
    expect(got.answered).toBe(503);
    expect(Number(got.timestamp)).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    const [d] = await deliveriesOf(ep.id);
    expect(d.created_at).toBe(observedAt.toISOString()); // the event keeps its own time
    // the retry is counted from the failed attempt, not from the alert's time
    expect(Date.parse(d.next_attempt_at)).toBeGreaterThanOrEqual(before + WEBHOOK_RETRY_DELAYS_MS[0]);
    expect(Date.parse(d.updated_at)).toBeGreaterThanOrEqual(before);
  });

  it("each attempt reads the clock: signed when sent, delivered_at and next_attempt_at when answered", async () => {
    const t0 = Math.ceil(Date.now() / 1000) * 1000;
    const ok = await endpoint("ok");
    for (let i = 3; i >= 1; i--) await openAlert(new Date(t0 - i * 1000));
    const r = receivers(t0, 7_000); // every answer takes 7 s on the run's clock
    expect(await deliverDue(r.deps)).toEqual({ attempted: 3, delivered: 3, failed: 0 });
    // one endpoint's deliveries go one after another: each is signed when sent, as the previous one was answered
    expect(r.calls.map((c) => [c.sentAt - t0, c.timestamp * 1000 - t0])).toEqual([
      [0, 0],
      [7_000, 7_000],
      [14_000, 14_000],
    ]);
    const delivered = (await deliveriesOf(ok.id)).map((d) => Date.parse(d.delivered_at) - t0).sort((a, b) => a - b);
    expect(delivered).toEqual([7_000, 14_000, 21_000]);

    await callJson("PATCH", `/v1/webhooks/${ok.id}`, 200, { json: { enabled: false } });
    const down = await endpoint("down");
    await openAlert(new Date(t0));
    r.advance(60_000);
    expect(await deliverDue(r.deps)).toEqual({ attempted: 1, delivered: 0, failed: 1 });
    const sentAt = r.calls.at(-1)!.sentAt;
    expect(sentAt).toBe(t0 + 81_000);
    const [failed] = await deliveriesOf(down.id);
    expect(failed).toMatchObject({ status: "pending", attempts: 1, last_status: 503 });
    expect(Date.parse(failed.updated_at)).toBe(sentAt + 7_000);
    expect(Date.parse(failed.next_attempt_at)).toBe(sentAt + 7_000 + WEBHOOK_RETRY_DELAYS_MS[0]);
  });

  it("a second run does not send a delivery again while the first run's attempt is within its lease", async () => {
    // The first run is one an alert raised 100 s ago started (its `now` is the alert's time); the second is the cron
    // tick of this minute. Both are built by the Worker's wiring; only fetch is a stub.
    const before = Date.now();
    const raisedAt = new Date(before - 100_000);
    const ep = await endpoint("held");
    await openAlert(raisedAt);
    const sent: string[] = [];
    let release: (status: number) => void = () => {};
    let firstSent: () => void = () => {};
    const firstSeen = new Promise<void>((resolve) => {
      firstSent = resolve;
    });
    const stub: typeof fetch = async (_input, init) => {
      sent.push(new Headers(init?.headers).get("webhook-id") ?? "");
      if (sent.length > 1) return new Response(null, { status: 204 });
      firstSent();
      return new Response(null, { status: await new Promise<number>((resolve) => (release = resolve)) });
    };
    const first = deliverDue({
      ...alertDeps(
        workerEnv,
        () => {},
        () => raisedAt,
      ),
      fetch: stub,
    });
    await firstSeen;
    const second = await deliverDue({
      ...alertDeps(
        workerEnv,
        () => {},
        () => new Date(),
      ),
      fetch: stub,
    });
    expect(second.attempted).toBe(0);
    const [d] = await deliveriesOf(ep.id);
    expect(d).toMatchObject({ status: "pending", attempts: 0 });
    release(204);
    expect(await first).toMatchObject({ attempted: 1, delivered: 1 });
    expect(sent).toHaveLength(1);
    const [after] = await deliveriesOf(ep.id);
    expect(after).toMatchObject({ status: "delivered", attempts: 1 });
    expect(Date.parse(after.delivered_at)).toBeGreaterThanOrEqual(before);
  });
});

describe("a hung receiver", () => {
  it("costs one slot: a healthy endpoint's delivery is answered while every hanging attempt is still in flight", async () => {
    const t0 = Date.now();
    const hanging = WEBHOOK_CONCURRENCY - 1;
    for (let i = 1; i <= hanging; i++) await endpoint(`hang-${i}`);
    await openAlert(new Date(t0 - 2000)); // older: claimed first
    await endpoint("ok");
    await openAlert(new Date(t0 - 1000));
    const r = receivers(t0);
    const run = deliverDue(r.deps);
    await r.quiescent();
    expect(r.calls.filter((c) => c.name === "ok").map((c) => c.answer)).toEqual([204]);
    expect(r.inFlight().map((c) => c.name)).toHaveLength(hanging);
    expect(r.inFlight().every((c) => c.name.startsWith("hang-"))).toBe(true);
    r.advance(WEBHOOK_TIMEOUT_MS);
    for (const c of r.inFlight()) r.answer(c, "timeout");
    // a hanging endpoint's second delivery is not tried in the run its first failed in
    expect(await run).toEqual({ attempted: WEBHOOK_CONCURRENCY, delivered: 1, failed: hanging });
    expect(r.calls).toHaveLength(WEBHOOK_CONCURRENCY);
  });

  it("an endpoint that fails is not tried again in the run: its other due deliveries wait for the next run", async () => {
    const t0 = Date.now();
    const down = await endpoint("down");
    const ok = await endpoint("ok");
    for (let i = 3; i >= 1; i--) await openAlert(new Date(t0 - i * 1000));
    const r = receivers(t0);
    expect(await deliverDue(r.deps)).toEqual({ attempted: 4, delivered: 3, failed: 1 });
    expect(r.calls.filter((c) => c.name === "down")).toHaveLength(1);
    expect((await deliveriesOf(down.id)).map((d) => d.attempts).sort()).toEqual([0, 0, 1]);
    expect((await deliveriesOf(ok.id)).every((d) => d.status === "delivered")).toBe(true);
  });

  it("one endpoint has one attempt in flight at a time, and an alert's resolution follows its opening", async () => {
    const t0 = Date.now();
    const names = ["hang-1", "hang-2"];
    for (const name of names) await endpoint(name);
    const a = await openAlert(new Date(t0 - 3000));
    await resolveUnsent(a.id, new Date(t0 - 2000));
    const b = await openAlert(new Date(t0 - 1000));
    const r = receivers(t0);
    const run = await untilDone(r, () => {
      const held = r.inFlight();
      expect(new Set(held.map((c) => c.name)).size).toBe(held.length); // never two to one endpoint
      for (const c of held) r.answer(c, 204);
    });
    expect(run).toEqual({ attempted: 6, delivered: 6, failed: 0 });
    for (const name of names) {
      const order = r.calls.filter((c) => c.name === name).map((c) => c.id);
      expect(order.indexOf(`msg_${a.id}_opened`)).toBeLessThan(order.indexOf(`msg_${a.id}_resolved`));
      expect(order).toContain(`msg_${b.id}_opened`);
    }
  });

  it(`starts no attempt ${WEBHOOK_RUN_MS / 1000} s into a run, so even hanging receivers end it within one timeout more`, async () => {
    const t0 = Date.now();
    const count = 3 * WEBHOOK_CONCURRENCY - 1;
    for (let i = 1; i <= count; i++) await endpoint(`hang-${i}`);
    await openAlert(new Date(t0 - 1000));
    const r = receivers(t0);
    const run = await untilDone(r, () => {
      // every held request times out together, WEBHOOK_TIMEOUT_MS after the round started
      r.advance(WEBHOOK_TIMEOUT_MS);
      for (const c of r.inFlight()) r.answer(c, "timeout");
    });
    const rounds = Math.ceil(WEBHOOK_RUN_MS / WEBHOOK_TIMEOUT_MS);
    expect(run).toEqual({ attempted: rounds * WEBHOOK_CONCURRENCY, delivered: 0, failed: rounds * WEBHOOK_CONCURRENCY });
    expect(r.calls.every((c) => c.sentAt < t0 + WEBHOOK_RUN_MS)).toBe(true);
    expect(r.calls.length).toBeLessThan(count); // the rest wait for the next run
  });
});
