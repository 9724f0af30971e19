/**
 * `scoregate promote` (a start or an override) and `scoregate shadow` (add, rate change, removal) send an
 * Idempotency-Key of their run, and send the change again with it after no answer, a 429, a 5xx or the 409 of a key
 * still in flight (idempotency_in_progress, or an older server's conflict naming the key; never after a 409 of the
 * state), at most CHANGE_ATTEMPTS times, against a stub server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHANGE_ATTEMPTS } from "../src/promote";
import { cli } from "./support/run";
import { type StubAnswer, type StubServer, startStubServer } from "./support/stub-server";

let stub: StubServer;
beforeAll(async () => {
  stub = await startStubServer();
});
afterAll(async () => {
  await stub.close();
});
const env = () => ({ SCOREGATE_URL: stub.url, SCOREGATE_TOKEN: "stub-token" });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/u;

const promotion = {
  id: "prm_0000000001",
  gate_id: "g1",
  candidate_calibration_id: "cal_v2",
  control_calibration_id: "cal_v1",
  plan: { steps: [10, 100], min_queries: 500, on_regression: "rollback", tolerance: 0.02, max_step_hours: 72 },
  state: "running",
  step: 0,
  percent: 10,
  version: 1,
  started_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
  actor: "alice",
  evidence: null,
  steps: [],
};

const conflict = (message: string): StubAnswer => ({ status: 409, body: { error: { code: "conflict", message } } });
/** What a server before idempotency_in_progress answered for a key still in flight. */
const IN_FLIGHT = "a request with this Idempotency-Key is still in progress; retry shortly";
/** The key still in flight: the code decides, whatever the message says. */
const inProgress = (message = "busy"): StubAnswer => ({
  status: 409,
  headers: { "Retry-After": "1" },
  body: { error: { code: "idempotency_in_progress", message } },
});

/** Answers the change routes with `first` for the first `failures` attempts, then `then`; records each change's key. */
function serve(failures: number, first: StubAnswer, then: StubAnswer) {
  const changes: { method: string; url: string; key: string | undefined }[] = [];
  stub.handle((req) => {
    if (req.method === "GET") return { status: 200, body: { id: "cal_v2", gate_id: "g1" } };
    changes.push({ method: req.method!, url: req.url!, key: req.headers["idempotency-key"] as string | undefined });
    return changes.length <= failures ? first : then;
  });
  return changes;
}

