import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, inject, it, onTestFinished, vi } from "vitest";
import v1Body from "../../fixtures/walkthrough/v1.json";
import v2Body from "../../fixtures/walkthrough/v2.json";
import { raiseAlert, resolveAlert } from "../../src/alerts/lifecycle";
import type { Env } from "../../src/platform/env";
import { WEBHOOK_RETRY_DELAYS_MS, WEBHOOK_TIMEOUT_MS } from "../../src/platform/limits";
import { deliverDue } from "../../src/webhooks/delivery";
import { app } from "../../src/worker/app";
import { runScheduled } from "../../src/worker/scheduled";
import { alertDeps } from "../../src/worker/wiring";
import { callJson, TOKENS, uniqueGate } from "../support/worker";

const origin = inject("receiverOrigin");

async function receiver(name: string, mode: "ok" | "down" | "gone" | "throttled" | "redirect" | "hang", secret?: string): Promise<void> {
  await fetch(`${origin}/_control/${name}`, { method: "POST", body: JSON.stringify({ mode, ...(secret ? { secret } : {}) }) });
}
async function received(name: string): Promise<any[]> {
  return (await fetch(`${origin}/_received/${name}`)).json();
}

/**
 * A cron tick at `at`, its delivery attempts read a clock held at `at` too: these tests move time forward by hours,
 * so the real clock (the Worker's) would find nothing due. delivery-runs.workerd.test.ts checks the real one.
 */
function tickAt(at: Date): ReturnType<typeof runScheduled> {
  return runScheduled(
    env as unknown as Env,
    at,
    () => {},
    () => at,
  );
}

let gateCounter = 0;
/** Raises a fresh alert through the service at `now` (its delivery's clock too), awaiting its deferred delivery attempt. */
async function raise(now: Date): Promise<any> {
  const pending: Promise<unknown>[] = [];
  gateCounter += 1;
  const { alert } = await raiseAlert(
    {
      gate_id: `gate-webhook-${gateCounter}-${now.getTime()}`,
      gate: { index: "docs", embedding: "e5", reranker: `bge-${gateCounter}` },
      kind: "drop_rate_drift",
      summary: "production drop rate 41.0 % over 300 queries against the calibration's 30.0 %",
      details: { observed: 0.41 },
      calibration_ids: ["cal_x"],
    },
    alertDeps(
      env as unknown as Env,
      (p) => pending.push(p),
      () => now,
      () => now,
    ),
  );
  await Promise.all(pending);
  return alert;
}

async function endpoint(name: string, mode: "ok" | "down" | "gone" | "throttled" | "redirect" | "hang"): Promise<any> {
  const created = await callJson("POST", "/v1/webhooks", 201, { json: { url: `${origin}/hook/${name}`, description: name } });
  expect(created.secret).toMatch(/^whsec_/);
  await receiver(name, mode, created.secret);
  return created;
}

async function deliveriesOf(endpointId: string): Promise<any[]> {
  return (await callJson("GET", `/v1/webhooks/deliveries?endpoint_id=${endpointId}`, 200)).deliveries;
}

async function disable(id: string): Promise<void> {
  await callJson("PATCH", `/v1/webhooks/${id}`, 200, { json: { enabled: false } });
}

// Endpoints are global to the file's storage: every test starts with none enabled, so no test sees another's
// endpoints or deliveries, whatever order the tests run in (checked with `vitest --sequence.shuffle`).
beforeEach(async () => {
  const { endpoints } = await callJson("GET", "/v1/webhooks", 200);
  for (const e of endpoints as { id: string; enabled: boolean }[]) if (e.enabled) await disable(e.id);
});

