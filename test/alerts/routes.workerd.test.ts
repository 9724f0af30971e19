import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { raiseAlert } from "../../src/alerts/lifecycle";
import type { Env } from "../../src/platform/env";
import { MAX_SHOWN_ID_CHARACTERS } from "../../src/platform/format";
import { gateIdOf } from "../../src/platform/ids";
import { UNCALIBRATED_ALERT_MIN_MINUTES } from "../../src/platform/limits";
import { alertDeps } from "../../src/worker/wiring";
import { READ_TOKEN_NAME, SERVICE_USER_AGENT, seedSightings, sightingsOf } from "../support/uncalibrated";
import { asQueries, call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

/**
 * Uploads as queries of 20, so the rebuild decision measures clustering (two flat uploads would be decided at an assumed
 * design effect of 50, and a 15-point move on 5,000 scores a side would stay inconclusive: docs/drift.md).
 */
const upload = (gate: object, version: string, scores: number[], extra: object = {}) => ({
  token: TOKENS.calibrate,
  json: { ...gate, index_version: version, queries: asQueries(scores), policy: { kind: "drop_rate", target: 0.2 }, ...extra },
});

const alertsOf = async (gate: object, kind?: string) =>
  (await callJson("GET", `/v1/alerts?${qs({ ...gate, kind })}`, 200, { token: TOKENS.read })).alerts;

/**
 * The alerts of a gate that may never have been calibrated, by its gate_id: named by embedding and reranker, a gate
 * nobody knows (no calibration, no alert yet) is a 404 (test/alerts/notes-and-filters.workerd.test.ts).
 */
const alertsById = async (gate: { index: string; embedding: string; reranker: string }, kind?: string) =>
  (await callJson("GET", `/v1/alerts?${qs({ gate_id: await gateIdOf(gate), kind })}`, 200, { token: TOKENS.read })).alerts;

describe("rebuild_shift", () => {
  it("reports the shift without alerting on a rebuild from the same distribution", async () => {
    const gate = uniqueGate("same");
    await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", spreadScores(5000)));
    const second = await callJson("POST", "/v1/calibrations", 201, upload(gate, "v2", spreadScores(5000, 0.0001)));
    expect(second.shift!.alert).toBe(false);
    expect(Math.abs(second.shift!.change_points)).toBeLessThan(0.5);
    expect(await alertsOf(gate)).toEqual([]);
  });

  it("alerts when the previous threshold's drop rate moves; activate:false reports without changing what is served", async () => {
    const gate = uniqueGate("moved");
    const v1 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", spreadScores(5000)))).calibration;
    // v2 scores are 0.15 lower: the old threshold (~0.2) now drops ~35 %
    const dry = await callJson("POST", "/v1/calibrations", 201, upload(gate, "v2", spreadScores(5000, -0.15), { activate: false }));
    // Shifted, but stored without being served: the alert follows an activation.
    expect(dry.shift).toMatchObject({
      previous_calibration_id: v1.id,
      previous_threshold: v1.threshold,
      decision: "shifted",
      alert: false,
      not_alerted: "not_activated",
    });
    expect(dry.shift!.drop_rate_at_previous_threshold).toBeCloseTo(0.35, 2);
    expect(dry.shift!.change_points).toBeCloseTo(15, 0);
    expect(dry.shift!.ks).toBeGreaterThan(0.1);
    expect(dry.shift!.psi.exceeds).toBe(true);
    expect(dry.calibration.active).toBe(false);
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(v1.id);
    expect(await alertsOf(gate)).toEqual([]);

    // promoting it raises the alert, with the numbers and both calibrations
    await callJson("POST", `/v1/calibrations/${dry.calibration.id}/activate`, 200);
    const [alert] = await alertsOf(gate, "rebuild_shift");
    expect(alert).toMatchObject({ kind: "rebuild_shift", status: "open", calibration_ids: [v1.id, dry.calibration.id] });
    expect((alert!.details.shift as { drop_rate_at_previous_threshold: number }).drop_rate_at_previous_threshold).toBeCloseTo(0.35, 2);
  });

  it("respects a custom shift_tolerance", async () => {
    const gate = uniqueGate("tolerance");
    await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", spreadScores(5000)));
    const r = await callJson("POST", "/v1/calibrations", 201, upload(gate, "v2", spreadScores(5000, -0.15), { shift_tolerance: 0.2 }));
    expect(r.shift!.alert).toBe(false);
    expect(r.shift!.reason).toContain("within the 20.0-point tolerance");
  });
});

describe("uncalibrated_request", () => {
  const waitFor = async <T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> => {
    let v = await read();
    for (let i = 0; i < 100 && !done(v); i++) {
      await new Promise((r) => setTimeout(r, 20));
      v = await read();
    }
    return v;
  };

  it("a person's lookup pages nobody: a few 404s are one sighting of the token, the CLI's none at all", async () => {
    const gate = uniqueGate("uncal-typo");
    for (let i = 0; i < 3; i++) expect((await call("GET", `/v1/threshold?${qs(gate)}`, { token: TOKENS.read })).status).toBe(404);
    const cli = { "user-agent": "scoregate-cli/0.1.0" };
    for (let i = 0; i < 3; i++) expect((await call("GET", `/v1/threshold?${qs(gate)}`, { headers: cli })).status).toBe(404);
    // the read token's sighting is written after the response; once it is there, no alert came with it
    expect(
      await waitFor(
        () => sightingsOf(gate),
        (m) => m.length > 0,
      ),
    ).toHaveLength(1);
    expect(await sightingsOf(gate, "alice")).toEqual([]);
    // no alert and no calibration: named or by id, the gate is unknown (404, not an empty list)
    expect(
      (await call("GET", `/v1/alerts?${qs({ gate_id: await gateIdOf(gate), kind: "uncalibrated_request" })}`, { token: TOKENS.read })).status,
    ).toBe(404);
    expect((await call("GET", `/v1/alerts?${qs(gate)}`, { token: TOKENS.read })).status).toBe(404);
  });

  it(`a token that keeps asking (${UNCALIBRATED_ALERT_MIN_MINUTES} distinct minutes) is raised, naming the token and its client`, async () => {
    const gate = uniqueGate("uncal-service");
    await seedSightings([gate]);
    const res = await call("GET", `/v1/threshold?${qs({ ...gate, index_version: "v7" })}`, {
      token: TOKENS.read,
      headers: { "user-agent": SERVICE_USER_AGENT },
    });
    expect(res.status).toBe(404);
    const alerts = await waitFor(
      () => alertsById(gate, "uncalibrated_request"),
      (a) => a.length > 0,
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      occurrences: 1,
      details: { token: READ_TOKEN_NAME, client: SERVICE_USER_AGENT, index_version: "v7", minutes: UNCALIBRATED_ALERT_MIN_MINUTES },
    });
    expect(alerts[0]!.summary).toContain(`the token "${READ_TOKEN_NAME}" (client ${SERVICE_USER_AGENT})`);
    expect(alerts[0]!.summary).toContain("no active calibration");
    // its alert makes the never-calibrated gate known: named, it lists the alert
    expect(await alertsOf(gate, "uncalibrated_request")).toEqual(alerts);
  });

  it("names the calibrated gate the 404 suggested to the service, in its details and its sentence", async () => {
    const calibrated = uniqueGate("uncal-meant");
    await callJson("POST", "/v1/calibrations", 201, upload(calibrated, "v1", spreadScores(2000)));
    const typo = { ...calibrated, index: `${calibrated.index}z` };
    await seedSightings([typo]);
    const res = await call("GET", `/v1/threshold?${qs(typo)}`, { token: TOKENS.read, headers: { "user-agent": SERVICE_USER_AGENT } });
    expect(res.status).toBe(404);
    const told = (await res.json()) as { error: { message: string; details: { suggestions: unknown[] } } };
    expect(told.error.details.suggestions).toEqual([calibrated]);
    const alerts = await waitFor(
      () => alertsById(typo, "uncalibrated_request"),
      (a) => a.length > 0,
    );
    expect(alerts[0]!.details.suggestions).toEqual([calibrated]);
    // The same words as the 404's "did you mean".
    expect(told.error.message).toContain(`did you mean index=${calibrated.index}?`);
    expect(alerts[0]!.summary).toMatch(new RegExp(`running on its fallback; did you mean index=${calibrated.index}\\?$`, "u"));
  });
});

