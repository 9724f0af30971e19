/**
 * GET /v1/alerts/{id}/occurrences pages with the checked cursors of the other listings: following `next_cursor` visits
 * every occurrence once, newest first, also while the alert repeats between pages; a cursor is refused unless this
 * listing made it for this alert. Its own file: storage is isolated per test file, so no other test's rows are here.
 */
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { openedAlert, raiseAlert } from "../../src/alerts/lifecycle";
import type { AlertOccurrence } from "../../src/contract";
import type { Env } from "../../src/platform/env";
import { alertDeps } from "../../src/worker/wiring";
import { call, callJson, deleteWebhook, expectError, qs, TOKENS, uniqueGate } from "../support/worker";

const deps = () => alertDeps(env as unknown as Env, () => undefined);

/** An alert that repeats: `again(i)` records its occurrence "occurrence i" and returns the alert's id. */
function flapping(label: string) {
  const gate = uniqueGate(label);
  return (i: number) =>
    raiseAlert(
      { gate_id: `gate-${gate.reranker}`, gate, kind: "drop_rate_drift", summary: `occurrence ${i}`, details: { i }, calibration_ids: [] },
      deps(),
    ).then((r) => r.alert.id);
}

type Page = { alert_id: string; occurrences: AlertOccurrence[]; next_cursor: string | null };
const occurrences = (id: string, query: { limit?: number; cursor?: string } = {}) =>
  callJson("GET", `/v1/alerts/${id}/occurrences?${qs(query)}`, 200, { token: TOKENS.read }) as Promise<Page>;

/** How every listing refuses a cursor it did not make for these rows (src/platform/http/cursor.ts). */
const refused = (cursor: string) =>
  `cursor ${JSON.stringify(cursor)} is not one this listing returned for these filters (pass next_cursor back unchanged, with the same filters)`;

