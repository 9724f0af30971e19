/**
 * Promotions racing activations: a start whose control is replaced between its read and its write, a completion
 * landing after a manual activation of another calibration, an activation of the current calibration while a
 * promotion is open but its start not yet logged. Each race is forced: a store wrapper runs the competing activation
 * at the point it would interleave, or a D1 trigger fails the write that would otherwise settle it first.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { activate } from "../../src/calibrations/activation";
import { PromotionPlanBody } from "../../src/contract";
import { AppError } from "../../src/platform/errors";
import { startPromotion } from "../../src/promotions/service";
import { appDeps } from "../../src/worker/wiring";
import { admin, twoVersions, upload } from "../support/promotions";
import { callJson, qs, TOKENS } from "../support/worker";

describe("promotions racing activations", () => {
  it("a promotion started while another calibration is activated is refused 409 and stores nothing", async () => {
    const { gate, v1, v2 } = await twoVersions("race-start");
    const v3 = await upload(gate, "v3", 0.1, false);
    const deps = appDeps(env, () => {});
    let raced = false;
    const store = deps.calibrations;
    // An admin activates v3 right after the promotion read the gate's current calibration (v1).
    const calibrations = new Proxy(store, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (prop !== "gateState") return typeof v === "function" ? v.bind(target) : v;
        return async (gateId: string) => {
          const state = await target.gateState(gateId);
          if (!raced) {
            raced = true;
            await activate(v3.id, "bob", "hotfix", deps);
          }
          return state;
        };
      },
    });
    const plan = PromotionPlanBody.parse({ steps: [10, 50, 100], min_queries: 200 });
    const refused = await startPromotion(v2.id, plan, "alice", { ...deps, calibrations }).catch((e: unknown) => e);
    expect(raced).toBe(true);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: "conflict" });
    expect(String((refused as Error).message)).toContain(v1.id);
    // Nothing was stored: no promotion, no audit row, and the gate serves v3 with no split.
    const list = await callJson("GET", `/v1/gates/${v2.gate_id}/promotions`, 200, { token: TOKENS.read });
    expect(list.promotions).toEqual([]);
    const served = await callJson("GET", `/v1/threshold?${qs(gate)}`, 200, { token: TOKENS.read });
    expect({ calibration_id: served.calibration_id, rollout: served.rollout }).toEqual({ calibration_id: v3.id, rollout: null });
    // Started again, it runs against the calibration now served.
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    expect(p.control_calibration_id).toBe(v3.id);
  });
});