describe("alert lifecycle", () => {
  it("acknowledges and resolves (admin), filters by status and kind, 404 for unknown alerts", async () => {
    const gate = uniqueGate("life");
    await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", spreadScores(5000)));
    await callJson("POST", "/v1/calibrations", 201, upload(gate, "v2", spreadScores(5000, -0.15), { activate: true }));
    const [alert] = await alertsOf(gate, "rebuild_shift");
    await callJson("POST", `/v1/alerts/${alert!.id}/acknowledge`, 403, { token: TOKENS.read });
    const acked = await callJson("POST", `/v1/alerts/${alert!.id}/acknowledge`, 200, { json: { note: "looking" } });
    expect(acked).toMatchObject({ status: "acknowledged", acknowledged_by: "alice" });
    expect((await callJson("GET", `/v1/alerts?${qs({ ...gate, status: "acknowledged" })}`, 200)).alerts).toHaveLength(1);
    expect((await callJson("GET", `/v1/alerts?${qs({ ...gate, status: "open" })}`, 200)).alerts).toHaveLength(0);
    const resolved = await callJson("POST", `/v1/alerts/${alert!.id}/resolve`, 200);
    expect(resolved).toMatchObject({ status: "resolved", resolved_by: "alice" });
    await callJson("POST", `/v1/alerts/${alert!.id}/acknowledge`, 409);
    // a new shift after resolution opens a new alert
    await callJson("POST", "/v1/calibrations", 201, upload(gate, "v3", spreadScores(5000, -0.3), { activate: true }));
    const all = await alertsOf(gate, "rebuild_shift");
    expect(all.map((a: any) => a.status)).toEqual(["open", "resolved"]);
    await callJson("GET", "/v1/alerts/alr_nope", 404);
    await callJson("GET", "/v1/alerts?kind=weird", 400);
  });
});

