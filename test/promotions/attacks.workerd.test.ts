/**
 * Hostile input against promotions, shadows and arm batches: every bad field, wrong scope, state-machine abuse and
 * concurrent overrides get our JSON error (never a 500) and change nothing the gate's log or the promotion records.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { admin, gateLog, twoVersions, upload } from "../support/promotions";
import { tick } from "../support/scheduled";
import { asQueries, call, callJson, expectError, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const promote = (id: string, json: unknown) => call("POST", `/v1/calibrations/${id}/promote`, { ...admin, json });

describe("promotion attacks", () => {
  it("refuses every malformed plan field with a 422 naming it, storing nothing", async () => {
    const { v2 } = await twoVersions("atk-plan");
    const before = await gateLog(v2.gate_id);
    const bad: [unknown, string][] = [
      [{ steps: ["10", "100"] }, "steps"],
      [{ steps: [10.5, 100] }, "steps"],
      [{ steps: [0, 100] }, "steps"],
      [{ steps: [100, 100] }, "steps"],
      [{ steps: [50] }, "steps"],
      [{ steps: [] }, "steps"],
      [{ steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100] }, "steps"],
      [{ steps: [-10, 100] }, "steps"],
      [{ steps: [10, 101] }, "steps"],
      [{ steps: null }, "steps"],
      [{ steps: "10,100" }, "steps"],
      [{ min_queries: "2000" }, "min_queries"],
      [{ min_queries: 199 }, "min_queries"],
      [{ min_queries: 10_000_001 }, "min_queries"],
      [{ min_queries: 200.5 }, "min_queries"],
      [{ on_regression: "ROLLBACK" }, "on_regression"],
      [{ tolerance: 0 }, "tolerance"],
      [{ tolerance: -0.1 }, "tolerance"],
      [{ tolerance: 0.51 }, "tolerance"],
      [{ tolerance: "NaN" }, "tolerance"],
      [{ max_step_hours: 0 }, "max_step_hours"],
      [{ max_step_hours: 721 }, "max_step_hours"],
      [{ max_step_hours: "72" }, "max_step_hours"],
      [{ reason: "x".repeat(1001) }, "reason"],
      [{ reason: 5 }, "reason"],
      [{ stepz: [10, 100] }, "stepz"],
    ];
    for (const [json, field] of bad) {
      const e = await expectError(await promote(v2.id, json), 422, "invalid_input");
      expect(JSON.stringify(e), JSON.stringify(json)).toContain(field);
    }
    for (const body of ["[]", "null", '"x"', "5", "{", '{"steps":[10,100],"steps":[100]}']) {
      const res = await call("POST", `/v1/calibrations/${v2.id}/promote`, { ...admin, body, headers: { "content-type": "application/json" } });
      expect([400, 422], `${body}: ${res.status}`).toContain(res.status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/invalid_input|malformed_json/u);
    }
    // a number JSON.parse reads as Infinity
    const huge = await call("POST", `/v1/calibrations/${v2.id}/promote`, {
      ...admin,
      body: '{"min_queries":1e400}',
      headers: { "content-type": "application/json" },
    });
    expect(JSON.stringify((await expectError(huge, 422, "invalid_input")).details)).toContain("min_queries");
    await expectError(await call("POST", `/v1/calibrations/${v2.id}/promote`, { token: TOKENS.read, json: {} }), 403, "forbidden");
    await expectError(await call("POST", `/v1/calibrations/${v2.id}/promote`, { token: "nope", json: {} }), 401, "unauthorized");
    await expectError(await call("POST", `/v1/calibrations/${v2.id}/promote`, { token: null, json: {} }), 401, "unauthorized");
    for (const id of ["cal_x", "é".repeat(300), "%00", "x".repeat(5000)])
      await expectError(await promote(encodeURIComponent(id), {}), 404, "not_found");
    expect(await gateLog(v2.gate_id)).toEqual(before);
    const list = await callJson("GET", `/v1/gates/${v2.gate_id}/promotions`, 200, { token: TOKENS.read });
    expect(list.promotions).toEqual([]);
  });

  it("pages a gate's promotions newest first without a repeat when one is started between two pages", async () => {
    const { v2 } = await twoVersions("atk-pages");
    const started: string[] = [];
    const startAndRollBack = async () => {
      const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
      await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: {} });
      started.push(p.id);
    };
    for (let i = 0; i < 5; i++) await startAndRollBack();
    const page = (cursor?: string) =>
      callJson("GET", `/v1/gates/${v2.gate_id}/promotions?limit=3${cursor ? `&cursor=${cursor}` : ""}`, 200, { token: TOKENS.read });
    const first = await page();
    expect(first.promotions.map((p: { id: string }) => p.id)).toEqual(started.slice(2).reverse());
    await startAndRollBack(); // a sixth, started while the client pages
    const second = await page(first.next_cursor!);
    expect(second.promotions.map((p: { id: string }) => p.id)).toEqual(started.slice(0, 2).reverse());
    expect(second.next_cursor).toBeNull();
    // a fresh first page starts with the newest
    expect((await page()).promotions[0]!.id).toBe(started[5]);
  });

  it("refuses override bodies, unknown promotions and garbage ids", async () => {
    const { v2 } = await twoVersions("atk-ovr");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
    for (const action of ["pause", "resume", "advance", "rollback"]) {
      await expectError(await call("POST", `/v1/promotions/${p.id}/${action}`, { ...admin, json: { reason: 1 } }), 422, "invalid_input");
      await expectError(await call("POST", `/v1/promotions/${p.id}/${action}`, { ...admin, json: { why: "x" } }), 422, "invalid_input");
      await expectError(await call("POST", `/v1/promotions/prm_doesnotexist00/${action}`, { ...admin, json: {} }), 404, "not_found");
      await expectError(await call("POST", `/v1/promotions/${"z".repeat(3000)}/${action}`, { ...admin, json: {} }), 404, "not_found");
    }
    await expectError(await call("POST", `/v1/promotions/${p.id}/explode`, { ...admin, json: {} }), 404, "not_found");
    await expectError(await call("GET", `/v1/promotions/${p.id}?x=1`, { token: TOKENS.read }), 400, "bad_request");
    await expectError(await call("GET", `/v1/gates/${p.gate_id}/promotions?limit=0`, { token: TOKENS.read }), 400, "bad_request");
    await expectError(await call("GET", `/v1/gates/${p.gate_id}/promotions?cursor=zz`, { token: TOKENS.read }), 400, "bad_request");
    await expectError(await call("GET", "/v1/gates/0123/promotions", { token: TOKENS.read }), 404, "not_found");
    expect(await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).toMatchObject({ state: "running", version: 1 });
  });

  it("concurrent overrides of one promotion: one lands, the losers leave no audit row and no event, even after the cron", async () => {
    const { gate, v1, v2 } = await twoVersions("atk-race");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { steps: [10, 100] } });
    const res = await Promise.all(Array.from({ length: 5 }, () => promote(v2.id, {})));
    expect(res.map((r) => r.status)).toEqual([409, 409, 409, 409, 409]);
    // pause, roll back and advance (to the last step: a completion) at once, from the same version
    const raced = await Promise.all(
      ["pause", "rollback", "advance", "pause"].map((a) => call("POST", `/v1/promotions/${p.id}/${a}`, { ...admin, json: {} })),
    );
    const statuses = raced.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200 && s !== 409)).toEqual([]);
    const after = await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read });
    expect(after.version).toBe(1 + statuses.filter((s) => s === 200).length);
    // the audit trail holds the start and the winners only, one row per version
    expect(after.steps).toHaveLength(after.version);
    expect(["paused", "rolled_back", "completed"]).toContain(after.state);
    expect(after.steps.at(-1)!.kind).toBe(after.state);
    // the cron's repair of unlogged audit rows writes no event for a transition that never happened
    await tick(env, new Date());
    const events = (await gateLog(p.gate_id)).filter((e) => e.kind.startsWith("promotion_"));
    expect(events.map((e) => e.kind)).toEqual(after.steps.map((s) => `promotion_${s.kind}`));
    const served = (await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id;
    expect(served).toBe(after.state === "completed" ? v2.id : v1.id);
    expect(await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).toMatchObject({
      state: after.state,
      version: after.version,
    });
  });

  it("concurrent starts of two candidates on one gate: one promotion", async () => {
    const { gate, v2 } = await twoVersions("atk-race2");
    const v3 = await upload(gate, "v3", 0.1, false);
    const res = await Promise.all([promote(v2.id, {}), promote(v3.id, {}), promote(v2.id, {})]);
    expect(res.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    const list = await callJson("GET", `/v1/gates/${v2.gate_id}/promotions`, 200, { token: TOKENS.read });
    expect(list.promotions).toHaveLength(1);
  });

  it("state-machine abuse: promote a shadow, shadow the candidate or control, roll back a finished one, activate mid-step", async () => {
    const { gate, v1, v2 } = await twoVersions("atk-sm");
    await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { ...admin, json: { sample_rate: 0.3 } });
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
    expect((await callJson("GET", `/v1/gates/${p.gate_id}/shadows`, 200, { token: TOKENS.read })).shadows).toEqual([]);
    await expectError(await call("DELETE", `/v1/calibrations/${v2.id}/shadow`, admin), 409, "conflict");
    await expectError(await call("PATCH", `/v1/calibrations/${v2.id}/shadow`, { ...admin, json: { sample_rate: 0.5 } }), 409, "conflict");
    await expectError(await call("POST", `/v1/calibrations/${v1.id}/shadow`, { ...admin, json: {} }), 409, "conflict");
    for (const rate of [0, -1, 1.01, "0.5", null])
      await expectError(await call("POST", `/v1/calibrations/${v1.id}/shadow`, { ...admin, json: { sample_rate: rate } }), 422, "invalid_input");
    const raw = { ...admin, body: '{"sample_rate":1e400}', headers: { "content-type": "application/json" } };
    await expectError(await call("POST", `/v1/calibrations/${v1.id}/shadow`, raw), 422, "invalid_input");
    await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: {} });
    for (const action of ["pause", "resume", "advance", "rollback"])
      await expectError(await call("POST", `/v1/promotions/${p.id}/${action}`, { ...admin, json: {} }), 409, "conflict");
    // a second promotion, superseded by a manual activation mid-step; its overrides are then refused
    const q = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
    await callJson("POST", `/v1/calibrations/${v2.id}/activate`, 200, { json: { reason: "by hand" } });
    expect(await callJson("GET", `/v1/promotions/${q.id}`, 200, { token: TOKENS.read })).toMatchObject({ state: "superseded" });
    await expectError(await call("POST", `/v1/promotions/${q.id}/resume`, { ...admin, json: {} }), 409, "conflict");
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(v2.id);
    // the old control was served: never a shadow (docs/api.md), yet it may be promoted back against v2
    await expectError(await call("POST", `/v1/calibrations/${v1.id}/shadow`, { ...admin, json: {} }), 409, "conflict");
    expect(await callJson("POST", `/v1/calibrations/${v1.id}/promote`, 201, { ...admin, json: {} })).toMatchObject({ control_calibration_id: v2.id });
  });

  it("DELETE of a shadow records its reason (docs/api.md: the delete takes only `reason`) and refuses other fields", async () => {
    const { v2 } = await twoVersions("atk-del");
    await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { ...admin, json: {} });
    const before = await gateLog(v2.gate_id);
    for (const json of [{ reason: 7 }, { sample_rate: 0.2 }, { reason: "x".repeat(1001) }])
      await expectError(await call("DELETE", `/v1/calibrations/${v2.id}/shadow`, { ...admin, json }), 422, "invalid_input");
    expect(await gateLog(v2.gate_id)).toEqual(before);
    const removed = await callJson("DELETE", `/v1/calibrations/${v2.id}/shadow`, 200, { ...admin, json: { reason: "done with it" } });
    const event = (await gateLog(v2.gate_id)).find((e) => e.seq === removed.seq)!;
    expect(event.kind).toBe("shadow_removed");
    expect(JSON.parse(event.event)).toMatchObject({ reason: "done with it", actor: "alice" });
  });

  it("concurrent shadow changes: one add of a calibration, at most MAX_SHADOWS_PER_GATE, a promotion and a shadow of one calibration never both", async () => {
    const { gate, v2 } = await twoVersions("atk-shadow-race");
    const same = await Promise.all(Array.from({ length: 4 }, () => call("POST", `/v1/calibrations/${v2.id}/shadow`, { ...admin, json: {} })));
    expect(same.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
    const more = await Promise.all(["v3", "v4", "v5"].map((v, i) => upload(gate, v, 0.1 * (i + 1), false)));
    const adds = await Promise.all(more.map((c) => call("POST", `/v1/calibrations/${c.id}/shadow`, { ...admin, json: {} })));
    expect(adds.map((r) => r.status).sort()).toEqual([200, 200, 409]);
    const listed = (await callJson("GET", `/v1/gates/${v2.gate_id}/shadows`, 200, { token: TOKENS.read })).shadows;
    expect(listed).toHaveLength(3);
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).shadows).toHaveLength(3);
    // remove and re-rate one shadow at once: whichever lands first, the sets agree afterwards
    const [rm, rate] = await Promise.all([
      call("DELETE", `/v1/calibrations/${v2.id}/shadow`, admin),
      call("PATCH", `/v1/calibrations/${v2.id}/shadow`, { ...admin, json: { sample_rate: 0.9 } }),
    ]);
    expect(rm.status).toBe(200);
    expect([200, 409]).toContain(rate.status);
    const after = (await callJson("GET", `/v1/gates/${v2.gate_id}/shadows`, 200, { token: TOKENS.read })).shadows.map((s) => s.calibration_id);
    const served = (await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).shadows!.map((s) => s.calibration_id);
    expect(after).not.toContain(v2.id);
    expect([...served].sort()).toEqual([...after].sort());
    // a promotion and a shadow of the same calibration at once: never listed as a shadow while it is the candidate
    const free = more.find((c) => !after.includes(c.id))!;
    const [pr, sh] = await Promise.all([promote(free.id, {}), call("POST", `/v1/calibrations/${free.id}/shadow`, { ...admin, json: {} })]);
    expect(pr.status).toBe(201);
    expect([200, 409]).toContain(sh.status);
    const finalList = (await callJson("GET", `/v1/gates/${v2.gate_id}/shadows`, 200, { token: TOKENS.read })).shadows.map((s) => s.calibration_id);
    const finalServed = (await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).shadows!.map((s) => s.calibration_id);
    expect(finalList).not.toContain(free.id);
    expect([...finalServed].sort()).toEqual([...finalList].sort());
  });

  it("refuses an arm batch claiming a step its promotion never reached (beyond its plan, or ahead of it), counting nothing", async () => {
    const { gate, v1, v2 } = await twoVersions("atk-step");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
    await callJson("POST", `/v1/promotions/${p.id}/advance`, 200, { ...admin, json: {} });
    const obs = (batch_id: string, calibration_id: string, step: number, arm: string) =>
      call("POST", "/v1/observations", {
        token: TOKENS.read,
        json: { batch_id, calibration_id, queries: [[20, 4]], promotion: { id: p.id, step, arm } },
      });
    for (const [i, [cal, step, arm]] of (
      [
        [v2.id, 7, "candidate"],
        [v2.id, 2, "candidate"],
        [v1.id, 2, "control"],
        [v1.id, 99, "unassigned"],
      ] as const
    ).entries()) {
      const e = await expectError(await obs(`atk-step-${i}`, cal, step, arm), 422, "invalid_input");
      expect(e.details, `${arm} ${step}`).toEqual([
        { path: "promotion.step", message: "must be at most 1, the promotion's current step (counted from 0)" },
      ]);
      // one numbering in one sentence: the claim's and the promotion's steps counted from 0, the ordinal from 1
      expect(e.message).toContain(
        `promotion ${p.id} has not reached step ${step} (steps count from 0: it is at step 1, the 2nd of its ${p.plan.steps.length})`,
      );
    }
    expect(await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read })).toMatchObject({ windows: [] });
    // the batch ids were not taken; an old step's claim is still accepted (queued in a client across the advance)
    expect((await obs("atk-step-0", v2.id, 0, "candidate")).status).toBe(202);
    expect((await obs("atk-step-1", v2.id, 1, "candidate")).status).toBe(202);
    expect((await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).evidence).toMatchObject({ step: 1, candidate_queries: 1 });
  });

  it("refuses a shadow on a gate that serves nothing (clients learn shadows from the served threshold): 409, nothing logged", async () => {
    const gate = uniqueGate("atk-shadow-unserved");
    const w1 = await upload(gate, "w1", 0, false);
    const refused = await expectError(await call("POST", `/v1/calibrations/${w1.id}/shadow`, { ...admin, json: {} }), 409, "conflict");
    expect(refused.message).toContain("serves no calibration");
    expect(await gateLog(w1.gate_id)).toEqual([]);
    expect((await callJson("GET", `/v1/gates/${w1.gate_id}/shadows`, 200, { token: TOKENS.read })).shadows).toEqual([]);
    // once the gate serves a calibration, the shadow is listed, served and its batches counted alike
    const w2 = await upload(gate, "w2", 0.2, false);
    await callJson("POST", `/v1/calibrations/${w2.id}/activate`, 200, { json: { reason: "first" } });
    await callJson("POST", `/v1/calibrations/${w1.id}/shadow`, 200, { ...admin, json: {} });
    const listed = (await callJson("GET", `/v1/gates/${w1.gate_id}/shadows`, 200, { token: TOKENS.read })).shadows.map((s) => s.calibration_id);
    const served = (await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).shadows!.map((s) => s.calibration_id);
    expect({ listed, served }).toEqual({ listed: [w1.id], served: [w1.id] });
    const batch = await call("POST", "/v1/observations", {
      token: TOKENS.read,
      json: { batch_id: "atk-unserved-1", calibration_id: w1.id, role: "shadow", queries: [[20, 4]] },
    });
    expect(batch.status).toBe(202);
  });

  it("refuses a plan whose tolerance, taken from the candidate's shift_tolerance, no step could decide with (0 or above the plan's range)", async () => {
    const { gate } = await twoVersions("atk-tol");
    for (const [i, shift_tolerance] of [0, 0.75].entries()) {
      const c = (
        await callJson("POST", "/v1/calibrations", 201, {
          token: TOKENS.calibrate,
          json: {
            ...gate,
            index_version: `t${i}`,
            queries: asQueries(spreadScores(4000)),
            policy: { kind: "drop_rate", target: 0.2 },
            activate: false,
            shift_tolerance,
          },
        })
      ).calibration;
      const before = await gateLog(c.gate_id);
      const e = await expectError(await promote(c.id, {}), 422, "invalid_input");
      expect(e.details).toEqual([{ path: "tolerance", message: expect.stringContaining(String(shift_tolerance)) }]);
      expect(await gateLog(c.gate_id)).toEqual(before);
      // an explicit tolerance is the way out
      const p = await callJson("POST", `/v1/calibrations/${c.id}/promote`, 201, { ...admin, json: { tolerance: 0.02 } });
      expect(p.plan.tolerance).toBe(0.02);
      await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: {} });
    }
  });

  it("one arm batch sent many times at once is counted once; the same batch_id with another body at once is refused", async () => {
    const { v1, v2 } = await twoVersions("atk-batch-race");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
    const arm = (batch_id: string, calibration_id: string, arm: string, queries: number[][]) =>
      call("POST", "/v1/observations", { token: TOKENS.read, json: { batch_id, calibration_id, queries, promotion: { id: p.id, step: 0, arm } } });
    const same = await Promise.all(
      Array.from({ length: 6 }, () =>
        arm("race-1", v2.id, "candidate", [
          [20, 4],
          [20, 5],
        ]),
      ),
    );
    expect(same.map((r) => r.status)).toEqual([202, 202, 202, 202, 202, 202]);
    const bodies = (await Promise.all(same.map((r) => r.json()))) as { duplicate: boolean }[];
    expect(bodies.filter((b) => !b.duplicate)).toHaveLength(1);
    const mixed = await Promise.all([arm("race-2", v1.id, "control", [[20, 4]]), arm("race-2", v1.id, "control", [[20, 9]])]);
    expect(mixed.map((r) => r.status).sort()).toEqual([202, 422]);
    expect((await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).evidence).toMatchObject({
      candidate_queries: 2,
      control_queries: 1,
    });
  });

  it("arm batches with bad claims", async () => {
    const { v1, v2 } = await twoVersions("atk-arm");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: {} });
    const obs = (batch_id: string, extra: object) =>
      call("POST", "/v1/observations", { token: TOKENS.read, json: { batch_id, calibration_id: v2.id, queries: [[20, 4]], ...extra } });
    const bad: object[] = [
      { promotion: { id: p.id, step: 0, arm: "treatment" } },
      { promotion: { id: p.id, step: -1, arm: "candidate" } },
      { promotion: { id: p.id, step: 100, arm: "candidate" } },
      { promotion: { id: p.id, step: "0", arm: "candidate" } },
      { promotion: { id: p.id, step: 0.5, arm: "candidate" } },
      { promotion: { id: p.id, step: 0 } },
      { promotion: { id: p.id, step: 0, arm: "candidate", extra: 1 } },
      { promotion: { id: "prm_zzzzzzzzzzzzzzzz", step: 0, arm: "candidate" } },
      { promotion: { id: "nope", step: 0, arm: "candidate" } },
      { promotion: { id: p.id, step: 0, arm: "control" } },
      { promotion: { id: p.id, step: 0, arm: "candidate" }, role: "shadow" },
      { promotion: null },
      { role: "SHADOW" },
      { queries: [[20, 4, 3]] },
      { queries: [[20, 4, 3, 2]] },
      { queries: [[20, 4, 21, 0]] },
      { queries: [[20, 21]] },
      { queries: [[20, 4, -1, 0]] },
      { queries: [[20.5, 4]] },
      { queries: [[20, 4, 3, 0, -1]] },
      { queries: [[20, 4, 3, 0, 1.5]] },
      { queries: [[20, 4, 3, 0, 1, 0]] },
      { queries: [["20", 4]] },
      { queries: [[10_001, 4]] },
      { queries: [] },
      { queries: Array.from({ length: 10_001 }, () => [2, 1]) },
      { scores: Array.from({ length: 10_001 }, () => 0.5) },
      { scores: [0.5, "NaN"] },
    ];
    for (const [i, extra] of bad.entries()) {
      const res = await obs(`atk-arm-${i}`, extra);
      expect([409, 422], `${JSON.stringify(extra).slice(0, 120)}: ${res.status} ${await res.clone().text()}`).toContain(res.status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/invalid_input|conflict/u);
    }
    const after = await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read });
    expect(after.evidence).toMatchObject({ candidate_queries: 0, control_queries: 0 });
    // none of those batch ids was taken: a valid batch under one is counted
    const ok = await obs("atk-arm-0", { promotion: { id: p.id, step: 0, arm: "candidate" } });
    expect(ok.status).toBe(202);
    expect((await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read })).evidence).toMatchObject({ candidate_queries: 1 });
    // the control's calibration under the candidate arm is refused, naming calibration_id
    const wrong = await call("POST", "/v1/observations", {
      token: TOKENS.read,
      json: { batch_id: "atk-arm-wrong", calibration_id: v1.id, queries: [[20, 4]], promotion: { id: p.id, step: 0, arm: "candidate" } },
    });
    expect(JSON.stringify((await expectError(wrong, 422, "invalid_input")).details)).toContain("calibration_id");
  });
});
