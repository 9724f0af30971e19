/**
 * A judgment batch naming its calibration claims, as a served observation batch does, that its gate served it: the
 * judged queries were gated with its threshold. A recall calibration its gate never served (stored with
 * `activate: false`, or only ever a shadow) is refused (422 naming calibration_id, nothing counted, no recall_drift
 * raised on the gate); the same rule and words as observations (served-claim.ts). A calibration served before, and a
 * promotion's candidate, stay accepted.
 */
import { describe, expect, it } from "vitest";
import { judged, labelledQueries } from "../support/labelled";
import { admin } from "../support/promotions";
import { call, callJson, expectError, qs, TOKENS, uniqueGate } from "../support/worker";

const recall = { kind: "recall", target: 0.9, coverage: "any_relevant" };

/** Uploads a recall calibration of `gate` (index_version v1); the gate's first is activated ("auto"). */
async function uploadRecall(gate: ReturnType<typeof uniqueGate>, seed: number, activate: boolean | "auto" = "auto") {
  const data = labelledQueries(seed, 300);
  const { calibration } = await callJson("POST", "/v1/calibrations", 201, {
    token: TOKENS.calibrate,
    json: { ...gate, index_version: "v1", policy: recall, activate, queries: data.map((q) => q.scores), relevance: data.map((q) => q.relevance) },
  });
  return calibration as { id: string; threshold: number };
}

/** A gate serving a recall calibration v1, with v2 stored beside it and never served. */
async function twoRecall(label: string) {
  const gate = uniqueGate(label);
  const v1 = await uploadRecall(gate, 31, "auto");
  const v2 = await uploadRecall(gate, 32, false);
  return { gate, v1, v2 };
}

const post = (json: object) => call("POST", "/v1/judgments", { token: TOKENS.read, json });
const judge = (json: object) => callJson("POST", "/v1/judgments", 202, { token: TOKENS.read, json });
const recallOf = async (gate: Record<string, string>) =>
  ((await callJson("GET", `/v1/monitor?${qs(gate)}`, 200, { token: TOKENS.read })).recall as { calibration_id: string; queries: number }[]).map(
    (r) => [r.calibration_id, r.queries],
  );

describe("a judgment batch naming a recall calibration its gate never served", () => {
  it("is 422 naming calibration_id as the observations' refusal does, in its own words, nothing is counted, and its batch_id stays free", async () => {
    const { gate, v1, v2 } = await twoRecall("judge-never-served");
    const e = await expectError(
      await post({ batch_id: "jn-1", calibration_id: v2.id, queries: judged(10, v2.threshold, 0.9) }),
      422,
      "invalid_input",
    );
    expect(e.message).toContain(`calibration ${v2.id} was never served on its gate`);
    // a judgment batch has no role: the message does not point at one
    expect(e.message).not.toContain("role");
    expect(e.details).toEqual([expect.objectContaining({ path: "calibration_id" })]);
    const observation = await expectError(
      await call("POST", "/v1/observations", { token: TOKENS.read, json: { batch_id: "jn-o", calibration_id: v2.id, queries: [[5, 1]] } }),
      422,
      "invalid_input",
    );
    expect(e.details).toEqual(observation.details);
    expect(observation.message).toContain(`calibration ${v2.id} was never served on its gate`);
    expect(observation.message).toContain('role: "shadow"');
    await judge({ batch_id: "jn-2", calibration_id: v1.id, queries: judged(4, v1.threshold, 1) });
    expect(await recallOf(gate)).toEqual([[v1.id, 4]]);
    // Once activated it is served: the refused batch_id counts when sent again, and v1 (served before) still counts.
    await callJson("POST", `/v1/calibrations/${v2.id}/activate`, 200, { ...admin, json: {} });
    expect(await judge({ batch_id: "jn-1", calibration_id: v2.id, queries: judged(10, v2.threshold, 0.9) })).toMatchObject({
      accepted: true,
      calibration_id: v2.id,
      recall: { queries: 10 },
    });
    expect(await judge({ batch_id: "jn-3", calibration_id: v1.id, queries: judged(2, v1.threshold, 1) })).toMatchObject({ accepted: true });
  });

  it("a shadow's (never served) is refused; a promotion's candidate is counted", async () => {
    const shadowed = await twoRecall("judge-shadow");
    await callJson("POST", `/v1/calibrations/${shadowed.v2.id}/shadow`, 200, { ...admin, json: { sample_rate: 0.5 } });
    await expectError(await post({ batch_id: "js-1", calibration_id: shadowed.v2.id, queries: judged(3, 0.5, 1) }), 422, "invalid_input");
    expect(await recallOf(shadowed.gate)).toEqual([]);
    const promoted = await twoRecall("judge-candidate");
    await callJson("POST", `/v1/calibrations/${promoted.v2.id}/promote`, 201, { ...admin, json: { min_queries: 200 } });
    expect(await judge({ batch_id: "jc-1", calibration_id: promoted.v2.id, queries: judged(3, promoted.v2.threshold, 1) })).toMatchObject({
      accepted: true,
      calibration_id: promoted.v2.id,
    });
  });
});