describe("filters and unknown gates", () => {
  it("filters by index alone; refuses a partial gate, and /v1/monitor of a gate that was never calibrated is a 404", async () => {
    const deps = alertDeps(env as unknown as Env, () => undefined);
    const here = uniqueGate("index-filter");
    const elsewhere = uniqueGate("index-filter-other");
    const raise = (gate: typeof here, kind: "drop_rate_drift" | "empty_context") =>
      raiseAlert({ gate_id: `gate-${gate.reranker}`, gate, kind, summary: `${kind} on ${gate.index}`, details: {}, calibration_ids: [] }, deps);
    const a = await raise(here, "drop_rate_drift");
    const b = await raise(here, "empty_context");
    await raise(elsewhere, "drop_rate_drift");
    const byIndex = await callJson("GET", `/v1/alerts?${qs({ status: "open", index: here.index })}`, 200, { token: TOKENS.read });
    expect(byIndex.alerts.map((x: any) => x.id).sort()).toEqual([a.alert.id, b.alert.id].sort());
    const oneKind = await callJson("GET", `/v1/alerts?${qs({ index: here.index, kind: "empty_context" })}`, 200, { token: TOKENS.read });
    expect(oneKind.alerts.map((x: any) => x.id)).toEqual([b.alert.id]);
    // a gate still needs both of its model names
    for (const partial of [{ embedding: here.embedding }, { index: here.index, embedding: here.embedding }, { reranker: here.reranker }]) {
      const res = await call("GET", `/v1/alerts?${qs(partial)}`, { token: TOKENS.read });
      expect(res.status, JSON.stringify(partial)).toBe(400);
      expect((await res.json<any>()).error.message).toContain("both embedding and reranker");
    }
    const res = await call("GET", `/v1/monitor?${qs(uniqueGate("never-calibrated"))}`, { token: TOKENS.read });
    expect(res.status).toBe(404);
    expect((await res.json<any>()).error.code).toBe("not_found");
  });
});

