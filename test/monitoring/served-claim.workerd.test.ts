/**
 * A served batch (no `role`, or `role: "served"`) naming its calibration claims that the gate served it. A calibration
 * its gate never served (never activated, never a promotion's candidate) cannot have gated production traffic: the
 * batch is refused (422 naming calibration_id, nothing counted), as a shadow batch of a calibration outside the shadow
 * set is. One served only as a promotion's candidate is refused without the promotion's claim (its queries are that
 * arm's evidence, never the gate's traffic). A calibration served before stays accepted: clients holding a cached
 * threshold across an activation send its batches for a while, and its window reads as `previous`.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import type { Env } from "../../src/platform/env";
import { admin, twoVersions, upload } from "../support/promotions";
import { call, callJson, expectError, qs, TOKENS } from "../support/worker";

const queries = (n: number) => Array.from({ length: n }, () => [20, 5]);
const post = (json: object) => call("POST", "/v1/observations", { token: TOKENS.read, json });
const observe = (json: object) => callJson("POST", "/v1/observations", 202, { token: TOKENS.read, json });
const windowsOf = async (gate: Record<string, string>) => (await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read })).windows;

describe("a served batch naming a calibration its gate never served", () => {
  it('is 422 naming calibration_id, with or without role: "served", and nothing is counted', async () => {
    const { gate, v1, v2 } = await twoVersions("never-served");
    for (const role of [{}, { role: "served" }]) {
      const e = await expectError(
        await post({ batch_id: `ns-${JSON.stringify(role)}`, calibration_id: v2.id, ...role, queries: queries(5) }),
        422,
        "invalid_input",
      );
      expect(e.message).toContain(`calibration ${v2.id} was never served on its gate`);
      expect(e.details).toEqual([expect.objectContaining({ path: "calibration_id" })]);
      // the likely mistake: a shadow's mirrored batch without its role
      expect(e.message).toContain('role: "shadow"');
    }
    await observe({ batch_id: "ns-active", calibration_id: v1.id, queries: queries(3) });
    expect((await windowsOf(gate)).map((w: { calibration_id: string; queries: number }) => [w.calibration_id, w.queries])).toEqual([[v1.id, 3]]);
    // The refused batch_id was not taken: sent again once the calibration is served, it counts.
    await callJson("POST", `/v1/calibrations/${v2.id}/activate`, 200, { ...admin, json: {} });
    const later = await observe({ batch_id: "ns-{}", calibration_id: v2.id, queries: queries(5) });
    expect(later).toMatchObject({ accepted: true, calibration_id: v2.id });
  });

  it("in queue mode it is refused before anything is enqueued", async () => {
    const { v1, v2 } = await twoVersions("never-served-queue");
    const sent: unknown[] = [];
    const queue = { send: async (body: unknown) => void sent.push(body) } as unknown as Queue;
    const queued = { ...(env as unknown as Env), OBSERVATION_INGEST: "queue", OBSERVATIONS_QUEUE: queue } as Env;
    const postQueued = async (json: object) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request("http://scoregate.test/v1/observations", {
          method: "POST",
          headers: { authorization: `Bearer ${TOKENS.read}`, "content-type": "application/json" },
          body: JSON.stringify(json),
        }),
        queued,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res;
    };
    await expectError(await postQueued({ batch_id: "nq-1", calibration_id: v2.id, queries: queries(3) }), 422, "invalid_input");
    expect(sent).toEqual([]);
    expect((await postQueued({ batch_id: "nq-2", calibration_id: v1.id, queries: queries(3) })).status).toBe(202);
    expect(sent).toHaveLength(1);
  });

  it('a shadow\'s batches are refused without role: "shadow" and counted with it', async () => {
    const { v2 } = await twoVersions("never-served-shadow");
    await callJson("POST", `/v1/calibrations/${v2.id}/shadow`, 200, { ...admin, json: { sample_rate: 0.5 } });
    await expectError(await post({ batch_id: "sh-1", calibration_id: v2.id, queries: queries(4) }), 422, "invalid_input");
    expect(await observe({ batch_id: "sh-1", calibration_id: v2.id, role: "shadow", queries: queries(4) })).toMatchObject({ accepted: true });
  });
});

describe("a served batch naming a calibration its gate served", () => {
  it("the current one, an active row of another index version and a previous one are counted (both read as previous)", async () => {
    const { gate, v1 } = await twoVersions("served-kinds");
    const other = await upload(gate, "v9", 0.1, true);
    const next = await upload(gate, "v1", 0.2, true);
    await observe({ batch_id: "sk-prev", calibration_id: v1.id, queries: queries(2) });
    await observe({ batch_id: "sk-other", calibration_id: other.id, queries: queries(3) });
    await observe({ batch_id: "sk-cur", calibration_id: next.id, queries: queries(4) });
    const roles = Object.fromEntries((await windowsOf(gate)).map((w: { calibration_id: string; role: string }) => [w.calibration_id, w.role]));
    expect(roles).toEqual({ [v1.id]: "previous", [other.id]: "previous", [next.id]: "active" });
  });
});

describe("a served batch naming a calibration served only as a promotion's candidate", () => {
  it("is refused without the promotion's claim, while open and after a rollback: its queries never count as the gate's", async () => {
    const { gate, v2 } = await twoVersions("served-candidate");
    const p = await callJson("POST", `/v1/calibrations/${v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    // a regressed candidate's queries (45 % dropped) reported as a hand-written loop or an OpenFeature report would
    const e = await expectError(
      await post({ batch_id: "sc-open", calibration_id: v2.id, queries: Array.from({ length: 300 }, () => [20, 9]) }),
      422,
      "invalid_input",
    );
    expect(e.message).toContain(`calibration ${v2.id} was served only as the candidate of promotion ${p.id}`);
    expect(e.message).toContain('promotion {id, step, arm: "candidate"}');
    expect(e.details).toEqual([{ path: "promotion", message: "required for a promotion candidate's queries" }]);
    // with its claim the batch is the candidate arm's evidence, not a window of the gate
    expect(
      await observe({ batch_id: "sc-claimed", calibration_id: v2.id, promotion: { id: p.id, step: 0, arm: "candidate" }, queries: queries(2) }),
    ).toMatchObject({ accepted: true });
    const promotion = await callJson("GET", `/v1/promotions/${p.id}`, 200, { token: TOKENS.read });
    expect(promotion.evidence?.candidate_queries).toBe(2);
    await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { ...admin, json: {} });
    await expectError(await post({ batch_id: "sc-rolled-back", calibration_id: v2.id, queries: queries(2) }), 422, "invalid_input");
    const windows: { calibration_id: string; role: string }[] = await windowsOf(gate);
    expect(windows.filter((w) => w.calibration_id === v2.id && w.role !== "candidate")).toEqual([]);
    expect(await callJson("GET", `/v1/alerts?${qs(gate)}`, 200, { token: TOKENS.read })).toMatchObject({ alerts: [] });
    // once activated, its batches are the gate's served traffic
    await callJson("POST", `/v1/calibrations/${v2.id}/activate`, 200, { ...admin, json: {} });
    expect(await observe({ batch_id: "sc-active", calibration_id: v2.id, queries: queries(2) })).toMatchObject({ accepted: true });
  });
});
