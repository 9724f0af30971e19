// A gate whose activation log holds more rows than one read (LOG_PAGE_ROWS): its shadow set is what the whole log says,
// so a shadow added after the first page is listed, its rate changes and it is removed, and adding it twice is refused.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { D1CalibrationStore } from "../../src/calibrations/d1-store";
import { LOG_PAGE_ROWS, logPages, logPagesNewestFirst } from "../../src/calibrations/log-pages";
import { upload, writeLongPast } from "../support/promotions";
import { callJson, TOKENS, uniqueGate } from "../support/worker";

describe("the shadow set of a gate with a long log", () => {
  it("lists, changes and removes a shadow added after the log's first page", async () => {
    const gate = uniqueGate("busy-shadows");
    const v1 = await upload(gate, "v1", 0, false);
    const v2 = await upload(gate, "v2", 0.02, false);
    // A long past: more rows than one read, written by hand (rows from before the log kept events read the same way).
    await writeLongPast(v1.gate_id, v1.id, LOG_PAGE_ROWS + 100);
    await callJson("POST", `/v1/calibrations/${v1.id}/activate`, 200, { json: {} });
    await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { json: { sample_rate: 0.2 } });

    const listed = await callJson("GET", `/v1/gates/${v1.gate_id}/shadows`, 200, { token: TOKENS.read });
    expect(listed.shadows.map((s: { calibration_id: string; sample_rate: number }) => [s.calibration_id, s.sample_rate])).toEqual([[v2.id, 0.2]]);
    // a second add is refused as one (the set knows it), a rate change and a removal find it
    const again = await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 409, { json: { sample_rate: 0.2 } });
    expect(again.error.message).toContain("already a shadow");
    const changed = await callJson("PATCH", `/v1/calibrations/${v2.id}/shadow`, 200, { json: { sample_rate: 0.5 } });
    expect(changed.shadows.map((s: { sample_rate: number }) => s.sample_rate)).toEqual([0.5]);
    const removed = await callJson("DELETE", `/v1/calibrations/${v2.id}/shadow`, 200, { json: {} });
    expect(removed.shadows).toEqual([]);
    expect((await callJson("GET", `/v1/gates/${v1.gate_id}/shadows`, 200, { token: TOKENS.read })).shadows).toEqual([]);

    // The log read from its newest row back (D1's descending read, a page at a time) is the same rows in reverse.
    const store = new D1CalibrationStore(env.DB);
    const oldestFirst: number[] = [];
    for await (const page of logPages(store, v1.gate_id)) oldestFirst.push(...page.map((e) => e.seq));
    const newestFirst: number[] = [];
    let pages = 0;
    for await (const page of logPagesNewestFirst(store, v1.gate_id)) {
      pages += 1;
      newestFirst.push(...page.map((e) => e.seq));
    }
    expect(oldestFirst.length).toBeGreaterThan(LOG_PAGE_ROWS);
    expect(newestFirst).toEqual([...oldestFirst].reverse());
    expect(pages).toBe(2);
  });
});
