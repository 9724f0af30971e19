// The overview lists every gate in alarm, whatever their number and wherever their names sort, on every page, and
// pages through the others; a read session sees on an alert page what a read token sees in the API.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OVERVIEW_PAGE_SIZE } from "../../src/dashboard/data";
import { callJson, spreadScores, TOKENS } from "../support/worker";

const worker = (exports as unknown as { default: Fetcher }).default;

async function session(token: string): Promise<string> {
  const res = await worker.fetch("http://scoregate.test/ui/login", {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, next: "/ui" }).toString(),
  });
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

const page = async (path: string, cookie: string) => {
  const res = await worker.fetch(`http://scoregate.test${path}`, { headers: { cookie } });
  expect(res.status, path).toBe(200);
  return res.text();
};

/** The gate ids of the rows of one table of the overview (data-table="alarms" or "gates"). */
const rowsOf = (html: string, table: string): string[] => {
  const start = html.indexOf(`data-table="${table}"`);
  if (start < 0) return [];
  const body = html.slice(start, html.indexOf("</table>", start));
  return [...body.matchAll(/data-gate="([0-9a-f]+)"/gu)].map((m) => m[1]!);
};

describe("overview with more gates than a page", () => {
  it("lists the gates in alarm first on every page and pages through the rest", async () => {
    const index = "ov-many";
    const total = OVERVIEW_PAGE_SIZE + 6;
    const ids: string[] = [];
    for (let i = 0; i < total; i++) {
      const gate = { index, embedding: "e5", reranker: `r-${String(i).padStart(3, "0")}` };
      const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
        token: TOKENS.calibrate,
        json: { ...gate, index_version: "v1", scores: spreadScores(400), policy: { kind: "drop_rate", target: 0.2 } },
      });
      ids.push(calibration.gate_id);
    }
    // The two gates whose names sort last drift: 60 % dropped where 20 % is expected.
    for (const i of [total - 1, total - 2]) {
      const r = await callJson("POST", "/v1/observations", 202, {
        token: TOKENS.read,
        json: { batch_id: `drift-${i}`, index, embedding: "e5", reranker: `r-${String(i).padStart(3, "0")}`, queries: Array.from({ length: 300 }, () => [20, 12]) },
      });
      expect(r.queued === false && r.alerts).toEqual(["drop_rate_drift"]);
    }
    const cookie = await session(TOKENS.read);
    const first = await page(`/ui?index=${index}`, cookie);
    expect(rowsOf(first, "alarms").sort()).toEqual([ids[total - 1], ids[total - 2]].sort());
    const firstRest = rowsOf(first, "gates");
    expect(firstRest).toEqual(ids.slice(0, OVERVIEW_PAGE_SIZE));
    expect(first).toContain("Page 1 of 2");
    const second = await page(`/ui?index=${index}&page=2`, cookie);
    expect(rowsOf(second, "alarms").sort()).toEqual([ids[total - 1], ids[total - 2]].sort());
    expect(rowsOf(second, "gates")).toEqual(ids.slice(OVERVIEW_PAGE_SIZE, total - 2));
    // A page past the last shows the last; a malformed one the first.
    expect(rowsOf(await page(`/ui?index=${index}&page=99`, cookie), "gates")).toEqual(ids.slice(OVERVIEW_PAGE_SIZE, total - 2));
    expect(rowsOf(await page(`/ui?index=${index}&page=1e1`, cookie), "gates")).toEqual(firstRest);
  }, 120_000);
});