describe("a gate named twice or by half", () => {
  /** The whole 400: status, and the body as bytes. */
  async function refusal(query: Record<string, string>): Promise<[number, string]> {
    const res = await call("GET", `/v1/alerts?${qs(query)}`, { token: TOKENS.read });
    return [res.status, await res.text()];
  }
  const badRequest = (message: string, details: { path: string; message: string }[]): [number, string] => [
    400,
    JSON.stringify({ error: { code: "bad_request", message, details } }),
  ];
  const gate = uniqueGate("named-twice");
  const gateId = "0".repeat(32);

  it("gate_id with index, embedding or reranker is refused, naming each", async () => {
    expect(await refusal({ gate_id: gateId, index: gate.index })).toEqual(
      badRequest("filter by gate_id or by index, not both: they name the gate twice", [
        { path: "gate_id", message: "given with index" },
        { path: "index", message: "given with gate_id" },
      ]),
    );
    expect(await refusal({ gate_id: gateId, ...gate })).toEqual(
      badRequest("filter by gate_id or by index, embedding, reranker, not both: they name the gate twice", [
        { path: "gate_id", message: "given with index, embedding, reranker" },
        { path: "index", message: "given with gate_id" },
        { path: "embedding", message: "given with gate_id" },
        { path: "reranker", message: "given with gate_id" },
      ]),
    );
    // named twice is the first problem, before a gate named by half
    expect(await refusal({ gate_id: gateId, embedding: gate.embedding })).toEqual(
      badRequest("filter by gate_id or by embedding, not both: they name the gate twice", [
        { path: "gate_id", message: "given with embedding" },
        { path: "embedding", message: "given with gate_id" },
      ]),
    );
  });

  it("embedding without reranker, or reranker without embedding, is refused naming the missing one", async () => {
    const half = "filter by gate with both embedding and reranker (and optionally index), or by index alone";
    expect(await refusal({ index: gate.index, embedding: gate.embedding })).toEqual(
      badRequest(half, [{ path: "reranker", message: "both are required to name a gate" }]),
    );
    expect(await refusal({ reranker: gate.reranker })).toEqual(
      badRequest(half, [{ path: "embedding", message: "both are required to name a gate" }]),
    );
  });

  it("a field's own problem comes before the gate's: the query's wording", async () => {
    const [status, text] = await refusal({ gate_id: "", index: gate.index });
    expect(status).toBe(400);
    expect(JSON.parse(text).error.message).toBe("invalid query parameters: gate_id must not be empty");
  });
});

describe("embedding upgrade (a new gate)", () => {
  it("compares the new gate with the calibration it carries from, and raises no alert for the intended carry", async () => {
    const old = uniqueGate("upgrade-old");
    const v1 = (await callJson("POST", "/v1/calibrations", 201, upload(old, "v1", spreadScores(5000)))).calibration;
    const fresh = { ...old, embedding: "BAAI/bge-m3@v2" };
    const res = await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...fresh,
        index_version: "v2",
        queries: asQueries(spreadScores(5000, -0.15)),
        policy: { kind: "carry", reference: { calibration_id: v1.id } },
      },
    });
    // The report still shows how far the old threshold moved, and that it would be shifted, but alerts not.
    expect(res.shift).toMatchObject({
      compared_with: "carry_reference",
      previous_calibration_id: v1.id,
      previous_gate_id: v1.gate_id,
      decision: "shifted",
      alert: false,
      not_alerted: "intended_carry",
    });
    expect(res.shift!.drop_rate_at_previous_threshold).toBeCloseTo(0.35, 2);
    expect(res.calibration.target_drop_rate).toBeCloseTo(v1.in_sample_drop_rate, 12);
    expect(await alertsOf(fresh, "rebuild_shift")).toEqual([]);
  });
});

describe("ids a message repeats", () => {
  it("an unknown id of thousands of characters is repeated up to MAX_SHOWN_ID_CHARACTERS, then counted", async () => {
    const id = "a".repeat(10_000);
    for (const path of [`/v1/alerts/${id}`, `/v1/promotions/${id}`, `/v1/calibrations/${id}`]) {
      const res = await call("GET", path, { token: TOKENS.admin });
      expect(res.status, path).toBe(404);
      const message = (await res.json<{ error: { message: string } }>()).error.message;
      expect(message, path).toContain(`${"a".repeat(MAX_SHOWN_ID_CHARACTERS)}… (10,000 characters)`);
      expect(message.length, path).toBeLessThan(MAX_SHOWN_ID_CHARACTERS + 100);
    }
  });
});
