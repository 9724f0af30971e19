/**
 * The alert API's edges: a note over the bound says the bound; notes are stored trimmed (only whitespace is no note,
 * in the API and the dashboard); re-acknowledging answers the note it keeps; occurrences are numbered 1..N within
 * their alert beside the shared `seq`; gate_id together with index/embedding/reranker is refused, naming both; a
 * gate named by embedding and reranker that nobody knows is a 404 with the similar gates, not an empty list.
 */

import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { raiseAlert } from "../../src/alerts/lifecycle";
import { MAX_NOTE_LENGTH } from "../../src/contract";
import type { Env } from "../../src/platform/env";
import { gateIdOf } from "../../src/platform/ids";
import { alertDeps } from "../../src/worker/wiring";
import { page, session } from "../dashboard/session-support";
import { call, callJson, expectError, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const worker = (exports as unknown as { default: Fetcher }).default;
const deps = () => alertDeps(env as unknown as Env, () => undefined);

/** Raises a drop_rate_drift alert on a fresh gate `times` times; `again` counts one more occurrence of it. */
async function raised(label: string, times = 1) {
  const gate = uniqueGate(label);
  const again = async (i: number) =>
    (
      await raiseAlert(
        { gate_id: `gate-${gate.reranker}`, gate, kind: "drop_rate_drift", summary: `occurrence ${i}`, details: { i }, calibration_ids: [] },
        deps(),
      )
    ).alert.id;
  let id = "";
  for (let i = 1; i <= times; i++) id = await again(i);
  return { id, gate, again };
}

describe("notes", () => {
  it("a note over the bound is a 422 that says the bound, and changes nothing", async () => {
    const { id } = await raised("note-long");
    for (const action of ["acknowledge", "resolve"]) {
      const res = await call("POST", `/v1/alerts/${id}/${action}`, { json: { note: "x".repeat(MAX_NOTE_LENGTH + 1) } });
      expect(res.status, action).toBe(422);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message, action).toContain(`at most ${MAX_NOTE_LENGTH} characters`);
      expect(body.error.message, action).not.toContain("must be a string");
    }
    expect((await callJson("GET", `/v1/alerts/${id}`, 200)).status).toBe("open");
    // a note that is not a string still says so
    const wrong = await call("POST", `/v1/alerts/${id}/acknowledge`, { json: { note: 5 } });
    expect(wrong.status).toBe(422);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toContain("must be a string");
  });

  it("are stored trimmed, and a note of only whitespace as none (API and dashboard)", async () => {
    const { id } = await raised("note-blank");
    const ack = await callJson("POST", `/v1/alerts/${id}/acknowledge`, 200, { json: { note: "   " } });
    expect(ack.acknowledged_note).toBeNull();
    const res = await callJson("POST", `/v1/alerts/${id}/resolve`, 200, { json: { note: "\t rolled back \n" } });
    expect(res.resolved_note).toBe("rolled back");
    const html = await page(`/ui/alerts/${id}`, await session(TOKENS.read));
    expect(html).toMatch(/<li data-step="acknowledged">Acknowledged at [^<]+ by [^<:]+<\/li>/u);
    expect(html).not.toContain('data-field="acknowledged-note"');

    // the dashboard's form goes through the same rule
    const other = await raised("note-blank-ui");
    const admin = await session(TOKENS.admin);
    const csrf = /name="csrf" value="([0-9a-f]{64})"/u.exec(await page(`/ui/alerts/${other.id}`, admin))![1]!;
    const done = await worker.fetch(`http://scoregate.test/ui/alerts/${other.id}/acknowledge`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: admin },
      body: new URLSearchParams({ csrf, note: "    " }).toString(),
    });
    expect(done.status).toBe(303);
    expect((await callJson("GET", `/v1/alerts/${other.id}`, 200)).acknowledged_note).toBeNull();
  });

  it("acknowledging an acknowledged alert changes nothing and answers the note it keeps", async () => {
    const { id } = await raised("note-reack");
    const first = await callJson("POST", `/v1/alerts/${id}/acknowledge`, 200, { json: { note: "looking" } });
    const again = await callJson("POST", `/v1/alerts/${id}/acknowledge`, 200, { json: { note: "still looking" } });
    expect(again).toMatchObject({
      status: "acknowledged",
      acknowledged_at: first.acknowledged_at,
      acknowledged_by: first.acknowledged_by,
      acknowledged_note: "looking",
    });
  });
});

