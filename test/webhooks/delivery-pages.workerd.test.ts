/**
 * GET /v1/webhooks/deliveries pages with the checked cursors of the other listings: newest first by the event's time,
 * ties by delivery id; following `next_cursor` visits every delivery once, also while deliveries are added between
 * pages; a cursor is refused unless this listing made it for the same filters. Deliveries are recorded through the
 * alert store (as a raise records them) without being sent, so their order and status stay what the test made. Its
 * own file: storage is isolated per test file, so the deliveries listed here are exactly the ones made here.
 */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { openedAlert } from "../../src/alerts/lifecycle";
import type { Delivery } from "../../src/contract";
import type { Env } from "../../src/platform/env";
import { alertDeps } from "../../src/worker/wiring";
import { call, callJson, deleteWebhook, expectError, qs } from "../support/worker";

const store = () => alertDeps(env as unknown as Env, () => undefined).alerts;

/** How every listing refuses a cursor it did not make for these rows (src/platform/http/cursor.ts). */
const refused = (cursor: string) =>
  `cursor ${JSON.stringify(cursor)} is not one this listing returned for these filters (pass next_cursor back unchanged, with the same filters)`;

let alerts = 0;
/**
 * Opens an alert whose event is dated `at`: one pending delivery to each enabled endpoint, as a raise records them.
 * Returns the ids of those deliveries.
 */
async function opened(at: Date, endpointIds: readonly string[]): Promise<string[]> {
  alerts += 1;
  const n = String(alerts).padStart(4, "0");
  const gate = { index: "pages", embedding: "e5", reranker: `bge-${n}` };
  const alert = openedAlert(
    // ids that do not sort as they were made, so the tie order is the ids' and not the insertion's
    `alr_${(alerts * 7919) % 10007}_${n}`,
    { gate_id: `gate-pages-${n}`, gate, kind: "drop_rate_drift", summary: `alert ${n}`, details: {}, calibration_ids: [] },
    at.toISOString(),
  );
  const event = `msg_${alert.id}_opened`;
  await store().raise(alert, { id: event, type: "alert.opened", payload: "{}" });
  return endpointIds.map((e) => `${event}:${e}`);
}

type Page = { deliveries: Delivery[]; next_cursor: string | null };
const deliveries = (query: Record<string, string | number | undefined>) =>
  callJson("GET", `/v1/webhooks/deliveries?${qs(query)}`, 200) as Promise<Page>;

/** Every page from the first, following next_cursor (at most 20 pages). */
async function allPages(query: Record<string, string | number | undefined>): Promise<Page[]> {
  const pages = [await deliveries(query)];
  while (pages.at(-1)!.next_cursor !== null && pages.length < 20) pages.push(await deliveries({ ...query, cursor: pages.at(-1)!.next_cursor! }));
  return pages;
}

/** Newest first by the event's time, ties by delivery id: the order the listing promises. */
const inOrder = (made: readonly { id: string; at: string }[]) =>
  [...made].sort((a, b) => (a.at === b.at ? (a.id < b.id ? -1 : 1) : a.at < b.at ? 1 : -1)).map((d) => d.id);

const base = Date.parse("2026-12-01T00:00:00.000Z");

/** Three new endpoints, enabled (deliveries are recorded for them; none is sent). */
async function threeEndpoints(label: string): Promise<string[]> {
  const ids: string[] = [];
  for (const name of ["a", "b", "c"]) {
    ids.push((await callJson("POST", "/v1/webhooks", 201, { json: { url: `${inject("receiverOrigin")}/hook/${label}-${name}` } })).id);
  }
  return ids;
}

// A delivery is recorded for every enabled endpoint: each test starts with none enabled, whatever order they run in.
beforeEach(async () => {
  const { endpoints } = await callJson("GET", "/v1/webhooks", 200);
  for (const e of endpoints) if (e.enabled) await callJson("PATCH", `/v1/webhooks/${e.id}`, 200, { json: { enabled: false } });
});