describe("scoregate promote: an Idempotency-Key of its own, kept across its retries", () => {
  it("--idempotency-key K sends K, so a pipeline's rerun of the same start is answered as the first was", async () => {
    const changes = serve(0, { status: 201, body: promotion }, { status: 201, body: promotion });
    expect((await cli(["promote", "cal_v2", "--idempotency-key", "rebuild-42-promote"], env())).code).toBe(0);
    expect((await cli(["promote", "cal_v2", "--idempotency-key", "rebuild-42-promote"], env())).code).toBe(0);
    expect(changes.map((c) => c.key)).toEqual(["rebuild-42-promote", "rebuild-42-promote"]);
  });

  it("shadow takes no --idempotency-key (a rerun reads the shadow it added and sends nothing)", async () => {
    serve(0, { status: 200, body: {} }, { status: 200, body: {} });
    const r = await cli(["shadow", "cal_v2", "--idempotency-key", "k"], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("shadow does not take --idempotency-key (it is a flag of calibrate, promote)");
  });

  it("every run sends a new key", async () => {
    const changes = serve(0, { status: 201, body: promotion }, { status: 201, body: promotion });
    expect((await cli(["promote", "cal_v2"], env())).code).toBe(0);
    expect((await cli(["promote", "cal_v2"], env())).code).toBe(0);
    expect(changes).toHaveLength(2);
    expect(changes[0]!.key).toMatch(UUID);
    expect(changes[1]!.key).toMatch(UUID);
    expect(changes[1]!.key).not.toBe(changes[0]!.key);
  });

  it.each([
    ["a 503", { status: 503, body: { error: { code: "storage_unavailable", message: "D1 did not answer" } } }],
    ["a 409 idempotency_in_progress", inProgress()],
    ["an older server's 409 conflict naming the Idempotency-Key", conflict(IN_FLIGHT)],
    ["no answer within --timeout", { status: 201, body: promotion, delayMs: 2000 }],
  ] as [string, StubAnswer][])("after %s the start is sent again with the same key; a replayed answer says it applied once", async (_, failure) => {
    const changes = serve(1, failure, { status: 201, headers: { "Idempotent-Replayed": "true" }, body: promotion });
    const r = await cli(["promote", "cal_v2", "--timeout", "1", "--json"], env());
    expect(r.code).toBe(0);
    expect(changes.map((x) => x.url)).toEqual(["/v1/calibrations/cal_v2/promote", "/v1/calibrations/cal_v2/promote"]);
    expect(changes[1]!.key).toBe(changes[0]!.key);
    expect(JSON.parse(r.stdout).id).toBe("prm_0000000001");
    expect(r.stderr).toContain(`sent 2 times with Idempotency-Key ${changes[0]!.key}: applied once`);
  });

  it("a 409 of the state (an open promotion) is not sent again", async () => {
    const changes = serve(1, conflict("the gate already has an open promotion"), { status: 201, body: promotion });
    const r = await cli(["promote", "cal_v2"], env());
    expect(r.code).toBe(2);
    expect(changes).toHaveLength(1);
    expect(r.stderr).toContain("the gate already has an open promotion");
  });

  it("a 409 of another code is not sent again, even when its message names the Idempotency-Key", async () => {
    const changes = serve(1, { status: 409, body: { error: { code: "gate_archived", message: IN_FLIGHT } } }, { status: 201, body: promotion });
    expect((await cli(["promote", "cal_v2"], env())).code).toBe(2);
    expect(changes).toHaveLength(1);
  });

  it(`a key still in flight after ${CHANGE_ATTEMPTS} attempts says to run it again with the same key`, async () => {
    const changes = serve(99, inProgress(IN_FLIGHT), { status: 201, body: promotion });
    const r = await cli(["promote", "cal_v2", "--idempotency-key", "rebuild-9-promote"], env());
    expect(r.code).toBe(1);
    expect(changes.map((x) => x.key)).toEqual(Array(CHANGE_ATTEMPTS).fill("rebuild-9-promote"));
    expect(r.stderr).toContain("409 idempotency_in_progress: a request with this Idempotency-Key is still in progress");
    expect(r.stderr).toContain("still running on the server: run the same command again with the same --idempotency-key");
    expect(r.stderr).not.toContain("server-side failure");
  });

  it(`gives up after ${CHANGE_ATTEMPTS} attempts, naming the key and where to check whether it was applied`, async () => {
    const changes = serve(99, { status: 500, body: { error: { code: "internal", message: "boom" } } }, { status: 201, body: promotion });
    const r = await cli(["promote", "cal_v2"], env());
    expect(r.code).toBe(1);
    expect(changes).toHaveLength(CHANGE_ATTEMPTS);
    expect(new Set(changes.map((x) => x.key)).size).toBe(1);
    expect(r.stderr).toContain(`sent ${CHANGE_ATTEMPTS} times with Idempotency-Key ${changes[0]!.key}: the server may have applied it`);
    expect(r.stderr).toContain("scoregate promotion cal_v2");
  });

  it("an override is keyed and retried the same way", async () => {
    const changes: { url: string; key: string | undefined }[] = [];
    stub.handle((req) => {
      if (req.method === "GET" && req.url === "/v1/calibrations/cal_v2") return { status: 200, body: { id: "cal_v2", gate_id: "g1" } };
      if (req.method === "GET") return { status: 200, body: { gate_id: "g1", promotions: [promotion], next_cursor: null } };
      changes.push({ url: req.url!, key: req.headers["idempotency-key"] as string | undefined });
      return changes.length === 1
        ? { status: 502, body: { error: { code: "internal", message: "bad gateway" } } }
        : { status: 200, body: { ...promotion, state: "paused" } };
    });
    const r = await cli(["promote", "cal_v2", "--pause"], env());
    expect(r.code).toBe(0);
    expect(changes.map((x) => x.url)).toEqual(["/v1/promotions/prm_0000000001/pause", "/v1/promotions/prm_0000000001/pause"]);
    expect(changes[0]!.key).toMatch(UUID);
    expect(changes[1]!.key).toBe(changes[0]!.key);
  });
});

describe("scoregate shadow: keyed changes", () => {
  it("--remove sends a key and sends it again after a 503 or a 409 idempotency_in_progress; a 409 of the state ('not a shadow') is not retried", async () => {
    const removed = { gate_id: "g1", calibration_id: "cal_v2", seq: 14, shadows: [] };
    const changes = serve(
      1,
      { status: 503, body: { error: { code: "storage_unavailable", message: "D1 did not answer" } } },
      { status: 200, body: removed },
    );
    const r = await cli(["shadow", "cal_v2", "--remove"], env());
    expect(r.code).toBe(0);
    expect(changes.map((x) => x.method)).toEqual(["DELETE", "DELETE"]);
    expect(changes[0]!.key).toMatch(UUID);
    expect(changes[1]!.key).toBe(changes[0]!.key);
    const busy = serve(1, inProgress(), { status: 200, body: removed });
    expect((await cli(["shadow", "cal_v2", "--remove"], env())).code).toBe(0);
    expect(busy.map((x) => x.key)).toEqual([busy[0]!.key, busy[0]!.key]);
    const refused = serve(1, conflict("calibration cal_v2 is not a shadow of its gate"), { status: 200, body: removed });
    expect((await cli(["shadow", "cal_v2", "--remove"], env())).code).toBe(2);
    expect(refused).toHaveLength(1);
  });

  it("adding a shadow sends a key of the run", async () => {
    const undecided = {
      decision: "inconclusive",
      change: 0,
      interval95: [0, 0],
      tolerance: 0.02,
      queries: 0,
      reference_queries: 0,
      effective_queries: 0,
      more_data_factor: null,
    };
    const status = {
      calibration_id: "cal_v2",
      index_version: "v2",
      sample_rate: 0.2,
      since: "2026-01-01T00:00:00.000Z",
      since_seq: 11,
      queries: 0,
      drop_rate: null,
      expected_drop_rate: 0.22,
      vs_target: undecided,
      vs_active: undecided,
      drift: null,
    };
    let added = false;
    const keys: (string | undefined)[] = [];
    stub.handle((req) => {
      if (req.url === "/v1/calibrations/cal_v2") return { status: 200, body: { id: "cal_v2", gate_id: "g1" } };
      if (req.url === "/v1/calibrations/cal_v2/shadow") {
        keys.push(req.headers["idempotency-key"] as string | undefined);
        added = true;
        return { status: 200, body: { gate_id: "g1", calibration_id: "cal_v2", seq: 11, shadows: [] } };
      }
      return { status: 200, body: { gate_id: "g1", active_calibration_id: "cal_v1", shadows: added ? [status] : [] } };
    });
    const r = await cli(["shadow", "cal_v2", "--sample-rate", "0.2"], env());
    expect(r.code).toBe(4);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(UUID);
  });
});
