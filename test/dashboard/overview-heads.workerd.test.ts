// The overview reads the heads of its rows (their open promotion and shadows) in one query, not one batch per row,
// and shows each row's Promotion / shadows as the gate's own head reads; a gate with no head row reads as none.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { D1CalibrationStore } from "../../src/calibrations/d1-store";
import { NO_SPLIT } from "../../src/calibrations/store";
import { overview } from "../../src/dashboard/data/overview";
import type { Env } from "../../src/platform/env";
import { D1_MAX_BOUND_PARAMETERS } from "../../src/platform/limits";
import { appDeps } from "../../src/worker/wiring";
import { callJson, spreadScores, TOKENS } from "../support/worker";

const workerEnv = env as unknown as Env;

const upload = async (gate: { index: string; embedding: string; reranker: string }, version: string, activate: boolean) =>
  (
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: version, scores: spreadScores(400), policy: { kind: "drop_rate", target: 0.2 }, activate },
    })
  ).calibration;

describe("the overview's heads", () => {
  it("are read in one query for a page of gates, each as its gate's own head reads", async () => {
    const index = "ov-heads";
    const gates = Array.from({ length: 8 }, (_, i) => ({ index, embedding: "e5", reranker: `r-${i}` }));
    const ids: string[] = [];
    for (const g of gates) ids.push((await upload(g, "v1", true)).gate_id);
    // The first gate also has a shadow, so its row's count is not the empty one.
    const shadow = await upload(gates[0]!, "v2", false);
    await callJson("POST", `/v1/calibrations/${shadow.id}/shadow`, 200, { json: { sample_rate: 0.2 } });

    const base = appDeps(workerEnv, () => {});
    const counts = { splits: 0, gateState: 0 };
    const calibrations = Object.create(base.calibrations) as typeof base.calibrations;
    calibrations.splits = (gateIds) => {
      counts.splits++;
      return base.calibrations.splits(gateIds);
    };
    calibrations.gateState = (gateId) => {
      counts.gateState++;
      return base.calibrations.gateState(gateId);
    };
    const view = await overview({ ...base, calibrations }, index, 1);

    const rows = [...view.alarms, ...view.rows];
    expect(rows.map((r) => r.gate.gate_id).sort()).toEqual([...ids].sort());
    expect(counts).toEqual({ splits: 1, gateState: 0 });
    for (const r of rows) {
      const state = await base.calibrations.gateState(r.gate.gate_id);
      const rollout = state.heads.rollout;
      const steps = rollout === null ? null : ((await base.promotions.get(rollout.promotion_id))?.plan.steps.length ?? null);
      expect(r.split).toEqual({ rollout, steps, promotionOpen: state.promotionOpen, shadows: state.heads.shadows.length });
    }
    expect(rows.find((r) => r.gate.gate_id === ids[0])?.split?.shadows).toBe(1);
    expect(rows.find((r) => r.gate.gate_id === ids[1])?.split?.shadows).toBe(0);
  });

  it("read a gate with no head row, or none stored, as none, over more gates than one statement binds", async () => {
    const store = new D1CalibrationStore(env.DB);
    const withHead = (await upload({ index: "ov-heads-none", embedding: "e5", reranker: "r-head" }, "v1", true)).gate_id;
    // A gate row with no log and so no head (as a gate stored before its first activation would be).
    const headless = "0f".repeat(16);
    await env.DB.prepare("INSERT INTO gates (gate_id, idx, embedding, reranker, created_at) VALUES (?, 'ov-heads-none', 'e5', 'r-bare', ?)")
      .bind(headless, new Date().toISOString())
      .run();
    const unknown = Array.from({ length: D1_MAX_BOUND_PARAMETERS + 5 }, (_, i) => `missing-${i}`);
    // The gate with a head comes after the first statement's worth of ids: the second statement must read it.
    const splits = await store.splits([headless, ...unknown, withHead, withHead]);

    expect(splits.has(headless)).toBe(false);
    expect(unknown.some((id) => splits.has(id))).toBe(false);
    expect(splits.get(headless) ?? NO_SPLIT).toEqual({ heads: { rollout: null, shadows: [] }, promotionOpen: false });
    const state = await store.gateState(withHead);
    expect(splits.get(withHead)).toEqual({ heads: state.heads, promotionOpen: state.promotionOpen });
    expect(splits.size).toBe(1);
  });
});
