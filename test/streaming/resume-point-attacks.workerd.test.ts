/**
 * Resume points of the push stream (Last-Event-ID, ?after=) that are not a seq: a JSON 400 naming them, never a 500; the
 * largest seq the contract takes is past any gate's head and answers a snapshot.
 */
import { describe, expect, it } from "vitest";
import { gateIdOf } from "../../src/platform/ids";
import { SseReader } from "../support/sse";
import { call, callJson, expectError, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

describe("push stream resume point attacks", () => {
  it("refuses every Last-Event-ID and after= that is not a seq with a JSON 400; takes an over-long seq as ahead (snapshot)", async () => {
    const gate = uniqueGate("atk-sse");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(400), policy: { kind: "drop_rate", target: 0.2 }, activate: true },
    });
    for (const id of ["", " ", "1e3", "-1", "+5", "0x10", "1.0", "01", "12 13", "1,2", "99999999999999999", "null", "\t"]) {
      const res = await call("GET", `/v1/events?${qs(gate)}`, { token: TOKENS.read, headers: { "last-event-id": id } });
      expect(res.headers.get("content-type"), JSON.stringify(id)).toMatch(/^application\/json/u);
      await expectError(res, 400, "bad_request");
    }
    for (const after of ["", "abc", "1e3", "-1", "99999999999999999"]) {
      const res = await call("GET", `/v1/gates/${await gateIdOf(gate)}/events?after=${encodeURIComponent(after)}`, { token: TOKENS.read });
      await expectError(res, 400, "bad_request");
    }
    // past the largest safe integer: not a seq any client was sent, refused (was a 500: the hub refused what the route took)
    for (const id of ["9007199254740992", "9999999999999999"]) {
      await expectError(await call("GET", `/v1/events?${qs(gate)}`, { token: TOKENS.read, headers: { "last-event-id": id } }), 400, "bad_request");
      await expectError(await call("GET", `/v1/events?${qs({ ...gate, after: id })}`, { token: TOKENS.read }), 400, "bad_request");
    }
    // the largest seq taken is past the gate's head: a snapshot, not a hang or a 500
    for (const headers of [{ "last-event-id": "9007199254740991" }, { "last-event-id": " 9007199254740991 " }]) {
      const res = await call("GET", `/v1/events?${qs(gate)}`, { token: TOKENS.read, headers });
      expect(res.status).toBe(200);
      const r = new SseReader(res.body!);
      try {
        await r.frame();
        expect((await r.event()).name).toBe("snapshot");
      } finally {
        await r.cancel().catch(() => {});
      }
    }
  });
});