describe("GET /v1/alerts/{id}/occurrences pages with a cursor", () => {
  it("visits 450 occurrences once each, newest first, 200 a page, while the alert repeats between pages", async () => {
    const again = flapping("flapping");
    const other = flapping("flapping-other");
    let id = "";
    for (let i = 1; i <= 450; i++) {
      id = await again(i);
      // another alert's occurrences take numbers of the shared counter: seq skips
      if (i % 100 === 0) await other(i);
    }
    const first = await occurrences(id, { limit: 200 });
    expect(Object.keys(first)).toEqual(["alert_id", "occurrences", "next_cursor"]);
    expect(first.alert_id).toBe(id);
    expect(first.next_cursor).toEqual(expect.stringMatching(/^[0-9a-z]{7,17}$/u));
    // the alert repeats while it is read: the new occurrences are newer than every page, never on a later one
    for (let i = 451; i <= 453; i++) await again(i);
    const second = await occurrences(id, { limit: 200, cursor: first.next_cursor! });
    for (let i = 454; i <= 455; i++) await again(i);
    const third = await occurrences(id, { limit: 200, cursor: second.next_cursor! });
    expect([first, second, third].map((p) => p.occurrences.length)).toEqual([200, 200, 50]);
    expect(third.next_cursor).toBeNull();

    const all = [first, second, third].flatMap((p) => p.occurrences);
    const expected = Array.from({ length: 450 }, (_, k) => 450 - k);
    expect(all.map((o) => o.number)).toEqual(expected);
    expect(all.map((o) => o.summary)).toEqual(expected.map((i) => `occurrence ${i}`));
    expect(all.map((o) => o.details.i)).toEqual(expected);
    // newest first by seq, each once
    expect(all.every((o, k) => k === 0 || o.seq < all[k - 1]!.seq)).toBe(true);

    // a first page read now starts with the newest; without limit a page is the default 50, and it pages on
    const now = await occurrences(id);
    expect(now.occurrences.map((o) => o.number)).toEqual(Array.from({ length: 50 }, (_, k) => 455 - k));
    const next = await occurrences(id, { cursor: now.next_cursor! });
    expect(next.occurrences.map((o) => o.number)).toEqual(Array.from({ length: 50 }, (_, k) => 405 - k));
    // the rest from a cursor with another limit
    const rest = await occurrences(id, { limit: 150, cursor: second.next_cursor! });
    expect(rest.occurrences.map((o) => o.number)).toEqual(Array.from({ length: 50 }, (_, k) => 50 - k));
    expect(rest.next_cursor).toBeNull();
    // pages that end at the oldest exactly (455 = 5 x 91): the last says so, no empty page follows
    const fifths = [await occurrences(id, { limit: 91 })];
    while (fifths.at(-1)!.next_cursor !== null && fifths.length < 7)
      fifths.push(await occurrences(id, { limit: 91, cursor: fifths.at(-1)!.next_cursor! }));
    expect(fifths.map((p) => p.occurrences.length)).toEqual([91, 91, 91, 91, 91]);
    expect(fifths.flatMap((p) => p.occurrences).map((o) => o.number)).toEqual(Array.from({ length: 455 }, (_, k) => 455 - k));
    // an alert seen fewer times than a page has one page
    const one = await occurrences(await other(1), { limit: 200 });
    expect(one.occurrences.length).toBe(5);
    expect(one.next_cursor).toBeNull();
  }, 60_000);

  it("refuses a cursor it did not make for this alert, in the words of the other listings: tampered, another alert's, another route's", async () => {
    const again = flapping("refused");
    for (let i = 1; i <= 3; i++) await again(i);
    const id = await again(4);
    const elsewhere = flapping("refused-elsewhere");
    await elsewhere(1);
    const otherId = await elsewhere(2);

    const made = (await occurrences(id, { limit: 1 })).next_cursor!;
    const fromOtherAlert = (await occurrences(otherId, { limit: 1 })).next_cursor!;
    const fromAlerts = (await callJson("GET", `/v1/alerts?${qs({ limit: 1 })}`, 200, { token: TOKENS.read })).next_cursor!;
    const fromDeliveries = await deliveriesCursor();
    const tampered = `${made.slice(0, -1)}${made.endsWith("1") ? "2" : "1"}`;
    for (const bad of [tampered, fromOtherAlert, fromAlerts, fromDeliveries, "garbage"]) {
      const error = await expectError(
        await call("GET", `/v1/alerts/${id}/occurrences?${qs({ cursor: bad })}`, { token: TOKENS.read }),
        400,
        "bad_request",
      );
      expect(error.message, bad).toBe(refused(bad));
      expect(error.details, bad).toEqual([{ path: "cursor", message: "is not a cursor this listing returned" }]);
    }
    // the words the other listings refuse a cursor with
    const alerts = await expectError(await call("GET", `/v1/alerts?${qs({ cursor: tampered })}`, { token: TOKENS.read }), 400, "bad_request");
    expect(alerts.message).toBe(refused(tampered));
    // its own cursor pages on, with or without a limit
    expect((await occurrences(id, { limit: 2, cursor: made })).occurrences.map((o) => o.number)).toEqual([3, 2]);
    expect((await occurrences(id, { cursor: made })).occurrences.map((o) => o.number)).toEqual([3, 2, 1]);
    // a cursor of the wrong shape is refused by the query's check, as on the other listings
    for (const bad of ["5", "5!!"]) {
      const error = await expectError(
        await call("GET", `/v1/alerts/${id}/occurrences?${qs({ cursor: bad })}`, { token: TOKENS.read }),
        400,
        "bad_request",
      );
      const alerts = await expectError(await call("GET", `/v1/alerts?${qs({ cursor: bad })}`, { token: TOKENS.read }), 400, "bad_request");
      expect(error, bad).toEqual(alerts);
    }
    // an unknown alert is still a 404
    expect((await call("GET", "/v1/alerts/alr_nope/occurrences", { token: TOKENS.read })).status).toBe(404);
  });
});

/** A cursor GET /v1/webhooks/deliveries made: two deliveries of one endpoint, read one a page. */
async function deliveriesCursor(): Promise<string> {
  const endpoint = await callJson("POST", "/v1/webhooks", 201, { json: { url: `${inject("receiverOrigin")}/hook/occurrence-pages` } });
  const store = deps().alerts;
  for (const label of ["delivered-a", "delivered-b"]) {
    const gate = uniqueGate(label);
    const at = new Date().toISOString();
    const alert = openedAlert(
      `alr_${label}`,
      { gate_id: `gate-${gate.reranker}`, gate, kind: "empty_context", summary: label, details: {}, calibration_ids: [] },
      at,
    );
    await store.raise(alert, { id: `msg_${alert.id}_opened`, type: "alert.opened", payload: "{}" });
  }
  const page = await callJson("GET", `/v1/webhooks/deliveries?${qs({ endpoint_id: endpoint.id, limit: 1 })}`, 200);
  expect(page.deliveries).toHaveLength(1);
  // no other alert of this file delivers to it
  await deleteWebhook(endpoint.id);
  return page.next_cursor!;
}