describe("webhook delivery", () => {
  it("signs per Standard Webhooks (verified by the standardwebhooks package) with a Slack-friendly text", async () => {
    const ep = await endpoint("signed", "ok");
    const alert = await raise(new Date());
    const got = await received("signed");
    expect(got).toHaveLength(1);
    expect(got[0].verified).toBe(true);
    expect(got[0].id).toBe(`msg_${alert.id}_opened`);
    expect(got[0].body).toMatchObject({ type: "alert.opened", data: { id: alert.id, kind: "drop_rate_drift" } });
    expect(got[0].body.text).toContain("Drop-rate drift");
    expect(got[0].body.text).toContain("41.0 %");
    const [d] = await deliveriesOf(ep.id);
    expect(d).toMatchObject({ status: "delivered", attempts: 1, last_status: 204 });
    // listing masks the secret
    const { endpoints } = await callJson("GET", "/v1/webhooks", 200);
    expect(endpoints.find((e) => e.id === ep.id)!.secret).not.toBe(ep.secret);
    await disable(ep.id);
  });

  it("delivers an alert's events in order: a resolution waits behind its opening while that one is in backoff", async () => {
    const ep = await endpoint("ordered", "down");
    const t0 = new Date();
    const alert = await raise(t0); // alert.opened: refused (503), retried after WEBHOOK_RETRY_DELAYS_MS[0]
    await receiver("ordered", "ok", ep.secret);
    const resolvedAt = new Date(t0.getTime() + 1000);
    const pending: Promise<unknown>[] = [];
    await resolveAlert(
      alert.id,
      "alice",
      "rolled back",
      alertDeps(
        env as unknown as Env,
        (p) => pending.push(p),
        () => resolvedAt,
        () => resolvedAt,
      ),
    );
    await Promise.all(pending);
    // the resolution is due at once but waits for the opening
    await tickAt(new Date(t0.getTime() + 2000));
    expect((await received("ordered")).map((r) => [r.body.type, r.answered])).toEqual([["alert.opened", 503]]);
    await tickAt(new Date(t0.getTime() + WEBHOOK_RETRY_DELAYS_MS[0]! + 2000));
    await tickAt(new Date(t0.getTime() + WEBHOOK_RETRY_DELAYS_MS[0]! + 3000));
    expect((await received("ordered")).map((r) => [r.body.type, r.answered])).toEqual([
      ["alert.opened", 503],
      ["alert.opened", 204],
      ["alert.resolved", 204],
    ]);
    await disable(ep.id);
  });

  it("a second shifting activation on an open (acknowledged) rebuild_shift alert is sent as alert.repeated, once, after the opening", async () => {
    const ep = await endpoint("repeat", "ok");
    const gate = uniqueGate("repeat");
    const upload = async (body: object) =>
      (await callJson("POST", "/v1/calibrations", 201, { token: TOKENS.calibrate, json: { ...body, ...gate } })).calibration;
    const v1 = await upload(v1Body);
    const v2 = await upload(v2Body); // served, shifted: the alert opens
    const [alert] = (await callJson("GET", `/v1/alerts?gate_id=${v1.gate_id}&kind=rebuild_shift`, 200, { token: TOKENS.read })).alerts;
    await callJson("POST", `/v1/alerts/${alert!.id}/acknowledge`, 200, { token: TOKENS.admin, json: { note: "intended" } });
    // v3 (v1's scores, served by request): v2's threshold drops a fraction of them, a new change on the same alert
    const v3 = await upload({ ...v1Body, index_version: "v3", policy: { kind: "drop_rate", target: 0.22 }, activate: true });
    // delivered by the requests' own runs in the background; a tick at the real time sends whatever they left due
    await tickAt(new Date());
    await vi.waitFor(async () => expect(await received("repeat")).toHaveLength(2), { timeout: 10_000, interval: 50 });
    const got = await received("repeat");
    expect(got.map((r) => [r.body.type, r.answered])).toEqual([
      ["alert.opened", 204],
      ["alert.repeated", 204],
    ]);
    const repeated = got[1]!.body;
    expect(repeated.data).toMatchObject({ id: alert!.id, status: "acknowledged", occurrences: 2, calibration_ids: [v1.id, v2.id] });
    expect(repeated.repeat.calibration_ids).toEqual([v2.id, v3.id]);
    expect(repeated.repeat.summary).toMatch(/^index_version v3 is now served: the previous threshold /u);
    expect(repeated.text).toContain(
      `*scoregate: Rebuild shift again* on \`${gate.index} / ${gate.embedding} / ${gate.reranker}\` (alert ${alert!.id}, 2 occurrences, acknowledged)`,
    );
    expect(repeated.text).toContain(`Alert ${alert!.id} · served before ${v2.id}, shifted to ${v3.id}`);
    // nothing else is due: a later tick sends nothing more
    await tickAt(new Date());
    expect(await received("repeat")).toHaveLength(2);
    await disable(ep.id);
  });

  it("retries with backoff for more than 24 hours with the same webhook-id, then fails visibly, and can be replayed", async () => {
    const ep = await endpoint("always-down", "down");
    const t0 = new Date();
    await raise(t0);
    let at = t0.getTime();
    for (const delay of WEBHOOK_RETRY_DELAYS_MS) {
      // one second before it is due: nothing is sent
      await tickAt(new Date(at + delay - 1000));
      at += delay;
      await tickAt(new Date(at));
    }
    const got = await received("always-down");
    expect(got).toHaveLength(WEBHOOK_RETRY_DELAYS_MS.length + 1);
    expect(new Set(got.map((r) => r.id)).size).toBe(1);
    expect(at - t0.getTime()).toBeGreaterThanOrEqual(24 * 3600 * 1000);
    const [d] = await deliveriesOf(ep.id);
    expect(d).toMatchObject({ status: "failed", attempts: WEBHOOK_RETRY_DELAYS_MS.length + 1, last_status: 503 });
    expect((await callJson("GET", "/v1/webhooks/deliveries?status=failed", 200)).deliveries.some((x: any) => x.id === d.id)).toBe(true);

    await receiver("always-down", "ok");
    const replayed = await callJson("POST", `/v1/webhooks/deliveries/${encodeURIComponent(d.id)}/replay`, 200);
    expect(replayed.status).toBe("pending");
    await tickAt(new Date());
    const after = await received("always-down");
    expect(after.at(-1)).toMatchObject({ id: got[0].id, answered: 204, verified: true });
    expect((await deliveriesOf(ep.id))[0].status).toBe("delivered");
    await disable(ep.id);
  });

  it("delivers an alert raised while the receiver is down once it is back: nothing lost, nothing sent twice", async () => {
    const ep = await endpoint("flaky", "down");
    const t0 = new Date();
    const alert = await raise(t0);
    expect((await received("flaky")).map((r) => r.answered)).toEqual([503]);
    await receiver("flaky", "ok");
    await tickAt(new Date(t0.getTime() + 30_000)); // not due yet
    expect(await received("flaky")).toHaveLength(1);
    await tickAt(new Date(t0.getTime() + 61_000));
    await tickAt(new Date(t0.getTime() + 3 * 3600_000));
    await tickAt(new Date(t0.getTime() + 48 * 3600_000));
    const got = await received("flaky");
    expect(got.map((r) => r.answered)).toEqual([503, 204]);
    expect(got.every((r) => r.id === `msg_${alert.id}_opened` && r.verified)).toBe(true);
    // the same alert raised again is an update, not a new event
    const again = await raiseAlert(
      { gate_id: alert.gate_id, gate: alert.gate, kind: alert.kind, summary: "again", details: {}, calibration_ids: [] },
      alertDeps(
        env as unknown as Env,
        () => {},
        () => new Date(),
      ),
    );
    expect(again.opened).toBe(false);
    expect(again.alert.occurrences).toBe(2);
    await tickAt(new Date(t0.getTime() + 49 * 3600_000));
    expect(await received("flaky")).toHaveLength(2);
    await disable(ep.id);
  });

  it("410 Gone disables the endpoint", async () => {
    const ep = await endpoint("gone", "gone");
    await raise(new Date());
    const { endpoints } = await callJson("GET", "/v1/webhooks", 200);
    const e = endpoints.find((x: any) => x.id === ep.id);
    expect(e!.enabled).toBe(false);
    expect(e!.disabled_reason).toContain("410");
    expect((await deliveriesOf(ep.id))[0]).toMatchObject({ status: "failed", last_status: 410 });
    await raise(new Date());
    expect(await received("gone")).toHaveLength(1);
  });

  it("410 Gone fails the endpoint's other pending deliveries with the 410 as their error, not their last retry's", async () => {
    const ep = await endpoint("gone-later", "down");
    await raise(new Date()); // 503: pending, in backoff
    await receiver("gone-later", "gone", ep.secret);
    await raise(new Date()); // 410: the endpoint is disabled
    const rows = await deliveriesOf(ep.id);
    expect(rows.map((d: { status: string }) => d.status)).toEqual(["failed", "failed"]);
    for (const d of rows) expect(d.last_error).toContain("410");
  });

  it("records who created or last changed an endpoint, and who disabled it (silencing the pager is an act of record)", async () => {
    const ep = await endpoint("who", "ok");
    expect(ep.updated_by).toBe("alice");
    const off = await callJson("PATCH", `/v1/webhooks/${ep.id}`, 200, { token: "test-admin-2", json: { enabled: false } });
    expect(off).toMatchObject({ enabled: false, updated_by: "bob", disabled_reason: "disabled by bob" });
    const listed = (await callJson("GET", "/v1/webhooks", 200)).endpoints.find((e: { id: string }) => e.id === ep.id);
    expect(listed).toMatchObject({ updated_by: "bob", disabled_reason: "disabled by bob" });
    // a change that leaves it disabled keeps who disabled it; enabling clears the reason
    expect(await callJson("PATCH", `/v1/webhooks/${ep.id}`, 200, { json: { description: "on-call" } })).toMatchObject({
      updated_by: "alice",
      disabled_reason: "disabled by bob",
    });
    expect(await callJson("PATCH", `/v1/webhooks/${ep.id}`, 200, { json: { enabled: true } })).toMatchObject({
      updated_by: "alice",
      disabled_reason: null,
    });
    await disable(ep.id);
  });

  it("PATCH description null clears it", async () => {
    const ep = await endpoint("described", "ok");
    const cleared = await callJson("PATCH", `/v1/webhooks/${ep.id}`, 200, { json: { description: null } });
    expect(cleared.description).toBeNull();
    await disable(ep.id);
  });

  it("refuses to replay a delivery whose endpoint is disabled or deleted (it would never be sent), and replays once re-enabled", async () => {
    const ep = await endpoint("replay-off", "down");
    await raise(new Date());
    const [d] = await deliveriesOf(ep.id);
    await disable(ep.id);
    const off = await callJson("POST", `/v1/webhooks/deliveries/${encodeURIComponent(d.id)}/replay`, 409);
    expect(off.error.message).toContain(`PATCH /v1/webhooks/${ep.id}`);
    expect((await deliveriesOf(ep.id))[0]!.attempts).toBe(d.attempts); // nothing changed
    await receiver("replay-off", "ok", ep.secret);
    await callJson("PATCH", `/v1/webhooks/${ep.id}`, 200, { json: { enabled: true } });
    const again = await callJson("POST", `/v1/webhooks/deliveries/${encodeURIComponent(d.id)}/replay`, 200);
    expect(again.status).toBe("pending");
    // The deletion is logged for operators: captured and checked here instead of printed.
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    onTestFinished(() => log.mockRestore());
    await callJson("DELETE", `/v1/webhooks/${ep.id}`, 200);
    expect(log.mock.calls).toEqual([[`webhook endpoint ${ep.id} deleted by alice`]]);
    const gone = await callJson("POST", `/v1/webhooks/deliveries/${encodeURIComponent(d.id)}/replay`, 409);
    expect(gone.error.message).toContain("was deleted");
  });
});