describe("GET /v1/webhooks/deliveries pages with a cursor", () => {
  it("visits 450 deliveries once each, newest first (ties by id), 200 a page, while deliveries are added between pages", async () => {
    // another test's deliveries in this file are dated years before these: listed after them, as they were before
    const foreign = (await allPages({ limit: 200 })).flatMap((p) => p.deliveries.map((d) => d.id));
    const endpoints = await threeEndpoints("pages");
    // 150 alerts, three to a second, to three endpoints: 450 deliveries in runs of nine with the same time
    const made: { id: string; at: string }[] = [];
    for (let i = 0; i < 150; i++) {
      const at = new Date(base + Math.floor(i / 3) * 1000);
      for (const id of await opened(at, endpoints)) made.push({ id, at: at.toISOString() });
    }
    const expected = inOrder(made);

    const first = await deliveries({ limit: 200 });
    expect(Object.keys(first)).toEqual(["deliveries", "next_cursor"]);
    expect(first.next_cursor).toEqual(expect.stringMatching(/^[0-9a-z]{7,17}$/u));
    // added while the listing is read: newer ones sort above every page (the next first page has them); one whose
    // event is dated before the pages read so far (an alarm that waited in a monitor's outbox) is on a later page
    const newer = await opened(new Date(base + 3_600_000), endpoints);
    const older = await opened(new Date(base - 1000), endpoints);
    const second = await deliveries({ limit: 200, cursor: first.next_cursor! });
    await opened(new Date(base + 7_200_000), endpoints);
    const third = await deliveries({ limit: 200, cursor: second.next_cursor! });
    expect(third.next_cursor).toBeNull();
    expect([first, second, third].map((p) => p.deliveries.length)).toEqual([200, 200, 53 + foreign.length]);
    const listed = [first, second, third].flatMap((p) => p.deliveries.map((d) => d.id));
    expect(listed).toEqual([...expected, ...[...older].sort(), ...foreign]);
    expect(new Set(listed).size).toBe(listed.length);
    // a first page read now starts with the newest
    const top = (await deliveries({ limit: 6 })).deliveries.map((d) => d.id);
    expect(top.slice(3)).toEqual([...newer].sort());
    expect(top).not.toContain(expected[0]);

    // the filters page in the same order: one endpoint's, 50 a page (the default), and a status
    const ofB = await allPages({ endpoint_id: endpoints[1]! });
    expect(ofB.map((p) => p.deliveries.length)).toEqual([50, 50, 50, 3]);
    const all = (await allPages({ limit: 200 })).flatMap((p) => p.deliveries);
    expect(ofB.flatMap((p) => p.deliveries).map((d) => d.id)).toEqual(all.filter((d) => d.endpoint_id === endpoints[1]).map((d) => d.id));
    const pending = await allPages({ status: "pending", limit: 200 });
    expect(pending.flatMap((p) => p.deliveries).map((d) => d.id)).toEqual(all.filter((d) => d.status === "pending").map((d) => d.id));
    expect(await deliveries({ status: "delivered" })).toEqual({ deliveries: [], next_cursor: null });
    const both = await allPages({ status: "pending", endpoint_id: endpoints[2]!, limit: 100 });
    expect(both.map((p) => p.deliveries.length)).toEqual([100, 53]);
    // pages that end at the last delivery exactly (153 = 3 x 51): the last says so, no empty page follows
    expect((await allPages({ endpoint_id: endpoints[0]!, limit: 51 })).map((p) => p.deliveries.length)).toEqual([51, 51, 51]);
  }, 60_000);

  it("refuses a cursor it did not make for these filters, in the words of the other listings", async () => {
    const [a, b] = (await threeEndpoints("refused")) as [string, string];
    // dated years before the other test's: listed after them
    const at = new Date("2020-01-01T00:00:00.000Z");
    await opened(at, [a, b]);
    // one alert seen twice: a page of its occurrences has a cursor
    const gate = { index: "pages", embedding: "e5", reranker: "bge-twice" };
    const twice = openedAlert(
      "alr_twice",
      { gate_id: "gate-pages-twice", gate, kind: "empty_context", summary: "twice", details: {}, calibration_ids: [] },
      at.toISOString(),
    );
    for (let i = 0; i < 2; i++) await store().raise(twice, { id: `msg_${twice.id}_opened`, type: "alert.opened", payload: "{}" });

    const ofA = (await deliveries({ endpoint_id: a, limit: 1 })).next_cursor!;
    const unfiltered = (await deliveries({ limit: 1 })).next_cursor!;
    const pending = (await deliveries({ status: "pending", limit: 1 })).next_cursor!;
    const fromAlerts = (await callJson("GET", `/v1/alerts?${qs({ limit: 1 })}`, 200)).next_cursor!;
    const fromOccurrences = (await callJson("GET", `/v1/alerts/${twice.id}/occurrences?${qs({ limit: 1 })}`, 200)).next_cursor!;
    const tampered = `${ofA.slice(0, -1)}${ofA.endsWith("1") ? "2" : "1"}`;
    const cases: [string, Record<string, string>][] = [
      [tampered, { endpoint_id: a }],
      ["garbage", {}],
      // another filter's: another endpoint, no endpoint, a status added; the unfiltered listing's with a filter
      [ofA, { endpoint_id: b }],
      [ofA, {}],
      [ofA, { endpoint_id: a, status: "pending" }],
      [unfiltered, { endpoint_id: a }],
      [pending, {}],
      [pending, { status: "failed" }],
      // another route's
      [fromAlerts, {}],
      [fromOccurrences, {}],
    ];
    for (const [cursor, filter] of cases) {
      const error = await expectError(await call("GET", `/v1/webhooks/deliveries?${qs({ ...filter, cursor })}`), 400, "bad_request");
      expect(error.message, `${cursor} ${JSON.stringify(filter)}`).toBe(refused(cursor));
      expect(error.details).toEqual([{ path: "cursor", message: "is not a cursor this listing returned" }]);
    }
    // the words the other listings refuse a cursor with
    expect((await expectError(await call("GET", `/v1/alerts?${qs({ cursor: "garbage" })}`), 400, "bad_request")).message).toBe(refused("garbage"));
    // a cursor of the wrong shape is refused by the query's check, as on the other listings
    for (const bad of ["5", "5!!"]) {
      const here = await expectError(await call("GET", `/v1/webhooks/deliveries?${qs({ cursor: bad })}`), 400, "bad_request");
      expect(here).toEqual(await expectError(await call("GET", `/v1/alerts?${qs({ cursor: bad })}`), 400, "bad_request"));
    }
    // with their own filters, limit and cursor together, each pages on
    expect((await deliveries({ endpoint_id: a, limit: 1, cursor: ofA })).deliveries.map((d) => d.endpoint_id)).toEqual([a]);
    expect((await deliveries({ status: "pending", limit: 2, cursor: pending })).deliveries).toHaveLength(2);
    expect((await deliveries({ limit: 1, cursor: unfiltered })).deliveries).toHaveLength(1);
  });
});

