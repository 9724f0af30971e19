/**
 * The two listings that grow without bound page with cursors: GET /v1/gates (creation order) and GET /v1/alerts
 * (newest first). Each page is at most `limit`; following `next_cursor` visits every row once, also when rows are
 * added between pages; a cursor is refused unless the listing made it (GET /v1/calibrations too). Its own file:
 * storage is isolated per test file, so the rows listed here are exactly the rows made here.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { raiseAlert } from "../../src/alerts/lifecycle";
import { DEFAULT_PAGE_SIZE } from "../../src/contract";
import type { Env } from "../../src/platform/env";
import { type CursorListing, cursorOf, seqOfCursor } from "../../src/platform/http/cursor";
import { alertDeps } from "../../src/worker/wiring";
import { call, callJson, expectError, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const calibrate = (gate: object, version = "v1") =>
  callJson("POST", "/v1/calibrations", 201, {
    token: TOKENS.calibrate,
    // activate: true: a second version of 60 scores is an inconclusive rebuild, which "auto" would not serve
    json: { ...gate, index_version: version, scores: spreadScores(60), policy: { kind: "drop_rate", target: 0.2 }, activate: true },
  });

async function pages<T>(path: string, key: "gates" | "alerts", query: Record<string, string | number | undefined>): Promise<T[][]> {
  const out: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = (await callJson("GET", `${path}?${qs({ ...query, cursor })}`, 200, { token: TOKENS.read })) as Record<string, unknown>;
    out.push(page[key] as T[]);
    cursor = (page.next_cursor as string | null) ?? undefined;
  } while (cursor !== undefined && out.length < 100);
  return out;
}

describe("GET /v1/gates pages with a cursor", () => {
  it("visits every gate once, in creation order, each with its active calibrations, also when gates are added between pages", async () => {
    const made = [];
    for (let i = 0; i < 7; i++) made.push(uniqueGate("page-gate"));
    const ids: string[] = [];
    for (const g of made) ids.push((await calibrate(g)).calibration.gate_id);
    await calibrate(made[0]!, "v2"); // two active versions on the first gate

    const first = await callJson("GET", `/v1/gates?${qs({ limit: 3 })}`, 200, { token: TOKENS.read });
    expect(first.gates.map((g) => g.gate_id)).toEqual(ids.slice(0, 3));
    expect(first.gates[0]!.active.map((a) => a.index_version)).toEqual(["v2", "v1"]);
    expect(first.next_cursor).toEqual(expect.stringMatching(/^[0-9a-z]+$/u));
    // a gate made now comes after the others, on a later page; nothing is seen twice
    const late = uniqueGate("page-gate-late");
    ids.push((await calibrate(late)).calibration.gate_id);
    const rest = await callJson("GET", `/v1/gates?${qs({ limit: 3, cursor: first.next_cursor! })}`, 200, { token: TOKENS.read });
    expect(rest.gates.map((g) => g.gate_id)).toEqual(ids.slice(3, 6));
    const all = (await pages<{ gate_id: string }>("/v1/gates", "gates", { limit: 3 })).flat();
    expect(all.map((g) => g.gate_id)).toEqual(ids);
    // the last page says so
    const last = await callJson("GET", `/v1/gates?${qs({ limit: 8 })}`, 200, { token: TOKENS.read });
    expect(last).toMatchObject({ next_cursor: null });
    expect(last.gates).toHaveLength(8);
    // without limit: a page of DEFAULT_PAGE_SIZE
    expect((await callJson("GET", "/v1/gates", 200, { token: TOKENS.read })).gates).toHaveLength(Math.min(8, DEFAULT_PAGE_SIZE));
  });

  it("refuses a cursor it did not make and a limit out of range, with 400", async () => {
    for (const q of [{ cursor: "not-a-cursor" }, { cursor: "zzzzzzzzzzz" }, { cursor: "0" }, { limit: 0 }, { limit: 201 }]) {
      const res = await call("GET", `/v1/gates?${qs(q)}`, { token: TOKENS.read });
      expect(res.status, JSON.stringify(q)).toBe(400);
      expect((await res.json<any>()).error.code).toBe("bad_request");
    }
  });
});

describe("GET /v1/alerts pages with a cursor", () => {
  it("newest first, filters kept across pages, every alert once", async () => {
    const deps = alertDeps(env as unknown as Env, () => undefined);
    const raise = (i: number, kind: "drop_rate_drift" | "empty_context") =>
      raiseAlert(
        {
          gate_id: `gate-page-${i}`,
          gate: { index: "docs", embedding: "e5", reranker: `bge-page-${i}` },
          kind,
          summary: `alert ${i}`,
          details: { i },
          calibration_ids: [],
        },
        deps,
      );
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) ids.push((await raise(i, i % 3 === 0 ? "empty_context" : "drop_rate_drift")).alert.id);
    const newestFirst = [...ids].reverse();

    const all = await pages<{ id: string }>("/v1/alerts", "alerts", { limit: 2 });
    expect(all.map((p) => p.length)).toEqual([2, 2, 2, 2, 1]);
    expect(all.flat().map((a) => a.id)).toEqual(newestFirst);

    const drift = (await pages<{ id: string; kind: string }>("/v1/alerts", "alerts", { limit: 2, kind: "drop_rate_drift" })).flat();
    expect(drift.map((a) => a.id)).toEqual(newestFirst.filter((_, j) => (8 - j) % 3 !== 0));
    expect(new Set(drift.map((a) => a.kind))).toEqual(new Set(["drop_rate_drift"]));

    // a repeat of an older alert does not move it (the order is the order alerts were opened)
    await raise(1, "drop_rate_drift");
    expect((await pages<{ id: string }>("/v1/alerts", "alerts", { limit: 4 })).flat().map((a) => a.id)).toEqual(newestFirst);
    const res = await call("GET", `/v1/alerts?${qs({ cursor: "NOPE" })}`, { token: TOKENS.read });
    expect(res.status).toBe(400);
  });
});

describe("every listing refuses a cursor it did not make", () => {
  it("GET /v1/calibrations, /v1/gates and /v1/alerts: 400 bad_request naming the cursor; their own cursors page on", async () => {
    const gate = uniqueGate("cursor-check");
    await calibrate(gate, "v1");
    await calibrate(gate, "v2");
    await calibrate(uniqueGate("cursor-check"));
    const deps = alertDeps(env as unknown as Env, () => undefined);
    for (const i of [1, 2])
      await raiseAlert(
        {
          gate_id: `gate-cursor-${i}`,
          gate: { index: "docs", embedding: "e5", reranker: `bge-cursor-${i}` },
          kind: "empty_context",
          summary: `cursor ${i}`,
          details: {},
          calibration_ids: [],
        },
        deps,
      );
    const listings: { path: string; query: Record<string, string>; listing: CursorListing }[] = [
      { path: "/v1/calibrations", query: gate, listing: "calibrations" },
      { path: "/v1/gates", query: {}, listing: "gates" },
      { path: "/v1/alerts", query: {}, listing: "alerts" },
    ];
    for (const { path, query, listing } of listings) {
      const first = (await callJson("GET", `${path}?${qs({ ...query, limit: 1 })}`, 200, { token: TOKENS.read })) as { next_cursor: string | null };
      const made = first.next_cursor!;
      await callJson("GET", `${path}?${qs({ ...query, limit: 1, cursor: made })}`, 200, { token: TOKENS.read });
      const flipped = `${made.slice(0, -1)}${made.endsWith("1") ? "2" : "1"}`;
      const otherListing = cursorOf(1, listing === "gates" ? "alerts" : "gates");
      // "garbage" and "5" (the old bare base-36 position) were once read as positions: the first page, or row 5
      for (const bad of ["garbage", "5", "zzzzzzzzzzz", flipped, otherListing, "!!", `${made}0000000000`]) {
        const error = await expectError(await call("GET", `${path}?${qs({ ...query, cursor: bad })}`, { token: TOKENS.read }), 400, "bad_request");
        expect(error.message, `${path} ${bad}`).toContain("cursor");
        expect(error.details, `${path} ${bad}`).toEqual([expect.objectContaining({ path: "cursor" })]);
      }
      // base 36 only: a cursor goes into a URL (the dashboard's links) unescaped
      expect(made, path).toMatch(/^[0-9a-z]{7,17}$/u);
    }
    // a gate's promotions page with the same checked cursors (an offset): its own pass, the others' are refused
    const { gate_id } = (await callJson("GET", `/v1/calibrations?${qs({ ...gate, limit: 1 })}`, 200, { token: TOKENS.read })) as { gate_id: string };
    const promotions = `/v1/gates/${gate_id}/promotions`;
    const own = (await callJson("GET", `${promotions}?${qs({ cursor: cursorOf(1, "promotions", gate_id) })}`, 200, { token: TOKENS.read })) as {
      promotions: unknown[];
    };
    expect(own.promotions).toEqual([]);
    for (const bad of ["garbage", "5", cursorOf(1, "gates"), cursorOf(1, "promotions", "another-gate")]) {
      const error = await expectError(await call("GET", `${promotions}?${qs({ cursor: bad })}`, { token: TOKENS.read }), 400, "bad_request");
      expect(error.details, `promotions ${bad}`).toEqual([expect.objectContaining({ path: "cursor" })]);
    }
    // a cursor is for the rows it was made for: another gate's history, or other alert filters, refuse it (it would
    // name a position in other rows: an empty or partial page, silently)
    const other = uniqueGate("cursor-check-other");
    await calibrate(other, "v1");
    await calibrate(other, "v2");
    const firstOfA = (await callJson("GET", `/v1/calibrations?${qs({ ...gate, limit: 1 })}`, 200, { token: TOKENS.read })) as {
      next_cursor: string;
    };
    const wrongGate = await call("GET", `/v1/calibrations?${qs({ ...other, limit: 1, cursor: firstOfA.next_cursor })}`, { token: TOKENS.read });
    expect((await expectError(wrongGate, 400, "bad_request")).message).toContain("for these filters");
    const allAlerts = (await callJson("GET", `/v1/alerts?${qs({ limit: 1 })}`, 200, { token: TOKENS.read })) as { next_cursor: string };
    const filtered = await call("GET", `/v1/alerts?${qs({ limit: 1, kind: "empty_context", cursor: allAlerts.next_cursor })}`, {
      token: TOKENS.read,
    });
    await expectError(filtered, 400, "bad_request");
    // the same filters page on
    await callJson("GET", `/v1/alerts?${qs({ limit: 1, cursor: allAlerts.next_cursor })}`, 200, { token: TOKENS.read });
    // the dashboard's alert list (most urgent first) has its own cursors: the API's are no position there
    expect(() => seqOfCursor(cursorOf(7, "alerts"), "alerts-by-urgency")).toThrow(/not one this listing returned/u);
    expect(seqOfCursor(cursorOf(7, "alerts-by-urgency"), "alerts-by-urgency")).toBe(7);
  });
});