describe("webhook endpoints", () => {
  it("validates input: URL, secret format, unknown fields; 404 for unknown endpoints and deliveries", async () => {
    const bad = async (json: unknown) => {
      const res = await callJson("POST", "/v1/webhooks", 422, { json });
      expect(res.error.code).toBe("invalid_input");
    };
    await bad({ url: "not a url" });
    await bad({ url: "ftp://example.com/x" });
    await bad({ url: `${origin}/hook/x`, secret: "plain" });
    // 33 base64 characters pass the pattern but cannot decode: every delivery would fail to sign
    const odd = await callJson("POST", "/v1/webhooks", 422, { json: { url: `${origin}/hook/x`, secret: `whsec_${"A".repeat(33)}` } });
    expect(odd.error.details).toEqual([
      { path: "secret", message: "must be whsec_ followed by base64 whose length is a multiple of 4 (pad it with =)" },
    ]);
    // 96 characters (72 bytes) are taken; 23 bytes are too few
    await callJson("POST", "/v1/webhooks", 201, { json: { url: `${origin}/hook/x`, secret: `whsec_${"A".repeat(96)}`, enabled: false } });
    // one message a secret: "plain" is not refused twice, "whsec_abc" only for its form
    for (const secret of ["plain", "whsec_abc"]) {
      const r = await callJson("POST", "/v1/webhooks", 422, { json: { url: `${origin}/hook/x`, secret } });
      expect(r.error.details).toEqual([{ path: "secret", message: "must be whsec_ followed by base64 of 24 to 96 random bytes" }]);
    }
    await bad({ url: `${origin}/hook/x`, colour: "red" });
    await callJson("PATCH", "/v1/webhooks/whk_nope", 404, { json: { enabled: false } });
    await callJson("POST", "/v1/webhooks/deliveries/nope/replay", 404);
    await callJson("GET", "/v1/webhooks", 403, { token: "test-calibrate" });
  });

  it("production refuses http:// and private, loopback and link-local targets", async () => {
    const prod = { ...(env as unknown as Env), ENVIRONMENT: "production" };
    for (const url of [
      "http://example.com/hook",
      "https://127.0.0.1/hook",
      "https://10.1.2.3/x",
      "https://169.254.169.254/latest",
      "https://[::1]/x",
      "https://localhost/x",
      "https://192.168.0.10/x",
    ]) {
      const ctx = createExecutionContext();
      const res = await app.fetch(
        new Request("http://x/v1/webhooks", {
          method: "POST",
          headers: { authorization: "Bearer test-admin", "content-type": "application/json" },
          body: JSON.stringify({ url }),
        }),
        prod,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(res.status, url).toBe(422);
    }
  });
});

describe("outbox concurrency", () => {
  it("two senders running at once send every event exactly once", async () => {
    const ep = await endpoint("concurrent", "ok");
    const now = new Date();
    // Each raise starts a sender of its own after the response (deferred): they run at once with the senders below,
    // and are awaited with them, so the count is read once every sender has finished.
    const deferred: Promise<unknown>[] = [];
    const deps = alertDeps(
      env as unknown as Env,
      (p) => deferred.push(p),
      () => now,
    );
    for (let i = 0; i < 4; i++) {
      await raiseAlert(
        {
          gate_id: `gate-concurrent-${i}-${now.getTime()}`,
          gate: { index: "docs", embedding: "e5", reranker: `c-${i}` },
          kind: "drop_rate_drift",
          summary: "x",
          details: {},
          calibration_ids: [],
        },
        deps,
      );
    }
    await Promise.all([deliverDue(deps), deliverDue(deps), tickAt(now), ...deferred]);
    const got = await received("concurrent");
    expect(got).toHaveLength(4);
    expect(new Set(got.map((r) => r.id)).size).toBe(4);
    expect((await deliveriesOf(ep.id)).every((d: any) => d.status === "delivered" && d.attempts === 1)).toBe(true);
    // listings hide the URL's path (for Slack the URL is the credential)
    const { endpoints } = await callJson("GET", "/v1/webhooks", 200);
    expect(endpoints.find((e) => e.id === ep.id)!.url).toBe(`${origin}/…`);
    await disable(ep.id);
  });
});

describe("receiver faults", () => {
  it("a 429 with Retry-After postpones the retry to what it asked (not the 1-minute schedule), same webhook-id", async () => {
    const ep = await endpoint("throttled", "throttled");
    const t0 = new Date();
    await raise(t0);
    const [d] = await deliveriesOf(ep.id);
    expect(d).toMatchObject({ status: "pending", attempts: 1, last_status: 429 });
    expect(Date.parse(d.next_attempt_at) - t0.getTime()).toBeGreaterThanOrEqual(7200_000 - 5_000);
    await tickAt(new Date(t0.getTime() + 61_000)); // the schedule alone would retry now
    expect(await received("throttled")).toHaveLength(1);
    await receiver("throttled", "ok");
    await tickAt(new Date(t0.getTime() + 7200_000 + 5_000));
    const got = await received("throttled");
    expect(got.map((r) => r.answered)).toEqual([429, 204]);
    expect(new Set(got.map((r) => r.id)).size).toBe(1);
    await disable(ep.id);
  });

  it("a redirect is never followed (it points at the metadata address): recorded and retried on schedule", async () => {
    const ep = await endpoint("redirecting", "redirect");
    const t0 = new Date();
    await raise(t0);
    // the outbound guard of vitest.config.ts fails any request to 169.254.169.254; only the receiver was asked
    expect((await received("redirecting")).map((r) => r.answered)).toEqual([302]);
    const [d] = await deliveriesOf(ep.id);
    expect(d).toMatchObject({ status: "pending", last_status: 302, last_error: "HTTP 302: redirect not followed" });
    await disable(ep.id);
  });
});

describe("delivery faults", () => {
  it(
    "a receiver that hangs past the timeout counts as a failed attempt, retried on schedule with the same webhook-id",
    async () => {
      // The sender bounds each attempt with AbortSignal.timeout(WEBHOOK_TIMEOUT_MS). The timeout is checked to be that
      // constant, then made to fire after HANG_SEEN_MS instead of 10 s: the receiver still hangs past it (it answers
      // after 15 s), so the attempt still ends in the abort, without the suite waiting the full 10 s.
      const HANG_SEEN_MS = 300;
      const timeout = AbortSignal.timeout.bind(AbortSignal);
      const timeouts = vi.spyOn(AbortSignal, "timeout").mockImplementation((ms) => timeout(Math.min(ms, HANG_SEEN_MS)));
      onTestFinished(() => timeouts.mockRestore());
      const ep = await endpoint("hanging", "hang");
      const t0 = new Date();
      await raise(t0); // waits for the deferred attempt, which gives up when its timeout fires
      expect(timeouts.mock.calls).toEqual([[WEBHOOK_TIMEOUT_MS]]);
      const [d] = await deliveriesOf(ep.id);
      expect(d).toMatchObject({ status: "pending", attempts: 1, last_status: null });
      expect(d.last_error).toMatch(/^network error/u);
      expect(Date.parse(d.next_attempt_at) - t0.getTime()).toBeGreaterThanOrEqual(WEBHOOK_RETRY_DELAYS_MS[0]);
      await receiver("hanging", "ok");
      await tickAt(new Date(t0.getTime() + WEBHOOK_RETRY_DELAYS_MS[0] + WEBHOOK_TIMEOUT_MS + 1_000));
      const got = await received("hanging");
      expect(got.map((r) => r.answered)).toEqual([0, 204]);
      expect(new Set(got.map((r) => r.id)).size).toBe(1);
      expect((await deliveriesOf(ep.id))[0]).toMatchObject({ status: "delivered", attempts: 2 });
    },
    WEBHOOK_TIMEOUT_MS * 3,
  );

  it("a cron tick run twice at once sends a due delivery once; a missed tick is caught up by the next", async () => {
    const ep = await endpoint("ticks", "down");
    const t0 = new Date();
    await raise(t0);
    await receiver("ticks", "ok");
    const due = new Date(t0.getTime() + WEBHOOK_RETRY_DELAYS_MS[0] + 1_000);
    const [a, b] = await Promise.all([tickAt(due), tickAt(due)]);
    expect((a.webhooks?.delivered ?? 0) + (b.webhooks?.delivered ?? 0)).toBe(1);
    expect((await received("ticks")).map((r) => r.answered)).toEqual([503, 204]);
    // Ticks missed for hours: the next one finds nothing left to send twice, and a new alert's retry is caught up.
    await tickAt(new Date(t0.getTime() + 6 * 3600_000));
    expect(await received("ticks")).toHaveLength(2);
    await receiver("ticks", "down");
    const t1 = new Date(t0.getTime() + 7 * 3600_000);
    await raise(t1);
    await receiver("ticks", "ok");
    const late = await tickAt(new Date(t1.getTime() + 5 * 3600_000)); // one tick, hours after it was due
    expect(late.webhooks).toMatchObject({ attempted: 1, delivered: 1 });
    expect((await deliveriesOf(ep.id)).every((x) => x.status === "delivered")).toBe(true);
  });
});