describe("GET /v1/webhooks/deliveries's endpoint filter", () => {
  it("refuses an empty id, answers 404 for an id that never existed, and lists a deleted endpoint's deliveries", async () => {
    const empty = await expectError(await call("GET", `/v1/webhooks/deliveries?endpoint_id=`), 400, "bad_request");
    expect(empty.details).toEqual([{ path: "endpoint_id", message: "must not be empty" }]);
    const typo = await expectError(await call("GET", `/v1/webhooks/deliveries?${qs({ endpoint_id: "whk_nope" })}`), 404, "not_found");
    expect(typo.message).toBe("webhook endpoint whk_nope does not exist (GET /v1/webhooks lists the endpoints)");
    const [a] = await threeEndpoints("deleted-filter");
    await opened(new Date(base + 5_000), [a!]);
    await deleteWebhook(a!);
    const listed = await deliveries({ endpoint_id: a });
    expect(listed.deliveries.length).toBeGreaterThan(0);
    expect(listed.deliveries.every((d) => d.endpoint_id === a)).toBe(true);
    // the alerts listing's gate filter: empty is refused too, not read as a gate named ""
    const gate = await expectError(await call("GET", "/v1/alerts?gate_id="), 400, "bad_request");
    expect(gate.details).toEqual([{ path: "gate_id", message: "must not be empty" }]);
  });
});
