/**
 * Caps hold under concurrent requests (each is checked inside the INSERT), and DELETE /v1/webhooks/{id} frees a slot.
 * Its own file: the counts are per database and storage is isolated per test file.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_OPEN_UNCALIBRATED_ALERTS, MAX_WEBHOOK_ENDPOINTS } from "../../src/platform/limits";
import { seedSightings } from "../support/uncalibrated";
import { call, callJson, qs, TOKENS, uniqueGate } from "../support/worker";

const waitFor = async <T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> => {
  let v = await read();
  for (let i = 0; i < 200 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 25));
    v = await read();
  }
  return v;
};

// Endpoints are created disabled: the alerts below must not fan out to hosts outside the test.

// Deleting an endpoint and refusing an alert over the cap are logged (operators need them). Here each log line is captured and checked instead of printed.
let logged: string[] = [];
beforeEach(() => {
  logged = [];
  for (const level of ["log", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const line of logged)
    expect(line).toMatch(
      /^(webhook endpoint whk_\w+ deleted by \w+|uncalibrated request for gate [0-9a-f]+ not raised: \d+ uncalibrated_request alerts are already open)$/,
    );
});

describe("caps under concurrency", () => {
  it(`30 concurrent webhook creations store exactly ${MAX_WEBHOOK_ENDPOINTS}; the rest get 409; DELETE frees a slot`, async () => {
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => call("POST", "/v1/webhooks", { json: { url: `http://127.0.0.1:9/hook-${i}`, enabled: false } })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(MAX_WEBHOOK_ENDPOINTS);
    expect(statuses.filter((s) => s === 409)).toHaveLength(30 - MAX_WEBHOOK_ENDPOINTS);
    const { endpoints } = await callJson("GET", "/v1/webhooks", 200);
    expect(endpoints).toHaveLength(MAX_WEBHOOK_ENDPOINTS);

    const victim = endpoints[0]!.id;
    expect((await call("DELETE", `/v1/webhooks/${victim}`, { token: TOKENS.calibrate })).status).toBe(403);
    const deleted = await callJson("DELETE", `/v1/webhooks/${victim}`, 200);
    expect(deleted).toMatchObject({ id: victim, deleted_by: "alice", failed_deliveries: 0 });
    expect((await call("DELETE", `/v1/webhooks/${victim}`)).status).toBe(404);
    expect((await call("PATCH", `/v1/webhooks/${victim}`, { json: { enabled: true } })).status).toBe(404);
    expect((await callJson("GET", "/v1/webhooks", 200)).endpoints.map((e: any) => e.id)).not.toContain(victim);
    await callJson("POST", "/v1/webhooks", 201, { json: { url: "http://127.0.0.1:9/again", enabled: false } });
    await callJson("POST", "/v1/webhooks", 409, { json: { url: "http://127.0.0.1:9/over", enabled: false } });
  }, 60_000);

  it(`160 concurrent reads of made-up gates open at most ${MAX_OPEN_UNCALIBRATED_ALERTS} uncalibrated_request alerts`, async () => {
    const gates = Array.from({ length: 160 }, () => uniqueGate("made-up"));
    // A token that has kept asking for each of them (src/alerts/uncalibrated-alert.ts): this read completes the count.
    await seedSightings(gates);
    const statuses = await Promise.all(gates.map(async (g) => (await call("GET", `/v1/threshold?${qs(g)}`, { token: TOKENS.read })).status));
    expect(statuses.every((s) => s === 404)).toBe(true);
    const count = async () =>
      (await callJson("GET", `/v1/alerts?${qs({ kind: "uncalibrated_request", limit: 200 })}`, 200, { token: TOKENS.read })).alerts.length;
    // the raises run after the responses (waitUntil): wait until they have all landed, then a little more
    const n = await waitFor(count, (v) => v >= MAX_OPEN_UNCALIBRATED_ALERTS);
    await new Promise((r) => setTimeout(r, 300));
    expect(n).toBe(MAX_OPEN_UNCALIBRATED_ALERTS);
    expect(await count()).toBe(MAX_OPEN_UNCALIBRATED_ALERTS);
  }, 60_000); // 160 requests and their deferred raises, on a shared 2-core machine while the rest of the suite runs
});
