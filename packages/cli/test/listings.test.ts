/**
 * The listing commands and the server's pages: `scoregate gates` follows `next_cursor` until the last page, so it lists
 * every gate however many there are; `scoregate alerts` shows one page (`--limit`), takes `--cursor`, and says how to
 * get the next.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAlert } from "../../../test/support/alert-record";
import { cli } from "./support/run";
import { type StubServer, startStubServer } from "./support/stub-server";

let stub: StubServer;
beforeAll(async () => {
  stub = await startStubServer();
});
afterAll(() => stub.close());

const env = () => ({ SCOREGATE_URL: stub.url, SCOREGATE_TOKEN: "stub-token" });

const gate = (i: number) => ({
  gate_id: `g${i}`,
  index: "docs",
  embedding: "e5",
  reranker: `bge-${i}`,
  created_at: "2026-12-01T00:00:00.000Z",
  current_calibration_id: null,
  active: [],
});

/** Seven gates served three a page; records the cursor of each request. */
function pagedGates(): string[] {
  const cursors: string[] = [];
  stub.handle((req) => {
    const url = new URL(req.url ?? "/", stub.url);
    const cursor = url.searchParams.get("cursor");
    cursors.push(cursor ?? "");
    const start = cursor === null ? 0 : Number(cursor);
    const gates = Array.from({ length: 7 }, (_, i) => gate(i)).slice(start, start + 3);
    return { status: 200, body: { gates, next_cursor: start + 3 < 7 ? String(start + 3) : null } };
  });
  return cursors;
}

describe("scoregate gates", () => {
  it("follows next_cursor and lists every gate", async () => {
    const cursors = pagedGates();
    const r = await cli(["gates"], env());
    expect(r.code).toBe(0);
    for (let i = 0; i < 7; i++) expect(r.stdout).toContain(`docs / e5 / bge-${i} `);
    expect(cursors).toEqual(["", "3", "6"]);
  });

  it("--json prints every gate in one document", async () => {
    pagedGates();
    const r = await cli(["gates", "--json"], env());
    const body = JSON.parse(r.stdout) as { gates: { gate_id: string }[]; next_cursor: string | null };
    expect(body.gates.map((g) => g.gate_id)).toEqual(["g0", "g1", "g2", "g3", "g4", "g5", "g6"]);
    expect(body.next_cursor).toBeNull();
  });

  it("a server without pages (no next_cursor) is one page", async () => {
    stub.handle(() => ({ status: 200, body: { gates: [gate(1)] } }));
    const r = await cli(["gates"], env());
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("docs / e5 / bge-1");
  });
});

describe("scoregate alerts", () => {
  const alert = openAlert({
    id: "alr_1",
    gate_id: "g1",
    gate: { index: "docs", embedding: "e5", reranker: "bge" },
    kind: "drop_rate_drift",
    summary: "production drops 41 % against 30 %",
  });

  it("shows one page, passes --cursor on, and says how to get the next page", async () => {
    let asked: URL | null = null;
    stub.handle((req) => {
      asked = new URL(req.url ?? "/", stub.url);
      return { status: 200, body: { alerts: [alert], next_cursor: "2f" } };
    });
    const r = await cli(["alerts", "--limit", "1", "--cursor", "3k"], env());
    expect(r.code).toBe(0);
    expect(asked!.searchParams.get("cursor")).toBe("3k");
    expect(asked!.searchParams.get("limit")).toBe("1");
    expect(r.stdout).toContain("alr_1");
    expect(r.stdout).toContain("More: --cursor 2f");
  });

  it("the kind column is as wide as the longest kind: promotion_rolled_back stands apart from the gate", async () => {
    const rolledBack = { ...alert, id: "alr_2", kind: "promotion_rolled_back" as const };
    stub.handle(() => ({ status: 200, body: { alerts: [alert, rolledBack], next_cursor: null } }));
    const r = await cli(["alerts"], env());
    expect(r.code).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => l.startsWith("alr_"));
    expect(rows[1]).toContain("promotion_rolled_back docs / e5 / bge");
    // the gate starts in the same column on both rows
    expect(rows[0]!.indexOf("docs / e5")).toBe(rows[1]!.indexOf("docs / e5"));
  });

  it("says who acknowledged or resolved an alert, when and with which note; an open one says nothing more", async () => {
    const acknowledged = {
      ...alert,
      id: "alr_3",
      status: "acknowledged" as const,
      acknowledged_by: "alice",
      acknowledged_at: "2026-12-06T03:10:00.000Z",
      acknowledged_note: "on it: rerunning the rebuild",
    };
    const resolved = {
      ...alert,
      id: "alr_4",
      status: "resolved" as const,
      resolved_by: "bob",
      resolved_at: "2026-12-06T04:00:00.000Z",
      resolved_note: null,
    };
    stub.handle(() => ({ status: 200, body: { alerts: [alert, acknowledged, resolved], next_cursor: null } }));
    const lines = (await cli(["alerts"], env())).stdout.split("\n");
    expect(lines[2]).toMatch(/^alr_3 /u);
    expect(lines[4]).toBe("    acknowledged by alice at 2026-12-06T03:10:00.000Z: on it: rerunning the rebuild");
    expect(lines[7]).toBe("    resolved by bob at 2026-12-06T04:00:00.000Z");
    expect(lines.filter((l) => l.startsWith("    acknowledged") || l.startsWith("    resolved"))).toHaveLength(2);
  });

  /** No alerts for any filter; gates of the indexes "docs" and "faq" (the listing's index names). */
  function noAlerts(): string[] {
    const asked: string[] = [];
    stub.handle((req) => {
      const url = new URL(req.url ?? "/", stub.url);
      asked.push(url.pathname);
      if (url.pathname === "/v1/gates") return { status: 200, body: { gates: [gate(1), { ...gate(2), index: "faq" }, gate(3)], next_cursor: null } };
      return { status: 200, body: { alerts: [], next_cursor: null } };
    });
    return asked;
  }

  it('an --index no gate has exits 2 with the closest index names, never "No alerts." (also with --json)', async () => {
    noAlerts();
    const r = await cli(["alerts", "--index", "dosc"], env());
    expect([r.code, r.stdout]).toEqual([2, ""]);
    expect(r.stderr.split("\n").slice(0, 3)).toEqual([
      "scoregate: no gate has --index dosc: did you mean --index docs?",
      "  the indexes with gates: docs, faq (scoregate gates lists the gates)",
      "  scoregate alerts --help shows its flags and examples",
    ]);
    const json = await cli(["alerts", "--index", "zzzz", "--json"], env());
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: "usage", message: "no gate has --index zzzz" });
  });

  it('an index with gates but no alerts still says "No alerts."; so does no filter, without reading the gates', async () => {
    const asked = noAlerts();
    expect(await cli(["alerts", "--index", "faq"], env())).toMatchObject({ code: 0, stdout: "No alerts.\n" });
    expect(asked).toEqual(["/v1/alerts", "/v1/gates"]);
    asked.length = 0;
    expect(await cli(["alerts", "--status", "open"], env())).toMatchObject({ code: 0, stdout: "No alerts.\n" });
    expect(asked).toEqual(["/v1/alerts"]);
  });
});
