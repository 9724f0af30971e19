/**
 * What an upload does to what is served: `activate: "auto"` (the default) serves only a gate's first calibration or an
 * "equivalent" rebuild that drops what the served calibration drops (within the shift tolerance), never one whose
 * expected drop rate misses its target by more than AUTO_ACTIVATE_MAX_TARGET_MISS;
 * `activate: true` serves whatever the decision; `dry_run: true` answers the same and stores, activates and raises
 * nothing. Each answer's `activation_outcome` says what happened and why.
 */
import { describe, expect, it } from "vitest";
import { AUTO_ACTIVATE_MAX_TARGET_MISS } from "../../src/platform/limits";
import { asQueries, call, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

type Gate = ReturnType<typeof uniqueGate>;
const V1 = asQueries(spreadScores(20_000));
const upload = (gate: Gate, index_version: string, queries: number[][], extra: object = {}, status: 200 | 201 = 201) =>
  callJson("POST", "/v1/calibrations", status, {
    token: TOKENS.calibrate,
    json: { ...gate, index_version, queries, policy: { kind: "drop_rate", target: 0.2 }, ...extra },
  });
const served = async (gate: Gate) => (await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id;
/** The gate's calibrations, newest first; none for a gate never created (its history is a 404). */
const historyIds = async (gate: Gate): Promise<string[]> => {
  const res = await call("GET", `/v1/calibrations?${qs(gate)}`, { token: TOKENS.read });
  if (res.status === 404) return [];
  expect(res.status).toBe(200);
  return ((await res.json()) as { calibrations: { id: string }[] }).calibrations.map((c) => c.id);
};
const shiftAlerts = async (gate: Gate) =>
  (await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "rebuild_shift" })}`, 200, { token: TOKENS.read })).alerts;

describe('activate "auto" (the default)', () => {
  it("serves a gate's first calibration and an equivalent rebuild", async () => {
    const gate = uniqueGate("auto-first");
    const v1 = await upload(gate, "v1", V1);
    expect(v1.activation_outcome).toMatchObject({
      activate: "auto",
      dry_run: false,
      activated: true,
      would_activate: true,
      reason: "first_calibration",
    });
    expect(v1.activation_outcome.message).toBe("served: the gate served no calibration before");
    expect(v1.calibration).toMatchObject({ active: true, current: true });

    const v2 = await upload(gate, "v2", V1);
    expect(v2.shift!.decision).toBe("equivalent");
    expect(v2.activation_outcome).toMatchObject({ activated: true, reason: "equivalent" });
    expect(await served(gate)).toBe(v2.calibration.id);
  });

  it("stores a shifted or an inconclusive rebuild without serving it, and raises no rebuild_shift alert", async () => {
    const gate = uniqueGate("auto-shifted");
    const v1 = await upload(gate, "v1", V1);
    // Every score 0.3 lower: the previous threshold drops far more of the new scores.
    const shifted = await upload(gate, "v2", asQueries(spreadScores(20_000, -0.3)));
    expect(shifted.shift).toMatchObject({ decision: "shifted", alert: false, not_alerted: "not_activated" });
    expect(shifted.activation_outcome).toMatchObject({ activate: "auto", activated: false, would_activate: false, reason: "shifted" });
    expect(shifted.activation_outcome.message).toContain(`Promote it with POST /v1/calibrations/${shifted.calibration.id}/activate`);
    expect(shifted.calibration).toMatchObject({ active: false, current: false });
    // 199 scores of the same distribution: too few to show the move is within 2 points, and on target (40/200 = 0.2).
    const few = await upload(gate, "v3", asQueries(spreadScores(199)));
    expect(few.calibration.expected_drop_rate).toBeCloseTo(0.2, 12);
    expect(few.shift!.decision).toBe("inconclusive");
    expect(few.activation_outcome).toMatchObject({ activated: false, reason: "inconclusive" });

    expect(await served(gate)).toBe(v1.calibration.id);
    expect(await historyIds(gate)).toEqual([few.calibration.id, shifted.calibration.id, v1.calibration.id]);
    expect(await shiftAlerts(gate)).toEqual([]);
  });

  it("does not serve 3 scores at target 0.01 (expected 25 %) over a 20,000-score calibration, nor as a gate's first", async () => {
    const gate = uniqueGate("auto-3-scores");
    const v1 = await upload(gate, "v1", V1);
    const tiny = await upload(gate, "v2", [[0.2, 0.5, 0.9]], { policy: { kind: "drop_rate", target: 0.01 } });
    expect(tiny.calibration.expected_drop_rate).toBe(0.25);
    expect(tiny.activation_outcome).toMatchObject({ activated: false, reason: "target_missed" });
    expect(tiny.activation_outcome.message).toContain(
      `the expected drop rate 25.00 % misses the target 1.00 % by 24.00 points, more than the ${(100 * AUTO_ACTIVATE_MAX_TARGET_MISS).toFixed(2)} points activate "auto" accepts`,
    );
    expect(await served(gate)).toBe(v1.calibration.id);

    const fresh = uniqueGate("auto-3-first");
    const first = await upload(fresh, "v1", [[0.2, 0.5, 0.9]], { policy: { kind: "drop_rate", target: 0.01 } });
    expect(first.activation_outcome).toMatchObject({ activated: false, reason: "target_missed" });
    const res = await call("GET", `/v1/threshold?${qs(fresh)}`, { token: TOKENS.read });
    expect(res.status).toBe(404);
  });

  it("does not serve an equivalent rebuild whose own target moves the drop rate beyond the tolerance (the old absolute 0.4 carried onto the same scores)", async () => {
    const gate = uniqueGate("auto-target-moved");
    const v1 = await upload(gate, "v1", V1);
    // The same scores: the rebuild decision (the served threshold on the new scores) is equivalent. A target 2.5
    // points away is beyond the 2-point tolerance; 1.5 points is within it.
    const moved = await upload(gate, "v2", V1, { policy: { kind: "drop_rate", target: 0.225 } });
    expect(moved.shift!.decision).toBe("equivalent");
    expect(moved.activation_outcome).toMatchObject({ activated: false, would_activate: false, reason: "drop_rate_changed" });
    expect(moved.activation_outcome.message).toContain(
      "the upload would drop 22.50 % of candidates where the served calibration drops 20.00 % (2.50 points, beyond the 2.00 points tolerance)",
    );
    expect(await served(gate)).toBe(v1.calibration.id);
    const near = await upload(gate, "v3", V1, { policy: { kind: "drop_rate", target: 0.215 } });
    expect(near.activation_outcome).toMatchObject({ activated: true, reason: "equivalent" });
    // the same change asked for (activate: true) is served
    const asked = await upload(gate, "v4", V1, { policy: { kind: "drop_rate", target: 0.5 }, activate: true });
    expect(asked.activation_outcome).toMatchObject({ activated: true, reason: "requested" });
  });
});

describe("activate: true and false", () => {
  it("true serves a shifted rebuild and raises rebuild_shift; false stores without serving", async () => {
    const gate = uniqueGate("explicit");
    await upload(gate, "v1", V1);
    const forced = await upload(gate, "v2", asQueries(spreadScores(20_000, -0.3)), { activate: true });
    expect(forced.shift).toMatchObject({ decision: "shifted", alert: true });
    expect(forced.activation_outcome).toMatchObject({ activate: true, activated: true, reason: "requested" });
    expect(await served(gate)).toBe(forced.calibration.id);
    expect((await shiftAlerts(gate)).map((a) => a.calibration_ids[1])).toEqual([forced.calibration.id]);

    const staged = await upload(gate, "v3", asQueries(spreadScores(20_000, -0.3)), { activate: false });
    expect(staged.activation_outcome).toMatchObject({ activate: false, activated: false, reason: "not_requested" });
    expect(await served(gate)).toBe(forced.calibration.id);
  });

  it('refuses an activate that is not "auto", true or false (422), storing nothing', async () => {
    const gate = uniqueGate("bad-activate");
    const res = await call("POST", "/v1/calibrations", {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", queries: V1, policy: { kind: "drop_rate", target: 0.2 }, activate: "yes" },
    });
    expect(res.status).toBe(422);
    expect(JSON.stringify(await res.json())).toContain('must be \\"auto\\", true or false');
    expect(await historyIds(gate)).toEqual([]);
  });
});

describe("dry_run: true", () => {
  it("answers the full report (fit, intervals, shift, decision) with 200 and stores, activates and raises nothing", async () => {
    const gate = uniqueGate("dry");
    const v1 = await upload(gate, "v1", V1);
    const moved = asQueries(spreadScores(20_000, -0.3));

    for (const activate of ["auto", true] as const) {
      const dry = await upload(gate, "v2", moved, { dry_run: true, activate }, 200);
      expect(dry.calibration.threshold).toBeLessThan(v1.calibration.threshold!);
      expect(dry.calibration.drop_rate_interval_95[0]).toBeLessThan(0.2);
      expect(dry.calibration).toMatchObject({ active: false, current: false, n: 20_000, n_queries: 1000 });
      expect(dry.shift).toMatchObject({ previous_calibration_id: v1.calibration.id, decision: "shifted", alert: false, not_alerted: "dry_run" });
      expect(dry.activation_outcome).toMatchObject({ activate, dry_run: true, activated: false, would_activate: activate === true });
      expect(dry.activation_outcome.message).toMatch(/^dry run: nothing was stored, activated or raised/u);
      const res = await call("GET", `/v1/calibrations/${dry.calibration.id}`, { token: TOKENS.read });
      expect(res.status).toBe(404);
    }
    expect(await historyIds(gate)).toEqual([v1.calibration.id]);
    expect(await served(gate)).toBe(v1.calibration.id);
    expect(await shiftAlerts(gate)).toEqual([]);

    // On a new gate: the gate is not created either.
    const fresh = uniqueGate("dry-new");
    const dry = await upload(fresh, "v1", V1, { dry_run: true }, 200);
    expect(dry.activation_outcome).toMatchObject({ would_activate: true, reason: "first_calibration" });
    // Every page of GET /v1/gates (its cursors followed to the end): the first page alone could miss the gate.
    const rerankers: string[] = [];
    for (let cursor: string | null | undefined, pages = 0; cursor !== null; pages++) {
      expect(pages).toBeLessThan(1000);
      const page = await callJson("GET", `/v1/gates?${qs({ limit: 10, ...(cursor === undefined ? {} : { cursor }) })}`, 200, { token: TOKENS.read });
      rerankers.push(...page.gates.map((g) => g.reranker));
      cursor = page.next_cursor;
    }
    expect(rerankers).toContain(gate.reranker); // the walk reaches gates created by a real upload
    expect(rerankers).not.toContain(fresh.reranker);
  });

  it("float32 uploads take activate and dry_run as query parameters", async () => {
    const gate = uniqueGate("dry-f32");
    const scores = new Float32Array(spreadScores(1000));
    const params = { ...gate, index_version: "v1", kind: "drop_rate", target: 0.2 };
    const dry = await call("POST", `/v1/calibrations?${qs({ ...params, dry_run: true })}`, {
      token: TOKENS.calibrate,
      body: new Uint8Array(scores.buffer),
      headers: { "Content-Type": "application/octet-stream" },
    });
    expect(dry.status).toBe(200);
    expect((await dry.json<{ activation_outcome: unknown }>()).activation_outcome).toMatchObject({ dry_run: true, would_activate: true });
    expect(await historyIds(gate)).toEqual([]);
    const staged = await call("POST", `/v1/calibrations?${qs({ ...params, activate: false })}`, {
      token: TOKENS.calibrate,
      body: new Uint8Array(scores.buffer),
      headers: { "Content-Type": "application/octet-stream" },
    });
    expect(staged.status).toBe(201);
    expect((await staged.json<{ activation_outcome: unknown }>()).activation_outcome).toMatchObject({ activated: false, reason: "not_requested" });
  });
});

describe("POST /v1/calibrations/{id}/activate", () => {
  const activate = (id: string, json: object) => callJson("POST", `/v1/calibrations/${id}/activate`, 200, { token: TOKENS.admin, json });

  it("dry_run answers the shift and warnings the activation would give and changes nothing; the activation then says the same", async () => {
    const gate = uniqueGate("activate-dry-run");
    const v1 = await upload(gate, "v1", V1);
    // Stored for review: the rebuild decision is equivalent, but the gate would drop 50 % where it drops 20 %.
    const wider = await upload(gate, "v2", V1, { policy: { kind: "drop_rate", target: 0.5 } });
    expect(wider.activation_outcome).toMatchObject({ activated: false, reason: "drop_rate_changed" });
    const before = await historyIds(gate);
    const dry = await activate(wider.calibration.id, { dry_run: true, reason: "preview" });
    expect(dry).toMatchObject({ dry_run: true, already_current: false, activation: null, calibration: { id: wider.calibration.id } });
    expect(dry.shift).toMatchObject({ decision: "equivalent", previous_calibration_id: v1.calibration.id });
    expect(dry.warnings.map((w: { code: string }) => w.code)).toContain("drop_rate_changed");
    expect(dry.warnings.find((w: { code: string }) => w.code === "drop_rate_changed")?.message).toContain("drops 50.00 %");
    // Nothing changed: v1 is served, the log has no new activation, no alert.
    expect(await served(gate)).toBe(v1.calibration.id);
    expect(await historyIds(gate)).toEqual(before);
    const log = await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200, { token: TOKENS.read });
    expect(log.activations).toHaveLength(1);
    expect(await shiftAlerts(gate)).toEqual([]);
    // The activation itself: served, logged, the same shift and warning.
    const real = await activate(wider.calibration.id, { reason: "reviewed" });
    expect(real).toMatchObject({
      dry_run: false,
      already_current: false,
      activation: { calibration_id: wider.calibration.id, previous_calibration_id: v1.calibration.id },
    });
    expect(real.shift?.decision).toBe(dry.shift?.decision);
    expect(real.warnings.map((w: { code: string }) => w.code)).toContain("drop_rate_changed");
    expect(await served(gate)).toBe(wider.calibration.id);
  });

  it("activating the calibration the gate already serves records, pushes and alerts nothing, and says so; its dry run too", async () => {
    const gate = uniqueGate("activate-current");
    const v1 = await upload(gate, "v1", V1);
    const v2 = await upload(gate, "v2", asQueries(spreadScores(20_000, -0.3)), { activate: true });
    expect(v2.shift).toMatchObject({ decision: "shifted", alert: true });
    const log = async () => (await callJson("GET", `/v1/calibrations?${qs(gate)}`, 200, { token: TOKENS.read })).activations;
    const before = await log();
    expect(before).toHaveLength(2);
    const alertsBefore = await shiftAlerts(gate);
    expect(alertsBefore).toHaveLength(1);

    const dry = await activate(v2.calibration.id, { dry_run: true });
    expect(dry).toMatchObject({ dry_run: true, already_current: true, activation: null, shift: null, warnings: [] });
    const again = await activate(v2.calibration.id, { reason: "re-run" });
    expect(again).toMatchObject({ dry_run: false, already_current: true, activation: null, shift: null, warnings: [] });
    expect(again.calibration).toMatchObject({ id: v2.calibration.id, current: true });
    // The log, the served calibration and the alert are as they were.
    expect(await log()).toEqual(before);
    expect(await served(gate)).toBe(v2.calibration.id);
    expect(await shiftAlerts(gate)).toEqual(alertsBefore);

    // A calibration that is active for its version but not the gate's current one is a change (a rollback): written.
    const back = await activate(v1.calibration.id, { reason: "rollback" });
    expect(back).toMatchObject({
      already_current: false,
      activation: { calibration_id: v1.calibration.id, previous_calibration_id: v2.calibration.id },
    });
    expect(await log()).toHaveLength(3);
    expect(await served(gate)).toBe(v1.calibration.id);
  });

  it("the dry run of a shifted calibration answers alert false, not_alerted dry_run, and raises nothing; the activation alerts", async () => {
    const gate = uniqueGate("activate-dry-shifted");
    await upload(gate, "v1", V1);
    const shifted = await upload(gate, "v2", asQueries(spreadScores(20_000, -0.3)));
    expect(shifted.shift).toMatchObject({ decision: "shifted", alert: false, not_alerted: "not_activated" });
    const dry = await activate(shifted.calibration.id, { dry_run: true });
    expect(dry.shift).toMatchObject({ decision: "shifted", alert: false, not_alerted: "dry_run" });
    expect(await shiftAlerts(gate)).toEqual([]);
    const real = await activate(shifted.calibration.id, { reason: "accepted" });
    expect(real.shift).toMatchObject({ decision: "shifted", alert: true, not_alerted: null });
    expect(await shiftAlerts(gate)).toHaveLength(1);
  });

  it("refuses a dry_run that is not a boolean, changing nothing", async () => {
    const gate = uniqueGate("activate-dry-run-bad");
    const v1 = await upload(gate, "v1", V1);
    const res = await call("POST", `/v1/calibrations/${v1.calibration.id}/activate`, { token: TOKENS.admin, json: { dry_run: "yes" } });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { details: unknown[] } }).error.details).toContainEqual({
      path: "dry_run",
      message: "must be true or false",
    });
  });
});