describe("occurrences", () => {
  it("are numbered 1..N within their alert, oldest first, beside the shared seq", async () => {
    const { id, again } = await raised("numbered", 3);
    // another alert's occurrences move the shared counter
    await raised("numbered-other", 2);
    expect(await again(4)).toBe(id);
    const { occurrences } = await callJson("GET", `/v1/alerts/${id}/occurrences?limit=3`, 200);
    expect(occurrences.map((o) => [o.number, o.summary])).toEqual([
      [4, "occurrence 4"],
      [3, "occurrence 3"],
      [2, "occurrence 2"],
    ]);
    // seq stays, an order only: it jumped over the other alert's occurrences
    expect(occurrences[0]!.seq - occurrences[1]!.seq).toBeGreaterThan(1);
  });
});

describe("GET /v1/alerts filters", () => {
  it("refuses gate_id with index, embedding or reranker, naming both", async () => {
    const { gate } = await raised("filters");
    const gateId = `gate-${gate.reranker}`;
    for (const extra of [{ index: gate.index }, { embedding: gate.embedding, reranker: gate.reranker }, { reranker: gate.reranker }]) {
      const res = await call("GET", `/v1/alerts?${qs({ gate_id: gateId, ...extra })}`, { token: TOKENS.read });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string; details: { path: string }[] } };
      expect(error.code).toBe("bad_request");
      expect(error.message).toContain("gate_id");
      for (const k of Object.keys(extra)) expect(error.message).toContain(k);
      expect(error.details.map((d) => d.path)).toEqual(["gate_id", ...Object.keys(extra)]);
    }
    // each alone still filters
    expect((await callJson("GET", `/v1/alerts?${qs({ gate_id: gateId })}`, 200, { token: TOKENS.read })).alerts).toHaveLength(1);
    expect((await callJson("GET", `/v1/alerts?${qs({ index: gate.index })}`, 200, { token: TOKENS.read })).alerts).toHaveLength(1);
  });

  it("a gate named completely that nobody knows is a 404 naming the similar calibrated gates; a known gate without alerts is []", async () => {
    const gate = uniqueGate("alerts-typo");
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(1000), policy: { kind: "drop_rate", target: 0.2 } },
    });
    // the calibrated gate has no alert: an empty list, as before
    expect((await callJson("GET", `/v1/alerts?${qs(gate)}`, 200, { token: TOKENS.read })).alerts).toEqual([]);
    // a typo in the embedding names no gate: 404, with the gate it most likely meant, as a gate's history answers
    const typo = { ...gate, embedding: "BAAI/bge-m3@v2" };
    const error = await expectError(await call("GET", `/v1/alerts?${qs({ ...typo, status: "open" })}`, { token: TOKENS.read }), 404, "not_found");
    expect(error.message).toContain(`no gate ${typo.index} / ${typo.embedding} / ${typo.reranker}`);
    expect(error.message).toContain(`did you mean index=${gate.index} embedding=${gate.embedding} reranker=${gate.reranker}?`);
    expect(error.details.suggestions).toEqual([gate]);
    const history = await expectError(await call("GET", `/v1/calibrations?${qs(typo)}`, { token: TOKENS.read }), 404, "not_found");
    expect(error).toEqual(history);
    // the index left out means "default": nothing there either, and it says so
    const { index: _, ...noIndex } = gate;
    const defaulted = await expectError(await call("GET", `/v1/alerts?${qs(noIndex)}`, { token: TOKENS.read }), 404, "not_found");
    expect(defaulted.message).toContain('index defaults to "default" when omitted');
    expect(defaulted.details.suggestions).toEqual([gate]);
    // an index alone still filters, known or not (documented: the alerts of every gate in it)
    expect((await callJson("GET", `/v1/alerts?${qs({ index: "no-such-index" })}`, 200, { token: TOKENS.read })).alerts).toEqual([]);
    // a gate_id nobody knows is a 404 too (copied by hand: not an all-clear); a known one without alerts lists []
    const byId = await expectError(await call("GET", `/v1/alerts?${qs({ gate_id: "0".repeat(32) })}`, { token: TOKENS.read }), 404, "not_found");
    expect(byId.message).toBe(`gate ${"0".repeat(32)} does not exist (GET /v1/gates lists the gates)`);
    const known = await gateIdOf(gate);
    expect((await callJson("GET", `/v1/alerts?${qs({ gate_id: known, kind: "empty_context" })}`, 200, { token: TOKENS.read })).alerts).toEqual([]);
  });

  it("a gate never calibrated that has alerts (uncalibrated_request) is known: its other kinds list []", async () => {
    const gate = uniqueGate("alerts-uncalibrated");
    const gateId = await gateIdOf(gate);
    await raiseAlert({ gate_id: gateId, gate, kind: "uncalibrated_request", summary: "asked for", details: {}, calibration_ids: [] }, deps());
    expect((await callJson("GET", `/v1/alerts?${qs(gate)}`, 200, { token: TOKENS.read })).alerts.map((a) => a.kind)).toEqual([
      "uncalibrated_request",
    ]);
    expect((await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "rebuild_shift" })}`, 200, { token: TOKENS.read })).alerts).toEqual([]);
  });
});
