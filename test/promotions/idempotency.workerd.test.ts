/**
 * Idempotency-Key on promotion starts, overrides and shadow changes (src/promotions/idempotent.ts): a retry replays the
 * first answer, another request under the key is 422, concurrent copies change the gate once, and a retry after the
 * request died between its commit and its key's completion gets the change it made instead of a refusal.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_IDEMPOTENCY_KEY_LENGTH, PromotionPlanBody } from "../../src/contract";
import type { Env } from "../../src/platform/env";
import { IDEMPOTENCY_LOCK_MS } from "../../src/platform/limits";
import { keyedStart } from "../../src/promotions/idempotent";
import { appDeps } from "../../src/worker/wiring";
import { admin, gateLog, twoVersions } from "../support/promotions";
import { call, callJson, expectError, qs, TOKENS } from "../support/worker";

/** The admin token's name (vitest.config.ts ADMIN_TOKENS): keys belong to it. */
const ADMIN = "alice";

const keyed = (key: string, json: object = {}) => ({ ...admin, json, headers: { "idempotency-key": key } });

/**
 * The state a request that died after its commit leaves: its key claimed, never completed. With `expired`, the claim
 * is older than IDEMPOTENCY_LOCK_MS (taken for dead: the retry claims the key afresh).
 */
async function crashKey(key: string, expired = false): Promise<void> {
  const claimedAt = new Date(Date.now() - IDEMPOTENCY_LOCK_MS - 60_000).toISOString();
  const { meta } = await env.DB.prepare(
    `UPDATE idempotency_keys SET status = NULL, response = NULL${expired ? ", created_at = ?3" : ""} WHERE actor = ?1 AND key = ?2`,
  )
    .bind(ADMIN, key, ...(expired ? [claimedAt] : []))
    .run();
  expect(meta.changes).toBe(1);
}

/** The Worker's wiring killed at its first commit point (test/promotions/completion-crash.workerd.test.ts). */
const dyingDeps = () => ({
  ...appDeps(
    env as unknown as Env,
    () => {},
    () => new Date(),
  ),
  afterCommit: () => new Promise<void>(() => {}),
});

/** Waits (at most about 2 s) until `done` holds. */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error("the request never reached its commit point");
}

const promotionsOf = async (gateId: string) =>
  (await callJson("GET", `/v1/gates/${gateId}/promotions`, 200, { token: TOKENS.read })).promotions.map((p) => p.id);

describe("Idempotency-Key on POST /v1/calibrations/{id}/promote", () => {
  it("replays the first answer to a retry (one promotion), refuses the key with another plan (422), and without a key a retry is 409", async () => {
    const { v2 } = await twoVersions("idem-start");
    const plan = { steps: [10, 50, 100], min_queries: 200 };
    const first = await call("POST", `/v1/calibrations/${v2.id}/promote`, keyed("start-1", plan));
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const p = await first.json<any>();
    const again = await call("POST", `/v1/calibrations/${v2.id}/promote`, keyed("start-1", plan));
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await again.json<any>()).id).toBe(p.id);
    expect(await promotionsOf(p.gate_id)).toEqual([p.id]);
    const other = await expectError(
      await call("POST", `/v1/calibrations/${v2.id}/promote`, keyed("start-1", { ...plan, min_queries: 300 })),
      422,
      "idempotency_mismatch",
    );
    expect(other.message).toContain("different request");
    await expectError(await call("POST", `/v1/calibrations/${v2.id}/promote`, { ...admin, json: plan }), 409, "conflict");
    expect(await promotionsOf(p.gate_id)).toEqual([p.id]);
  });

  it("a refused start releases its key: the same key starts the promotion once the refusal's cause is gone", async () => {
    const { v2 } = await twoVersions("idem-release");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    const refused = await expectError(
      await call("POST", `/v1/calibrations/${v2.id}/promote`, keyed("start-2", { min_queries: 200 })),
      409,
      "conflict",
    );
    // it names the open promotion, so the next command can address it
    expect(refused.message).toBe(
      `the gate already has an open promotion (${p.id}, running, of ${v2.id}): roll back or finish it first (a paused promotion is still open)`,
    );
    expect(refused.details).toEqual({ promotion_id: p.id });
    await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: {} });
    const second = await call("POST", `/v1/calibrations/${v2.id}/promote`, keyed("start-2", { min_queries: 200 }));
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBeNull();
    expect((await second.json<any>()).id).not.toBe(p.id);
  });

  it("concurrent copies of one keyed start store one promotion: each answers it (first or replayed) or 409 idempotency_in_progress", async () => {
    const { v2 } = await twoVersions("idem-race");
    const plan = { steps: [25, 100], min_queries: 200 };
    const answers = await Promise.all([1, 2, 3, 4].map(() => call("POST", `/v1/calibrations/${v2.id}/promote`, keyed("race-1", plan))));
    const bodies = await Promise.all(answers.map((r) => r.json<any>()));
    const started = answers.flatMap((r, i) =>
      r.status === 201 ? [{ replayed: r.headers.get("idempotent-replayed") === "true", id: bodies[i].id }] : [],
    );
    expect(started.filter((s) => !s.replayed)).toHaveLength(1);
    const ids = new Set(started.map((s) => s.id));
    expect(ids.size).toBe(1);
    for (const [i, r] of answers.entries()) {
      if (r.status === 201) continue;
      expect([r.status, bodies[i].error.code, r.headers.get("retry-after")]).toEqual([409, "idempotency_in_progress", "1"]);
      expect(bodies[i].error.message).toContain("still in progress");
    }
    const [id] = [...ids];
    expect(await promotionsOf(bodies.find((b) => b.id === id).gate_id)).toEqual([id]);
    // Once the first finished, every copy replays it.
    const late = await call("POST", `/v1/calibrations/${v2.id}/promote`, keyed("race-1", plan));
    expect(late.status).toBe(201);
    expect((await late.json<any>()).id).toBe(id);
  });

  it("a retry after the start committed but its key was never completed replays the stored promotion, claim alive or expired", async () => {
    for (const expired of [false, true]) {
      const { v2 } = await twoVersions(`idem-crash-${expired}`);
      const plan = { steps: [10, 100], min_queries: 200 };
      const key = `crash-start-${expired}`;
      const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, keyed(key, plan));
      await crashKey(key, expired);
      const retry = await call("POST", `/v1/calibrations/${v2.id}/promote`, keyed(key, plan));
      expect(retry.status).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(await retry.json<any>()).toMatchObject({ id: p.id, state: "running", step: 0 });
      expect(await promotionsOf(p.gate_id)).toEqual([p.id]);
      // The recovered answer completed the key: the next retry replays it from the key.
      const stored = await env.DB.prepare("SELECT status FROM idempotency_keys WHERE actor = ? AND key = ?")
        .bind(ADMIN, key)
        .first<{ status: number }>();
      expect(stored?.status).toBe(201);
    }
  });

  it("a straight start retried after its crash is answered completed, and the gate's log holds one start and one completion", async () => {
    const { v2 } = await twoVersions("idem-crash-straight");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, keyed("crash-straight", { steps: [100] }));
    expect(p.state).toBe("completed");
    await crashKey("crash-straight");
    const retry = await call("POST", `/v1/calibrations/${v2.id}/promote`, keyed("crash-straight", { steps: [100] }));
    expect(retry.status).toBe(201);
    expect(await retry.json<any>()).toMatchObject({ id: p.id, state: "completed" });
    const kinds = (await gateLog(p.gate_id)).map((r) => r.kind);
    expect(kinds).toEqual(["activation", "promotion_started", "promotion_completed"]);
  });

  it("a keyed straight start killed after its start was logged: the retry (its key still claimed) completes it and answers it, once", async () => {
    const { gate, v2 } = await twoVersions("idem-dying-straight");
    const json = { steps: [100], reason: "straight" };
    void keyedStart(dyingDeps(), ADMIN, "dying-straight", v2.id, PromotionPlanBody.parse(json));
    await until(async () => (await gateLog(v2.gate_id)).some((r) => r.kind === "promotion_started"));
    const retry = await call("POST", `/v1/calibrations/${v2.id}/promote`, keyed("dying-straight", json));
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    const p = await retry.json<any>();
    expect(p).toMatchObject({ state: "completed", candidate_calibration_id: v2.id });
    expect(p.steps.map((s: { kind: string; seq: number | null }) => [s.kind, s.seq !== null])).toEqual([
      ["started", true],
      ["completed", true],
    ]);
    expect((await gateLog(v2.gate_id)).map((r) => r.kind)).toEqual(["activation", "promotion_started", "promotion_completed"]);
    expect(await promotionsOf(v2.gate_id)).toEqual([p.id]);
    expect((await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read })).calibration_id).toBe(v2.id);
  });

  it("an Idempotency-Key longer than MAX_IDEMPOTENCY_KEY_LENGTH is 400 and starts nothing", async () => {
    const { v2 } = await twoVersions("idem-long-key");
    const e = await expectError(
      await call("POST", `/v1/calibrations/${v2.id}/promote`, keyed("k".repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1), { min_queries: 200 })),
      400,
      "bad_request",
    );
    expect(e.message).toContain(`1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
    expect(await promotionsOf(v2.gate_id)).toEqual([]);
  });

  it("a key used for one calibration's start is not found by another's: a different request (422)", async () => {
    const a = await twoVersions("idem-two-a");
    const b = await twoVersions("idem-two-b");
    await callJson("POST", `/v1/calibrations/${a.v2.id}/promote`, 201, keyed("shared-key", { min_queries: 200 }));
    await expectError(
      await call("POST", `/v1/calibrations/${b.v2.id}/promote`, keyed("shared-key", { min_queries: 200 })),
      422,
      "idempotency_mismatch",
    );
  });
});

describe("Idempotency-Key on promotion overrides", () => {
  it("a retried pause replays its answer (one paused row), where an unkeyed one is 409; another override under the key is 422", async () => {
    const { v2 } = await twoVersions("idem-pause");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    const first = await callJson("POST", `/v1/promotions/${p.id}/pause`, 200, keyed("pause-1", { reason: "index rebuild" }));
    const again = await call("POST", `/v1/promotions/${p.id}/pause`, keyed("pause-1", { reason: "index rebuild" }));
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await again.json<any>()).version).toBe(first.version);
    await expectError(await call("POST", `/v1/promotions/${p.id}/pause`, { ...admin, json: {} }), 409, "conflict");
    await expectError(
      await call("POST", `/v1/promotions/${p.id}/resume`, keyed("pause-1", { reason: "index rebuild" })),
      422,
      "idempotency_mismatch",
    );
    const now = await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read });
    expect(now.steps.map((s) => s.kind)).toEqual(["started", "paused"]);
  });

  it("concurrent copies of a keyed rollback roll back once", async () => {
    const { v2 } = await twoVersions("idem-rollback-race");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    const answers = await Promise.all([1, 2, 3].map(() => call("POST", `/v1/promotions/${p.id}/rollback`, keyed("rb-race", { reason: "bad" }))));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    for (const [i, r] of answers.entries()) {
      const body = await r.json<any>();
      if (r.status === 200) expect(body).toMatchObject({ id: p.id, state: "rolled_back" });
      else {
        expect([statuses[i], body.error.code, r.headers.get("retry-after")]).toEqual([409, "idempotency_in_progress", "1"]);
        expect(body.error.message).toContain("still in progress");
      }
    }
    const now = await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read });
    expect(now.steps.map((s) => s.kind)).toEqual(["started", "rolled_back"]);
  });

  it("a retry after the override committed but its key was never completed gets the promotion it changed, not 409", async () => {
    for (const expired of [false, true]) {
      const { v2 } = await twoVersions(`idem-crash-pause-${expired}`);
      const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
      const key = `crash-pause-${expired}`;
      await callJson("POST", `/v1/promotions/${p.id}/pause`, 200, keyed(key));
      await crashKey(key, expired);
      const retry = await call("POST", `/v1/promotions/${p.id}/pause`, keyed(key));
      expect(retry.status).toBe(200);
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      const body = await retry.json<any>();
      expect(body).toMatchObject({ id: p.id, state: "paused" });
      expect(body.steps.map((s: { kind: string }) => s.kind)).toEqual(["started", "paused"]);
    }
  });

  it("a pause made under another key is not taken for this request's: the retry of a never-committed pause is refused as the pause itself would be", async () => {
    const { v2 } = await twoVersions("idem-other-pause");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    await callJson("POST", `/v1/promotions/${p.id}/pause`, 200, keyed("pause-a"));
    await expectError(await call("POST", `/v1/promotions/${p.id}/pause`, keyed("pause-b")), 409, "conflict");
  });

  it("a key whose first pause is still running (claimed, nothing committed) is 409 idempotency_in_progress with Retry-After", async () => {
    const { v2 } = await twoVersions("idem-running-pause");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    await callJson("POST", `/v1/promotions/${p.id}/pause`, 200, keyed("run-pause-a"));
    // run-pause-b: the same request claimed now by a request that has not committed anything yet
    await env.DB.prepare(
      `INSERT INTO idempotency_keys (actor, key, request_hash, status, response, created_at)
       SELECT actor, 'run-pause-b', request_hash, NULL, NULL, ?2 FROM idempotency_keys WHERE actor = ?1 AND key = 'run-pause-a'`,
    )
      .bind(ADMIN, new Date().toISOString())
      .run();
    const busy = await call("POST", `/v1/promotions/${p.id}/pause`, keyed("run-pause-b"));
    expect([busy.status, busy.headers.get("retry-after"), (await busy.json<any>()).error.code]).toEqual([409, "1", "idempotency_in_progress"]);
  });
});

describe("Idempotency-Key on shadow changes", () => {
  it("add, rate change and removal each replay to a retry, and write one event each", async () => {
    const { v2 } = await twoVersions("idem-shadow");
    const add = await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, keyed("sh-add", { sample_rate: 0.2 }));
    const addAgain = await call("POST", `/v1/calibrations/${v2.id}/shadow`, keyed("sh-add", { sample_rate: 0.2 }));
    expect(addAgain.status).toBe(200);
    expect(addAgain.headers.get("idempotent-replayed")).toBe("true");
    expect((await addAgain.json<any>()).seq).toBe(add.seq);
    await expectError(await call("POST", `/v1/calibrations/${v2.id}/shadow`, keyed("sh-add", { sample_rate: 0.3 })), 422, "idempotency_mismatch");
    const rate = await callJson("PATCH", `/v1/calibrations/${v2.id}/shadow`, 200, keyed("sh-rate", { sample_rate: 0.4 }));
    const rateAgain = await callJson("PATCH", `/v1/calibrations/${v2.id}/shadow`, 200, keyed("sh-rate", { sample_rate: 0.4 }));
    expect(rateAgain.seq).toBe(rate.seq);
    const removed = await callJson("DELETE", `/v1/calibrations/${v2.id}/shadow`, 200, keyed("sh-del"));
    const removedAgain = await call("DELETE", `/v1/calibrations/${v2.id}/shadow`, keyed("sh-del"));
    expect(removedAgain.status).toBe(200);
    expect((await removedAgain.json<any>()).seq).toBe(removed.seq);
    expect((await gateLog(add.gate_id)).map((r) => r.kind)).toEqual(["activation", "shadow_added", "shadow_changed", "shadow_removed"]);
  });

  it("concurrent copies of a keyed shadow add write one event", async () => {
    const { v2 } = await twoVersions("idem-shadow-race");
    const answers = await Promise.all([1, 2, 3].map(() => call("POST", `/v1/calibrations/${v2.id}/shadow`, keyed("sh-race", { sample_rate: 0.1 }))));
    for (const r of answers) {
      const body = await r.json<any>();
      if (r.status === 200) expect(body.shadows).toEqual([expect.objectContaining({ calibration_id: v2.id, sample_rate: 0.1 })]);
      else {
        expect([r.status, body.error.code, r.headers.get("retry-after")]).toEqual([409, "idempotency_in_progress", "1"]);
        expect(body.error.message).toContain("still in progress");
      }
    }
    expect(answers.some((r) => r.status === 200)).toBe(true);
    const log = await env.DB.prepare("SELECT kind FROM activations WHERE calibration_id = ? AND kind = 'shadow_added'").bind(v2.id).all();
    expect(log.results).toHaveLength(1);
  });

  it("a retry after the shadow change committed but its key was never completed answers the change, not 'already a shadow' or 'not a shadow'", async () => {
    for (const expired of [false, true]) {
      const { v2 } = await twoVersions(`idem-crash-shadow-${expired}`);
      const add = await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, keyed(`crash-sh-add-${expired}`, { sample_rate: 0.2 }));
      await crashKey(`crash-sh-add-${expired}`, expired);
      const retryAdd = await call("POST", `/v1/calibrations/${v2.id}/shadow`, keyed(`crash-sh-add-${expired}`, { sample_rate: 0.2 }));
      expect(retryAdd.status).toBe(200);
      expect(retryAdd.headers.get("idempotent-replayed")).toBe("true");
      expect((await retryAdd.json<any>()).seq).toBe(add.seq);
      const removed = await callJson("DELETE", `/v1/calibrations/${v2.id}/shadow`, 200, keyed(`crash-sh-del-${expired}`));
      await crashKey(`crash-sh-del-${expired}`, expired);
      const retryDel = await call("DELETE", `/v1/calibrations/${v2.id}/shadow`, keyed(`crash-sh-del-${expired}`));
      expect(retryDel.status).toBe(200);
      expect(await retryDel.json<any>()).toMatchObject({ seq: removed.seq, shadows: [] });
      expect((await gateLog(add.gate_id)).map((r) => r.kind)).toEqual(["activation", "shadow_added", "shadow_removed"]);
    }
  });
});
